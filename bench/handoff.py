"""Handoff benchmarks: relay overhead both ways, and 50 handoffs opening at once.

    python -m bench.handoff relay --json       customer → Slack thread, agent reply → customer
    python -m bench.handoff burst --json       50 customers trigger a handoff at the same moment

The app runs as in production (the real model, SQLite, real slack-bolt and python-telegram-bot)
against the fake Slack Web API and Telegram Bot API, which run in a process of their own
(bench.fake_servers) so they do not share the app's CPU. Times are when the fake received the
call. "Overhead" subtracts the median time a bare call to the fake takes on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.channels import settings as base_settings
from bot.app import create_app
from knowledge_base.embedder import SentenceTransformerEmbedder
from tests.fakes.server import free_port, serving
from tests.fakes.slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    block_action,
    deliver,
    event_callback,
    message_event,
    sign,
)
from tests.fakes.telegram import TOKEN, text_update

SECRET = "bench-secret"
CHANNEL = "CSUPPORT"
REPLY = "I've issued the refund; you'll see it on your card within 5 business days."
Calls = list[dict[str, Any]]
PROJECT = str(Path(__file__).resolve().parents[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p90_ms": round(percentile(values, 0.9) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


@asynccontextmanager
async def fakes() -> AsyncIterator[tuple[str, str]]:
    slack_port, telegram_port = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.fake_servers",
        "--slack-port",
        str(slack_port),
        "--telegram-port",
        str(telegram_port),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": PROJECT},
    )
    assert process.stdout is not None
    await asyncio.wait_for(process.stdout.readline(), 30)
    try:
        yield f"http://127.0.0.1:{slack_port}", f"http://127.0.0.1:{telegram_port}"
    finally:
        process.terminate()
        await process.wait()


class Rig:
    def __init__(self, url: str, slack_url: str, telegram_url: str) -> None:
        self.url, self.slack_url, self.telegram_url = url, slack_url, telegram_url
        self.updates = itertools.count(1)
        self.http = httpx.AsyncClient(timeout=60)

    async def customer_says(self, chat: int, text: str) -> None:
        n = next(self.updates)
        response = await self.http.post(
            f"{self.url}/telegram/webhook",
            json=text_update(n, chat, text, message_id=n),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        response.raise_for_status()

    async def calls(self, which: str) -> Calls:
        base = self.slack_url if which == "slack" else self.telegram_url
        return list((await self.http.get(f"{base}/_calls")).json())

    async def wait(self, which: str, found: Callable[[Calls], Any], within: float = 60.0) -> Any:
        """Poll the fake until found(calls) is not None; return it."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            result = found(await self.calls(which))
            if result is not None:
                return result
            # The fake records when each call arrived, so polling slowly loses no precision and
            # leaves the CPU to the app under test.
            await asyncio.sleep(0.1)
        raise TimeoutError("the fake never received the expected call")


def top_level(count: int) -> Callable[[Calls], Calls | None]:
    def found(calls: Calls) -> Calls | None:
        posts = [
            c
            for c in calls
            if c["method"] == "chat.postMessage" and c["ok"] and not c["args"].get("thread_ts")
        ]
        return posts if len(posts) >= count else None

    return found


def in_thread(ts: str, needle: str) -> Callable[[Calls], float | None]:
    def found(calls: Calls) -> float | None:
        for c in calls:
            if (
                c["method"] == "chat.postMessage"
                and c["args"].get("thread_ts") == ts
                and needle in str(c["args"]["text"])
            ):
                return float(c["at"])
        return None

    return found


def telegram_text(chat: int, needle: str) -> Callable[[Calls], float | None]:
    def found(calls: Calls) -> float | None:
        for c in calls:
            if (
                c["method"] == "sendMessage"
                and int(c["args"]["chat_id"]) == chat
                and needle in str(c["args"]["text"])
            ):
                return float(c["at"])
        return None

    return found


def ticket_of(post: dict[str, Any]) -> str:
    return str(next(b for b in post["args"]["blocks"] if b["type"] == "actions")["elements"][0]["value"])


async def app_for(data: Path, slack_url: str, telegram_url: str, database_url: str = "") -> Any:
    settings = base_settings(
        data,
        database_url=database_url,
        telegram_token=TOKEN,
        telegram_api_url=telegram_url,
        telegram_mode="webhook",
        telegram_webhook_secret=SECRET,
        public_url="https://bot.example.com",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"{slack_url}/api/",
        slack_channel=CHANNEL,
        business_hours="24/7",
    )
    return create_app(settings, embedder=SentenceTransformerEmbedder())


async def bare_call(url: str, payload: dict[str, Any], headers: dict[str, str], n: int = 50) -> float:
    """The median time a bare call to a fake takes: its own time, to subtract."""
    times = []
    async with httpx.AsyncClient() as client:
        for _ in range(n):
            started = time.monotonic()
            await client.post(url, json=payload, headers=headers)
            times.append(time.monotonic() - started)
    return statistics.median(times)


async def relay(rounds: int) -> dict[str, Any]:
    async with fakes() as (slack_url, telegram_url):
        with tempfile.TemporaryDirectory() as data:
            app = await app_for(Path(data), slack_url, telegram_url)
            async with serving(app) as url:
                await app.state.services.knowledge.wait_until_learned()  # no training in the background
                rig = Rig(url, slack_url, telegram_url)
                inbound, outbound = [], []
                for i in range(rounds):
                    chat = 10_000 + i
                    await rig.customer_says(chat, "I want to talk to a human please")
                    post = (await rig.wait("slack", top_level(i + 1)))[i]
                    ts = await thread_ts_of(rig, i)
                    body, kind = block_action("UALEX", CHANNEL, ts, "claim", ticket_of(post))
                    await deliver(url, body, kind)
                    await rig.wait("telegram", telegram_text(chat, "has joined"))
                    # Customer → thread.
                    started = time.monotonic()
                    await rig.customer_says(chat, f"here are my details, round {i}")
                    inbound.append(await rig.wait("slack", in_thread(ts, f"round {i}")) - started)
                    # Agent → customer, after Telegram's one-second spacing per chat has passed.
                    await asyncio.sleep(1.05)
                    agent_ts = f"{time.time():.6f}"
                    event = message_event(CHANNEL, "UALEX", f"{REPLY} ({i})", ts=agent_ts, thread_ts=ts)
                    body, kind = event_callback(event, event_id=f"EvBench{i}")
                    started = time.monotonic()
                    # Signed as Slack signs, over a kept-alive connection as Slack's own sender would.
                    headers = {"Content-Type": kind, **sign(body)}
                    (
                        await rig.http.post(f"{url}/slack/events", content=body, headers=headers)
                    ).raise_for_status()
                    outbound.append(await rig.wait("telegram", telegram_text(chat, f"({i})")) - started)
                await rig.http.aclose()
        slack_own = await bare_call(
            f"{slack_url}/api/chat.postMessage",
            {"channel": CHANNEL, "text": "x"},
            {"Authorization": f"Bearer {BOT_TOKEN}"},
        )
        telegram_own = await bare_call(
            f"{telegram_url}/bot{TOKEN}/sendMessage", {"chat_id": 1, "text": "x"}, {}
        )
    return {
        "rounds": rounds,
        "customer_to_thread": summary(inbound),
        "agent_to_customer": summary(outbound),
        "fake_slack_call_p50_ms": round(slack_own * 1000, 1),
        "fake_telegram_call_p50_ms": round(telegram_own * 1000, 1),
        "customer_to_thread_overhead_p50_ms": round((statistics.median(inbound) - slack_own) * 1000, 1),
        "agent_to_customer_overhead_p50_ms": round((statistics.median(outbound) - telegram_own) * 1000, 1),
    }


async def thread_ts_of(rig: Rig, index: int) -> str:
    """The ts the fake gave the index-th handoff post (the thread agents reply in)."""
    messages = (await rig.http.get(f"{rig.slack_url}/_messages", params={"channel": CHANNEL})).json()
    return str(messages[index]["ts"])


async def burst(count: int, database_url: str = "") -> dict[str, Any]:
    async with fakes() as (slack_url, telegram_url), scratch_database(database_url) as url_of_database:
        with tempfile.TemporaryDirectory() as data:
            app = await app_for(Path(data), slack_url, telegram_url, url_of_database)
            async with serving(app) as url:
                await app.state.services.knowledge.wait_until_learned()  # no training in the background
                rig = Rig(url, slack_url, telegram_url)
                await rig.customer_says(1, "hello")  # warm the model and the connections
                await asyncio.sleep(1.0)
                chats = [20_000 + i for i in range(count)]
                text = "This is ridiculous, I want to speak to a human now"
                updates = [text_update(10_000 + chat, chat, text, message_id=1) for chat in chats]
                # The fake Telegram delivers the webhooks itself, all at once, from its own process.
                sent = await rig.http.post(
                    f"{telegram_url}/_burst",
                    json={"url": f"{url}/telegram/webhook", "secret": SECRET, "updates": updates},
                )
                started = {int(update_id) - 10_000: at for update_id, at in sent.json().items()}
                posts = await rig.wait("slack", top_level(count))
                tickets = await app.state.services.handoff.tickets.tickets()
                chat_of_ticket = {t.id: int(t.ref.chat_id) for t in tickets}
                latencies = [p["at"] - started[chat_of_ticket[int(ticket_of(p))]] for p in posts]
                await rig.http.aclose()
    return {
        "handoffs": count,
        "database": (database_url or "sqlite").split(":")[0],
        "posted": len(latencies),
        "trigger_to_post": summary(latencies),
    }


@asynccontextmanager
async def scratch_database(admin_url: str) -> AsyncIterator[str]:
    """For PostgreSQL, a throwaway database next to the one given (dropped afterwards)."""
    if not admin_url.startswith("postgresql"):
        yield admin_url
        return
    import asyncpg  # type: ignore[import-untyped]

    plain = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"supportbot_bench_{os.getpid()}"
    admin = await asyncpg.connect(plain)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        admin = await asyncpg.connect(plain)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    relay_parser = sub.add_parser("relay")
    relay_parser.add_argument("--rounds", type=int, default=20)
    burst_parser = sub.add_parser("burst")
    burst_parser.add_argument("--count", type=int, default=50)
    burst_parser.add_argument(
        "--database-url", default="", help="postgresql+asyncpg://... to run on a scratch PostgreSQL database"
    )
    for p in (relay_parser, burst_parser):
        p.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(relay(args.rounds) if args.what == "relay" else burst(args.count, args.database_url))
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
