"""The widget's WebSocket, as a browser would use it: hello, welcome, messages, replies, history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bot.app import Services, create_app
from bot.domain import Channel, ConversationRef, CustomerIdentity, IncomingMessage
from tests.helpers import fast_settings


def make_client(kb: Path, data: Path, **extra: Any) -> TestClient:
    return TestClient(create_app(fast_settings(kb, data, **extra)))


@pytest.fixture
def client(kb_folder: Path, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(kb_folder, tmp_path / "var") as client:
        yield client


def receive_until(socket: Any, kind: str) -> dict[str, Any]:
    while True:
        frame = json.loads(socket.receive_text())
        if frame["type"] == kind:
            return dict(frame)


def hello(socket: Any, token: str | None = None) -> dict[str, Any]:
    socket.send_text(json.dumps({"type": "hello", "token": token}))
    return receive_until(socket, "welcome")


def test_a_question_gets_typing_then_the_answer(client: TestClient) -> None:
    with client.websocket_connect("/widget/ws") as socket:
        welcome = hello(socket)
        assert welcome["history"] == [] and welcome["token"].count(".") == 1
        socket.send_text(json.dumps({"type": "message", "text": "when will my parcel arrive"}))
        assert json.loads(socket.receive_text())["type"] == "typing"
        reply = receive_until(socket, "reply")
        assert reply["text"].startswith("Standard shipping takes 3 to 5 business days")
        assert isinstance(reply["id"], int) and reply["from"] == "bot"


def test_history_survives_a_reload_and_a_forged_token_gets_a_new_conversation(client: TestClient) -> None:
    with client.websocket_connect("/widget/ws") as socket:
        token = hello(socket)["token"]
        socket.send_text(json.dumps({"type": "message", "text": "Can I buy a gift voucher?"}))
        receive_until(socket, "reply")
    with client.websocket_connect("/widget/ws") as socket:
        welcome = hello(socket, token)
        assert [(h["from"], h["text"][:20]) for h in welcome["history"]] == [
            ("customer", "Can I buy a gift vou"),
            ("bot", "Digital gift cards f"),
        ]
        assert welcome["token"] == token
    chat_id = token.split(".")[0]
    with client.websocket_connect("/widget/ws") as socket:
        forged = hello(socket, f"{chat_id}.AAAAAAAAAAAAAAAAAAAAAAAA")
        assert forged["history"] == [] and forged["token"] != token


def test_quick_reply_buttons_work(client: TestClient) -> None:
    with client.websocket_connect("/widget/ws") as socket:
        hello(socket)
        socket.send_text(json.dumps({"type": "message", "text": "xylophone zebra quartz"}))
        reply = receive_until(socket, "reply")
        assert reply["choices"] == [{"label": "Talk to a person", "payload": "human"}]
        socket.send_text(json.dumps({"type": "button", "payload": "human", "label": "Talk to a person"}))
        assert "bringing in a person from our team" in receive_until(socket, "reply")["text"]


def test_bad_frames_get_clear_errors(client: TestClient) -> None:
    with client.websocket_connect("/widget/ws") as socket:
        hello(socket)
        socket.send_text("{not json")
        assert receive_until(socket, "error")["code"] == "bad_request"
        socket.send_text(json.dumps({"type": "message", "text": "x" * 70_000}))
        error = receive_until(socket, "error")
        assert error["code"] == "too_long" and "4,000 characters" in error["message"]
        socket.send_text(json.dumps({"type": "message", "text": "y" * 5000}))
        assert "too long for me" in receive_until(socket, "reply")["text"]
        socket.send_text(json.dumps({"type": "message", "text": ""}))
        assert "didn't get any text" in receive_until(socket, "reply")["text"]


def test_rate_limit_per_conversation(kb_folder: Path, tmp_path: Path) -> None:
    with (
        make_client(kb_folder, tmp_path / "var", widget_rate_per_minute=2) as client,
        client.websocket_connect("/widget/ws") as socket,
    ):
        hello(socket)
        for _ in range(2):
            socket.send_text(json.dumps({"type": "message", "text": "Do gift cards expire?"}))
            receive_until(socket, "reply")
        socket.send_text(json.dumps({"type": "message", "text": "Do gift cards expire?"}))
        assert receive_until(socket, "error")["code"] == "rate_limited"


def test_disallowed_origin_is_refused(kb_folder: Path, tmp_path: Path) -> None:
    with make_client(kb_folder, tmp_path / "var", widget_allowed_origins="https://shop.example") as client:
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/widget/ws", headers={"origin": "https://evil.example"}) as socket,
        ):
            socket.receive_text()
        assert refused.value.code == 1008
        with client.websocket_connect("/widget/ws", headers={"origin": "https://shop.example"}) as socket:
            assert hello(socket)["type"] == "welcome"


def test_a_reply_sent_while_the_widget_was_closed_arrives_on_reconnect(client: TestClient) -> None:
    with client.websocket_connect("/widget/ws") as socket:
        token = hello(socket)["token"]
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    ref = ConversationRef(Channel.WEB, token.split(".")[0])
    message = IncomingMessage(ref, CustomerIdentity("web:x"), "Do gift cards expire?", datetime.now(UTC))
    client.portal.call(services.engine.handle, message)  # type: ignore[union-attr]

    async def settled() -> list[tuple[str, int, str | None]]:
        for _ in range(100):
            states = await services.repository.outbox_states(ref)
            if states and states[0][0] == "waiting":
                return states
            await asyncio.sleep(0.02)
        return await services.repository.outbox_states(ref)

    assert client.portal.call(settled)[0][0] == "waiting"  # type: ignore[union-attr]
    with client.websocket_connect("/widget/ws") as socket:
        welcome = hello(socket, token)
        assert [h["from"] for h in welcome["history"]] == ["customer", "bot"]
        reply = receive_until(socket, "reply")
        assert reply["text"].startswith("Digital gift cards")
        # The same id as in the history: the widget shows it once.
        assert reply["id"] == welcome["history"][1]["id"]


def test_widget_script_and_demo_page_are_served(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "/widget/ws" in script.text
    page = client.get("/").text
    assert '<script src="/widget.js"' in page
