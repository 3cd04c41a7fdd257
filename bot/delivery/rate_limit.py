"""Vendor rate limits, honoured before we are told off: an overall rate and a per-chat interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    per_second: float  # across all chats (Telegram: about 30)
    per_chat_interval: float  # seconds between two messages to one chat (Telegram: about 1)


class RateLimiter:
    """A token bucket for the overall rate plus a minimum spacing per chat.

    The bucket holds one token: a full bucket of `per_second` would allow a burst on top of the
    steady rate, i.e. up to twice the limit within one second.
    """

    CAPACITY = 1.0

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        self._tokens = self.CAPACITY
        self._refilled = clock()
        self._last_by_chat: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, chat: str) -> None:
        while True:
            async with self._lock:
                now = self._clock()
                self._tokens = min(
                    self.CAPACITY, self._tokens + (now - self._refilled) * self._limit.per_second
                )
                self._refilled = now
                chat_ready = self._last_by_chat.get(chat, -1e9) + self._limit.per_chat_interval
                if self._tokens >= 1 and now >= chat_ready:
                    self._tokens -= 1
                    self._last_by_chat[chat] = now
                    if len(self._last_by_chat) > 10_000:
                        self._forget_idle(now)
                    return
                wait = max(chat_ready - now, (1 - self._tokens) / self._limit.per_second, 0.001)
            await asyncio.sleep(wait)

    def _forget_idle(self, now: float) -> None:
        idle = [c for c, t in self._last_by_chat.items() if now - t > self._limit.per_chat_interval]
        for chat in idle:
            del self._last_by_chat[chat]
