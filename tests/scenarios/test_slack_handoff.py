"""The whole handoff loop with the real slack-bolt and python-telegram-bot against fakes on 127.0.0.1.

Customer on Telegram → trigger → Block Kit post in Slack → Claim → customer told → relay both ways →
Resolve → rating. Requests reach the app signed exactly as Slack signs them; assertions are on what
the fake servers received.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import websockets

from bot.app import create_app
from handoff.ports import LineKind
from handoff.tickets import TicketState
from tests.fakes.server import serving
from tests.fakes.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    block_action,
    deliver,
    event_callback,
    message_event,
    message_shortcut,
    slash_command,
    view_submission,
)
from tests.fakes.telegram import TOKEN, FakeTelegram, callback_update, text_update
from tests.helpers import fast_settings

SECRET = "s3cret-token_1"
CHAT = 4242
CHANNEL = "CSUPPORT"
GOOD_REPLY = "I've issued the refund; you'll see it on your card within 5 business days."


class Desk:
    """The running app with both fakes, and the moves of a customer and of agents."""

    def __init__(self, app: Any, url: str, slack: FakeSlack, slack_url: str, telegram: FakeTelegram) -> None:
        self.app, self.url, self.slack, self.slack_url, self.telegram = app, url, slack, slack_url, telegram
        self._updates = itertools.count(1)
        self._events = itertools.count(1)

    @property
    def services(self) -> Any:
        return self.app.state.services

    async def customer_says(self, text: str, chat: int = CHAT) -> None:
        n = next(self._updates)
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{self.url}/telegram/webhook",
                json=text_update(n, chat, text, message_id=n),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
        assert response.status_code == 200

    async def customer_presses(self, data: str) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{self.url}/telegram/webhook",
                json=callback_update(next(self._updates), CHAT, data),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
        assert response.status_code == 200

    async def click(self, user: str, action_id: str, value: str, message_ts: str) -> httpx.Response:
        body, kind = block_action(
            user, CHANNEL, message_ts, action_id, value, response_url=f"{self.slack_url}/respond/{action_id}"
        )
        return await deliver(self.url, body, kind)

    async def thread_reply(self, user: str, text: str, thread_ts: str, **options: Any) -> httpx.Response:
        message = self.slack.add_message(CHANNEL, user, text, thread_ts=thread_ts)
        event = message_event(CHANNEL, user, text, ts=message["ts"], thread_ts=thread_ts)
        body, kind = event_callback(event, event_id=options.pop("event_id", f"Ev{next(self._events):08d}"))
        return await deliver(self.url, body, kind, **options)

    async def handoff_post(self) -> dict[str, Any]:
        posts = await self.slack.wait_for("chat.postMessage", 1)
        top = [p for p in posts if not p.get("thread_ts")]
        assert top, posts
        return self.slack.messages(CHANNEL, top_level=True)[-1]

    async def telegram_texts(self, count: int) -> list[str]:
        await self.telegram.wait_for("sendMessage", count)
        return self.telegram.texts_to(CHAT)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def settings_for(kb: Path, data: Path, telegram_url: str, slack_url: str, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "telegram_token": TOKEN,
        "telegram_api_url": telegram_url,
        "telegram_mode": "webhook",
        "telegram_webhook_secret": SECRET,
        "public_url": "https://bot.example.com",
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": f"{slack_url}/api/",
        "slack_channel": CHANNEL,
        "business_hours": "24/7",
        "slack_oncall_group": "S0NCALL",
    }
    values.update(extra)
    return fast_settings(kb, data, **values)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, str, FakeTelegram, str]]:
    slack, telegram = FakeSlack(), FakeTelegram()
    async with serving(slack.app) as slack_url, serving(telegram.app()) as telegram_url:
        yield slack, slack_url, telegram, telegram_url


@pytest.fixture
async def desk(
    fakes: tuple[FakeSlack, str, FakeTelegram, str],
    kb_folder: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Desk]:
    slack, slack_url, telegram, telegram_url = fakes
    extra = getattr(request, "param", {})
    app = create_app(settings_for(kb_folder, tmp_path / "var", telegram_url, slack_url, **extra))
    async with serving(app) as url:
        yield Desk(app, url, slack, slack_url, telegram)


async def test_the_whole_loop_from_telegram(desk: Desk) -> None:
    await desk.customer_says("I want to talk to a human please")
    post = await desk.handoff_post()
    texts = await desk.telegram_texts(1)
    assert "within about 2 hours" in texts[-1]
    # One Block Kit message with everything at a glance and the buttons.
    rendered = str(post["blocks"])
    assert "Asked for a person" in rendered and "Ana" in rendered and "Telegram" in rendered
    assert "First reply due" in rendered and "I want to talk to a human please" in rendered
    actions = next(b for b in post["blocks"] if b["type"] == "actions")["elements"]
    assert [a["action_id"] for a in actions] == ["claim", "return_to_bot", "close_spam"]
    ticket_id = actions[0]["value"]

    assert (await desk.click("UALEX", "claim", ticket_id, post["ts"])).status_code == 200
    texts = await desk.telegram_texts(2)
    assert texts[-1] == "alex from Test Store has joined and will reply here." or "has joined" in texts[-1]
    await desk.slack.wait_for("chat.update", 1)
    updated = desk.slack.message(CHANNEL, post["ts"])
    assert updated is not None and "Claimed by <@UALEX>" in str(updated["blocks"])
    assert [a["action_id"] for b in updated["blocks"] if b["type"] == "actions" for a in b["elements"]] == [
        "resolve",
        "return_to_bot",
    ]

    # The customer writes: it lands in the thread, and the bot says nothing.
    await desk.customer_says("It's order 1234, the grinder arrived broken")
    await eventually(lambda: _thread_has(desk, post["ts"], "the grinder arrived broken"))
    assert len(desk.telegram.texts_to(CHAT)) == 2

    # The agent replies in the thread: it reaches the customer, marked delivered.
    await desk.thread_reply("UALEX", GOOD_REPLY, post["ts"])
    texts = await desk.telegram_texts(3)
    assert texts[-1].endswith(GOOD_REPLY) and texts[-1].startswith("alex")
    await desk.slack.wait_for("reactions.add", 1)
    assert desk.slack.reactions[-1]["name"] == "white_check_mark"

    # Resolve: the customer is told, then asked for a rating with buttons.
    await desk.click("UALEX", "resolve", ticket_id, post["ts"])
    await desk.telegram.wait_for("sendMessage", 5)
    rating = desk.telegram.sent()[-1]
    assert "rate" in rating["text"]
    buttons = [b for row in rating["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["1", "2", "3", "4", "5"]
    await desk.customer_presses(buttons[4]["callback_data"])
    texts = await desk.telegram_texts(6)
    assert "Thank you" in texts[-1]
    await eventually(lambda: _thread_has(desk, post["ts"], "rated 5/5"))
    ticket = await desk.services.handoff.service.ticket(int(ticket_id))
    assert ticket.state is TicketState.RESOLVED and ticket.csat_score == 5
    # After Resolve the bot answers again.
    await desk.customer_says("how long does shipping take to canada")
    texts = await desk.telegram_texts(7)
    assert texts[-1].startswith("Standard shipping takes 3 to 5 business days")


async def _responded(desk: Desk, needle: str) -> bool:
    return any(needle in str(r.get("text")) for r in desk.slack.responses)


async def _thread_has(desk: Desk, ts: str, needle: str) -> bool:
    return any(needle in str(m.get("text")) for m in desk.slack.thread(CHANNEL, ts))


async def test_internal_messages_never_reach_the_customer(desk: Desk) -> None:
    await desk.customer_says("I want to talk to a human please")
    post = await desk.handoff_post()
    ticket_id = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    # Before anyone claims, a reply stays internal and its author is told privately.
    await desk.thread_reply("UALEX", "I'll look at this today and reply by 3pm.", post["ts"])
    await desk.slack.wait_for("chat.postEphemeral", 1)
    assert "claim" in desk.slack.ephemerals[-1]["text"].lower()
    await desk.click("UALEX", "claim", ticket_id, post["ts"])
    await desk.telegram_texts(2)
    # Another member, a note, and an outsider: all internal.
    await desk.thread_reply("USAM", "I'll refund it today, you'll have it within 3 days.", post["ts"])
    await desk.thread_reply("UALEX", "note: she ordered twice this week, refund by Friday", post["ts"])
    await desk.thread_reply("UOUT", "We'll call you tomorrow at 10.", post["ts"])
    await desk.thread_reply("UALEX", GOOD_REPLY, post["ts"])
    texts = await desk.telegram_texts(3)
    await asyncio.sleep(0.3)
    texts = desk.telegram.texts_to(CHAT)
    assert sum(GOOD_REPLY in t for t in texts) == 1
    assert not any("refund it today" in t or "ordered twice" in t or "call you tomorrow" in t for t in texts)
    kinds = [line.kind for line in await desk.services.handoff.tickets.lines(int(ticket_id))]
    assert kinds.count(LineKind.NOTE) == 4 and kinds.count(LineKind.AGENT) == 1


async def test_a_reply_without_a_timing_is_held_until_the_agent_confirms(desk: Desk) -> None:
    await desk.customer_says("I want to talk to a human please")
    post = await desk.handoff_post()
    ticket_id = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    await desk.click("UALEX", "claim", ticket_id, post["ts"])
    await desk.telegram_texts(2)
    await desk.thread_reply("UALEX", "We'll send a replacement.", post["ts"])
    await desk.slack.wait_for("chat.postEphemeral", 1)
    warning = desk.slack.ephemerals[-1]
    assert "Not sent yet" in warning["text"] and warning["user"] == "UALEX"
    send = next(e for b in warning["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert len(desk.telegram.texts_to(CHAT)) == 2
    await desk.click("UALEX", "send_held", send["value"], post["ts"])
    texts = await desk.telegram_texts(3)
    assert texts[-1].endswith("We'll send a replacement.")


async def test_only_members_of_the_channel_can_claim(desk: Desk) -> None:
    await desk.customer_says("I want to talk to a human please")
    post = await desk.handoff_post()
    ticket_id = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    await desk.click("UOUT", "claim", ticket_id, post["ts"])
    await eventually(lambda: _responded(desk, "Only members"))
    ticket = await desk.services.handoff.service.ticket(int(ticket_id))
    assert ticket.state is TicketState.WAITING


async def test_customer_text_cannot_ping_spoof_links_or_restyle_the_post(desk: Desk) -> None:
    hostile = (
        "talk to a human <!channel> <!here> <@UALEX> <https://evil.example|Your bank> *bold* `code` @channel"
    )
    await desk.customer_says(hostile)
    post = await desk.handoff_post()
    rendered = str(post["blocks"]) + str(post["text"])
    for raw in (
        "<!channel>",
        "<!here>",
        "<@UALEX>",
        "<https://evil.example|Your bank>",
        "*bold*",
        "`code`",
        "@channel",
    ):
        assert raw not in rendered, raw
    assert "&lt;!channel&gt;" in rendered and "&lt;https://evil.example|Your bank&gt;" in rendered


async def test_forged_and_stale_requests_are_refused_and_change_nothing(desk: Desk) -> None:
    await desk.customer_says("I want to talk to a human please")
    post = await desk.handoff_post()
    ticket_id = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    body, kind = block_action("UALEX", CHANNEL, post["ts"], "claim", ticket_id)
    forged = await deliver(desk.url, body, kind, secret="not-the-secret")
    stale = await deliver(desk.url, body, kind, timestamp=int(time.time()) - 6 * 60)
    assert forged.status_code == 401 and stale.status_code == 401
    await asyncio.sleep(0.3)
    ticket = await desk.services.handoff.service.ticket(int(ticket_id))
    assert ticket.state is TicketState.WAITING and desk.slack.sent("chat.update") == []


async def test_a_retried_event_is_processed_once(desk: Desk) -> None:
    await desk.customer_says("I want to talk to a human please")
    post = await desk.handoff_post()
    ticket_id = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    await desk.click("UALEX", "claim", ticket_id, post["ts"])
    await desk.telegram_texts(2)
    message = desk.slack.add_message(CHANNEL, "UALEX", GOOD_REPLY, thread_ts=post["ts"])
    body, kind = event_callback(
        message_event(CHANNEL, "UALEX", GOOD_REPLY, ts=message["ts"], thread_ts=post["ts"]),
        event_id="EvRETRY1",
    )
    first = await deliver(desk.url, body, kind)
    retry = await deliver(desk.url, body, kind, retry_num=1)
    assert first.status_code == retry.status_code == 200
    await desk.telegram_texts(3)
    await asyncio.sleep(0.5)
    assert sum(GOOD_REPLY in t for t in desk.telegram.texts_to(CHAT)) == 1


async def test_slack_down_for_a_while_loses_no_handoff(desk: Desk) -> None:
    desk.slack.down()
    await desk.customer_says("I want to talk to a human please")
    texts = await desk.telegram_texts(1)
    assert "within about 2 hours" in texts[-1]  # the customer is told regardless
    await asyncio.sleep(1.5)
    assert desk.slack.sent("chat.postMessage") == []
    desk.slack.up()
    post = await desk.handoff_post()
    assert "Asked for a person" in str(post["blocks"])
    assert len(desk.slack.messages(CHANNEL, top_level=True)) == 1


async def test_a_template_is_inserted_edited_and_sent_from_slack(desk: Desk) -> None:
    await desk.customer_says("I want my money back, refund please")
    post = await desk.handoff_post()
    ticket_id = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    await desk.click("UALEX", "claim", ticket_id, post["ts"])
    await desk.telegram_texts(2)
    body, kind = message_shortcut("UALEX", CHANNEL, post["ts"], "reply_with_template")
    assert (await deliver(desk.url, body, kind)).status_code == 200
    opened = (await desk.slack.wait_for("views.open", 1))[0]["view"]
    text_block = next(b for b in opened["blocks"] if b.get("block_id", "").startswith("text-"))
    prefilled = text_block["element"]["initial_value"]
    assert "Ana" in prefilled and "{" not in prefilled
    # Unknown details show as [markers]: sending them unedited is refused, privately, with the reason.
    body, kind = view_submission("UALEX", opened, {text_block["block_id"]: {"text": prefilled}})
    refused = await deliver(desk.url, body, kind)
    assert "Still has a placeholder: [order number]" in str(refused.json()["errors"])
    edited = re.sub(r"\[[a-z ]+\]", "1234", prefilled.replace("Ana", "Ana Lopez"))
    body, kind = view_submission("UALEX", opened, {text_block["block_id"]: {"text": edited}})
    response = await deliver(desk.url, body, kind)
    assert response.status_code == 200 and not response.content
    texts = await desk.telegram_texts(3)
    assert "Ana Lopez" in texts[-1]
    # A bare reply in the modal is refused with the reason, privately.
    body, kind = view_submission("UALEX", opened, {text_block["block_id"]: {"text": "ok thanks"}})
    refused = await deliver(desk.url, body, kind)
    assert refused.json()["response_action"] == "errors"
    assert "timing" in str(refused.json()["errors"]).lower()


@pytest.mark.parametrize("desk", [{"sla_first_response_minutes": 0.02}], indirect=True)
async def test_reminder_then_on_call_mention_until_someone_claims(desk: Desk) -> None:
    await desk.customer_says("I want to talk to a human please")
    post = await desk.handoff_post()
    await asyncio.sleep(1.5)  # past the reminder (75%) and the first-response target (1.2 s)
    await desk.services.handoff.sync.sync_once()
    thread = " ".join(str(m.get("text")) for m in desk.slack.thread(CHANNEL, post["ts"]))
    assert "<!subteam^S0NCALL>" in thread and "First-response target missed" in thread
    before = len(desk.slack.thread(CHANNEL, post["ts"]))
    await desk.services.handoff.sync.sync_once()
    assert len(desk.slack.thread(CHANNEL, post["ts"])) == before  # said once, not on every pass


class WidgetCustomer:
    """A customer in the web widget, over a real WebSocket."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.replies: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(frame))

    async def next_reply(self, within: float = 10.0) -> dict[str, Any]:
        while True:
            frame = json.loads(await asyncio.wait_for(self.socket.recv(), within))
            if frame["type"] == "reply":
                self.replies.append(frame)
                return dict(frame)


async def test_the_whole_loop_from_the_widget(desk: Desk) -> None:
    async with websockets.connect(desk.url.replace("http", "ws") + "/widget/ws") as socket:
        customer = WidgetCustomer(socket)
        await customer.send({"type": "hello", "token": None})
        await customer.send({"type": "message", "text": "This is useless, let me speak to a real person"})
        told = await customer.next_reply()
        assert "within about 2 hours" in told["text"] and told["from"] == "bot"
        post = await desk.handoff_post()
        assert "Web chat" in str(post["blocks"])
        ticket_id = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
        await desk.click("USAM", "claim", ticket_id, post["ts"])
        joined = await customer.next_reply()
        assert "has joined" in joined["text"]
        await customer.send({"type": "message", "text": "my coffee tastes burnt, batch 42"})
        await eventually(lambda: _thread_has(desk, post["ts"], "my coffee tastes burnt"))
        await desk.thread_reply("USAM", GOOD_REPLY, post["ts"])
        answer = await customer.next_reply()
        assert answer["text"] == GOOD_REPLY and answer["from"] == "agent" and answer["agent"]
        await desk.slack.wait_for("reactions.add", 1)
        await desk.click("USAM", "resolve", ticket_id, post["ts"])
        assert "resolved" in (await customer.next_reply())["text"]
        rating = await customer.next_reply()
        assert [c["label"] for c in rating["choices"]] == ["1", "2", "3", "4", "5"]
        await customer.send({"type": "button", "payload": rating["choices"][0]["payload"], "label": "1"})
        sorry = await customer.next_reply()
        assert "reopened" in sorry["text"]
    await eventually(lambda: _thread_has(desk, post["ts"], "Reopened for recovery"))
    ticket = await desk.services.handoff.service.ticket(int(ticket_id))
    assert ticket.state is TicketState.WAITING and ticket.recovery


@pytest.mark.parametrize("desk", [{"slack_routes": "refund_request=CREFUNDS"}], indirect=True)
async def test_a_trigger_with_its_own_channel_is_posted_there(desk: Desk) -> None:
    desk.slack.channels["CREFUNDS"] = {"UALEX"}
    await desk.customer_says("I want a refund for my order")
    posts = await desk.slack.wait_for("chat.postMessage", 1)
    assert posts[0]["channel"] == "CREFUNDS" and "Refund request" in str(posts[0]["blocks"])
    ticket_id = next(b for b in posts[0]["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    # USAM is in the main channel but not in the refunds one: they cannot claim it.
    ts = desk.slack.messages("CREFUNDS", top_level=True)[0]["ts"]
    body, kind = block_action(
        "USAM", "CREFUNDS", ts, "claim", ticket_id, response_url=f"{desk.slack_url}/respond/x"
    )
    await deliver(desk.url, body, kind)
    await eventually(lambda: _responded(desk, "Only members"))


async def test_rate_limited_by_slack_the_post_waits_and_goes_out(desk: Desk) -> None:
    desk.slack.fail("chat.postMessage", 429, times=2, retry_after=1)
    await desk.customer_says("I want to talk to a human please")
    post = await desk.handoff_post()
    assert "Asked for a person" in str(post["blocks"])
    assert [c.status for c in desk.slack.calls if c.method == "chat.postMessage"][:2] == [429, 429]


@pytest.mark.parametrize("desk", [{"slack_routes": "refund_request=CGONE"}], indirect=True)
async def test_a_channel_slack_refuses_does_not_hold_up_other_handoffs(desk: Desk) -> None:
    await desk.customer_says("I want a refund for my order")  # routed to a channel that does not exist
    await asyncio.sleep(0.3)
    await desk.customer_says("I want to talk to a human please", chat=CHAT + 1)
    await eventually(lambda: _top_level_count(desk, 1))
    assert "Asked for a person" in str(desk.slack.messages(CHANNEL, top_level=True)[0]["blocks"])


async def _top_level_count(desk: Desk, count: int) -> bool:
    return len(desk.slack.messages(CHANNEL, top_level=True)) >= count


async def test_an_agent_reply_to_a_closed_widget_is_flagged_and_delivered_on_return(desk: Desk) -> None:
    async with websockets.connect(desk.url.replace("http", "ws") + "/widget/ws") as socket:
        customer = WidgetCustomer(socket)
        await customer.send({"type": "hello", "token": None})
        token = json.loads(await socket.recv())["token"]
        await customer.send({"type": "message", "text": "let me speak to a real person"})
        await customer.next_reply()
        post = await desk.handoff_post()
        ticket_id = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
        await desk.click("USAM", "claim", ticket_id, post["ts"])
        await customer.next_reply()
    # The customer closed the chat; the agent answers anyway.
    await desk.thread_reply("USAM", GOOD_REPLY, post["ts"])
    await eventually(
        lambda: _thread_has(desk, post["ts"], "Not delivered to the customer: the customer has closed")
    )
    async with websockets.connect(desk.url.replace("http", "ws") + "/widget/ws") as socket:
        await socket.send(json.dumps({"type": "hello", "token": token}))
        welcome = json.loads(await socket.recv())
        shown = [h for h in welcome["history"] if h["text"] == GOOD_REPLY]
        assert shown and shown[0]["from"] == "agent"
        await desk.slack.wait_for("reactions.add", 1)  # delivered once the customer was back


async def test_the_slash_command_opens_a_template_for_a_ticket_and_explains_itself(desk: Desk) -> None:
    await desk.customer_says("my parcel is late and I want to talk to a human")
    post = await desk.handoff_post()
    ticket_id = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
    body, kind = slash_command("UALEX", CHANNEL, "/supportbot", f"template #{ticket_id}")
    assert (await deliver(desk.url, body, kind)).status_code == 200
    opened = (await desk.slack.wait_for("views.open", 1))[0]["view"]
    assert opened["private_metadata"] == ticket_id and opened["callback_id"] == "template_reply"
    body, kind = slash_command("UOUT", CHANNEL, "/supportbot", f"template {ticket_id}")
    refused = await deliver(desk.url, body, kind)
    assert "Only members" in refused.text and len(desk.slack.sent("views.open")) == 1
    body, kind = slash_command("UALEX", CHANNEL, "/supportbot", "help")
    assert "note:" in (await deliver(desk.url, body, kind)).text


async def test_socket_mode_works_without_a_public_endpoint(kb_folder: Path, tmp_path: Path) -> None:
    slack = FakeSlack()
    async with serving(slack.app) as slack_url:
        settings = fast_settings(
            kb_folder,
            tmp_path / "var",
            slack_bot_token=BOT_TOKEN,
            slack_app_token=APP_TOKEN,
            slack_api_url=f"{slack_url}/api/",
            slack_channel=CHANNEL,
            business_hours="24/7",
        )
        app = create_app(settings)
        async with serving(app) as url, httpx.AsyncClient() as client:
            await slack.wait_for_socket()
            # Nothing arrives over HTTP in Socket Mode: an unsigned request there is refused.
            body, kind = block_action("UALEX", CHANNEL, "1.0", "claim", "1")
            assert (
                await client.post(f"{url}/slack/events", content=body, headers={"Content-Type": kind})
            ).status_code == 404
            told = (
                await client.post(f"{url}/api/chat", json={"text": "I want to talk to a human please"})
            ).json()
            assert "within about 2 hours" in told["replies"][0]["text"]
            post = (await slack.wait_for("chat.postMessage", 1))[0]
            ts = slack.messages(CHANNEL, top_level=True)[0]["ts"]
            ticket_id = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]["value"]
            # Slack delivers the button click over the socket; the app acknowledges the envelope.
            body, _ = block_action("UALEX", CHANNEL, ts, "claim", ticket_id)
            payload = json.loads(parse_qs(body.decode())["payload"][0])
            envelope = await slack.push("interactive", payload)
            await eventually(lambda: _acked(slack, envelope))
            await slack.wait_for("chat.update", 1)
            ticket = await app.state.services.handoff.service.ticket(int(ticket_id))
            assert ticket.state is TicketState.CLAIMED and ticket.claimed_by is not None
            assert ticket.claimed_by.id == "UALEX"


async def _acked(slack: FakeSlack, envelope_id: str) -> bool:
    return any(ack.get("envelope_id") == envelope_id for ack in slack.socket_acks)


async def test_with_nobody_online_the_customer_is_told_when_to_expect_a_reply(desk: Desk) -> None:
    desk.slack.presence.update({"UALEX": "away", "USAM": "away"})
    await desk.customer_says("I want to talk to a human please")
    texts = await desk.telegram_texts(1)
    assert "Nobody from our team is online right now, but a teammate will reply by" in texts[-1]
