"""The fake Slack Web API against the real slack_sdk client, and signed deliveries against a real bolt app."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.server import serving
from tests.fakes.slack import (
    BOT_ID,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    block_action,
    deliver,
    event_callback,
    message_event,
    message_shortcut,
    sign,
    slash_command,
    url_verification,
    view_submission,
)


@dataclass
class Slack:
    fake: FakeSlack
    url: str
    client: AsyncWebClient


@pytest.fixture
async def slack() -> AsyncIterator[Slack]:
    fake = FakeSlack()
    async with serving(fake.app) as url:
        yield Slack(fake, url, AsyncWebClient(token=BOT_TOKEN, base_url=url + "/api/"))


async def test_messages_updates_and_threads(slack: Slack) -> None:
    fake, client = slack.fake, slack.client
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]
    first = await client.chat_postMessage(channel="CSUPPORT", text="hello", blocks=blocks)
    assert first["ok"] and first["channel"] == "CSUPPORT" and first["message"]["blocks"] == blocks
    reply = await client.chat_postMessage(channel="CSUPPORT", text="in the thread", thread_ts=first["ts"])
    assert reply["ts"] > first["ts"] and reply["message"]["thread_ts"] == first["ts"]
    updated = await client.chat_update(channel="CSUPPORT", ts=first["ts"], text="hello again", blocks=[])
    assert updated["ts"] == first["ts"] and updated["message"]["text"] == "hello again"

    assert [m["text"] for m in fake.messages("CSUPPORT")] == ["hello again", "in the thread"]
    assert [m["text"] for m in fake.messages("CSUPPORT", top_level=True)] == ["hello again"]
    assert [m["ts"] for m in fake.thread("CSUPPORT", first["ts"])] == [reply["ts"]]
    assert fake.messages("CSUPPORT")[0]["reply_count"] == 1
    assert fake.sent("chat.postMessage")[0]["blocks"] == blocks  # JSON body, parsed
    assert [c["text"] for c in await fake.wait_for("chat.update", 1)] == ["hello again"]

    with pytest.raises(SlackApiError) as unknown_channel:
        await client.chat_postMessage(channel="CNOPE", text="x")
    assert unknown_channel.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as unknown_ts:
        await client.chat_update(channel="CSUPPORT", ts="1.000001", text="x")
    assert unknown_ts.value.response["error"] == "message_not_found"
    assert len(fake.sent("chat.postMessage")) == 2  # the failed call is recorded but not "sent"
    assert [c.error for c in fake.calls if c.method == "chat.postMessage"][-1] == "channel_not_found"


async def test_form_bodies_with_nested_json_and_views(slack: Slack) -> None:
    fake, client = slack.fake, slack.client
    blocks = [{"type": "divider"}]
    await client.api_call(
        "chat.postMessage", data={"channel": "CSUPPORT", "text": "f", "blocks": json.dumps(blocks)}
    )
    assert fake.messages("CSUPPORT")[0]["blocks"] == blocks

    view = {"type": "modal", "callback_id": "handoff", "title": {"type": "plain_text", "text": "Hand off"}}
    opened = await client.views_open(trigger_id="1.2.abc", view=view)
    view_id, view_hash = opened["view"]["id"], opened["view"]["hash"]
    assert opened["view"]["callback_id"] == "handoff" and fake.views[view_id]["type"] == "modal"
    changed = {**view, "private_metadata": "ticket-7"}
    updated = await client.views_update(view_id=view_id, view=changed, hash=view_hash)
    assert updated["view"]["private_metadata"] == "ticket-7" and updated["view"]["hash"] != view_hash
    with pytest.raises(SlackApiError) as stale:
        await client.views_update(view_id=view_id, view=changed, hash=view_hash)
    assert stale.value.response["error"] == "hash_conflict"
    form_view = await client.api_call("views.open", data={"trigger_id": "1.2.x", "view": json.dumps(view)})
    assert form_view["view"]["callback_id"] == "handoff"


async def test_the_other_methods(slack: Slack) -> None:
    fake, client = slack.fake, slack.client
    auth = await client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T0001", "UBOT", BOT_ID)
    posted = fake.add_message("CSUPPORT", "UALEX", "my order is late")
    await client.reactions_add(channel="CSUPPORT", timestamp=posted["ts"], name="eyes")
    with pytest.raises(SlackApiError) as twice:
        await client.reactions_add(channel="CSUPPORT", timestamp=posted["ts"], name="eyes")
    assert twice.value.response["error"] == "already_reacted"
    assert fake.reactions == [
        {"channel": "CSUPPORT", "timestamp": posted["ts"], "name": "eyes", "user": "UBOT"}
    ]

    ephemeral = await client.chat_postEphemeral(channel="CSUPPORT", user="USAM", text="only you")
    assert ephemeral["message_ts"] and fake.ephemerals[0]["user"] == "USAM"
    with pytest.raises(SlackApiError) as outsider:
        await client.chat_postEphemeral(channel="CSUPPORT", user="UOUT", text="x")
    assert outsider.value.response["error"] == "user_not_in_channel"

    link = await client.chat_getPermalink(channel="CSUPPORT", message_ts=posted["ts"])
    assert link["permalink"].endswith("/archives/CSUPPORT/p" + posted["ts"].replace(".", ""))
    info = await client.conversations_info(channel="CSUPPORT")
    assert info["channel"]["name"] == "support" and info["channel"]["num_members"] == 2

    alex = await client.users_info(user="UALEX")
    assert alex["user"]["name"] == "alex" and alex["user"]["profile"]["real_name"] == "Alex Kim"
    assert alex["user"]["tz"] == "Europe/London"
    with pytest.raises(SlackApiError) as nobody:
        await client.users_info(user="UNOBODY")
    assert nobody.value.response["error"] == "user_not_found"

    with pytest.raises(SlackApiError) as unknown:
        await client.api_call("files.upload")
    assert unknown.value.response.status_code == 200 and unknown.value.response["error"] == "unknown_method"


async def test_members_are_paginated_by_cursor(slack: Slack) -> None:
    slack.fake.channels["CSUPPORT"] |= {f"UAGENT{i}" for i in range(5)}
    members: list[str] = []
    cursors: list[str] = []
    first = await slack.client.conversations_members(channel="CSUPPORT", limit=3)
    async for page in first:
        members += page["members"]
        cursors.append(page["response_metadata"]["next_cursor"])
    assert sorted(members) == sorted(slack.fake.channels["CSUPPORT"]) and len(members) == 7
    assert len(cursors) == 3 and cursors[-1] == ""
    whole = await slack.client.conversations_members(channel="CSUPPORT")
    assert len(whole["members"]) == 7 and whole["response_metadata"]["next_cursor"] == ""


async def test_rate_limit_is_retried_after_retry_after(slack: Slack) -> None:
    slack.fake.fail("chat.postMessage", 429, retry_after=0)
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=slack.url + "/api/",
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    response = await client.chat_postMessage(channel="CSUPPORT", text="after the wait")
    assert response["ok"]
    attempts = [c for c in slack.fake.calls if c.method == "chat.postMessage"]
    assert [(c.status, c.error) for c in attempts] == [(429, "ratelimited"), (200, None)]
    assert len(slack.fake.sent("chat.postMessage")) == 1

    slack.fake.fail(None, 429, retry_after=0)
    with pytest.raises(SlackApiError) as limited:  # the default client does not retry
        await slack.client.auth_test()
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "0"
    assert limited.value.response["error"] == "ratelimited"


async def test_server_errors_outages_and_bad_tokens(slack: Slack) -> None:
    fake, client = slack.fake, slack.client
    fake.fail("chat.postMessage", 500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as failed:
            await client.chat_postMessage(channel="CSUPPORT", text="x")
        assert failed.value.response.status_code == 500
    assert (await client.chat_postMessage(channel="CSUPPORT", text="x"))["ok"]

    fake.down()
    with pytest.raises(SlackApiError) as outage:
        await client.auth_test()
    assert outage.value.response.status_code == 503
    fake.up()
    assert (await client.auth_test())["ok"]

    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.url + "/api/")
    with pytest.raises(SlackApiError) as denied:
        await wrong.chat_postMessage(channel="CSUPPORT", text="x")
    assert denied.value.response.status_code == 200 and denied.value.response["error"] == "invalid_auth"
    assert len(fake.sent("chat.postMessage")) == 1

    with pytest.raises(AssertionError, match=r"expected 2 successful chat\.postMessage"):
        await fake.wait_for("chat.postMessage", 2, within=0.05)


def test_signatures_verify_like_slack_s() -> None:
    body, _ = event_callback(message_event("CSUPPORT", "UALEX", "hi", ts="1700000000.000100"))
    headers = sign(body)
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace(b"hi", b"ho"), headers)
    assert not verifier.is_valid_request(body, sign(body, secret="another-secret"))
    assert not verifier.is_valid_request(body, sign(body, timestamp=int(time.time()) - 600))


async def test_deliver_signs_and_marks_retries() -> None:
    received: list[tuple[bytes, dict[str, str]]] = []

    async def echo(request: Request) -> Response:
        received.append((await request.body(), dict(request.headers)))
        return Response(status_code=200)

    async with serving(Starlette(routes=[Route("/slack/events", echo, methods=["POST"])])) as url:
        body, kind = slash_command("UALEX", "CSUPPORT", "/support", "help me")
        assert (await deliver(url, body, kind, retry_num=1)).status_code == 200
    got, headers = received[0]
    assert got == body and headers["content-type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(got, headers)
    assert headers["x-slack-retry-num"] == "1" and headers["x-slack-retry-reason"] == "http_timeout"


async def _eventually(found: dict[str, Any], key: str) -> Any:
    for _ in range(250):
        if key in found:
            return found[key]
        await asyncio.sleep(0.02)
    raise AssertionError(f"{key} never arrived: {found}")


async def test_a_bolt_app_understands_the_payloads(slack: Slack) -> None:
    fake = slack.fake
    bolt = AsyncApp(client=slack.client, signing_secret=SIGNING_SECRET)
    found: dict[str, Any] = {}
    modal = {"type": "modal", "callback_id": "handoff", "private_metadata": "ticket-9", "blocks": []}

    @bolt.event("message")
    async def on_message(event: dict[str, Any], say: Any, context: Any) -> None:
        await say(text=f"echo {event['text']}", thread_ts=event.get("thread_ts") or event["ts"])
        found["context"] = (context.team_id, context.user_id, context.channel_id, context.bot_id)

    @bolt.action("escalate")
    async def on_action(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        found["action"] = (body["actions"][0]["value"], body["container"]["thread_ts"])
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    @bolt.view("handoff")
    async def on_view(ack: Any, view: dict[str, Any]) -> None:
        await ack()
        found["view"] = (view["private_metadata"], view["state"]["values"]["note"]["text"]["value"])

    @bolt.command("/support")
    async def on_command(ack: Any, command: dict[str, Any]) -> None:
        await ack(f"got {command['text']} from {command['user_name']}")

    @bolt.shortcut("escalate_message")
    async def on_shortcut(ack: Any, shortcut: dict[str, Any]) -> None:
        await ack()
        found["shortcut"] = (shortcut["message"]["text"], shortcut["channel"]["id"])

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async with serving(Starlette(routes=[Route("/slack/events", events, methods=["POST"])])) as app_url:
        challenge = await deliver(app_url, *url_verification("c-123"))
        assert challenge.status_code == 200 and challenge.json() == {"challenge": "c-123"}
        forged = await deliver(app_url, *url_verification("c-123"), secret="not-the-secret")
        assert forged.status_code == 401

        question = fake.add_message("CSUPPORT", "UALEX", "where is my parcel")
        event = message_event("CSUPPORT", "UALEX", question["text"], ts=question["ts"])
        assert (await deliver(app_url, *event_callback(event))).status_code == 200
        echoed = await fake.wait_for("chat.postMessage", 1)
        assert echoed[0]["text"] == "echo where is my parcel" and echoed[0]["thread_ts"] == question["ts"]
        assert await _eventually(found, "context") == ("T0001", "UALEX", "CSUPPORT", BOT_ID)
        assert [m["text"] for m in fake.thread("CSUPPORT", question["ts"])] == ["echo where is my parcel"]

        bot_ts = echoed[0]["thread_ts"]
        click = block_action("USAM", "CSUPPORT", "1700000000.999999", "escalate", "take", thread_ts=bot_ts)
        assert (await deliver(app_url, *click)).status_code == 200
        assert await _eventually(found, "action") == ("take", bot_ts)
        await fake.wait_for("views.open", 1)
        opened = next(iter(fake.views.values()))

        form = view_submission("USAM", opened, {"note": {"text": "customer is upset"}})
        assert (await deliver(app_url, *form)).status_code == 200
        assert await _eventually(found, "view") == ("ticket-9", "customer is upset")

        command = await deliver(app_url, *slash_command("UALEX", "CSUPPORT", "/support", "status"))
        assert command.status_code == 200 and command.text == "got status from alex"

        shortcut = message_shortcut("USAM", "CSUPPORT", question["ts"], "escalate_message", text="help!")
        assert (await deliver(app_url, *shortcut)).status_code == 200
        assert await _eventually(found, "shortcut") == ("help!", "CSUPPORT")


async def test_response_urls_are_recorded(slack: Slack) -> None:
    webhook = AsyncWebhookClient(slack.url + "/respond/abc")
    await webhook.send(text="done", response_type="ephemeral")
    assert slack.fake.responses == [{"text": "done", "response_type": "ephemeral", "_key": "abc"}]
