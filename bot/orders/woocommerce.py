"""Orders from a WooCommerce store, over the WooCommerce REST API (v3).

`WooCommerceOrders(api_url, consumer_key, consumer_secret)` is an `OrderSource`: `api_url` is the REST
root, such as `https://shop.example/wp-json/wc/v3`, and the key (`ck_...`) and secret (`cs_...`) come
from WooCommerce → Settings → Advanced → REST API, with Read permission. They are sent with HTTP Basic
auth, which WooCommerce accepts over HTTPS only (plain http needs OAuth 1.0a signatures, not supported).

What it takes care of, so the conversation code does not have to:

- Order numbers: the number a customer sees is the post id unless a plugin (Sequential Order Numbers
  and the like) renumbers orders, so a number is looked up by id first and then by search, and an
  order only counts if its `number` really is the one asked for.
- WooCommerce has no email filter: `search` is a fuzzy match over names, addresses and emails, so
  every order it returns is checked against the billing email before the bot may show it.
- Tracking: the Shipment Tracking extension (and Advanced Shipment Tracking, which writes the same
  meta) keeps shipments in the order's `meta_data`; carrier, number, link and date come from the
  latest one. A "delivered" order status, or TrackShip's `shipment_status` meta, says it arrived.
- Retries, rate limits and refused keys are handled as for every platform (`bot.orders.http`).
- Privacy: the customer's email travels in the `search` query parameter, so it is kept out of httpx's
  request log; this module itself logs order numbers and statuses only, never emails or addresses.

WooCommerce has no customer tags, and counting a customer's orders would cost another call per lookup
for a guest-checkout-heavy shop where it is often wrong anyway: both are left empty.
"""

from __future__ import annotations

import logging
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

MAX_PAGE = 100  # WooCommerce's largest `per_page`
NUMBER_CANDIDATES = 10
# `search` also matches other customers whose email, name or address contains the one asked about;
# asking for a fuller page keeps them from crowding the customer's own orders out of it.
EMAIL_PAGE = 20

TRACKING_META = "_wc_shipment_tracking_items"  # Shipment Tracking / Advanced Shipment Tracking
TRACKSHIP_META = "shipment_status"  # TrackShip's carrier status, one entry per tracking item

_PAID = {"pending", "on-hold", "processing"}
# `shipped` and `partial-shipped` are statuses shipment-tracking plugins add; `completed` is core's.
_SHIPPED = {"completed", "shipped", "partial-shipped"}
_CANCELLED = {"cancelled", "failed"}
# A trashed order was deleted by the shop, and a checkout draft was never placed: neither is an order
# to tell a customer about, though GET /orders/{id} still returns them.
_NOT_ORDERS = {"trash", "checkout-draft"}

# Shipment Tracking stores the provider as a slug ("royal-mail"); these are the ones whose name cannot
# be rebuilt by capitalising words. The names match the carriers in `delivery.yaml`, whose tracking
# pages stand in for the link the extension would build itself.
_PROVIDER_NAMES = {"fedex": "FedEx", "postnl": "PostNL", "bpost": "bpost", "dhl-express": "DHL Express"}
_ACRONYMS = {"ups", "usps", "dhl", "dpd", "gls", "tnt", "uk", "us", "de", "nl", "au", "nz", "ie", "ca", "eu"}


class WooCommerceOrders:
    """An `OrderSource` reading a WooCommerce store's orders. Close it with `aclose()` (or `async with`)."""

    def __init__(
        self,
        api_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 4,
    ) -> None:
        if not api_url:
            raise ValueError("the WooCommerce REST API URL is required")
        if not (consumer_key and consumer_secret):
            raise ValueError("a WooCommerce REST API consumer key and secret are required")
        redact_in_logs("search")  # holds the customer's email in `by_email`
        self._client = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            auth=httpx.BasicAuth(consumer_key, consumer_secret),
            headers={"Accept": "application/json"},
            timeout=TIMEOUT,
            transport=transport,
        )
        fix = (
            "check the consumer key and secret (Read permission), and that the web server passes the "
            "Authorization header on to WordPress"
        )
        if self._client.base_url.scheme == "http":
            fix += "; WooCommerce accepts keys over https:// only"
        self._api = StoreApi(
            self._client,
            platform="WooCommerce",
            credentials="the consumer key",
            fix=fix,
            max_retries=max_retries,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        # Never the key or secret; the shop's address is enough to tell clients apart.
        return f"WooCommerceOrders({str(self._client.base_url)!r})"

    # -- OrderSource ----------------------------------------------------------------------------

    async def by_number(self, number: str) -> Order | None:
        wanted = normalise_number(number)
        if not wanted:
            return None
        if wanted.isdigit():
            # Usually the number is the id, and one GET settles it. But with renumbering plugins the
            # id asked for may be someone else's order, so its `number` must match too.
            data = await self._api.get(f"/orders/{wanted}")
            if data is not None and not isinstance(data, dict):
                raise OrderSourceError("WooCommerce answered /orders/{id} without an order")
            if data is not None and _is_number(data, wanted):
                return self._found(data)
        # Renumbered shops: the plugins make `search` find their numbers. Search is fuzzy, so the same
        # check again.
        for data in await self._orders({"search": wanted, "per_page": NUMBER_CANDIDATES}):
            if _is_number(data, wanted):
                return self._found(data)
        log.debug("WooCommerce has no order %s", wanted)
        return None

    async def by_email(self, email: str, limit: int = 10) -> list[Order]:
        wanted = normalise_email(email)
        if not wanted or limit < 1:
            return []
        page = min(max(limit, EMAIL_PAGE), MAX_PAGE)
        found = await self._orders({"search": wanted, "per_page": page, "orderby": "date", "order": "desc"})
        # The bot must never show one customer another's orders: only an exact billing email counts.
        mine = [
            order_from_woocommerce(d)
            for d in found
            if _email_of(d) == wanted and str(d.get("status")) not in _NOT_ORDERS
        ]
        mine.sort(key=newest_first)
        return mine[:limit]

    # -- HTTP -------------------------------------------------------------------------------------

    def _found(self, data: Mapping[str, Any]) -> Order | None:
        if str(data.get("status")) in _NOT_ORDERS:
            log.debug("WooCommerce order %s is %s: not shown", data.get("number"), data.get("status"))
            return None
        order = order_from_woocommerce(data)
        log.debug("WooCommerce order %s found", order.number)
        return order

    async def _orders(self, params: Mapping[str, str | int]) -> list[dict[str, Any]]:
        body = await self._api.get("/orders", params)
        if body is None:
            return []
        if not isinstance(body, list) or not all(isinstance(o, dict) for o in body):
            raise OrderSourceError("WooCommerce answered /orders without a list of orders")
        return body


# -- mapping WooCommerce's order JSON -----------------------------------------------------------------


def order_from_woocommerce(data: Mapping[str, Any]) -> Order:
    """One order from WooCommerce's REST JSON, as the bot sees it. Raises OrderSourceError if unreadable."""
    number = str(data.get("number") or data.get("id") or "").strip().lstrip("#").strip()
    try:
        return _order(number, data)
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        # The order number is safe to name; the body (emails, addresses) is not.
        raise OrderSourceError(
            f"could not read WooCommerce order {number or '?'}: {type(exc).__name__}"
        ) from None


def _order(number: str, data: Mapping[str, Any]) -> Order:
    if not number:
        raise ValueError("order without a number")
    billing = as_dict(data.get("billing"))
    shipping = as_dict(data.get("shipping"))
    tracking, index = _latest_tracking(data)
    carrier_status = _trackship_status(data, index)
    status = _status(str(data.get("status") or ""), carrier_status, has_tracking=bool(tracking))
    on_its_way = status in (OrderStatus.SHIPPED, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED)
    placed_at = _gmt(data.get("date_created_gmt"))
    shipped_at: date | None = None
    if on_its_way:
        # The bot tells a shipped order's window from its ship date, so one is always found: the date
        # the shop entered with the tracking number, else the day the order was completed (the day
        # WooCommerce sent the "your order is complete" email), else the order's own date.
        shipped_at = (
            _timestamp_date(tracking.get("date_shipped"))
            or _local_date(data.get("date_completed"))
            or _local_date(data.get("date_created"))
            or (placed_at.date() if placed_at else None)
        )
    delivered_at: date | None = None
    if status is OrderStatus.DELIVERED and carrier_status.get("status") == "delivered":
        delivered_at = _local_date(carrier_status.get("status_date"))
    # A virtual order has an empty shipping address (all ""), not a missing one: fall back field by field.
    return Order(
        number=number,
        email=first_text(billing.get("email")),
        postcode=first_text(shipping.get("postcode"), billing.get("postcode")),
        customer_name=person_name(billing) or person_name(shipping),
        items=tuple(_item(line) for line in data.get("line_items") or ()),
        total=Decimal(str(data["total"])),
        currency=str(data.get("currency") or ""),
        status=status,
        destination_country=first_text(shipping.get("country"), billing.get("country")).upper(),
        placed_at=placed_at,
        carrier=_carrier(tracking),
        tracking_number=text_or_none(tracking.get("tracking_number")),
        # Only custom providers store a link; for known ones the extension builds it on the fly, and
        # the delivery table's tracking pages do the same here.
        tracking_url=text_or_none(tracking.get("custom_tracking_link")),
        shipped_at=shipped_at,
        delivered_at=delivered_at,
        city=text_or_none(shipping.get("city"), billing.get("city")),
    )


def _status(status: str, carrier_status: Mapping[str, Any], *, has_tracking: bool) -> OrderStatus:
    if status in _PAID:
        return OrderStatus.PAID
    if status in _CANCELLED:
        return OrderStatus.CANCELLED
    if status == "refunded":
        return OrderStatus.REFUNDED
    if status == "delivered":  # added by Advanced Shipment Tracking / TrackShip when the carrier says so
        return OrderStatus.DELIVERED
    if status in _SHIPPED:
        carrier_says = carrier_status.get("status")
        if carrier_says == "delivered":
            return OrderStatus.DELIVERED
        if carrier_says == "out_for_delivery":
            return OrderStatus.OUT_FOR_DELIVERY
        return OrderStatus.SHIPPED
    # A status some plugin added ("awaiting-shipment", "in-production", ...): a tracking number is the
    # one sure sign it left the warehouse; otherwise it is still being prepared.
    guess = OrderStatus.SHIPPED if has_tracking else OrderStatus.PAID
    log.debug("WooCommerce order status %r is not a core one; read as %s", status, guess.value)
    return guess


def _latest_tracking(data: Mapping[str, Any]) -> tuple[Mapping[str, Any], int]:
    """The newest Shipment Tracking item and its index; ({}, -1) if none.

    Plugin meta is read leniently: a shipment the shop typed oddly is no reason to fail the lookup.
    """
    items = _meta(data, TRACKING_META)
    if not isinstance(items, list):
        return {}, -1
    shipments = [(index, item) for index, item in enumerate(items) if isinstance(item, dict)]
    if not shipments:
        return {}, -1
    # Newest by the date shipped; on the same day (or without dates) the one added last.
    index, latest = max(
        shipments, key=lambda pair: (_timestamp_date(pair[1].get("date_shipped")) or date.min, pair[0])
    )
    return latest, index


def _trackship_status(data: Mapping[str, Any], index: int) -> Mapping[str, Any]:
    """TrackShip's carrier status for tracking item `index` ({"status", "status_date", ...}), or {}.

    PHP arrays keyed 0..n come out as JSON lists, but with gaps (a deleted shipment) as objects.
    """
    statuses = _meta(data, TRACKSHIP_META)
    entry: Any = None
    if isinstance(statuses, list) and 0 <= index < len(statuses):
        entry = statuses[index]
    elif isinstance(statuses, dict):
        entry = statuses.get(str(index))
    return entry if isinstance(entry, dict) else {}


def _meta(data: Mapping[str, Any], key: str) -> Any:
    # With duplicated keys (possible in post meta), WooCommerce's own get_meta() takes the first one.
    for entry in data.get("meta_data") or ():
        if isinstance(entry, dict) and entry.get("key") == key:
            return entry.get("value")
    return None


def _carrier(tracking: Mapping[str, Any]) -> str | None:
    custom = text_or_none(tracking.get("custom_tracking_provider"))
    if custom:
        return custom
    provider = text_or_none(tracking.get("tracking_provider"))
    if provider is None or " " in provider or provider != provider.lower():
        return provider  # already a name (older versions of the extension stored names)
    if provider in _PROVIDER_NAMES:
        return _PROVIDER_NAMES[provider]
    return " ".join(w.upper() if w in _ACRONYMS else w.capitalize() for w in provider.split("-") if w)


def _is_number(data: Mapping[str, Any], wanted: str) -> bool:
    return normalise_number(str(data.get("number") or "")) == wanted


def _email_of(data: Mapping[str, Any]) -> str:
    return normalise_email(str(as_dict(data.get("billing")).get("email") or ""))


def _item(line: Mapping[str, Any]) -> OrderItem:
    return OrderItem(
        sku=str(line.get("sku") or ""),  # products without a SKU are common in WooCommerce
        name=str(line.get("name") or ""),
        quantity=int(line["quantity"]),
        # WooCommerce's unit price: after discounts, before tax, as a JSON number; str() keeps the
        # digits it sent rather than the float's binary expansion.
        price=Decimal(str(line["price"])),
    )


def _gmt(value: Any) -> datetime | None:
    """`date_created_gmt` and friends: UTC without an offset ("2024-11-05T14:30:00")."""
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _local_date(value: Any) -> date | None:
    """The date of a shop-local time (`date_completed`, no offset): the date the customer's emails show.

    Lenient, as it also reads plugin meta.
    """
    try:
        return datetime.fromisoformat(str(value).replace(" ", "T")).date() if value else None
    except ValueError:
        return None


def _timestamp_date(value: Any) -> date | None:
    """Shipment Tracking's `date_shipped`: a unix timestamp (string or number) of the date the shop
    entered, at midnight UTC (WordPress runs PHP in UTC), so the UTC date is the one the shop typed."""
    try:
        return datetime.fromtimestamp(int(float(str(value))), UTC).date() if value else None
    except (ValueError, OverflowError, OSError):
        return None
