"""Handoff benchmarks: relay overhead both ways, and 50 handoffs opening at once.

    python -m bench.handoff relay --json       customer → Slack thread, agent reply → customer
    python -m bench.handoff burst --json       50 customers trigger a handoff at the same moment

The app runs with the real model (as in production) on SQLite, against the fake Slack Web API and
the fake Telegram Bot API on 127.0.0.1, with the real slack-bolt and python-telegram-bot. "Beyond
the fakes' own time" subtracts the median time a bare call to the fake takes on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.channels import settings as base_settings
from bot.app import create_app
from knowledge_base.embedder import SentenceTransformerEmbedder
from tests.fakes.server import serving
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, deliver, event_callback, message_event
from tests.fakes.slack import block_action as slack_click
from tests.fakes.telegram import TOKEN, FakeTelegram, text_update

SECRET = "bench-secret"
CHANNEL = "CSUPPORT"
REPLY = "I've issued the refund; you'll see it on your card within 5 business days."


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p90_ms": round(percentile(values, 0.9) * 1000, 1),
        "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


class Rig:
    def __init__(self, url: str, slack: FakeSlack, telegram: FakeTelegram) -> None:
        self.url, self.slack, self.telegram = url, slack, telegram
        self.updates = itertools.count(1)
        self.http = httpx.AsyncClient(timeout=30)

    async def customer_says(self, chat: int, text: str) -> None:
        n = next(self.updates)
        response = await self.http.post(
            f"{self.url}/telegram/webhook",
            json=text_update(n, chat, text, message_id=n),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        response.raise_for_status()

    async def wait(self, found: Any, within: float = 30.0) -> float:
        """Poll until found() returns the moment the fake received the call; return it."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            moment = found()
            if moment is not None:
                return float(moment)
            await asyncio.sleep(0.001)
        raise TimeoutError("the fake never received the expected call")


async def rig(data: Path, slack: FakeSlack, telegram: FakeTelegram, slack_url: str, telegram_url: str) -> Any:
    settings = base_settings(
        data,
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


async def bare_call(
    url: str, method: str, payload: dict[str, Any], headers: dict[str, str], n: int = 50
) -> float:
    """The median time a bare call to a fake takes: its own time, to subtract."""
    times = []
    async with httpx.AsyncClient() as client:
        for _ in range(n):
            started = time.monotonic()
            await client.post(url + method, json=payload, headers=headers)
            times.append(time.monotonic() - started)
    return statistics.median(times)


async def relay(rounds: int) -> dict[str, Any]:
    slack, telegram = FakeSlack(), FakeTelegram()
    with tempfile.TemporaryDirectory() as data:
        async with serving(slack.app) as slack_url, serving(telegram.app()) as telegram_url:
            app = await rig(Path(data), slack, telegram, slack_url, telegram_url)
            async with serving(app) as url:
                bench = Rig(url, slack, telegram)
                inbound, outbound = [], []
                for i in range(rounds):
                    chat = 10_000 + i
                    await bench.customer_says(chat, "I want to talk to a human please")
                    await bench.wait(lambda: _top_level(slack, i + 1))
                    post = slack.messages(CHANNEL, top_level=True)[i]
                    ticket = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
                    body, kind = slack_click("UALEX", CHANNEL, post["ts"], "claim", ticket)
                    await deliver(url, body, kind)
                    await bench.wait(lambda: _telegram_count(telegram, chat, 2))
                    # Customer → thread.
                    started = time.monotonic()
                    await bench.customer_says(chat, f"here are my details, round {i}")
                    seen = await bench.wait(lambda: _thread_at(slack, post["ts"], f"round {i}"))
                    inbound.append(seen - started)
                    # Agent → customer (after the 1 s Telegram per-chat spacing has passed).
                    await asyncio.sleep(1.05)
                    message = slack.add_message(CHANNEL, "UALEX", f"{REPLY} ({i})", thread_ts=post["ts"])
                    event = message_event(
                        CHANNEL, "UALEX", message["text"], ts=message["ts"], thread_ts=post["ts"]
                    )
                    body, kind = event_callback(event, event_id=f"EvBench{i}")
                    started = time.monotonic()
                    await deliver(url, body, kind)
                    seen = await bench.wait(lambda: _telegram_text_at(telegram, chat, f"({i})"))
                    outbound.append(seen - started)
                await bench.http.aclose()
            slack_own = await bare_call(
                f"{slack_url}/api/",
                "chat.postMessage",
                {"channel": CHANNEL, "text": "x"},
                {"Authorization": f"Bearer {BOT_TOKEN}"},
            )
            telegram_own = await bare_call(
                f"{telegram_url}/bot{TOKEN}/", "sendMessage", {"chat_id": 1, "text": "x"}, {}
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


async def burst(count: int) -> dict[str, Any]:
    slack, telegram = FakeSlack(), FakeTelegram()
    with tempfile.TemporaryDirectory() as data:
        async with serving(slack.app) as slack_url, serving(telegram.app()) as telegram_url:
            app = await rig(Path(data), slack, telegram, slack_url, telegram_url)
            async with serving(app) as url:
                bench = Rig(url, slack, telegram)
                await bench.customer_says(1, "hello")  # warm the model and the connections
                await asyncio.sleep(1.0)
                chats = [20_000 + i for i in range(count)]
                started: dict[int, float] = {}

                async def one(chat: int) -> None:
                    started[chat] = time.monotonic()
                    await bench.customer_says(chat, "This is ridiculous, I want to speak to a human now")

                await asyncio.gather(*(one(chat) for chat in chats))
                await bench.wait(lambda: _top_level(slack, count), within=60)
                latencies = []
                posted = [
                    c
                    for c in slack.calls
                    if c.method == "chat.postMessage" and c.ok and not c.args.get("thread_ts")
                ]
                tickets = await app.state.services.handoff.tickets.tickets()
                chat_of_ticket = {t.id: int(t.ref.chat_id) for t in tickets}
                created = {t.id: t.created_at.timestamp() for t in tickets}
                wall_offset = time.time() - time.monotonic()  # tickets carry wall-clock times
                opened = []
                for call in posted:
                    ticket_id = int(
                        next(b for b in call.args["blocks"] if b["type"] == "actions")["elements"][0]["value"]
                    )
                    chat = chat_of_ticket[ticket_id]
                    latencies.append(call.at - started[chat])
                    opened.append(created[ticket_id] - wall_offset - started[chat])
                await bench.http.aclose()
    return {
        "handoffs": count,
        "posted": len(latencies),
        "trigger_to_post": summary(latencies),
        "trigger_to_ticket_stored": summary(opened),
    }


def _top_level(slack: FakeSlack, count: int) -> float | None:
    calls = [
        c for c in slack.calls if c.method == "chat.postMessage" and c.ok and not c.args.get("thread_ts")
    ]
    return calls[count - 1].at if len(calls) >= count else None


def _thread_at(slack: FakeSlack, ts: str, needle: str) -> float | None:
    for call in slack.calls:
        if call.method == "chat.postMessage" and call.ok and call.args.get("thread_ts") == ts:
            if needle in str(call.args.get("text")):
                return call.at
    return None


def _telegram_count(telegram: FakeTelegram, chat: int, count: int) -> float | None:
    calls = [c for c in telegram.calls if c.method == "sendMessage" and int(c.params["chat_id"]) == chat]
    return calls[count - 1].at if len(calls) >= count else None


def _telegram_text_at(telegram: FakeTelegram, chat: int, needle: str) -> float | None:
    for call in telegram.calls:
        if (
            call.method == "sendMessage"
            and int(call.params["chat_id"]) == chat
            and needle in str(call.params["text"])
        ):
            return call.at
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    relay_parser = sub.add_parser("relay")
    relay_parser.add_argument("--rounds", type=int, default=20)
    burst_parser = sub.add_parser("burst")
    burst_parser.add_argument("--count", type=int, default=50)
    for p in (relay_parser, burst_parser):
        p.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(relay(args.rounds) if args.what == "relay" else burst(args.count))
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
