"""A fake Shopify Admin REST API on 127.0.0.1, speaking the real wire protocol for orders.

`ShopifyOrders(f"{url}/admin/api/2024-10", TOKEN)` is pointed at it. It serves
`GET /admin/api/2024-10/orders.json` with the `name`, `email`, `status` and `limit` filters, checks the
`X-Shopify-Access-Token` header, answers `{"orders": [...]}` in Shopify's order shape, and keeps a real
leaky bucket (40 calls, leaking 2 a second) reported in `X-Shopify-Shop-Api-Call-Limit`, with a 429 and
`Retry-After: 2.0` when it overflows. It records every call and fails on demand (`fail`), and the bucket
can be pre-filled (`bucket_used`) to see whether a client slows down before it is refused.

`add_order(...)` builds a whole realistic order from a few arguments, so tests read like the story
they tell ("a delivered order to SW1A 1AA") and the client meets every field a real shop sends.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "shpat_0123456789abcdef0123456789abcdef"
API_VERSION = "2024-10"
SHOP = "copperline.myshopify.com"
API_PATH = f"/admin/api/{API_VERSION}"

BUCKET_SIZE = 40
LEAK_PER_SECOND = 2.0
MAX_LIMIT = 250

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
)
ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Unavailable Shop", 504: "Gateway Timeout"}

BASE_TIME = datetime.fromisoformat("2024-11-04T09:30:00-05:00")  # orders are a day apart from here
COUNTRIES = {
    "GB": "United Kingdom",
    "US": "United States",
    "CA": "Canada",
    "DE": "Germany",
    "FR": "France",
    "IE": "Ireland",
    "NL": "Netherlands",
    "AU": "Australia",
}
CARRIER_URLS = {
    "Royal Mail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    "UPS": "https://www.ups.com/track?tracknum={}",
    "DHL Express": "https://www.dhl.com/en/express/tracking.html?AWB={}",
}
# What the tests call the order's state → Shopify's (financial, fulfillment, shipment) statuses.
STATES: dict[str, tuple[str, str | None, str | None]] = {
    "pending": ("pending", None, None),
    "paid": ("paid", None, None),
    "label_printed": ("paid", "fulfilled", "label_printed"),
    "confirmed": ("paid", "fulfilled", "confirmed"),
    "fulfilled": ("paid", "fulfilled", None),  # shipped without carrier updates
    "in_transit": ("paid", "fulfilled", "in_transit"),
    "shipped": ("paid", "fulfilled", "in_transit"),
    "out_for_delivery": ("paid", "fulfilled", "out_for_delivery"),
    "delivered": ("paid", "fulfilled", "delivered"),
    "cancelled": ("refunded", None, None),
    "refunded": ("refunded", None, None),
}

Item = tuple[str | None, str, int, str]  # sku, title, quantity, unit price


@dataclass
class Call:
    """One request to the fake: path, query parameters, and the status it was answered with."""

    path: str
    params: dict[str, str]
    at: float
    status: int = 200
    token: str | None = None


@dataclass
class Failure:
    status: int
    remaining: int
    retry_after: float | None
    body: str | None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass
class FakeShopify:
    token: str = TOKEN
    orders: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    bucket_size: int = BUCKET_SIZE
    leak_per_second: float = LEAK_PER_SECOND
    _level: float = 0.0
    _level_at: float = field(default_factory=time.monotonic)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(5_512_345_600_001))

    # -- what tests use ---------------------------------------------------------------------

    @property
    def bucket_used(self) -> int:
        """Calls in the bucket now, after leaking (as the next answer's header would count them)."""
        return int(self._leaked())

    @bucket_used.setter
    def bucket_used(self, used: int) -> None:
        self._level, self._level_at = float(used), time.monotonic()

    def fail(
        self, status: int, times: int = 1, retry_after: float | None = None, *, body: str | None = None
    ) -> None:
        """Answer the next `times` calls with `status` (429 gets `Retry-After: 2.0` unless told).

        `body` replaces the JSON error, e.g. `fail(200, body="<html>")` for a proxy's error page.
        """
        if status == 429 and retry_after is None:
            retry_after = 2.0
        self.failures.append(Failure(status, times, retry_after, body))

    def statuses(self) -> list[int]:
        return [c.status for c in self.calls]

    def add_order(
        self,
        number: int | None = None,
        *,
        email: str | None = "ana.silva@example.com",
        zip: str | None = "SW1A 1AA",
        country_code: str = "GB",
        city: str = "London",
        first_name: str = "Ana",
        last_name: str = "Silva",
        items: Sequence[Item] = (("MUG-CU-350", "Copper mug", 2, "24.00"),),
        currency: str = "GBP",
        state: str = "paid",
        created_at: datetime | str | None = None,
        shipped_at: datetime | str | None = None,
        delivered_at: datetime | str | None = None,
        tracking_company: str | None = "Royal Mail",
        tracking_number: str | None = None,
        customer_tags: Iterable[str] = (),
        orders_count: int = 1,
        name_prefix: str = "#",
        **overrides: Any,
    ) -> dict[str, Any]:
        """Add and return one order in Shopify's REST shape; `overrides` replace top-level fields.

        `state` is one of STATES: paid (unfulfilled), in_transit/shipped, label_printed, confirmed,
        fulfilled (no carrier updates), out_for_delivery, delivered, cancelled, refunded, pending.
        """
        financial, fulfillment_status, shipment_status = STATES[state]
        order_number = number if number is not None else next(self._numbers)
        order_id = next(self._ids)
        placed = _moment(created_at) or BASE_TIME + timedelta(days=order_number - 1000)
        shipped = _moment(shipped_at) or placed + timedelta(days=1, hours=3)
        updated = _moment(delivered_at) or shipped + timedelta(days=2, hours=5)

        lines = [self._line_item(item, currency) for item in items]
        subtotal = sum((Decimal(line["price"]) * line["quantity"] for line in lines), Decimal("0.00"))
        shipping_cost = Decimal("0.00") if subtotal >= 50 else Decimal("4.95")
        total = subtotal + shipping_cost
        tax = (total / 6).quantize(Decimal("0.01"))  # VAT included, as UK shops price
        address = {
            "first_name": first_name,
            "last_name": last_name,
            "name": f"{first_name} {last_name}",
            "company": None,
            "address1": "10 Copper Lane",
            "address2": "",
            "city": city,
            "province": None,
            "province_code": None,
            "zip": zip,
            "country": COUNTRIES.get(country_code, country_code),
            "country_code": country_code,
            "phone": None,
            "latitude": None,
            "longitude": None,
        }
        customer_id = 7_401_234_500_000 + order_number
        customer = {
            "id": customer_id,
            "email": email,
            "created_at": _iso(placed - timedelta(days=30)),
            "updated_at": _iso(placed),
            "first_name": first_name,
            "last_name": last_name,
            "orders_count": orders_count,
            "state": "enabled",
            "total_spent": str(total),
            "last_order_id": order_id,
            "note": None,
            "verified_email": True,
            "multipass_identifier": None,
            "tax_exempt": False,
            "tags": ", ".join(customer_tags),
            "last_order_name": f"{name_prefix}{order_number}",
            "currency": currency,
            "phone": None,
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
            "default_address": {
                **address,
                "id": customer_id + 1,
                "customer_id": customer_id,
                "default": True,
            },
        }
        fulfillments: list[dict[str, Any]] = []
        if fulfillment_status is not None:
            fulfillments.append(
                self._fulfillment(
                    order_id,
                    f"{name_prefix}{order_number}.1",
                    lines,
                    shipped,
                    updated if shipment_status == "delivered" else shipped + timedelta(hours=6),
                    shipment_status,
                    tracking_company,
                    tracking_number or f"RM{order_number:09d}GB",
                )
            )
        cancelled = state == "cancelled"
        order: dict[str, Any] = {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "app_id": 580111,
            "browser_ip": "203.0.113.7",
            "buyer_accepts_marketing": False,
            "cancel_reason": "customer" if cancelled else None,
            "cancelled_at": _iso(placed + timedelta(hours=5)) if cancelled else None,
            "cart_token": uuid.uuid4().hex,
            "checkout_id": order_id + 77,
            "closed_at": _iso(placed + timedelta(hours=5)) if cancelled else None,
            "confirmation_number": uuid.uuid4().hex[:9].upper(),
            "confirmed": True,
            "contact_email": email,
            "created_at": _iso(placed),
            "currency": currency,
            "current_subtotal_price": str(subtotal),
            "current_total_price": "0.00" if financial == "refunded" else str(total),
            "customer_locale": "en-GB",
            "discount_codes": [],
            "email": email,
            "estimated_taxes": False,
            "financial_status": financial,
            "fulfillment_status": fulfillment_status,
            "landing_site": "/",
            "name": f"{name_prefix}{order_number}",
            "note": None,
            "number": order_number - 1000,
            "order_number": order_number,
            "order_status_url": f"https://{SHOP}/{order_id}/orders/{uuid.uuid4().hex}/authenticate",
            "phone": None,
            "presentment_currency": currency,
            "processed_at": _iso(placed),
            "reference": None,
            "source_name": "web",
            "subtotal_price": str(subtotal),
            "tags": "",
            "taxes_included": True,
            "test": False,
            "token": uuid.uuid4().hex,
            "total_discounts": "0.00",
            "total_line_items_price": str(subtotal),
            "total_price": str(total),
            "total_shipping_price_set": _money(shipping_cost, currency),
            "total_tax": str(tax),
            "total_weight": 350 * sum(line["quantity"] for line in lines),
            "updated_at": _iso(updated if fulfillments else placed),
            "billing_address": dict(address),
            "customer": customer,
            "fulfillments": fulfillments,
            "line_items": lines,
            "refunds": [{"id": order_id + 9, "created_at": _iso(placed + timedelta(hours=5)), "note": None}]
            if financial == "refunded"
            else [],
            "shipping_address": dict(address),
            "shipping_lines": [
                {
                    "id": order_id + 5,
                    "code": "Standard",
                    "price": str(shipping_cost),
                    "source": "shopify",
                    "title": "Standard",
                    "carrier_identifier": None,
                }
            ],
        }
        order.update(overrides)
        self.orders.append(order)
        return order

    # -- the wire protocol ------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(f"{API_PATH}/orders.json", self._orders, methods=["GET"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    def _leaked(self) -> float:
        now = time.monotonic()
        return max(0.0, self._level - (now - self._level_at) * self.leak_per_second)

    def _headers(self) -> dict[str, str]:
        return {
            "X-Shopify-Shop-Api-Call-Limit": f"{int(self._leaked())}/{self.bucket_size}",
            "X-Request-Id": str(uuid.uuid4()),
            "X-Shopify-API-Version": API_VERSION,
        }

    async def _not_found(self, request: Request) -> JSONResponse:
        self.calls.append(
            Call(request.url.path, dict(request.query_params), time.monotonic(), 404, _token(request))
        )
        return JSONResponse({"errors": "Not Found"}, status_code=404, headers=self._headers())

    async def _orders(self, request: Request) -> Response:
        token = _token(request)
        call = Call(request.url.path, dict(request.query_params), time.monotonic(), 200, token)
        self.calls.append(call)
        if token != self.token:
            call.status = 401
            return JSONResponse({"errors": INVALID_TOKEN}, status_code=401)

        if self.failures:
            failure = self.failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self.failures.pop(0)
            call.status = failure.status
            headers = self._headers()
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            if failure.body is not None:
                return Response(failure.body, failure.status, headers, media_type="text/html")
            error = THROTTLED if failure.status == 429 else ERRORS.get(failure.status, "Error")
            return JSONResponse({"errors": error}, status_code=failure.status, headers=headers)

        level = self._leaked()
        if level + 1 > self.bucket_size:
            call.status = 429
            self._level, self._level_at = level, time.monotonic()
            headers = {**self._headers(), "Retry-After": "2.0"}
            return JSONResponse({"errors": THROTTLED}, status_code=429, headers=headers)
        self._level, self._level_at = level + 1, time.monotonic()

        params = request.query_params
        try:
            limit = int(params.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            call.status = 400
            return JSONResponse(
                {"errors": {"limit": [f"must be between 1 and {MAX_LIMIT}"]}},
                status_code=400,
                headers=self._headers(),
            )
        found = [o for o in self.orders if _status_matches(o, params.get("status", "open"))]
        if "name" in params:
            found = [o for o in found if _bare_name(str(o["name"])) == _bare_name(params["name"])]
        if "email" in params:
            found = [o for o in found if str(o.get("email") or "").lower() == params["email"].strip().lower()]
        # Shopify lists newest first.
        found.sort(key=lambda o: (datetime.fromisoformat(o["created_at"]), o["id"]), reverse=True)
        body = json.dumps({"orders": found[:limit]})
        return Response(body, 200, self._headers(), media_type="application/json; charset=utf-8")

    def _line_item(self, item: Item, currency: str) -> dict[str, Any]:
        sku, title, quantity, price = item
        line_id = next(self._ids)
        variant_id = 44_000_000_000 + line_id % 1_000_000
        product_id = 8_000_000_000 + line_id % 1_000_000
        return {
            "id": line_id,
            "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
            "fulfillable_quantity": quantity,
            "fulfillment_service": "manual",
            "fulfillment_status": None,
            "gift_card": False,
            "grams": 350,
            "name": title,
            "price": price,
            "price_set": _money(Decimal(price), currency),
            "product_exists": True,
            "product_id": product_id,
            "properties": [],
            "quantity": quantity,
            "requires_shipping": True,
            "sku": sku,
            "taxable": True,
            "title": title,
            "total_discount": "0.00",
            "variant_id": variant_id,
            "variant_inventory_management": "shopify",
            "variant_title": None,
            "vendor": "Copperline",
        }

    def _fulfillment(
        self,
        order_id: int,
        name: str,
        lines: list[dict[str, Any]],
        created: datetime,
        updated: datetime,
        shipment_status: str | None,
        company: str | None,
        number: str,
    ) -> dict[str, Any]:
        fulfillment_id = next(self._ids)
        url = CARRIER_URLS.get(company or "", "https://track.example/{}").format(number)
        return {
            "id": fulfillment_id,
            "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
            "created_at": _iso(created),
            "location_id": 69_000_000_001,
            "name": name,
            "order_id": order_id,
            "origin_address": {},
            "receipt": {},
            "service": "manual",
            "shipment_status": shipment_status,
            "status": "success",
            "tracking_company": company,
            "tracking_number": number,
            "tracking_numbers": [number],
            "tracking_url": url,
            "tracking_urls": [url],
            "updated_at": _iso(updated),
            "line_items": [{**line, "fulfillment_status": "fulfilled"} for line in lines],
        }


def _token(request: Request) -> str | None:
    return request.headers.get("X-Shopify-Access-Token")


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": str(amount), "currency_code": currency}
    return {"shop_money": money, "presentment_money": dict(money)}


def _bare_name(name: str) -> str:
    """Shopify's `name` filter finds "#1001" for "1001" and "#1001" alike."""
    return name.strip().lstrip("#").strip().lower()


def _status_matches(order: dict[str, Any], status: str) -> bool:
    # Shopify's default is `open`: without status=any, cancelled and archived orders are left out.
    if status == "any":
        return True
    if status == "cancelled":
        return order.get("cancelled_at") is not None
    if status == "closed":
        return order.get("closed_at") is not None
    return order.get("closed_at") is None and order.get("cancelled_at") is None
