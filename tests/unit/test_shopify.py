"""ShopifyOrders against a fake Shopify Admin API on a real socket, with the real httpx client."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal

import pytest

from bot.orders.model import OrderItem, OrderSourceError, OrderStatus
from bot.orders.shopify import ShopifyOrders
from tests.fakes.server import free_port, serving
from tests.fakes.shopify import API_PATH, TOKEN, FakeShopify


@pytest.fixture
def fake() -> FakeShopify:
    return FakeShopify()


@pytest.fixture
async def api_url(fake: FakeShopify) -> AsyncIterator[str]:
    async with serving(fake.app) as url:
        yield f"{url}{API_PATH}"


@pytest.fixture
async def shopify(api_url: str) -> AsyncIterator[ShopifyOrders]:
    client = ShopifyOrders(api_url, TOKEN, max_retries=2)
    yield client
    await client.aclose()


# -- mapping ---------------------------------------------------------------------------------------


async def test_by_number_maps_every_field(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    fake.add_order(1000)
    fake.add_order(
        1001,
        email="Ana.Silva@Example.com",
        zip="SW1A 1AA",
        country_code="GB",
        city="London",
        items=[("MUG-CU-350", "Copper mug", 2, "24.00"), (None, "Gift wrap", 1, "3.50")],
        currency="GBP",
        state="in_transit",
        created_at="2024-11-05T09:30:00-05:00",
        shipped_at="2024-11-06T23:10:00-05:00",
        tracking_company="Royal Mail",
        tracking_number="RM123456789GB",
        customer_tags=["VIP", " wholesale "],
        orders_count=7,
    )
    fake.add_order(1002)

    # With or without "#", and with stray spaces: all as customers type them.
    orders = [await shopify.by_number(asked) for asked in ("#1001", "1001", " # 1001 ")]

    assert orders[0] == orders[1] == orders[2]
    order = orders[0]
    assert order is not None
    assert order.number == "1001"
    assert order.email == "Ana.Silva@Example.com"
    assert order.postcode == "SW1A 1AA"
    assert order.customer_name == "Ana Silva"
    assert order.items == (
        OrderItem("MUG-CU-350", "Copper mug", 2, Decimal("24.00")),
        OrderItem("", "Gift wrap", 1, Decimal("3.50")),
    )
    assert order.total == Decimal("51.50")  # free shipping over 50
    assert order.currency == "GBP"
    assert order.status is OrderStatus.SHIPPED
    assert order.destination_country == "GB"
    assert order.city == "London"
    assert order.placed_at == datetime.fromisoformat("2024-11-05T09:30:00-05:00")
    assert order.carrier == "Royal Mail"
    assert order.tracking_number == "RM123456789GB"
    assert order.tracking_url is not None and order.tracking_url.endswith("RM123456789GB")
    assert order.shipped_at == date(2024, 11, 6)  # the shop's date, not UTC's (already the 7th)
    assert order.delivered_at is None
    assert order.customer_tags == ("VIP", "wholesale")
    assert order.customer_order_count == 7
    assert order.quantity == 3
    assert all(c.params == {"name": "#1001", "status": "any", "limit": "5"} for c in fake.calls)
    assert all(c.token == TOKEN for c in fake.calls)


STATUSES = {
    "paid": OrderStatus.PAID,
    "pending": OrderStatus.PAID,
    "in_transit": OrderStatus.SHIPPED,
    "label_printed": OrderStatus.SHIPPED,
    "confirmed": OrderStatus.SHIPPED,
    "fulfilled": OrderStatus.SHIPPED,  # no carrier updates at all: shipment_status null
    "out_for_delivery": OrderStatus.OUT_FOR_DELIVERY,
    "delivered": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,  # also refunded: cancelled wins
    "refunded": OrderStatus.REFUNDED,
}


async def test_status_from_shopify(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    # One shop holding an order in every state (one server for all: each start and stop costs time).
    numbers = {state: 2001 + i for i, state in enumerate(STATUSES)}
    for state, number in numbers.items():
        fake.add_order(number, state=state)
    for state, expected in STATUSES.items():
        order = await shopify.by_number(str(numbers[state]))
        assert order is not None
        assert order.status is expected, state
        if expected is OrderStatus.PAID:
            assert (order.carrier, order.tracking_number, order.shipped_at) == (None, None, None)
        if expected is OrderStatus.SHIPPED:
            assert order.carrier == "Royal Mail" and order.shipped_at is not None


async def test_delivered_order_has_delivery_date(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    fake.add_order(
        1001,
        state="delivered",
        shipped_at="2024-11-06T10:00:00+00:00",
        delivered_at="2024-11-08T14:20:00+00:00",
        tracking_company="UPS",
        tracking_number="1Z999AA10123456784",
    )
    order = await shopify.by_number("1001")
    assert order is not None
    assert (order.shipped_at, order.delivered_at) == (date(2024, 11, 6), date(2024, 11, 8))
    assert order.carrier == "UPS"
    assert order.tracking_url == "https://www.ups.com/track?tracknum=1Z999AA10123456784"


async def test_latest_fulfillment_decides_and_cancelled_ones_are_ignored(
    fake: FakeShopify, shopify: ShopifyOrders
) -> None:
    data = fake.add_order(1001, state="delivered", tracking_number="FIRST", fulfillment_status="partial")
    first = data["fulfillments"][0]
    second = {
        **first,
        "id": first["id"] + 1,
        "created_at": "2024-11-20T10:00:00-05:00",
        "shipment_status": "in_transit",
        "tracking_number": None,
        "tracking_numbers": ["SECOND"],
        "tracking_url": None,
        "tracking_urls": ["https://track.example/SECOND"],
    }
    withdrawn = {
        **second,
        "id": first["id"] + 2,
        "created_at": "2024-11-21T10:00:00-05:00",
        "status": "cancelled",
    }
    data["fulfillments"] = [withdrawn, first, second]
    order = await shopify.by_number("1001")
    assert order is not None
    assert order.status is OrderStatus.SHIPPED
    assert order.tracking_number == "SECOND"
    assert order.tracking_url == "https://track.example/SECOND"
    assert order.shipped_at == date(2024, 11, 20)


async def test_fallbacks_for_missing_email_and_shipping_address(
    fake: FakeShopify, shopify: ShopifyOrders
) -> None:
    # A digital order: no shipping address; the email only on the customer record.
    data = fake.add_order(
        1001, email=None, first_name="Bea", last_name="Ng", country_code="CA", zip="M5V 2T6"
    )
    data["shipping_address"] = None
    data["customer"]["email"] = "bea@example.com"
    data["customer"]["orders_count"] = None  # recent API versions may leave it out
    order = await shopify.by_number("1001")
    assert order is not None
    assert order.email == "bea@example.com"
    assert order.postcode == "M5V 2T6"
    assert order.destination_country == "CA"
    assert order.customer_name == "Bea Ng"
    assert order.customer_order_count is None

    data["customer"]["email"] = None
    data["contact_email"] = "bea.contact@example.com"
    order = await shopify.by_number("1001")
    assert order is not None and order.email == "bea.contact@example.com"


async def test_shop_with_an_order_name_prefix(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    fake.add_order(20931, name_prefix="HP-")
    order = await shopify.by_number("hp-20931")
    assert order is not None and order.number == "HP-20931"
    assert fake.calls[-1].params["name"] == "HP-20931"


async def test_unknown_number_is_none(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    fake.add_order(1001)
    assert await shopify.by_number("#9999") is None
    assert await shopify.by_number("  ") is None
    assert len(fake.calls) == 1  # nothing to ask about a blank number


async def test_by_email_newest_first_and_only_that_customer(
    fake: FakeShopify, shopify: ShopifyOrders
) -> None:
    fake.add_order(1003, email="ana@example.com", created_at="2024-10-01T12:00:00+00:00")
    fake.add_order(1001, email="ana@example.com", created_at="2024-12-01T12:00:00+00:00", state="cancelled")
    fake.add_order(1002, email="bob@example.com", created_at="2024-12-02T12:00:00+00:00")
    fake.add_order(1004, email="ana@example.com", created_at="2024-11-01T12:00:00+00:00", state="delivered")

    orders = await shopify.by_email(" Ana@Example.COM ")

    assert [o.number for o in orders] == ["1001", "1004", "1003"]
    assert fake.calls[-1].params == {"email": "ana@example.com", "status": "any", "limit": "10"}
    assert [o.number for o in await shopify.by_email("ana@example.com", limit=2)] == ["1001", "1004"]
    assert await shopify.by_email("nobody@example.com") == []


# -- failures and rate limits ----------------------------------------------------------------------


async def test_429_is_waited_out_and_retried(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    fake.add_order(1001)
    fake.fail(429, retry_after=0.2)
    started = time.monotonic()
    order = await shopify.by_number("1001")
    elapsed = time.monotonic() - started
    assert order is not None
    assert fake.statuses() == [429, 200]
    assert elapsed >= 0.2
    assert fake.calls[1].at - fake.calls[0].at >= 0.2


async def test_500_then_success(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    fake.add_order(1001, email="ana@example.com")
    fake.fail(500)
    orders = await shopify.by_email("ana@example.com")
    assert [o.number for o in orders] == ["1001"]
    assert fake.statuses() == [500, 200]
    assert fake.calls[1].at - fake.calls[0].at >= 0.5  # the first backoff


async def test_persistent_503_gives_up_after_max_retries(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    fake.add_order(1001)
    fake.fail(503, times=10)
    with pytest.raises(OrderSourceError, match=r"HTTP 503.*gave up after 3 tries"):
        await shopify.by_number("1001")
    assert fake.statuses() == [503, 503, 503]  # one try and max_retries=2 more
    gaps = [b.at - a.at for a, b in zip(fake.calls, fake.calls[1:], strict=False)]
    assert gaps[0] >= 0.5 and gaps[1] >= 1.0  # exponential backoff


async def test_wrong_token_fails_at_once_without_leaking_it(fake: FakeShopify, api_url: str) -> None:
    secret = "shpat_wrong_secret_value"
    async with ShopifyOrders(api_url, secret) as client:
        with pytest.raises(OrderSourceError, match="refused the access token") as caught:
            await client.by_number("1001")
        assert secret not in str(caught.value) and secret not in repr(client)
    assert fake.statuses() == [401]


async def test_nearly_full_bucket_makes_the_client_wait(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    fake.add_order(1001)
    fake.bucket_used = 39  # the next call fills it to 40/40; one more at once would be refused
    assert await shopify.by_number("1001") is not None
    assert fake.calls[-1].status == 200
    assert await shopify.by_number("1001") is not None
    assert fake.statuses() == [200, 200]
    assert fake.calls[1].at - fake.calls[0].at >= 0.5  # at least one call's worth of leaking


async def test_concurrent_lookups_share_the_bucket(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    for number in (1001, 1002, 1003, 1004):
        fake.add_order(number)
    fake.bucket_used = 36
    assert await shopify.by_number("1001") is not None  # the client now knows: 37/40
    # Four at once would take the bucket to 41 and be refused, unless they queue on the client's limiter.
    found = await asyncio.gather(*(shopify.by_number(str(n)) for n in (1001, 1002, 1003, 1004)))
    assert [o.number for o in found if o] == ["1001", "1002", "1003", "1004"]
    assert fake.statuses() == [200] * 5


async def test_network_errors_are_retried_then_reported() -> None:
    closed = f"http://127.0.0.1:{free_port()}{API_PATH}"  # nothing listens there
    async with ShopifyOrders(closed, TOKEN, max_retries=1) as client:
        with pytest.raises(OrderSourceError, match=r"could not reach Shopify.*2 tries"):
            await client.by_email("ana@example.com")


async def test_malformed_json_is_an_order_source_error(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    fake.fail(200, body="<html><body>Shop is being set up</body></html>")
    with pytest.raises(OrderSourceError, match="not JSON"):
        await shopify.by_number("1001")
    assert len(fake.calls) == 1


async def test_unreadable_order_names_only_its_number(fake: FakeShopify, shopify: ShopifyOrders) -> None:
    fake.add_order(1001, total_price="lots")
    with pytest.raises(OrderSourceError, match="order 1001") as caught:
        await shopify.by_number("1001")
    assert "ana" not in str(caught.value).lower()


async def test_404_on_the_list_is_empty(fake: FakeShopify) -> None:
    async with serving(fake.app) as url, ShopifyOrders(f"{url}/admin/api/1999-01", TOKEN) as client:
        assert await client.by_email("ana@example.com") == []
        assert await client.by_number("1001") is None
    assert fake.statuses() == [404, 404]


async def test_logs_hold_no_email_or_token(
    fake: FakeShopify, shopify: ShopifyOrders, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_order(1001, email="private.person@example.com", zip="EC1A 1BB")
    fake.fail(500)
    with caplog.at_level(logging.DEBUG):
        await shopify.by_email("private.person@example.com")
        await shopify.by_number("1001")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "orders.json" in text  # httpx did log the requests...
    assert "private.person" not in text and "example.com" not in text  # ...without the email
    assert "EC1A" not in text and TOKEN not in text
