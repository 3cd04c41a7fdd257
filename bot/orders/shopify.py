"""Orders from a Shopify store, over the Admin REST API.

`ShopifyOrders(api_url, token)` is an `OrderSource`: `api_url` is the versioned Admin API root, such as
`https://copperline.myshopify.com/admin/api/2024-10`, and `token` a custom app's Admin API access token
(`shpat_...`) with the `read_orders` scope (plus `read_customers` for tags and order counts).

What it takes care of, so the conversation code does not have to:

- Shopify's leaky bucket (40 calls, leaking 2 a second): every answer carries
  `X-Shopify-Shop-Api-Call-Limit: used/size`; when the bucket is nearly full the next call waits for it
  to leak instead of being refused. One limiter per client, shared by concurrent lookups.
- 429 is waited out (`Retry-After`), 5xx and network errors are retried with exponential backoff, up to
  `max_retries`; then `OrderSourceError`, which the bot turns into "please try again later".
- A refused token (401/403) fails at once: retrying cannot fix it, and the operator must hear about it.
  (That retry policy is shared with the other platforms: `bot.orders.http`.)
- Privacy: the customer's email travels in the query string, so it is kept out of httpx's request log;
  this module itself logs order numbers only, never emails or addresses.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Self

import httpx

from bot.orders.http import TIMEOUT, StoreApi, redact_in_logs
from bot.orders.model import (
    Order,
    OrderItem,
    OrderSourceError,
    OrderStatus,
    normalise_email,
    normalise_number,
)
from bot.orders.platform_json import as_dict, first_text, newest_first, person_name, text_or_none

log = logging.getLogger(__name__)

CALL_LIMIT_HEADER = "X-Shopify-Shop-Api-Call-Limit"
LEAK_PER_SECOND = 2.0  # Shopify's standard plans; Plus leaks faster, and waiting a little long is harmless
HEADROOM = 2  # "nearly full": keep this many calls in hand for concurrent lookups and other apps
MAX_PAGE = 250  # Shopify's largest `limit`
NUMBER_CANDIDATES = 5

_GAVE_UP_STATUSES = {"cancelled", "error", "failure"}  # fulfillments that never shipped anything


class _CallBucket:
    """Our estimate of the shop's leaky bucket, corrected by every answer's call-limit header.

    The lock is held while waiting, so concurrent lookups queue in order rather than all waking at once
    and overflowing the bucket together.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._size = 40.0
        self._level = 0.0
        self._measured_at = time.monotonic()
        self._resume_at = 0.0  # set by a 429: nobody calls before this

    def _current(self, now: float) -> float:
        return max(0.0, self._level - (now - self._measured_at) * LEAK_PER_SECOND)

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            level = self._current(now)
            wait = self._resume_at - now
            full_at = self._size - HEADROOM
            if level >= full_at:
                # Leak until one call's worth is below the mark, so this call does not fill it again.
                wait = max(wait, (level - full_at + 1) / LEAK_PER_SECOND)
            if wait > 0:
                log.debug(
                    "Shopify call bucket nearly full (%.0f/%.0f); waiting %.2fs", level, self._size, wait
                )
                await asyncio.sleep(wait)
            now = time.monotonic()
            # Count our own call now: the header only comes back with the answer, and concurrent
            # lookups must see this call before then.
            self._level = self._current(now) + 1
            self._measured_at = now

    def observe(self, response: httpx.Response) -> None:
        header = response.headers.get(CALL_LIMIT_HEADER)
        if not header:
            return
        used, _, size = header.partition("/")
        try:
            used_calls, bucket_size = float(used), float(size)
        except ValueError:
            return  # a header we cannot read is no reason to fail a lookup
        if bucket_size > 0:
            self._size = bucket_size
            self._level = used_calls
            self._measured_at = time.monotonic()

    def pause(self, seconds: float) -> None:
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)


class ShopifyOrders:
    """An `OrderSource` reading a Shopify store's orders. Close it with `aclose()` (or `async with`)."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 4,
    ) -> None:
        if not token:
            raise ValueError("a Shopify Admin API access token is required")
        redact_in_logs("email")
        self._client = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            timeout=TIMEOUT,
            transport=transport,
        )
        self._api = StoreApi(
            self._client,
            platform="Shopify",
            credentials="the access token",
            fix="check the Admin API access token and that the app has the read_orders scope",
            max_retries=max_retries,
            throttle=_CallBucket(),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        # Never the token; the shop's address is enough to tell clients apart.
        return f"ShopifyOrders({str(self._client.base_url)!r})"

    # -- OrderSource ----------------------------------------------------------------------------

    async def by_number(self, number: str) -> Order | None:
        wanted = normalise_number(number)
        if not wanted:
            return None
        # Shopify names orders "#1001" unless the shop set a prefix/suffix; the name filter is matched
        # against that, so plain digits get the "#" back.
        name = f"#{wanted}" if wanted.isdigit() else wanted
        orders = await self._orders({"name": name, "status": "any", "limit": NUMBER_CANDIDATES})
        # The `name` filter is not part of Shopify's documented contract and unknown filters are
        # silently ignored, so never trust it: only an order whose number really matches counts.
        for data in orders:
            if wanted in {normalise_number(str(data.get("name") or "")), str(data.get("order_number") or "")}:
                order = order_from_shopify(data)
                log.debug("Shopify order %s found", order.number)
                return order
        log.debug("Shopify has no order %s", wanted)
        return None

    async def by_email(self, email: str, limit: int = 10) -> list[Order]:
        wanted = normalise_email(email)
        if not wanted or limit < 1:
            return []
        page = min(limit, MAX_PAGE)
        found = await self._orders({"email": wanted, "status": "any", "limit": page})
        # As with `name`: if the filter were ignored we would get other customers' orders, which the
        # bot must never show, so check every one.
        mine = [order_from_shopify(d) for d in found if wanted in _emails_of(d)]
        mine.sort(key=newest_first)
        return mine[:limit]

    # -- HTTP -------------------------------------------------------------------------------------

    async def _orders(self, params: Mapping[str, str | int]) -> list[dict[str, Any]]:
        body = await self._api.get("/orders.json", params)
        if body is None:
            return []
        orders = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
            raise OrderSourceError("Shopify answered /orders.json without an orders list")
        return orders


# -- mapping Shopify's order JSON ---------------------------------------------------------------------


def order_from_shopify(data: Mapping[str, Any]) -> Order:
    """One order from Shopify's REST JSON, as the bot sees it. Raises OrderSourceError if unreadable."""
    number = str(data.get("name") or data.get("order_number") or "").strip().lstrip("#").strip()
    try:
        return _order(number, data)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        # The order number is safe to name; the body (emails, addresses) is not.
        raise OrderSourceError(
            f"could not read Shopify order {number or '?'}: {type(exc).__name__}"
        ) from None


def _order(number: str, data: Mapping[str, Any]) -> Order:
    if not number:
        raise ValueError("order without a name")
    customer = as_dict(data.get("customer"))
    shipping = as_dict(data.get("shipping_address"))
    billing = as_dict(data.get("billing_address"))
    # Digital goods have no shipping address; the billing one is the next best proof of who ordered.
    address = shipping or billing
    fulfillment = _latest_fulfillment(data)
    status = _status(data, fulfillment)
    orders_count = customer.get("orders_count")
    return Order(
        number=number,
        email=first_text(data.get("email"), customer.get("email"), data.get("contact_email")),
        postcode=first_text(shipping.get("zip"), billing.get("zip")),
        customer_name=person_name(shipping) or person_name(customer) or person_name(billing),
        items=tuple(_item(line) for line in data.get("line_items") or ()),
        total=Decimal(str(data["total_price"])),
        currency=str(data.get("currency") or ""),
        status=status,
        destination_country=first_text(address.get("country_code")).upper(),
        placed_at=_datetime(data.get("created_at")),
        carrier=text_or_none(fulfillment.get("tracking_company")),
        tracking_number=text_or_none(
            fulfillment.get("tracking_number"), *_list(fulfillment, "tracking_numbers")
        ),
        tracking_url=text_or_none(fulfillment.get("tracking_url"), *_list(fulfillment, "tracking_urls")),
        shipped_at=_date(fulfillment.get("created_at")),
        delivered_at=_date(fulfillment.get("updated_at")) if status is OrderStatus.DELIVERED else None,
        city=text_or_none(shipping.get("city"), billing.get("city")),
        customer_tags=tuple(t.strip() for t in str(customer.get("tags") or "").split(",") if t.strip()),
        customer_order_count=int(orders_count) if orders_count is not None else None,
    )


def _status(data: Mapping[str, Any], fulfillment: Mapping[str, Any]) -> OrderStatus:
    if data.get("cancelled_at"):
        return OrderStatus.CANCELLED  # before refunded: a cancelled order is usually refunded as well
    if data.get("financial_status") == "refunded":
        return OrderStatus.REFUNDED
    if not fulfillment and data.get("fulfillment_status") not in ("fulfilled", "partial"):
        return OrderStatus.PAID
    shipment = fulfillment.get("shipment_status")
    if shipment == "delivered":
        return OrderStatus.DELIVERED
    if shipment == "out_for_delivery":
        return OrderStatus.OUT_FOR_DELIVERY
    # in_transit, label_printed, confirmed, attempted_delivery, or no carrier updates at all (null):
    # it has left the warehouse, and that is what the customer needs to hear.
    return OrderStatus.SHIPPED


def _latest_fulfillment(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The newest fulfillment that did ship; {} if none. Partial orders ship in several fulfillments."""
    shipped = [
        (index, f)
        for index, f in enumerate(data.get("fulfillments") or ())
        if isinstance(f, dict) and f.get("status") not in _GAVE_UP_STATUSES
    ]
    if not shipped:
        return {}
    oldest = datetime.min.replace(tzinfo=UTC)
    _, latest = max(shipped, key=lambda pair: (_datetime(pair[1].get("created_at")) or oldest, pair[0]))
    return latest


def _item(line: Mapping[str, Any]) -> OrderItem:
    return OrderItem(
        sku=str(line.get("sku") or ""),  # Shopify allows products without a SKU
        name=str(line.get("title") or line.get("name") or ""),
        quantity=int(line["quantity"]),
        price=Decimal(str(line["price"])),
    )


def _emails_of(data: Mapping[str, Any]) -> set[str]:
    customer = as_dict(data.get("customer"))
    found = (data.get("email"), data.get("contact_email"), customer.get("email"))
    return {normalise_email(str(e)) for e in found if e}


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    # Shopify always sends an offset; a naive time would be the shop's, unknown here, so assume UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _date(value: Any) -> date | None:
    # The shop's local date, as in the shipping emails the customer got, not the UTC one.
    moment = _datetime(value)
    return moment.date() if moment else None
