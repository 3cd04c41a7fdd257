"""WooCommerceOrders against a fake WooCommerce REST API on a real socket, with the real httpx client."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.orders.model import OrderItem, OrderSourceError, OrderStatus
from bot.orders.woocommerce import WooCommerceOrders, order_from_woocommerce
from tests.fakes.server import free_port, serving
from tests.fakes.woocommerce import API_PATH, CONSUMER_KEY, CONSUMER_SECRET, FakeWooCommerce


@pytest.fixture
def fake() -> FakeWooCommerce:
    return FakeWooCommerce()


@pytest.fixture
async def api_url(fake: FakeWooCommerce) -> AsyncIterator[str]:
    async with serving(fake.app) as url:
        yield f"{url}{API_PATH}"


@pytest.fixture
async def woo(api_url: str) -> AsyncIterator[WooCommerceOrders]:
    client = WooCommerceOrders(api_url, CONSUMER_KEY, CONSUMER_SECRET, max_retries=2)
    yield client
    await client.aclose()


# -- mapping ---------------------------------------------------------------------------------------


async def test_by_number_maps_every_field(fake: FakeWooCommerce, woo: WooCommerceOrders) -> None:
    fake.add_order(1000)
    fake.add_order(
        1001,
        email="Ana.Silva@Example.com",
        postcode="SW1A 1AA",
        country="GB",
        city="London",
        items=[("MUG-CU-350", "Copper mug", 2, "24.00"), (None, "Gift wrap", 1, "3.50")],
        currency="GBP",
        status="completed",
        created_at="2024-11-05T21:30:00-05:00",  # already the 6th in UTC
        tracking_number="RM123456789GB",
        tracking_provider="royal-mail",
        shipped_on="2024-11-06",
    )
    fake.add_order(1002)

    # With or without "#", and with stray spaces: all as customers type them.
    orders = [await woo.by_number(asked) for asked in ("#1001", "1001", " # 1001 ")]

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
    assert order.total == Decimal("61.80")  # 51.50, free shipping over 50, and 20% VAT
    assert order.currency == "GBP"
    assert order.status is OrderStatus.SHIPPED
    assert order.destination_country == "GB"
    assert order.city == "London"
    assert order.placed_at == datetime(2024, 11, 6, 2, 30, tzinfo=UTC)  # from date_created_gmt
    assert order.carrier == "Royal Mail"  # from the extension's slug, as delivery.yaml names it
    assert order.tracking_number == "RM123456789GB"
    assert order.tracking_url is None  # a known carrier: the delivery table's tracking page is used
    assert order.shipped_at == date(2024, 11, 6)
    assert order.delivered_at is None
    assert order.customer_tags == ()
    assert order.customer_order_count is None
    assert order.quantity == 3
    # The id is the number here: one GET each, no search.
    assert [c.path for c in fake.calls] == [f"{API_PATH}/orders/1001"] * 3
    assert all(c.params == {} for c in fake.calls)
    assert all(c.key == CONSUMER_KEY for c in fake.calls)


# WooCommerce's status (plus tracking) → the bot's status.
STATUSES: dict[str, tuple[dict[str, object], OrderStatus]] = {
    "pending": ({"status": "pending"}, OrderStatus.PAID),
    "on-hold": ({"status": "on-hold"}, OrderStatus.PAID),
    "processing": ({"status": "processing"}, OrderStatus.PAID),
    "completed": ({"status": "completed"}, OrderStatus.SHIPPED),  # no tracking added at all
    "completed+tracking": ({"status": "completed", "tracking_number": "RM1GB"}, OrderStatus.SHIPPED),
    "in_transit": (
        {"status": "completed", "tracking_number": "RM2GB", "carrier_status": "in_transit"},
        OrderStatus.SHIPPED,
    ),
    "out_for_delivery": (
        {"status": "completed", "tracking_number": "RM3GB", "carrier_status": "out_for_delivery"},
        OrderStatus.OUT_FOR_DELIVERY,
    ),
    "delivered (TrackShip)": (
        {"status": "completed", "tracking_number": "RM4GB", "carrier_status": "delivered"},
        OrderStatus.DELIVERED,
    ),
    "delivered (order status)": ({"status": "delivered", "tracking_number": "RM5GB"}, OrderStatus.DELIVERED),
    "shipped (plugin status)": ({"status": "shipped", "tracking_number": "RM6GB"}, OrderStatus.SHIPPED),
    "cancelled": ({"status": "cancelled"}, OrderStatus.CANCELLED),
    "failed": ({"status": "failed"}, OrderStatus.CANCELLED),  # payment failed: it will not ship
    "refunded": ({"status": "refunded"}, OrderStatus.REFUNDED),
    "unknown, no tracking": ({"status": "awaiting-shipment"}, OrderStatus.PAID),
    "unknown, tracking": ({"status": "in-production", "tracking_number": "RM7GB"}, OrderStatus.SHIPPED),
}


async def test_status_from_woocommerce(fake: FakeWooCommerce, woo: WooCommerceOrders) -> None:
    # One shop holding an order in every state (one server for all: each start and stop costs time).
    numbers = {case: 2001 + i for i, case in enumerate(STATUSES)}
    for case, number in numbers.items():
        fake.add_order(number, **STATUSES[case][0])  # type: ignore[arg-type]
    for case, (_, expected) in STATUSES.items():
        order = await woo.by_number(str(numbers[case]))
        assert order is not None
        assert order.status is expected, case
        if expected is OrderStatus.PAID:
            assert (order.carrier, order.tracking_number, order.shipped_at) == (None, None, None), case
        elif expected in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            assert order.shipped_at is None, case
        else:
            # The bot counts a shipped order's delivery window from this: it must always be there.
            assert order.shipped_at is not None, case


async def test_completed_without_tracking_shipped_the_day_it_was_completed(
    fake: FakeWooCommerce, woo: WooCommerceOrders
) -> None:
    fake.add_order(1001, status="completed", completed_at="2024-11-06T22:00:00-05:00")
    order = await woo.by_number("1001")
    assert order is not None
    assert order.status is OrderStatus.SHIPPED
    assert order.shipped_at == date(2024, 11, 6)  # the shop's date, not UTC's (already the 7th)
    assert (order.carrier, order.tracking_number, order.tracking_url) == (None, None, None)


async def test_delivered_by_trackship_has_delivery_date(
    fake: FakeWooCommerce, woo: WooCommerceOrders
) -> None:
    fake.add_order(
        1001,
        status="completed",
        tracking_number="1Z999AA10123456784",
        tracking_provider="ups",
        shipped_on="2024-11-06",
        carrier_status="delivered",
        carrier_status_at="2024-11-08T14:20:00+00:00",
    )
    order = await woo.by_number("1001")
    assert order is not None
    assert order.status is OrderStatus.DELIVERED
    assert (order.shipped_at, order.delivered_at) == (date(2024, 11, 6), date(2024, 11, 8))
    assert order.carrier == "UPS"


def test_latest_shipment_decides_and_custom_carriers_bring_their_link(fake: FakeWooCommerce) -> None:
    data = fake.add_order(
        1001, status="completed", tracking_number="LATER", shipped_on="2024-11-20", custom_provider="Evri",
        custom_link="https://www.evri.com/track/parcel/LATER",
    )  # fmt: skip
    # Added after, but shipped before: the date decides, not the position.
    fake.add_tracking(data, "EARLIER", provider="dhl-parcel-uk", shipped_on="2024-11-18")
    order = order_from_woocommerce(data)
    assert order.carrier == "Evri"
    assert order.tracking_number == "LATER"
    assert order.tracking_url == "https://www.evri.com/track/parcel/LATER"
    assert order.shipped_at == date(2024, 11, 20)


@pytest.mark.parametrize(
    ("provider", "name"),
    [
        ("royal-mail", "Royal Mail"),
        ("ups", "UPS"),
        ("usps", "USPS"),
        ("fedex", "FedEx"),
        ("dhl-parcel-uk", "DHL Parcel UK"),
        ("postnl", "PostNL"),
        ("canada-post", "Canada Post"),
        ("Royal Mail", "Royal Mail"),  # older versions of the extension stored the name itself
    ],
)
def test_carrier_names_from_the_extensions_slugs(fake: FakeWooCommerce, provider: str, name: str) -> None:
    data = fake.add_order(1001, status="completed", tracking_number="X1", tracking_provider=provider)
    assert order_from_woocommerce(data).carrier == name


def test_virtual_order_falls_back_to_the_billing_address(fake: FakeWooCommerce) -> None:
    data = fake.add_order(1001, virtual=True, postcode="M5V 2T6", country="CA", city="Toronto")
    assert data["shipping"]["postcode"] == "" and data["shipping"]["country"] == ""  # as WooCommerce sends it
    order = order_from_woocommerce(data)
    assert (order.postcode, order.destination_country, order.city) == ("M5V 2T6", "CA", "Toronto")
    assert order.customer_name == "Ana Silva"


def test_unreadable_plugin_meta_does_not_fail_the_order(fake: FakeWooCommerce) -> None:
    data = fake.add_order(1001, status="completed", completed_at="2024-11-06T10:00:00-05:00")
    data["meta_data"] += [
        {"id": 1, "key": "_wc_shipment_tracking_items", "value": [{"date_shipped": "soon"}, "junk"]},
        {"id": 2, "key": "shipment_status", "value": "delivered"},
    ]
    order = order_from_woocommerce(data)
    assert order.status is OrderStatus.SHIPPED
    assert order.shipped_at == date(2024, 11, 6)  # the completion date, as without tracking


# -- finding orders --------------------------------------------------------------------------------


async def test_renumbered_shop_finds_the_number_not_the_id(
    fake: FakeWooCommerce, woo: WooCommerceOrders
) -> None:
    # Sequential Order Numbers renumbered the shop: post 57 is an old order now shown as #3, and the
    # customer's order #57 is post 1203. GET /orders/57 answers, but with somebody else's order.
    fake.add_order("3", order_id=57, email="someone.else@example.com")
    fake.add_order("57", order_id=1203, email="ana@example.com")

    order = await woo.by_number("#57")

    assert order is not None
    assert (order.number, order.email) == ("57", "ana@example.com")
    assert [(c.path, c.params) for c in fake.calls] == [
        (f"{API_PATH}/orders/57", {}),
        (f"{API_PATH}/orders", {"search": "57", "per_page": "10"}),
    ]


async def test_number_with_a_prefix_is_searched(fake: FakeWooCommerce, woo: WooCommerceOrders) -> None:
    fake.add_order("HP-20931")
    order = await woo.by_number("hp-20931")
    assert order is not None and order.number == "HP-20931"
    # Not digits, so not an id: straight to the search.
    assert [(c.path, c.params) for c in fake.calls] == [
        (f"{API_PATH}/orders", {"search": "HP-20931", "per_page": "10"})
    ]


async def test_unknown_number_is_none(fake: FakeWooCommerce, woo: WooCommerceOrders) -> None:
    fake.add_order(1001)
    fake.add_order(1002)
    assert await woo.by_number("#9999") is None
    assert fake.statuses() == [404, 200]  # no such id, and nothing found by search either
    # The search for "100" finds 1001 and 1002 (their numbers contain it): neither is order 100.
    assert await woo.by_number("100") is None
    assert await woo.by_number("  ") is None
    assert len(fake.calls) == 4  # nothing to ask about a blank number


async def test_trashed_order_is_not_shown(fake: FakeWooCommerce, woo: WooCommerceOrders) -> None:
    fake.add_order(1001, status="trash")
    assert await woo.by_number("1001") is None
    assert await woo.by_email("ana.silva@example.com") == []


async def test_by_email_newest_first_and_only_that_customer(
    fake: FakeWooCommerce, woo: WooCommerceOrders
) -> None:
    fake.add_order(1003, email="ana@example.com", created_at="2024-10-01T12:00:00+00:00")
    fake.add_order(1001, email="Ana@Example.COM", created_at="2024-12-01T12:00:00+00:00", status="cancelled")
    # Search is a substring match: "hana@example.com" contains "ana@example.com", and it is newest.
    fake.add_order(1005, email="hana@example.com", created_at="2024-12-03T12:00:00+00:00")
    fake.add_order(1002, email="bob@example.com", created_at="2024-12-02T12:00:00+00:00")
    fake.add_order(1004, email="ana@example.com", created_at="2024-11-01T12:00:00+00:00", status="completed")

    orders = await woo.by_email(" Ana@Example.COM ")

    assert [o.number for o in orders] == ["1001", "1004", "1003"]
    assert fake.calls[-1].path == f"{API_PATH}/orders"
    assert fake.calls[-1].params == {
        "search": "ana@example.com",
        "per_page": "20",
        "orderby": "date",
        "order": "desc",
    }
    assert [o.number for o in await woo.by_email("ana@example.com", limit=2)] == ["1001", "1004"]
    assert await woo.by_email("nobody@example.com") == []
    assert await woo.by_email("ana@example.com", limit=0) == []


# -- failures and retries --------------------------------------------------------------------------


async def test_429_is_waited_out_and_retried(fake: FakeWooCommerce, woo: WooCommerceOrders) -> None:
    fake.add_order(1001)
    fake.fail(429, retry_after=0.2)
    started = time.monotonic()
    order = await woo.by_number("1001")
    assert order is not None
    assert fake.statuses() == [429, 200]
    assert time.monotonic() - started >= 0.2
    assert fake.calls[1].at - fake.calls[0].at >= 0.2


async def test_500_then_success(fake: FakeWooCommerce, woo: WooCommerceOrders) -> None:
    fake.add_order(1001, email="ana@example.com")
    fake.fail(500)
    orders = await woo.by_email("ana@example.com")
    assert [o.number for o in orders] == ["1001"]
    assert fake.statuses() == [500, 200]
    assert fake.calls[1].at - fake.calls[0].at >= 0.5  # the first backoff


async def test_persistent_503_gives_up_after_max_retries(
    fake: FakeWooCommerce, woo: WooCommerceOrders
) -> None:
    fake.add_order(1001)
    fake.fail(503, times=10)
    with pytest.raises(OrderSourceError, match=r"WooCommerce is failing \(HTTP 503.*gave up after 3 tries"):
        await woo.by_number("1001")
    assert fake.statuses() == [503, 503, 503]  # one try and max_retries=2 more
    gaps = [b.at - a.at for a, b in zip(fake.calls, fake.calls[1:], strict=False)]
    assert gaps[0] >= 0.5 and gaps[1] >= 1.0  # exponential backoff


async def test_wrong_credentials_fail_at_once_without_leaking_them(
    fake: FakeWooCommerce, api_url: str
) -> None:
    secret = "cs_wrong_secret_value"
    async with WooCommerceOrders(api_url, CONSUMER_KEY, secret) as client:
        with pytest.raises(OrderSourceError, match="refused the consumer key") as caught:
            await client.by_email("ana@example.com")
        message = str(caught.value)
        assert secret not in message and secret not in repr(client) and CONSUMER_KEY not in message
        assert "https://" in message  # the hint for a shop configured with plain http
    assert fake.statuses() == [401]


def test_credentials_are_required() -> None:
    with pytest.raises(ValueError, match="consumer key and secret"):
        WooCommerceOrders("https://shop.example/wp-json/wc/v3", CONSUMER_KEY, "")


async def test_network_errors_are_retried_then_reported() -> None:
    closed = f"http://127.0.0.1:{free_port()}{API_PATH}"  # nothing listens there
    async with WooCommerceOrders(closed, CONSUMER_KEY, CONSUMER_SECRET, max_retries=1) as client:
        with pytest.raises(OrderSourceError, match=r"could not reach WooCommerce.*2 tries"):
            await client.by_email("ana@example.com")


async def test_malformed_json_is_an_order_source_error(fake: FakeWooCommerce, woo: WooCommerceOrders) -> None:
    # A security plugin's challenge page, answered with 200.
    fake.fail(200, body="<html><body>Checking your browser…</body></html>")
    with pytest.raises(OrderSourceError, match="not JSON"):
        await woo.by_number("1001")
    assert len(fake.calls) == 1


async def test_a_list_that_is_not_a_list_is_an_order_source_error(
    fake: FakeWooCommerce, woo: WooCommerceOrders
) -> None:
    fake.fail(200, body='{"orders": []}')
    with pytest.raises(OrderSourceError, match="without a list of orders"):
        await woo.by_email("ana@example.com")


async def test_unreadable_order_names_only_its_number(fake: FakeWooCommerce, woo: WooCommerceOrders) -> None:
    fake.add_order(1001, total="lots")
    with pytest.raises(OrderSourceError, match="order 1001") as caught:
        await woo.by_number("1001")
    assert "ana" not in str(caught.value).lower()


async def test_404_on_the_list_is_empty(fake: FakeWooCommerce) -> None:
    async with (
        serving(fake.app) as url,
        WooCommerceOrders(f"{url}/wp-json/wc/v9", CONSUMER_KEY, CONSUMER_SECRET) as client,
    ):
        assert await client.by_email("ana@example.com") == []
        assert await client.by_number("1001") is None
    assert fake.statuses() == [404, 404, 404]  # the list, then the id and the search for the number


async def test_logs_hold_no_email_or_credentials(
    fake: FakeWooCommerce, woo: WooCommerceOrders, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_order(1001, email="private.person@example.com", postcode="EC1A 1BB")
    fake.fail(500)
    with caplog.at_level(logging.DEBUG):
        await woo.by_email("private.person@example.com")
        await woo.by_number("1001")
        await woo.by_number("HP-1")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/orders?search=" in text and "/orders/1001" in text  # httpx did log the requests...
    assert "private.person" not in text and "example.com" not in text  # ...without the email
    assert "EC1A" not in text and CONSUMER_KEY not in text and CONSUMER_SECRET not in text
