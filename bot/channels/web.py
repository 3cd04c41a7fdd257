"""The web widget's server side: a WebSocket per open widget, signed conversation tokens.

A conversation id is random and never shown; the widget keeps a token (id + HMAC) in the
customer's browser, so history survives reloads and nobody can open another customer's
conversation by guessing. Replies reach the socket through the outbox: a widget that is
closed gets them when it reconnects.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.domain import Channel, ConversationRef, CustomerIdentity, HistoryEntry, IncomingMessage, Reply
from bot.errors import RecipientOffline

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64_000
HELLO_TIMEOUT_S = 10.0
POLICY_VIOLATION = 1008


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def issue(self) -> tuple[str, str]:
        chat_id = secrets.token_urlsafe(18)
        return chat_id, self.sign(chat_id)

    def sign(self, chat_id: str) -> str:
        mac = hmac.new(self._secret, chat_id.encode(), hashlib.sha256).digest()[:18]
        return f"{chat_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def verify(self, token: object) -> str | None:
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 200:
            return None
        chat_id = token.split(".", 1)[0]
        return chat_id if hmac.compare_digest(self.sign(chat_id), token) else None


def load_or_create_secret(configured: str | None, data_dir: Path) -> bytes:
    """A configured secret wins; else one is made once and kept in the data directory."""
    if configured:
        return configured.encode()
    path = data_dir / "widget_secret"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32).encode()
    path.write_bytes(secret)
    path.chmod(0o600)
    return secret


class SlidingWindow:
    """At most `limit` events per `window` seconds per key."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self._limit = limit
        self._window = window
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        events = self._events[key]
        while events and now - events[0] > self._window:
            events.popleft()
        if len(events) >= self._limit:
            return False
        events.append(now)
        return True


def reply_frame(reply: Reply, reply_id: int) -> dict[str, object]:
    return {"type": "reply", "id": reply_id, "from": "agent" if reply.agent else "bot", **reply.to_payload()}


def history_frame(entry: HistoryEntry) -> dict[str, object]:
    payload = entry.reply.to_payload() if entry.reply else {"text": entry.text, "link": None, "choices": []}
    frame = {"from": entry.author, **payload, "at": entry.at.isoformat()}
    if entry.reply_id is not None:
        frame["id"] = entry.reply_id
    return frame


class WidgetHub:
    """Open sockets by conversation; the outbox's sender for the web channel."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[WebSocket]] = defaultdict(set)

    def add(self, chat_id: str, socket: WebSocket) -> None:
        self._sockets[chat_id].add(socket)

    def remove(self, chat_id: str, socket: WebSocket) -> None:
        sockets = self._sockets.get(chat_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[chat_id]

    @property
    def connections(self) -> int:
        return sum(len(s) for s in self._sockets.values())

    async def send(self, ref: ConversationRef, reply: Reply, reply_id: int) -> str | None:
        sockets = list(self._sockets.get(ref.chat_id, ()))
        delivered = False
        for socket in sockets:
            try:
                await socket.send_text(json.dumps(reply_frame(reply, reply_id)))
                delivered = True
            except Exception:  # a socket closing under us: the others (or a reconnect) get it
                self.remove(ref.chat_id, socket)
        if not delivered:
            raise RecipientOffline("no widget open for this conversation")
        return None

    async def broadcast_typing(self, chat_id: str) -> None:
        for socket in list(self._sockets.get(chat_id, ())):
            with contextlib.suppress(Exception):
                await socket.send_text('{"type":"typing"}')


class WidgetEndpoint:
    """/widget/ws: hello → welcome (token, history), then messages and button presses."""

    def __init__(
        self,
        hub: WidgetHub,
        signer: TokenSigner,
        handle: Callable[[IncomingMessage], Awaitable[object]],
        history: Callable[[ConversationRef], Awaitable[list[HistoryEntry]]],
        on_reconnect: Callable[[ConversationRef], Awaitable[None]],
        allowed_origins: list[str],
        max_chars: int,
        per_conversation_per_minute: int,
        per_address_per_minute: int,
    ) -> None:
        self._hub = hub
        self._signer = signer
        self._handle = handle
        self._history = history
        self._on_reconnect = on_reconnect
        self._origins = {o.rstrip("/") for o in allowed_origins}
        self._max_chars = max_chars
        self._per_conversation = SlidingWindow(per_conversation_per_minute)
        self._per_address = SlidingWindow(per_address_per_minute)

    def origin_allowed(self, origin: str | None) -> bool:
        if "*" in self._origins:
            return True
        return origin is not None and origin.rstrip("/") in self._origins

    async def __call__(self, socket: WebSocket) -> None:
        if not self.origin_allowed(socket.headers.get("origin")):
            await socket.close(code=POLICY_VIOLATION)
            return
        await socket.accept()
        chat_id = await self._greet(socket)
        if chat_id is None:
            return
        ref = ConversationRef(Channel.WEB, chat_id)
        address = socket.client.host if socket.client else "unknown"
        self._hub.add(chat_id, socket)
        try:
            await self._on_reconnect(ref)
            while True:
                raw = await socket.receive_text()
                await self._on_frame(socket, ref, address, raw)
        except WebSocketDisconnect:
            pass
        finally:
            self._hub.remove(chat_id, socket)

    async def _greet(self, socket: WebSocket) -> str | None:
        try:
            raw = await asyncio.wait_for(socket.receive_text(), HELLO_TIMEOUT_S)
            hello = json.loads(raw)
        except (TimeoutError, json.JSONDecodeError, WebSocketDisconnect):
            with contextlib.suppress(Exception):
                await socket.close(code=POLICY_VIOLATION)
            return None
        chat_id = self._signer.verify(hello.get("token")) if isinstance(hello, dict) else None
        if chat_id is None:
            chat_id, token = self._signer.issue()
            history: list[HistoryEntry] = []
        else:
            token = self._signer.sign(chat_id)
            history = await self._history(ConversationRef(Channel.WEB, chat_id))
        await socket.send_text(
            json.dumps({"type": "welcome", "token": token, "history": [history_frame(h) for h in history]})
        )
        return chat_id

    async def _error(self, socket: WebSocket, code: str, message: str) -> None:
        await socket.send_text(json.dumps({"type": "error", "code": code, "message": message}))

    async def _on_frame(self, socket: WebSocket, ref: ConversationRef, address: str, raw: str) -> None:
        if len(raw.encode()) > MAX_FRAME_BYTES:
            await self._error(
                socket, "too_long", f"That message is too long (the limit is {self._max_chars:,} characters)."
            )
            return
        try:
            frame = json.loads(raw)
        except json.JSONDecodeError:
            await self._error(socket, "bad_request", "That message could not be read.")
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        text = (
            frame.get("text", "")
            if kind == "message"
            else frame.get("label", "")
            if kind == "button"
            else None
        )
        payload = frame.get("payload") if kind == "button" else None
        if text is None or not isinstance(text, str) or (kind == "button" and not isinstance(payload, str)):
            await self._error(socket, "bad_request", "That message could not be read.")
            return
        if not self._per_conversation.allow(ref.chat_id) or not self._per_address.allow(address):
            await self._error(
                socket, "rate_limited", "You're sending messages very fast. Please wait a moment."
            )
            return
        await self._hub.broadcast_typing(ref.chat_id)
        message = IncomingMessage(
            ref=ref,
            customer=CustomerIdentity(f"web:{ref.chat_id}"),
            text=text,
            received_at=datetime.now(UTC),
            vendor_message_id=None,
            button_payload=payload if kind == "button" else None,
        )
        try:
            await self._handle(message)
        except Exception:
            log.exception("widget message failed", extra={"conversation": ref.key})
            await self._error(
                socket, "unavailable", "Sorry, something went wrong on our side. Please try again."
            )
