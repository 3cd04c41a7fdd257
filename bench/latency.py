"""One engine turn versus the bare model encoding the same message, measured in the same run.

python -m bench.latency --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from bot.channels.memory import MemoryConversation
from bot.domain import CustomerIdentity
from bot.engine import Engine, RecordingHandoff
from bot.knowledge import KnowledgeSearchAdapter
from bot.persistence.database import create_engine, migrate
from bot.persistence.repository import Repository
from bot.replies import Wording
from bot.settings import DEFAULT_KB_PATH
from knowledge_base.embedder import SentenceTransformerEmbedder
from knowledge_base.service import KnowledgeService, SearchOptions

MESSAGES = [
    "where is my order? it's been a week",
    "how long does shipping to toronto take",
    "can I return a mug I don't like",
    "my grinder arrived with a cracked hopper",
    "do you take apple pay",
    "I forgot my password",
    "how do I pause my subscription while I'm travelling",
    "is the kettle ok for 230V in France",
    "Hi! I ordered yesterday... can I still change the address?",
    "what grind setting for a french press",
    "do gift cards expire",
    "do you have a student discount",
    "how much is shipping to the UK",
    "the tracking says delivered but nothing's here",
    "can my café buy beans wholesale",
    "are the bags compostable",
    "what is the capital of mongolia",
    "you sent me the wrong size shirt",
    "when will the sold out grinder be back",
    "how fresh are the beans when they ship",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(rounds: int, conversations: int) -> dict[str, float]:
    embedder = SentenceTransformerEmbedder()
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        # No remembered vectors: every turn pays for its encode, as a new message would.
        options = SearchOptions(reload=False, remember_vectors=0)
        service = KnowledgeService(DEFAULT_KB_PATH, embedder, data, options)
        await service.start()
        await service.wait_until_learned()
        url = f"sqlite+aiosqlite:///{data / 'bench.db'}"
        await migrate(url)
        database = create_engine(url)
        repository = Repository(database)
        wording = Wording("Bench Store", "help@bench.example")
        engine = Engine(
            KnowledgeSearchAdapter(service), repository, wording, RecordingHandoff(repository, wording), 4000
        )
        for message in MESSAGES:  # warm-up: first calls pay for lazy initialisation
            embedder.encode([message])
            await MemoryConversation(engine, chat_id="warm").say(message)

        encode_ms: list[float] = []
        turn_ms: list[float] = []
        chat = MemoryConversation(engine, chat_id="latency")
        for _ in range(rounds):
            for message in MESSAGES:  # interleaved, so both see the same machine state
                started = time.perf_counter()
                embedder.encode([message])
                encode_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                await chat.say(message)
                turn_ms.append((time.perf_counter() - started) * 1000)

        async def customer(n: int) -> int:
            talk = MemoryConversation(engine, chat_id=f"load-{n}", customer=CustomerIdentity(f"c{n}"))
            for i in range(len(MESSAGES)):
                await talk.say(MESSAGES[(n + i) % len(MESSAGES)])
            return len(MESSAGES)

        started = time.perf_counter()
        turns = sum(await asyncio.gather(*(customer(n) for n in range(conversations))))
        elapsed = time.perf_counter() - started
        await service.stop()
        await database.dispose()

    turn_p50, encode_p50 = statistics.median(turn_ms), statistics.median(encode_ms)
    return {
        "turn_p50_ms": round(turn_p50, 2),
        "turn_p95_ms": round(pct(turn_ms, 0.95), 2),
        "encode_p50_ms": round(encode_p50, 2),
        "ratio": round(turn_p50 / encode_p50, 3),
        "throughput_turns_per_s": round(turns / elapsed, 1),
        "concurrent_conversations": conversations,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds, args.conversations))
    print(json.dumps(result) if args.json else "\n".join(f"{k:>24}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
