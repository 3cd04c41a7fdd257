"""The fake Slack Web API and Telegram Bot API in their own process, for benchmarks.

In the benchmark's own process they would share its event loop and its CPU with the app under
test; here they do not. `GET /_calls` on each returns what it received, with CLOCK_MONOTONIC
times (the same clock in every process on the machine).

    python -m bench.fake_servers --slack-port 8101 --telegram-port 8102
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tests.fakes.server import serving
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram


def with_calls(app: Any, calls: Any, messages: Any = None) -> Starlette:
    async def listing(request: Request) -> JSONResponse:
        return JSONResponse(calls())

    async def posted(request: Request) -> JSONResponse:
        return JSONResponse(messages(request.query_params["channel"]) if messages else [])

    async def burst(request: Request) -> JSONResponse:
        """Deliver webhook updates all at once, as Telegram's servers would (from this process,
        so the sending costs the app under test nothing); answer when each was sent."""
        body = await request.json()
        headers = {"X-Telegram-Bot-Api-Secret-Token": body["secret"]}
        started: dict[str, float] = {}
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:

            async def send(update: dict[str, Any]) -> None:
                started[str(update["update_id"])] = time.monotonic()
                response = await client.post(body["url"], json=update, headers=headers)
                response.raise_for_status()

            await asyncio.gather(*(send(u) for u in body["updates"]))
        return JSONResponse(started)

    return Starlette(
        routes=[
            Route("/_calls", listing),
            Route("/_messages", posted),
            Route("/_burst", burst, methods=["POST"]),
            Mount("/", app=app),
        ]
    )


async def run(slack_port: int, telegram_port: int) -> None:
    slack, telegram = FakeSlack(), FakeTelegram()
    slack_calls = lambda: [  # noqa: E731
        {"method": c.method, "args": c.args, "at": c.at, "ok": c.ok} for c in slack.calls
    ]
    telegram_calls = lambda: [  # noqa: E731
        {"method": c.method, "args": c.params, "at": c.at, "ok": True} for c in telegram.calls
    ]
    top_level = lambda channel: slack.messages(channel, top_level=True)  # noqa: E731
    async with (
        serving(with_calls(slack.app, slack_calls, top_level), slack_port),
        serving(with_calls(telegram.app(), telegram_calls), telegram_port),
    ):
        print("ready", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slack-port", type=int, required=True)
    parser.add_argument("--telegram-port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(run(args.slack_port, args.telegram_port))


if __name__ == "__main__":
    main()
