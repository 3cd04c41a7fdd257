"""Drains the outbox: every stored reply is sent, in order per chat, within the vendor's limits.

Nothing is lost: a reply is in the database before anyone tries to send it; a 429 waits the
vendor's retry_after; 5xx, timeouts and network errors back off exponentially; a reply that can
never be delivered is marked so with the reason; one for a widget nobody has open waits until
the customer comes back. Replies pending when the process stops are sent after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.delivery.rate_limit import RateLimit, RateLimiter
from bot.domain import Channel, ConversationRef, OutboxItem
from bot.errors import RecipientOffline, RetryLater, TemporaryFailure, Undeliverable
from bot.ports import ReplySender

log = logging.getLogger(__name__)


class OutboxStore(Protocol):
    async def pending_outbox(
        self, channels: set[Channel], limit: int = 200
    ) -> list[tuple[OutboxItem, datetime]]: ...
    async def mark_sent(self, item_id: int, vendor_message_id: str | None) -> None: ...
    async def mark_retry(self, item_id: int, attempts: int, when: datetime, error: str) -> None: ...
    async def mark_undeliverable(self, item_id: int, reason: str) -> None: ...
    async def mark_waiting(self, item_id: int) -> None: ...


DeliveryListener = Callable[[int, bool, "str | None"], Awaitable[None]]


class OutboxSender:
    def __init__(
        self,
        store: OutboxStore,
        senders: dict[Channel, ReplySender],
        limits: dict[Channel, RateLimit],
        *,
        base_backoff: float = 1.0,
        max_backoff: float = 300.0,
        max_attempts: int = 15,
        idle_poll: float = 1.0,
        on_result: DeliveryListener | None = None,
    ) -> None:
        self._store = store
        self._senders = senders
        self._limiters = {channel: RateLimiter(limit) for channel, limit in limits.items()}
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff
        self._max_attempts = max_attempts
        self._idle_poll = idle_poll
        self._on_result = on_result  # the handoff marks an agent's message delivered (or not)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self, ref: ConversationRef | None = None) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None and self._senders:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                next_due = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is down: keep everything, try again shortly
                log.exception("outbox pass failed; retrying")
                next_due = self._idle_poll
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(next_due, self._idle_poll))

    async def drain_once(self) -> float:
        """Send what is due now; return seconds until the next known due reply."""
        pending = await self._store.pending_outbox(set(self._senders))
        now = datetime.now(UTC)
        by_chat: dict[tuple[Channel, str], list[OutboxItem]] = defaultdict(list)
        blocked: set[tuple[Channel, str]] = set()
        next_due = self._idle_poll
        for item, due in pending:
            key = (item.ref.channel, item.ref.chat_id)
            if key in blocked:
                continue
            if due > now:  # an earlier reply to this chat is backing off: keep the order
                blocked.add(key)
                next_due = min(next_due, (due - now).total_seconds())
                continue
            by_chat[key].append(item)
        if by_chat:
            await asyncio.gather(*(self._send_chat(items) for items in by_chat.values()))
            next_due = 0.0
        return next_due

    async def _send_chat(self, items: list[OutboxItem]) -> None:
        for item in items:
            if not await self._send_one(item):
                return  # later replies to this chat wait behind the failed one

    async def _send_one(self, item: OutboxItem) -> bool:
        channel = item.ref.channel
        limiter = self._limiters.get(channel)
        if limiter is not None:
            await limiter.acquire(item.ref.chat_id)
        attempts = item.attempts + 1
        try:
            vendor_id = await self._senders[channel].send(item.ref, item.reply, item.id)
        except RecipientOffline:
            await self._store.mark_waiting(item.id)
            await self._report(
                item, False, "the customer has closed the chat; they will get it when they return"
            )
            return False
        except Undeliverable as exc:
            log.warning("reply %s undeliverable: %s", item.id, exc)
            await self._store.mark_undeliverable(item.id, str(exc))
            await self._report(item, False, str(exc))
            return True  # the chat is gone; nothing behind it can arrive either, but do not stall
        except RetryLater as exc:
            await self._retry(item, attempts, exc.seconds, f"rate limited: retry after {exc.seconds:g}s")
            return False
        except TemporaryFailure as exc:
            delay = min(self._max_backoff, self._base_backoff * 2 ** (attempts - 1))
            await self._retry(item, attempts, delay, str(exc) or type(exc).__name__)
            return False
        await self._store.mark_sent(item.id, vendor_id)
        await self._report(item, True, None)
        return True

    async def _report(self, item: OutboxItem, delivered: bool, error: str | None) -> None:
        # Only a person's message has someone waiting to see it delivered (the agent in Slack).
        if self._on_result is None or not item.reply.agent:
            return
        item_id = item.id
        try:
            await self._on_result(item_id, delivered, error)
        except Exception:  # a listener's failure must not stop the sending
            log.exception("delivery listener failed for reply %s", item_id)

    async def _retry(self, item: OutboxItem, attempts: int, delay: float, error: str) -> None:
        if attempts >= self._max_attempts:
            await self._store.mark_undeliverable(item.id, f"gave up after {attempts} attempts: {error}")
            await self._report(item, False, f"gave up after {attempts} attempts: {error}")
            return
        when = datetime.now(UTC) + timedelta(seconds=delay)
        log.info("reply %s not sent (%s); attempt %d in %.1fs", item.id, error, attempts + 1, delay)
        await self._store.mark_retry(item.id, attempts, when, error)
