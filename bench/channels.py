"""Channel benchmarks: the widget's round trip and many sockets, Telegram's webhook under load.

    python -m bench.channels widget --json          # round trip vs engine turn, same run
    python -m bench.channels sockets --count 500 --json
    python -m bench.channels telegram --rate 200 --seconds 30 --json

Everything runs on 127.0.0.1: the real app under uvicorn with the real model and the sample
knowledge base, a real WebSocket client, and the fake Telegram Bot API from tests/fakes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import resource
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.latency import MESSAGES
from bot.app import Services, create_app
from bot.domain import Channel, ConversationRef, CustomerIdentity, IncomingMessage
from bot.settings import DEFAULT_KB_PATH, load_settings
from knowledge_base.embedder import SentenceTransformerEmbedder
from tests.fakes.server import serving
from tests.fakes.telegram import TOKEN, FakeTelegram, text_update


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settings(data: Path, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "kb_path": DEFAULT_KB_PATH,
        "data_dir": data,
        "kb_reload": False,
        "widget_rate_per_minute": 100_000,
        "widget_address_rate_per_minute": 1_000_000,
    }
    values.update(extra)
    return load_settings(**values)


async def next_reply(socket: Any) -> dict[str, Any]:
    while True:
        frame = json.loads(await socket.recv())
        if frame["type"] in ("reply", "error"):
            return dict(frame)


async def widget_roundtrip(rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(settings(Path(scratch)), embedder=SentenceTransformerEmbedder())
        async with serving(app) as url:
            services: Services = app.state.services
            await services.knowledge.wait_until_learned()
            ws_url = url.replace("http", "ws") + "/widget/ws"
            trip_ms: list[float] = []
            turn_ms: list[float] = []
            async with websockets.connect(ws_url) as socket:
                await socket.send(json.dumps({"type": "hello", "token": None}))
                json.loads(await socket.recv())
                memory_ref = ConversationRef(Channel.MEMORY, "bench")
                for round_no in range(rounds + 1):
                    for n, text in enumerate(MESSAGES):
                        started = time.perf_counter()
                        await socket.send(json.dumps({"type": "message", "text": text}))
                        await next_reply(socket)
                        trip = (time.perf_counter() - started) * 1000
                        message = IncomingMessage(
                            memory_ref, CustomerIdentity("bench"), text, datetime.now(UTC), f"b{round_no}-{n}"
                        )
                        started = time.perf_counter()
                        await services.engine.handle(message)
                        turn = (time.perf_counter() - started) * 1000
                        if round_no:  # round 0 warms up
                            trip_ms.append(trip)
                            turn_ms.append(turn)
    trip, turn = statistics.median(trip_ms), statistics.median(turn_ms)
    return {
        "widget_roundtrip_p50_ms": round(trip, 2),
        "engine_turn_p50_ms": round(turn, 2),
        "ratio": round(trip / turn, 3),
        "samples": len(trip_ms),
    }


async def many_sockets(count: int, messages_each: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(settings(Path(scratch)), embedder=SentenceTransformerEmbedder())
        async with serving(app) as url:
            await app.state.services.knowledge.wait_until_learned()
            ws_url = url.replace("http", "ws") + "/widget/ws"
            before = rss_mb()
            sockets = []
            for _ in range(count):
                socket = await websockets.connect(ws_url, open_timeout=30)
                await socket.send(json.dumps({"type": "hello", "token": None}))
                json.loads(await socket.recv())
                sockets.append(socket)
            connected = rss_mb()
            open_now = app.state.services.hub.connections

            async def chat(i: int, socket: Any) -> int:
                got = 0
                for k in range(messages_each):
                    await socket.send(
                        json.dumps({"type": "message", "text": MESSAGES[(i + k) % len(MESSAGES)]})
                    )
                    frame = await asyncio.wait_for(next_reply(socket), 120)
                    got += frame["type"] == "reply"
                return got

            started = time.perf_counter()
            replies = await asyncio.gather(*(chat(i, s) for i, s in enumerate(sockets)))
            elapsed = time.perf_counter() - started
            still_open = app.state.services.hub.connections
            for socket in sockets:
                await socket.close()
    return {
        "connections": count,
        "connected_at_peak": open_now,
        "still_connected_after_chat": still_open,
        "messages_sent": count * messages_each,
        "replies_received": sum(replies),
        "dropped": count * messages_each - sum(replies),
        "seconds": round(elapsed, 1),
        "rss_before_mb": round(before, 1),
        "rss_connected_mb": round(connected, 1),
        "memory_per_connection_kb": round((connected - before) * 1024 / count, 1),
    }


async def telegram_load(rate: int, seconds: int, chats: int) -> dict[str, Any]:
    fake = FakeTelegram()
    with tempfile.TemporaryDirectory() as scratch:
        async with serving(fake.app()) as api:
            app = create_app(
                settings(
                    Path(scratch),
                    telegram_token=TOKEN,
                    telegram_api_url=api,
                    telegram_mode="webhook",
                    telegram_webhook_secret="bench-secret",
                ),
                embedder=SentenceTransformerEmbedder(),
            )
            async with serving(app) as url:
                await app.state.services.knowledge.wait_until_learned()
                total = rate * seconds
                ids = itertools.count(1)
                statuses: Counter[int] = Counter()
                latencies: list[float] = []
                # Like Telegram: at most 40 requests in flight, and a non-200 is delivered again.
                limits = httpx.Limits(max_connections=40)
                async with httpx.AsyncClient(limits=limits, timeout=60) as client:
                    # Queue requests here, not in httpx: its pool rescans every waiting request on
                    # each change (quadratic), which made the client, not the server, the bottleneck.
                    in_flight = asyncio.Semaphore(40)

                    async def post(update: dict[str, Any]) -> None:
                        async with in_flight:
                            await deliver(update)

                    async def deliver(update: dict[str, Any]) -> None:
                        for attempt in range(10):
                            started = time.perf_counter()
                            try:
                                response = await client.post(
                                    f"{url}/telegram/webhook",
                                    json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": "bench-secret"},
                                )
                                status = response.status_code
                            except httpx.HTTPError:
                                status = 599
                            latencies.append((time.perf_counter() - started) * 1000)
                            statuses[status] += 1
                            if status == 200:
                                return
                            await asyncio.sleep(min(2**attempt, 30))

                    started = time.perf_counter()
                    tasks = []
                    for i in range(total):
                        due = started + i / rate
                        delay = due - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        update_id = next(ids)
                        chat = 10_000 + update_id % chats
                        tasks.append(
                            asyncio.create_task(
                                post(text_update(update_id, chat, MESSAGES[i % len(MESSAGES)]))
                            )
                        )
                    sent_in = time.perf_counter() - started
                    await asyncio.gather(*tasks)
                    accepted_in = time.perf_counter() - started
                    # Replies drain at Telegram's pace (30 a second): wait for all of them.
                    deadline = time.monotonic() + total / 25 + 60
                    while len(fake.sent()) < total and time.monotonic() < deadline:  # noqa: ASYNC110 (polls a recorder)
                        await asyncio.sleep(0.5)
                    drained_in = time.perf_counter() - started
    sends = [c for c in fake.calls if c.method == "sendMessage"]
    per_chat: dict[int, list[float]] = defaultdict(list)
    for call in sends:
        per_chat[int(call.params["chat_id"])].append(call.at)
    min_gap = min(
        (b - a for times in per_chat.values() for a, b in itertools.pairwise(sorted(times))), default=0.0
    )
    windows = Counter(int(c.at) for c in sends)
    expected = Counter(10_000 + update_id % chats for update_id in range(1, total + 1))
    lost = sum(max(0, n - len(per_chat.get(chat, ()))) for chat, n in expected.items())
    duplicated = sum(max(0, len(times) - expected.get(chat, 0)) for chat, times in per_chat.items())
    return {
        "updates_posted": total,
        "target_rate_per_s": rate,
        "posting_seconds": round(sent_in, 1),
        "all_acknowledged_seconds": round(accepted_in, 1),
        "acknowledged_200": statuses.get(200, 0),
        "refused_then_redelivered": {k: v for k, v in statuses.items() if k != 200},
        "webhook_p50_ms": round(statistics.median(latencies), 1),
        "webhook_p99_ms": round(sorted(latencies)[int(0.99 * len(latencies))], 1),
        "replies_sent": len(sends),
        "lost": lost,
        "duplicated": duplicated,
        "drained_seconds": round(drained_in, 1),
        "max_sends_in_one_second": max(windows.values(), default=0),
        "min_gap_same_chat_s": round(min_gap, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    widget = sub.add_parser("widget")
    widget.add_argument("--rounds", type=int, default=3)
    sockets = sub.add_parser("sockets")
    sockets.add_argument("--count", type=int, default=500)
    sockets.add_argument("--messages", type=int, default=2)
    telegram = sub.add_parser("telegram")
    telegram.add_argument("--rate", type=int, default=200)
    telegram.add_argument("--seconds", type=int, default=30)
    telegram.add_argument("--chats", type=int, default=2000)
    for p in (widget, sockets, telegram):
        p.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.what == "widget":
        result = asyncio.run(widget_roundtrip(args.rounds))
    elif args.what == "sockets":
        result = asyncio.run(many_sockets(args.count, args.messages))
    else:
        result = asyncio.run(telegram_load(args.rate, args.seconds, args.chats))
    print(json.dumps(result) if args.json else "\n".join(f"{k:>32}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
