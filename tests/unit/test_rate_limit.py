"""The outbox never sends faster than the vendor allows, overall or to one chat."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter

from bot.delivery.rate_limit import RateLimit, RateLimiter


async def test_never_more_than_the_rate_in_any_second_and_spacing_per_chat() -> None:
    limiter = RateLimiter(RateLimit(per_second=20, per_chat_interval=0.5))
    sent: list[tuple[float, str]] = []

    async def chat(name: str, messages: int) -> None:
        for _ in range(messages):
            await limiter.acquire(name)
            sent.append((time.monotonic(), name))

    await asyncio.gather(*(chat(f"c{i}", 3) for i in range(20)))
    times = sorted(t for t, _ in sent)
    # any sliding one-second window holds at most the rate (plus the one token in the bucket)
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t - start < 1.0)
        assert in_window <= 21
    by_chat: dict[str, list[float]] = {}
    for t, name in sent:
        by_chat.setdefault(name, []).append(t)
    gaps = [b - a for ts in by_chat.values() for a, b in itertools.pairwise(sorted(ts))]
    assert min(gaps) >= 0.49
    assert Counter(name for _, name in sent) == Counter({f"c{i}": 3 for i in range(20)})
