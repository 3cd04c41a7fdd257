"""Order-status benchmarks.

    python -m bench.orders turns --json          an order-status turn vs a knowledge-base turn, same run
    python -m bench.orders recognition --json    order questions recognised (Bitext track_order) and
                                                 policy questions left to the knowledge base (store dev)

Turns: the real model, SQLite, the memory channel, the embedded store with the demo orders; the
customer is verified once, then asks about their order and asks policy questions, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.latency import MESSAGES
from bot.app import make_escalation
from bot.channels.memory import MemoryConversation
from bot.engine import Engine, RecordingHandoff
from bot.knowledge import KnowledgeSearchAdapter
from bot.orders.assistant import OrderDesk
from bot.orders.delivery import load_delivery_table
from bot.orders.recognise import is_order_question
from bot.orders.sample import sample_orders
from bot.persistence.database import create_engine, migrate
from bot.persistence.orders import EmbeddedOrders, OrderSessions
from bot.persistence.repository import Repository
from bot.replies import Wording
from bot.settings import DEFAULT_KB_PATH, load_settings
from knowledge_base.embedder import SentenceTransformerEmbedder
from knowledge_base.service import KnowledgeService, SearchOptions

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
POLICY = [m for m in MESSAGES if not is_order_question(m)]


async def turns(rounds: int) -> dict[str, Any]:
    embedder = SentenceTransformerEmbedder()
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        service = KnowledgeService(
            DEFAULT_KB_PATH, embedder, data, SearchOptions(reload=False, remember_vectors=0)
        )
        await service.start()
        await service.wait_until_learned()
        url = f"sqlite+aiosqlite:///{data / 'bench.db'}"
        await migrate(url)
        database = create_engine(url)
        repository = Repository(database)
        orders = EmbeddedOrders(repository)
        demo = sample_orders(date.today())
        await orders.save_all(demo)
        desk = OrderDesk(orders, OrderSessions(repository), load_delivery_table())
        wording = Wording("Bench Store", "help@bench.example")
        # As in production: the escalation check (with meaning) runs on both kinds of turn.
        settings = load_settings(kb_path=DEFAULT_KB_PATH, data_dir=data)
        escalation = make_escalation(settings, service, repository, desk)
        engine = Engine(
            KnowledgeSearchAdapter(service),
            repository,
            wording,
            RecordingHandoff(repository, wording),
            4000,
            escalation=escalation,
            orders=desk,
        )
        first = next(o for o in demo if not o.customer_tags and o.status.value == "shipped")
        chat = MemoryConversation(engine, chat_id="bench")
        await chat.say(f"where is my order #{first.number}")
        await chat.say(first.email)  # verified from here on
        for message in POLICY:  # warm-up
            await chat.say(message)
        kb_ms: list[float] = []
        order_ms: list[float] = []
        for _ in range(rounds):
            for message in POLICY:
                started = time.perf_counter()
                await chat.say(message)
                kb_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                replies = await chat.say(f"has order #{first.number} shipped yet?")
                order_ms.append((time.perf_counter() - started) * 1000)
                assert replies and f"#{first.number}" in replies[0].text, replies
        await service.stop()
        await database.dispose()
    kb, order = statistics.median(kb_ms), statistics.median(order_ms)
    return {
        "order_turn_p50_ms": round(order, 2),
        "kb_turn_p50_ms": round(kb, 2),
        "ratio": round(order / kb, 3),
        "turns_each": len(kb_ms),
    }


def recognition() -> dict[str, Any]:
    queries = [
        json.loads(line) for line in (EVAL / "store" / "queries_dev.jsonl").read_text().splitlines() if line
    ]
    answerable = [q for q in queries if q["expected"]]
    taken = [q["text"] for q in answerable if is_order_question(q["text"])]
    with next((EVAL / "bitext").glob("*.csv")).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    track = [r["instruction"] for r in rows if r["intent"] == "track_order"]
    others = [r for r in rows if r["intent"] != "track_order"]
    false = Counter(r["intent"] for r in others if is_order_question(r["instruction"]))
    started = time.perf_counter()
    for r in rows:
        is_order_question(r["instruction"])
    per_message_ms = (time.perf_counter() - started) * 1000 / len(rows)
    return {
        "store_dev_answerable_taken_from_kb": len(taken),
        "store_dev_answerable": len(answerable),
        "bitext_track_order_recall": round(sum(map(is_order_question, track)) / len(track), 3),
        "bitext_other_intents_flagged": round(sum(false.values()) / len(others), 4),
        "bitext_flagged_by_intent": dict(false.most_common(5)),
        "cost_per_message_ms": round(per_message_ms, 3),
        "measured_at": datetime.now(UTC).date().isoformat(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    turns_parser = sub.add_parser("turns")
    turns_parser.add_argument("--rounds", type=int, default=5)
    recognition_parser = sub.add_parser("recognition")
    for p in (turns_parser, recognition_parser):
        p.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(turns(args.rounds)) if args.what == "turns" else recognition()
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
