"""What the store-platform clients (Shopify, WooCommerce) share about talking HTTP to a shop.

- `StoreApi.get`: one GET, retried the same way for every platform. 429 is waited out (`Retry-After`),
  5xx and network errors are retried with exponential backoff up to `max_retries`, and then
  `OrderSourceError`, which the bot turns into "please try again later". Refused credentials (401/403)
  fail at once: retrying cannot fix them, and the operator must hear about it. 404 is `None`, so the
  caller decides whether that means "no such order" or "nothing found".
- `Throttle`: where a platform's own rate limiter plugs in (Shopify's leaky bucket); `Pause` is the
  plain one, which only makes the whole client wait after a 429.
- `redact_in_logs`: httpx logs every request's full URL at INFO, and ours carry the customer's email in
  the query string, so the named parameters are blanked in those records.

Error messages name the path only, never the query: it holds the email.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from bot.orders.model import OrderSourceError

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_RETRY_AFTER = 2.0  # what Shopify sends on a 429 anyway, and a polite guess for others
MAX_WAIT = 10.0  # a customer is waiting in the chat: past this, "try again later" beats a silent bot
FIRST_BACKOFF = 0.5
REDACTED = "[redacted]"


class Throttle(Protocol):
    """A client's rate limiter, shared by its concurrent lookups."""

    async def acquire(self) -> None:
        """Wait until a call may be made."""
        ...

    def observe(self, response: httpx.Response) -> None:
        """Learn from an answer (e.g. a call-limit header)."""
        ...

    def pause(self, seconds: float) -> None:
        """The shop asked for quiet (429 or Retry-After): nobody calls for this long."""
        ...


class Pause:
    """The plain `Throttle`: no limit of its own, but a 429 makes every lookup of the client wait,
    not only the one that was refused (the others would only be refused too)."""

    def __init__(self) -> None:
        self._resume_at = 0.0

    async def acquire(self) -> None:
        wait = self._resume_at - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def observe(self, response: httpx.Response) -> None:
        return None

    def pause(self, seconds: float) -> None:
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)


class StoreApi:
    """GETs against one shop's API through `client`, with the retry policy above.

    `platform` names the shop's software in messages ("Shopify"); `credentials` and `fix` make the
    message for refused credentials: "{platform} refused {credentials} (HTTP 401 on /orders): {fix}".
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        platform: str,
        credentials: str,
        fix: str,
        max_retries: int,
        throttle: Throttle | None = None,
    ) -> None:
        self._client = client
        self._platform = platform
        self._credentials = credentials
        self._fix = fix
        self._max_retries = max(0, max_retries)
        self._throttle: Throttle = throttle or Pause()

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """The parsed JSON body, or None for 404."""
        platform = self._platform
        attempt = 0
        while True:
            await self._throttle.acquire()
            retry_after: float | None = None
            try:
                response = await self._client.get(path, params=dict(params or {}))
            except httpx.TransportError as exc:  # timeouts, refused connections, dropped sockets
                problem = f"could not reach {platform} ({type(exc).__name__})"
                delay = FIRST_BACKOFF * 2**attempt
            else:
                self._throttle.observe(response)
                status = response.status_code
                if status == 200:
                    return _json(response, platform, path)
                if status == 404:
                    return None
                if status in (401, 403):
                    raise OrderSourceError(
                        f"{platform} refused {self._credentials} (HTTP {status} on {path}): {self._fix}"
                    )
                if status == 429:
                    retry_after = retry_after_seconds(response) or DEFAULT_RETRY_AFTER
                    problem, delay = f"{platform}'s rate limit (HTTP 429)", retry_after
                elif status >= 500:
                    retry_after = retry_after_seconds(response)
                    problem = f"{platform} is failing (HTTP {status} on {path})"
                    delay = retry_after or FIRST_BACKOFF * 2**attempt
                else:
                    raise OrderSourceError(f"{platform} answered HTTP {status} on {path}")
            if attempt >= self._max_retries:
                raise OrderSourceError(f"{problem}; gave up after {attempt + 1} tries")
            if delay > MAX_WAIT:
                raise OrderSourceError(f"{problem}; {platform} asked us to wait {delay:.0f}s")
            attempt += 1
            log.warning("%s; retry %d of %d in %.2fs", problem, attempt, self._max_retries, delay)
            if retry_after is not None:
                # The whole client waits, not just this lookup: the next `acquire` holds everyone.
                self._throttle.pause(delay)
            else:
                await asyncio.sleep(delay)


def _json(response: httpx.Response, platform: str, path: str) -> Any:
    try:
        return response.json()
    except ValueError:  # JSONDecodeError and undecodable bytes alike
        raise OrderSourceError(f"{platform} answered {path} with something that is not JSON") from None


def retry_after_seconds(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None  # absent, or an HTTP date, which the shops we talk to do not send
    return seconds if seconds >= 0 else None


# -- keeping emails out of httpx's request log ---------------------------------------------------------

_redacted_params: set[str] = set()


class _RedactQuery(logging.Filter):
    """Blanks the registered query parameters in httpx's "HTTP Request: GET <url> ..." records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(_redacted(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


def _redacted(url: httpx.URL) -> httpx.URL:
    for name in _redacted_params & set(url.params.keys()):
        url = url.copy_set_param(name, REDACTED)
    return url


def redact_in_logs(*params: str) -> None:
    """Keep these query parameters' values out of httpx's logs, for every client (idempotent)."""
    _redacted_params.update(params)
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactQuery) for f in httpx_log.filters):
        httpx_log.addFilter(_RedactQuery())
