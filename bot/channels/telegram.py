"""Telegram through python-telegram-bot: webhook (production) or polling (local development).

Translation is pure (`to_incoming`, `to_vendor`); the rest is wiring: the webhook route checks
the secret token, polling feeds the same handler, and `TelegramSender` turns the library's
errors into the outbox's instructions (retry after, back off, give up).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.domain import Attachment, Channel, ConversationRef, CustomerIdentity, IncomingMessage, Reply
from bot.errors import RetryLater, TemporaryFailure, Undeliverable
from bot.replies import START_PAYLOAD

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit for one message
MAX_CALLBACK_BYTES = 64  # Telegram's limit for a button's callback data
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
CONNECTIONS = 32  # to the Bot API; the outbox's rate limiter keeps us within Telegram's limits
TYPING_PER_SECOND = 5  # typing indicators give way to answers under load
GROUP_NOTICE = (
    "Hi! I only answer in private chats, to keep your order details private. Please message me directly."
)


@dataclass(frozen=True, slots=True)
class GroupChat:
    """A message from a group or channel: declined politely, never processed."""

    chat_id: int


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """A button press that must be answered (stops the client's spinner) besides being handled."""

    callback_query_id: str


def to_incoming(update: Update) -> tuple[IncomingMessage | GroupChat | None, CallbackAnswer | None]:
    """Telegram update → what the engine understands. Pure: no I/O."""
    vendor_id = f"update:{update.update_id}"
    query = update.callback_query
    if query is not None:
        answer = CallbackAnswer(query.id)
        message = query.message
        chat = message.chat if message is not None else None
        if chat is None or chat.type != "private":
            return (GroupChat(chat.id) if chat is not None else None), answer
        return (
            IncomingMessage(
                ref=ConversationRef(Channel.TELEGRAM, str(chat.id)),
                customer=_customer(query.from_user),
                text="",
                received_at=datetime.now(UTC),
                vendor_message_id=vendor_id,
                button_payload=query.data or "",
            ),
            answer,
        )
    message = update.message or update.edited_message
    if message is None:
        return None, None
    if message.chat.type != "private":
        return GroupChat(message.chat.id), None
    text = message.text or message.caption or ""
    button = None
    if text.strip().split("@")[0] == "/start":
        text, button = "", START_PAYLOAD
    return (
        IncomingMessage(
            ref=ConversationRef(Channel.TELEGRAM, str(message.chat.id)),
            customer=_customer(message.from_user),
            text=text,
            received_at=message.date or datetime.now(UTC),
            vendor_message_id=vendor_id,
            button_payload=button,
            attachments=_attachments(message),
        ),
        None,
    )


def _customer(user: object) -> CustomerIdentity:
    if user is None:
        return CustomerIdentity("telegram:unknown")
    name = " ".join(p for p in (getattr(user, "first_name", ""), getattr(user, "last_name", "")) if p) or None
    return CustomerIdentity(str(getattr(user, "id", "unknown")), name, getattr(user, "language_code", None))


def _attachments(message: object) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    photos = getattr(message, "photo", None) or ()
    if photos:
        biggest = photos[-1]  # Telegram lists sizes smallest first
        found.append(Attachment("photo", biggest.file_id, None, biggest.file_size))
    for kind in ("document", "video", "voice"):
        item = getattr(message, kind, None)
        if item is not None:
            found.append(Attachment(kind, item.file_id, getattr(item, "file_name", None), item.file_size))
    return tuple(found)


def to_vendor(reply: Reply) -> tuple[str, InlineKeyboardMarkup | None]:
    """Reply → (text, inline keyboard). Pure."""
    text = f"{reply.agent}: {reply.text}" if reply.agent else reply.text
    if reply.link:
        text = f"{text}\n\nRead more: {reply.link}"
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    buttons = [
        [InlineKeyboardButton(choice.label[:64], callback_data=choice.payload)]
        for choice in reply.choices
        if len(choice.payload.encode()) <= MAX_CALLBACK_BYTES
    ]
    return text, (InlineKeyboardMarkup(buttons) if buttons else None)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """The outbox's way to Telegram."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, ref: ConversationRef, reply: Reply, reply_id: int = 0) -> str | None:
        text, markup = to_vendor(reply)
        try:
            sent = await self._bot.send_message(chat_id=int(ref.chat_id), text=text, reply_markup=markup)
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc.retry_after)) from None
        except Forbidden as exc:  # blocked by the user, or kicked
            raise Undeliverable(f"telegram refused: {exc.message}") from None
        except ChatMigrated as exc:
            raise Undeliverable(f"chat moved to {exc.new_chat_id}") from None
        except BadRequest as exc:  # the chat is gone or the message is malformed: retrying won't help
            raise Undeliverable(f"telegram rejected the message: {exc.message}") from None
        except (TimedOut, NetworkError) as exc:
            raise TemporaryFailure(f"telegram: {exc.message}") from None
        except TelegramError as exc:
            raise TemporaryFailure(f"telegram: {exc.message}") from None
        return str(sent.message_id)


Handler = Callable[[IncomingMessage], Awaitable[object]]


class TelegramChannel:
    """Owns the python-telegram-bot Application; feeds updates to `handle`."""

    def __init__(
        self,
        token: str,
        api_url: str,
        mode: str,
        webhook_secret: str | None,
        public_url: str | None,
        handle: Handler,
        typing_after: float = 0.5,
    ) -> None:
        base = api_url.rstrip("/")
        # The library's default is ONE connection for all calls: replies, typing indicators and
        # callback answers would queue behind each other under load.
        builder = (
            Application.builder()
            .token(token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .connection_pool_size(CONNECTIONS)
            .pool_timeout(30.0)
        )
        if mode == "webhook":
            builder = builder.updater(None)
        self.application = builder.build()
        self.application.add_handler(TypeHandler(Update, self._on_polled_update))
        self._mode = mode
        self._secret = webhook_secret
        self._public_url = public_url
        self._handle = handle
        self.sender = TelegramSender(self.application.bot)
        self._cosmetic: set[asyncio.Future[None]] = set()
        self._typing_after = typing_after
        self._typing_sent: deque[float] = deque()

    async def start(self) -> None:
        await self.application.initialize()  # getMe: fails fast on a wrong token
        if self._mode == "polling":
            await self.application.bot.delete_webhook()
            await self.application.start()
            assert self.application.updater is not None
            await self.application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        elif self._public_url:
            await self.application.bot.set_webhook(
                url=f"{self._public_url.rstrip('/')}/telegram/webhook",
                secret_token=self._secret,
                allowed_updates=ALLOWED_UPDATES,
            )

    async def stop(self) -> None:
        if self._mode == "polling":
            if self.application.updater is not None and self.application.updater.running:
                await self.application.updater.stop()
            if self.application.running:
                await self.application.stop()
        await self.application.shutdown()

    async def webhook(self, request: Request) -> Response:
        """POST /telegram/webhook. Acknowledged only after the update is recorded and answered."""
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not self._secret or not hmac.compare_digest(given.encode(), self._secret.encode()):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        try:
            data = await request.json()
            update = Update.de_json(data, self.application.bot)
        except Exception:
            return JSONResponse({"error": "not a Telegram update"}, status_code=400)
        if update is None:
            return JSONResponse({"error": "not a Telegram update"}, status_code=400)
        try:
            await self.handle_update(update)
        except Exception:  # not acknowledged: Telegram delivers it again, nothing is lost
            log.exception("telegram update %s failed", update.update_id)
            return JSONResponse({"error": "try again"}, status_code=500)
        return JSONResponse({"ok": True})

    async def _on_polled_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        # Polling has already advanced the offset: retry here rather than drop the update.
        delay = 0.5
        for _ in range(8):
            try:
                await self.handle_update(update)
                return
            except Exception:
                log.exception("telegram update %s failed; retrying in %.1fs", update.update_id, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
        log.error("telegram update %s dropped after retries", update.update_id)

    async def handle_update(self, update: Update) -> None:
        incoming, callback = to_incoming(update)
        bot = self.application.bot
        if callback is not None:
            await _best_effort(bot.answer_callback_query(callback.callback_query_id))
        if isinstance(incoming, GroupChat):
            await _best_effort(bot.send_message(chat_id=incoming.chat_id, text=GROUP_NOTICE))
            return
        if incoming is None:
            return
        # "typing…" only when the answer keeps the customer waiting: most are ready in tens of
        # milliseconds, and an indicator then is an extra Bot API call nobody sees. It is never awaited.
        pending = asyncio.Event()
        pending.set()
        typing = asyncio.ensure_future(self._typing_if_slow(bot, int(incoming.ref.chat_id), pending))
        self._cosmetic.add(typing)
        typing.add_done_callback(self._cosmetic.discard)
        try:
            await self._handle(incoming)
        finally:
            pending.clear()

    async def _typing_if_slow(self, bot: Bot, chat_id: int, pending: asyncio.Event) -> None:
        await asyncio.sleep(self._typing_after)
        if not pending.is_set():  # answered meanwhile
            return
        # Indicators spend the same Bot API budget (about 30 calls a second) as the answers, so
        # under load they give way: at most a few a second.
        now = time.monotonic()
        while self._typing_sent and now - self._typing_sent[0] > 1.0:
            self._typing_sent.popleft()
        if len(self._typing_sent) >= TYPING_PER_SECOND:
            return
        self._typing_sent.append(now)
        await _best_effort(bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING))


async def _best_effort(call: Awaitable[object]) -> None:
    """Typing indicators and callback answers are cosmetic: never fail a turn over them."""
    try:
        await call
    except TelegramError as exc:
        log.info("telegram cosmetic call failed: %s", exc)
