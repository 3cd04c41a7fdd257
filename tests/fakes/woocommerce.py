"""A fake WooCommerce REST API (v3) on 127.0.0.1, speaking the real wire protocol for orders.

`WooCommerceOrders(f"{url}{API_PATH}", CONSUMER_KEY, CONSUMER_SECRET)` is pointed at it. It serves
`GET /wp-json/wc/v3/orders` (`search`, `per_page`, `page`, `orderby`, `order`, `status`) and
`GET /wp-json/wc/v3/orders/{id}`, checks HTTP Basic auth against the consumer key and secret, and
answers in WooCommerce's order shape, with WordPress's error bodies (`{"code", "message", "data"}`)
and pagination headers (`X-WP-Total`, `X-WP-TotalPages`). `search` is as fuzzy as the real one: a
substring match over the order's id and number, names, addresses, emails, phones and item names.

It records every call and fails on demand (`fail`). `add_order(...)` builds a whole realistic order
from a few arguments, so tests read like the story they tell, and `add_tracking` adds the
Shipment Tracking extension's meta to one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CONSUMER_KEY = "ck_0123456789abcdef0123456789abcdef01234567"
CONSUMER_SECRET = "cs_76543210fedcba9876543210fedcba9876543210"
SITE = "https://copperline.example"
API_PATH = "/wp-json/wc/v3"
MAX_PER_PAGE = 100
WC_VERSION = "9.3.3"

SHOP_OFFSET = timedelta(hours=-5)  # the shop's WordPress timezone: dates come in local time and in GMT
SHOP_TZ = timezone(SHOP_OFFSET)
BASE_TIME = datetime(2024, 11, 4, 9, 30, tzinfo=SHOP_TZ)  # orders without a date are a day apart from here
VAT = Decimal("0.20")  # prices entered without tax, 20% added at checkout

CANNOT_VIEW = {
    "code": "woocommerce_rest_cannot_view",
    "message": "Sorry, you cannot list resources.",
    "data": {"status": 401},
}
INVALID_ID = {
    "code": "woocommerce_rest_shop_order_invalid_id",
    "message": "Invalid ID.",
    "data": {"status": 404},
}
NO_ROUTE = {
    "code": "rest_no_route",
    "message": "No route was found matching the URL and request method.",
    "data": {"status": 404},
}
CRITICAL_ERROR = {
    "code": "internal_server_error",
    "message": "<p>There has been a critical error on this website.</p>",
    "data": {"status": 500},
    "additional_errors": [],
}
PAID_STATUSES = {"processing", "on-hold", "completed", "shipped", "partial-shipped", "delivered", "refunded"}
SHIPPED_STATUSES = {"completed", "shipped", "partial-shipped", "delivered"}

Item = tuple[str | None, str, int, str]  # sku, name, quantity, unit price before tax


@dataclass
class Call:
    """One request to the fake: path, query parameters, the status it got, the consumer key it sent."""

    path: str
    params: dict[str, str]
    at: float
    status: int = 200
    key: str | None = None


@dataclass
class Failure:
    status: int
    remaining: int
    retry_after: float | None
    body: str | None


@dataclass
class FakeWooCommerce:
    consumer_key: str = CONSUMER_KEY
    consumer_secret: str = CONSUMER_SECRET
    orders: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    _other_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(90_001))

    # -- what tests use ---------------------------------------------------------------------

    def fail(
        self, status: int, times: int = 1, retry_after: float | None = None, *, body: str | None = None
    ) -> None:
        """Answer the next `times` calls with `status`, with `Retry-After` if given (a host or a WAF in
        front of WordPress does this; WooCommerce itself has no rate limit on its REST API).

        `body` replaces the error, e.g. `fail(200, body="<html>")` for a security plugin's challenge page.
        """
        self.failures.append(Failure(status, times, retry_after, body))

    def statuses(self) -> list[int]:
        return [c.status for c in self.calls]

    def add_order(
        self,
        number: int | str | None = None,
        *,
        order_id: int | None = None,
        email: str = "ana.silva@example.com",
        postcode: str = "SW1A 1AA",
        country: str = "GB",
        city: str = "London",
        first_name: str = "Ana",
        last_name: str = "Silva",
        items: Sequence[Item] = (("MUG-CU-350", "Copper mug", 2, "24.00"),),
        currency: str = "GBP",
        status: str = "processing",
        created_at: datetime | str | None = None,
        completed_at: datetime | str | None = None,
        tracking_number: str | None = None,
        tracking_provider: str = "royal-mail",
        shipped_on: date | str | None = None,
        custom_provider: str = "",
        custom_link: str = "",
        carrier_status: str | None = None,
        carrier_status_at: datetime | str | None = None,
        virtual: bool = False,
        **overrides: Any,
    ) -> dict[str, Any]:
        """Add and return one order in WooCommerce's REST shape; `overrides` replace top-level fields.

        `number` is what the customer sees; by default it is the order id, as in a shop without a
        renumbering plugin. Give `order_id` too for a renumbered shop ("57" stored as post 1203).
        `status` is WooCommerce's slug: pending, processing, on-hold, completed, cancelled, refunded,
        failed, trash, or a plugin's (delivered, shipped, ...). `tracking_number` adds a Shipment
        Tracking item; `carrier_status` adds TrackShip's status for it (in_transit, delivered, ...).
        A `virtual` order (downloads only) has an empty shipping address, as WooCommerce sends it.
        """
        if order_id is None:
            digits = str(number) if number is not None and str(number).isdigit() else None
            order_id = int(digits) if digits else self._next_id()
        order_number = str(number) if number is not None else str(order_id)
        placed = _moment(created_at) or BASE_TIME + timedelta(days=order_id - 1000)
        completed = _moment(completed_at) or placed + timedelta(days=1, hours=3)
        finished = status in SHIPPED_STATUSES or status == "refunded"
        modified = completed if finished else placed + timedelta(minutes=2)

        lines = [self._line_item(item) for item in items]
        subtotal = sum((Decimal(line["subtotal"]) for line in lines), Decimal("0.00"))
        shipping_cost = Decimal("0.00") if subtotal >= 50 or virtual else Decimal("4.95")
        line_tax = sum((Decimal(line["total_tax"]) for line in lines), Decimal("0.00"))
        shipping_tax = _cents(shipping_cost * VAT)
        total = subtotal + shipping_cost + line_tax + shipping_tax
        billing = {
            "first_name": first_name,
            "last_name": last_name,
            "company": "",
            "address_1": "10 Copper Lane",
            "address_2": "",
            "city": city,
            "state": "",
            "postcode": postcode,
            "country": country,
            "email": email,
            "phone": "020 7946 0018",
        }
        shipping = {key: value for key, value in billing.items() if key != "email"}
        if virtual:
            shipping = {key: "" for key in shipping}
        paid = status in PAID_STATUSES
        meta: list[dict[str, Any]] = [
            {"id": self._next_other(), "key": "is_vat_exempt", "value": "no"},
            {"id": self._next_other(), "key": "_wc_order_attribution_source_type", "value": "typein"},
        ]
        order: dict[str, Any] = {
            "id": order_id,
            "parent_id": 0,
            "status": status,
            "currency": currency,
            "version": WC_VERSION,
            "prices_include_tax": False,
            "date_created": _local(placed),
            "date_modified": _local(modified),
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": _money(shipping_cost),
            "shipping_tax": _money(shipping_tax),
            "cart_tax": _money(line_tax),
            "total": _money(total),
            "total_tax": _money(line_tax + shipping_tax),
            "customer_id": 0 if order_id % 2 else 40 + order_id % 7,  # guests and account holders
            "order_key": f"wc_order_{uuid.uuid4().hex[:13]}",
            "billing": billing,
            "shipping": shipping,
            "payment_method": "stripe",
            "payment_method_title": "Credit / Debit Card",
            "transaction_id": f"ch_{uuid.uuid4().hex[:24]}" if paid else "",
            "customer_ip_address": "203.0.113.7",
            "customer_user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
            "created_via": "checkout",
            "customer_note": "",
            "date_completed": _local(completed) if finished else None,
            "date_paid": _local(placed + timedelta(seconds=40)) if paid else None,
            "cart_hash": hashlib.md5(order_number.encode()).hexdigest(),
            "number": order_number,
            "meta_data": meta,
            "line_items": lines,
            "tax_lines": [
                {
                    "id": self._next_other(),
                    "rate_code": f"{country}-VAT-1",
                    "rate_id": 1,
                    "label": "VAT",
                    "compound": False,
                    "tax_total": _money(line_tax),
                    "shipping_tax_total": _money(shipping_tax),
                    "rate_percent": 20,
                    "meta_data": [],
                }
            ],
            "shipping_lines": []
            if virtual
            else [
                {
                    "id": self._next_other(),
                    "method_title": "Free shipping" if shipping_cost == 0 else "Flat rate",
                    "method_id": "free_shipping" if shipping_cost == 0 else "flat_rate",
                    "instance_id": "1",
                    "total": _money(shipping_cost),
                    "total_tax": _money(shipping_tax),
                    "taxes": [{"id": 1, "total": _money(shipping_tax), "subtotal": ""}],
                    "meta_data": [],
                }
            ],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [{"id": self._next_other(), "reason": "", "total": f"-{_money(total)}"}]
            if status == "refunded"
            else [],
            "payment_url": f"{SITE}/checkout/order-pay/{order_id}/?pay_for_order=true&key=wc_order_x",
            "is_editable": status in ("pending", "on-hold"),
            "needs_payment": status in ("pending", "failed"),
            "needs_processing": not virtual,
            "date_created_gmt": _gmt(placed),
            "date_modified_gmt": _gmt(modified),
            "date_completed_gmt": _gmt(completed) if finished else None,
            "date_paid_gmt": _gmt(placed + timedelta(seconds=40)) if paid else None,
            "currency_symbol": {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency, currency),
            "_links": {
                "self": [{"href": f"{SITE}{API_PATH}/orders/{order_id}"}],
                "collection": [{"href": f"{SITE}{API_PATH}/orders"}],
            },
        }
        if tracking_number is not None:
            self.add_tracking(
                order,
                tracking_number,
                provider=tracking_provider,
                shipped_on=shipped_on or completed.date(),
                custom_provider=custom_provider,
                custom_link=custom_link,
            )
        if carrier_status is not None:
            when = _moment(carrier_status_at) or completed + timedelta(days=2)
            statuses = [
                {
                    "status": carrier_status,
                    "status_date": _gmt(when).replace("T", " "),
                    "est_delivery_date": None,
                }
            ]
            meta.append({"id": self._next_other(), "key": "shipment_status", "value": statuses})
        order.update(overrides)
        self.orders.append(order)
        return order

    def add_tracking(
        self,
        order: dict[str, Any],
        tracking_number: str,
        *,
        provider: str = "royal-mail",
        shipped_on: date | str | None = None,
        custom_provider: str = "",
        custom_link: str = "",
    ) -> dict[str, Any]:
        """Add one Shipment Tracking item to `order`, as the extension stores it, and return it.

        `provider` is the extension's slug for a known carrier; a custom one has `provider=""` and
        `custom_provider`/`custom_link` instead. `date_shipped` is a unix timestamp string of the day.
        """
        shipped = date.fromisoformat(shipped_on) if isinstance(shipped_on, str) else shipped_on
        shipped = shipped or date(2024, 11, 5)
        stamp = int(datetime(shipped.year, shipped.month, shipped.day, tzinfo=UTC).timestamp())
        item = {
            "tracking_provider": "" if custom_provider else provider,
            "custom_tracking_provider": custom_provider,
            "custom_tracking_link": custom_link,
            "tracking_number": tracking_number,
            "date_shipped": str(stamp),
            "tracking_id": hashlib.md5(f"{tracking_number}{stamp}".encode()).hexdigest(),
        }
        meta: list[dict[str, Any]] = order["meta_data"]
        entry = next((m for m in meta if m["key"] == "_wc_shipment_tracking_items"), None)
        if entry is None:
            entry = {"id": self._next_other(), "key": "_wc_shipment_tracking_items", "value": []}
            meta.append(entry)
        entry["value"].append(item)
        return item

    # -- the wire protocol ------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(f"{API_PATH}/orders", self._list, methods=["GET"]),
                Route(f"{API_PATH}/orders/{{order_id:int}}", self._one, methods=["GET"]),
                Route("/{path:path}", self._no_route, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    def _next_id(self) -> int:
        taken = {o["id"] for o in self.orders}
        return next(i for i in self._ids if i not in taken)

    def _next_other(self) -> int:
        return next(self._other_ids)

    def _record(self, request: Request) -> Call:
        call = Call(request.url.path, dict(request.query_params), time.monotonic(), 200, _key(request))
        self.calls.append(call)
        return call

    def _refuse(self, request: Request, call: Call, listing: bool) -> Response | None:
        """What stands before WooCommerce's answer: the host's failures, then authentication."""
        if self.failures:
            failure = self.failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self.failures.pop(0)
            call.status = failure.status
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            if failure.body is not None:
                return Response(failure.body, failure.status, headers, media_type="text/html")
            if failure.status == 500:
                return JSONResponse(CRITICAL_ERROR, status_code=500, headers=headers)
            page = f"<html><head><title>{failure.status}</title></head><body>{failure.status}</body></html>"
            return Response(page, failure.status, headers, media_type="text/html")
        if _credentials(request) != (self.consumer_key, self.consumer_secret):
            call.status = 401
            body = dict(CANNOT_VIEW)
            if not listing:
                body["message"] = "Sorry, you cannot view this resource."
            return JSONResponse(body, status_code=401)
        return None

    async def _no_route(self, request: Request) -> JSONResponse:
        self._record(request).status = 404
        return JSONResponse(NO_ROUTE, status_code=404)

    async def _one(self, request: Request) -> Response:
        call = self._record(request)
        refused = self._refuse(request, call, listing=False)
        if refused is not None:
            return refused
        wanted = int(request.path_params["order_id"])
        order = next((o for o in self.orders if o["id"] == wanted), None)
        if order is None:  # trashed orders are still there: WooCommerce returns them by id
            call.status = 404
            return JSONResponse(INVALID_ID, status_code=404)
        return _json(order)

    async def _list(self, request: Request) -> Response:
        call = self._record(request)
        refused = self._refuse(request, call, listing=True)
        if refused is not None:
            return refused
        params = request.query_params
        try:
            per_page = int(params.get("per_page", "10"))
            page = int(params.get("page", "1"))
        except ValueError:
            per_page = page = 0
        if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
            call.status = 400
            return JSONResponse(
                {
                    "code": "rest_invalid_param",
                    "message": "Invalid parameter(s): per_page",
                    "data": {
                        "status": 400,
                        "params": {"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"},
                    },
                },
                status_code=400,
            )
        statuses = {s.strip() for s in params.get("status", "any").split(",") if s.strip()}
        found = [o for o in self.orders if _status_matches(str(o["status"]), statuses)]
        term = params.get("search", "").strip().lower()
        if term:
            found = [o for o in found if any(term in text for text in _searchable(o))]
        orderby = params.get("orderby", "date")
        if orderby == "id":
            found.sort(key=lambda o: int(o["id"]))
        elif orderby == "modified":
            found.sort(key=lambda o: (str(o["date_modified_gmt"]), int(o["id"])))
        else:
            found.sort(key=lambda o: (str(o["date_created_gmt"]), int(o["id"])))
        if params.get("order", "desc") == "desc":
            found.reverse()
        pages = max(1, -(-len(found) // per_page))
        headers = {"X-WP-Total": str(len(found)), "X-WP-TotalPages": str(pages)}
        return _json(found[(page - 1) * per_page : page * per_page], headers)

    def _line_item(self, item: Item) -> dict[str, Any]:
        sku, name, quantity, price = item
        line_id = self._next_other()
        unit = Decimal(price)
        line_total = unit * quantity
        tax = _cents(line_total * VAT)
        return {
            "id": line_id,
            "name": name,
            "product_id": 200 + line_id % 97,
            "variation_id": 0,
            "quantity": quantity,
            "tax_class": "",
            "subtotal": _money(line_total),
            "subtotal_tax": _money(tax),
            "total": _money(line_total),
            "total_tax": _money(tax),
            "taxes": [{"id": 1, "total": _money(tax), "subtotal": _money(tax)}],
            "meta_data": [],
            "sku": sku or "",
            # A JSON number, as PHP's float: 24 rather than "24.00", 3.5 rather than "3.50".
            "price": int(unit) if unit == unit.to_integral_value() else float(unit),
            "image": {"id": "", "src": ""},
            "parent_name": None,
        }


def _json(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), 200, headers, media_type="application/json; charset=UTF-8")


def _credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, _, secret = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return key, secret


def _key(request: Request) -> str | None:
    credentials = _credentials(request)
    return credentials[0] if credentials else None


def _status_matches(status: str, wanted: set[str]) -> bool:
    # `any` is every status but trash, as in WordPress; checkout drafts are never listed unless asked.
    if "any" in wanted:
        return status not in ("trash", "checkout-draft")
    return status in wanted


def _searchable(order: dict[str, Any]) -> list[str]:
    texts = [str(order["id"]), str(order["number"])]
    for part in ("billing", "shipping"):
        texts.extend(str(value) for value in (order.get(part) or {}).values())
    texts.extend(str(line.get("name") or "") for line in order.get("line_items") or ())
    return [text.lower() for text in texts if text]


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=SHOP_TZ)


def _local(moment: datetime) -> str:
    """WooCommerce's `date_*` fields: the shop's local time, without an offset."""
    return moment.astimezone(SHOP_TZ).replace(tzinfo=None).isoformat(timespec="seconds")


def _gmt(moment: datetime) -> str:
    """WooCommerce's `date_*_gmt` fields: UTC, without an offset."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


def _money(amount: Decimal) -> str:
    return str(_cents(amount))
