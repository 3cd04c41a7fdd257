"""Importing a store's order export (CSV, JSON, JSON lines): every problem reported with its row,
nothing imported from a file with problems unless asked; the demo store's sample orders."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli import main
from bot.orders.answer import lateness
from bot.orders.delivery import load_delivery_table
from bot.orders.importer import (
    COLUMNS,
    OrderImportError,
    RowProblem,
    import_orders,
    parse_orders,
)
from bot.orders.model import OrderStatus
from bot.orders.sample import sample_orders, write_csv
from bot.persistence.database import create_engine, migrate
from bot.persistence.orders import EmbeddedOrders
from bot.persistence.repository import Repository

TODAY = date(2026, 12, 2)  # a Wednesday

GOOD_CSV = """\
status,order_number,email,postcode,customer_name,items,total,currency,destination_country,carrier,tracking_number,shipped_at,delivered_at,placed_at,customer_tags
shipped,#1001,Lena.Fischer@Example.com,10115,Lena Fischer,CC-ETH-250|Ethiopia Guji 250 g|2|14.50;CC-GRN-01|Hand grinder|1|89.00,122.90,EUR,de,DHL,00340434161094042557,2026-11-02,,2026-11-01T09:42:00Z,VIP; wholesale
delivered,1002,tom.baker@example.org,SW1A 1AA,Tom Baker,"CC-HSE-250|House Espresso 250 g|1|10.00",18.90,gbp,GB,Royal Mail,RM428163957GB,2026-10-20,2026-10-23,2026-10-19,
"""

GOOD_JSON = [
    {
        "order_number": "#1001",
        "email": "lena.fischer@example.com",
        "postcode": "10115",
        "customer_name": "Lena Fischer",
        "items": [
            {"sku": "CC-ETH-250", "name": "Ethiopia Guji 250 g", "quantity": 2, "price": 14.50},
            {"sku": "CC-GRN-01", "name": "Hand grinder", "quantity": "1", "price": "89.00"},
        ],
        "total": 122.90,
        "currency": "EUR",
        "status": "in_transit",
        "destination_country": "DE",
        "carrier": "DHL",
        "shipped_at": "2026-11-02",
        "placed_at": "2026-11-01T10:42:00+01:00",
        "customer_tags": ["vip"],
    },
    {
        "order_number": 1002,
        "email": "tom.baker@example.org",
        "postcode": "SW1A 1AA",
        "customer_name": "Tom Baker",
        "items": [{"sku": "CC-HSE-250", "name": "House Espresso 250 g", "quantity": 1, "price": 10}],
        "total": "18.90",
        "currency": "GBP",
        "status": "unfulfilled",
        "destination_country": "gb",
    },
]


def good_row(**changes: str) -> dict[str, str]:
    row = {
        "order_number": "2001",
        "email": "anna.weber@example.com",
        "postcode": "80331",
        "customer_name": "Anna Weber",
        "items": "CC-ETH-250|Ethiopia Guji 250 g|2|14.50",
        "total": "33.90",
        "currency": "EUR",
        "status": "shipped",
        "destination_country": "DE",
        "carrier": "DPD",
        "tracking_number": "01505036817294",
        "shipped_at": "2026-11-20",
        "delivered_at": "",
        "placed_at": "2026-11-19T08:00:00+00:00",
    }
    row.update(changes)
    return row


def csv_text(rows: list[dict[str, str]], extra_line: str = "") -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(good_row()), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue() + extra_line


# Row 2 is the first data row (line 1 is the header); each bad row and the reasons expected.
BAD_ROWS: list[tuple[dict[str, str], list[str]]] = [
    (good_row(), []),  # row 2
    (
        good_row(order_number="2003", email="not-an-email", status="lost"),
        [
            "email is not an email address: 'not-an-email'",
            "status is not one of paid, shipped, out_for_delivery, delivered, cancelled, refunded: 'lost'",
        ],
    ),
    (good_row(order_number="2004", total="abc"), ["total is not a number: 'abc'"]),
    (
        good_row(order_number="2005", total="10.00", items="CC-ETH-250|Ethiopia Guji 250 g|2|14.50"),
        ["total 10.00 is less than the items' sum 29.00"],
    ),
    (
        good_row(order_number="2006", items="CC-ETH-250|Ethiopia Guji 250 g|0|1.999"),
        [
            "item 1 quantity is not a positive whole number: '0'",
            "item 1 price has more than 2 decimals: '1.999'",
        ],
    ),
    (
        good_row(order_number="2007", currency="EURO", destination_country="DEU"),
        [
            "currency must be a 3-letter code like EUR: 'EURO'",
            "destination_country must be a 2-letter code like DE: 'DEU'",
        ],
    ),
    (
        good_row(order_number="2008", status="delivered", shipped_at="2026-11-05", delivered_at="2026-11-03"),
        ["delivered_at 2026-11-03 is before shipped_at 2026-11-05"],
    ),
    (good_row(order_number="2009", shipped_at=""), ["status shipped needs shipped_at"]),
    (good_row(order_number="#2001"), ["order number 2001 appears again (first on row 2)"]),
    (
        good_row(order_number="20 01!"),
        ["order_number must be 1–64 letters, digits or '-', optionally after '#': '20 01!'"],
    ),
    (good_row(order_number="2012", customer_name=" "), ["customer_name is required"]),
    (
        good_row(order_number="2013", shipped_at="2026-13-01"),
        ["shipped_at is not an ISO date like 2026-11-02: '2026-13-01'"],
    ),
    (
        good_row(order_number="2014", items="CC-ETH-250|Ethiopia Guji"),
        ["item 1 is not SKU|name|quantity|unit price: 'CC-ETH-250|Ethiopia Guji'"],
    ),
    (good_row(order_number="2002", status="Fulfilled"), []),  # row 15: good (a platform's word)
]
BAD_CSV = csv_text([row for row, _ in BAD_ROWS], extra_line="2016,too,few,fields\n")
EXPECTED = [
    f"row {number}: {message}"
    for number, (_, messages) in enumerate(BAD_ROWS, start=2)
    for message in messages
] + ["row 16: has 4 fields but the header has 14"]


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[EmbeddedOrders]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}"
    await migrate(url)
    engine = create_engine(url)
    yield EmbeddedOrders(Repository(engine))
    await engine.dispose()


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


async def test_a_good_csv_imports_and_a_second_import_updates(repository: Repository, tmp_path: Path) -> None:
    store = EmbeddedOrders(repository)
    result = await import_orders(write(tmp_path, "orders.csv", GOOD_CSV), store, skip_bad_rows=False)
    assert (result.imported, result.skipped, result.problems) == (2, 0, [])

    order = await store.by_number("#1001")
    assert order is not None
    assert order.number == "1001"
    assert order.email == "lena.fischer@example.com"
    assert [(i.sku, i.quantity, i.price) for i in order.items] == [
        ("CC-ETH-250", 2, Decimal("14.50")),
        ("CC-GRN-01", 1, Decimal("89.00")),
    ]
    assert order.total == Decimal("122.90") and isinstance(order.total, Decimal)
    assert (order.status, order.destination_country, order.currency) == (OrderStatus.SHIPPED, "DE", "EUR")
    assert order.shipped_at == date(2026, 11, 2)
    assert order.placed_at == datetime(2026, 11, 1, 9, 42, tzinfo=UTC)
    assert order.customer_tags == ("vip", "wholesale")
    british = await store.by_number("1002")
    assert british is not None
    assert (british.currency, british.postcode, british.delivered_at) == (
        "GBP",
        "SW1A 1AA",
        date(2026, 10, 23),
    )

    delivered = GOOD_CSV.replace("shipped,#1001", "delivered,#1001").replace(
        "2026-11-02,,", "2026-11-02,2026-11-04,"
    )
    again = await import_orders(write(tmp_path, "orders.csv", delivered), store, skip_bad_rows=False)
    assert again.imported == 2
    assert await store.count() == 2
    updated = await store.by_number("1001")
    assert updated is not None
    assert (updated.status, updated.delivered_at) == (OrderStatus.DELIVERED, date(2026, 11, 4))


async def test_a_good_json_imports_numbers_exactly(repository: Repository, tmp_path: Path) -> None:
    store = EmbeddedOrders(repository)
    path = write(tmp_path, "orders.json", json.dumps(GOOD_JSON))
    result = await import_orders(path, store, skip_bad_rows=False)
    assert result.imported == 2

    order = await store.by_number("#1001")
    assert order is not None
    assert order.total == Decimal("122.90")
    assert [i.price for i in order.items] == [Decimal("14.50"), Decimal("89.00")]
    assert order.status is OrderStatus.SHIPPED  # "in_transit"
    assert order.placed_at == datetime(2026, 11, 1, 9, 42, tzinfo=UTC)
    assert order.customer_tags == ("vip",)
    paid = await store.by_number("1002")
    assert paid is not None
    assert (paid.status, paid.destination_country, paid.items[0].price) == (
        OrderStatus.PAID,
        "GB",
        Decimal("10.00"),
    )

    again = await import_orders(path, store, skip_bad_rows=False)
    assert again.imported == 2 and await store.count() == 2


def test_json_lines_count_rows_by_line(tmp_path: Path) -> None:
    lines = [json.dumps(GOOD_JSON[0]), "", "[1, 2]", "{not json", json.dumps(GOOD_JSON[1])]
    orders, problems = parse_orders(write(tmp_path, "orders.jsonl", "\n".join(lines)))
    assert [o.number for o in orders] == ["1001", "1002"]
    assert [str(p) for p in problems] == [
        "row 3: is not an object but a list",
        "row 4: not valid JSON: Expecting property name enclosed in double quotes (column 2)",
    ]


def test_json_array_elements_count_from_one(tmp_path: Path) -> None:
    bad = dict(GOOD_JSON[1], order_number="#1001", total=True, items=[{"sku": "X", "quantity": 1.5}])
    orders, problems = parse_orders(write(tmp_path, "orders.json", json.dumps([GOOD_JSON[0], bad, "x"])))
    assert [o.number for o in orders] == ["1001"]
    assert [str(p) for p in problems] == [
        "row 2: total must be text, not true/false",
        "row 2: item 1 quantity is not a positive whole number: '1.5'",
        "row 2: item 1 price is required",
        "row 2: order number 1001 appears again (first on row 1)",
        "row 3: is not an object but a string",
    ]


async def test_every_bad_row_is_reported_and_nothing_is_imported(
    sqlite_store: EmbeddedOrders, tmp_path: Path
) -> None:
    path = write(tmp_path, "orders.csv", BAD_CSV)
    with pytest.raises(OrderImportError) as raised:
        await import_orders(path, sqlite_store, skip_bad_rows=False)
    assert [str(p) for p in raised.value.problems] == EXPECTED
    assert "nothing imported" in str(raised.value)
    assert await sqlite_store.count() == 0


async def test_skipping_bad_rows_imports_the_good_ones(sqlite_store: EmbeddedOrders, tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", BAD_CSV)
    result = await import_orders(path, sqlite_store, skip_bad_rows=True)
    assert [str(p) for p in result.problems] == EXPECTED
    assert (result.imported, result.skipped) == (2, 13)
    assert await sqlite_store.count() == 2
    first, second = await sqlite_store.by_number("2001"), await sqlite_store.by_number("2002")
    assert first is not None and second is not None
    assert second.status is OrderStatus.SHIPPED  # "Fulfilled"


def test_rows_are_numbered_where_they_start_in_the_file(tmp_path: Path) -> None:
    # A quoted line break makes row 2 span two lines; blank lines are skipped but counted.
    first = csv_text([good_row(customer_name="Anna\nWeber")])
    second = csv_text([good_row(total="x")]).split("\n", 1)[1]
    problems = parse_orders(write(tmp_path, "orders.csv", f"{first}\n{second}"))[1]
    assert [str(p) for p in problems] == [
        "row 5: total is not a number: 'x'",
        "row 5: order number 2001 appears again (first on row 2)",
    ]


def test_status_words_of_the_platforms(tmp_path: Path) -> None:
    words = {
        "fulfilled": "shipped",
        "In Transit": "shipped",
        "unfulfilled": "paid",
        "processing": "paid",
        "pending": "paid",
        "canceled": "cancelled",
        "Out for delivery": "out_for_delivery",
        "REFUNDED": "refunded",
    }
    rows = [good_row(order_number=str(3000 + n), status=word) for n, word in enumerate(words)]
    orders, problems = parse_orders(write(tmp_path, "orders.csv", csv_text(rows)))
    assert problems == []
    assert [o.status.value for o in orders] == list(words.values())


def test_row_problem_reads_like_a_sentence() -> None:
    assert str(RowProblem(7, "total is not a number: 'abc'")) == "row 7: total is not a number: 'abc'"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("orders.xlsx", "x", "unknown file type '.xlsx'; use .csv, .json or .jsonl"),
        ("orders", "x", "unknown file type '(no extension)'"),
        ("orders.csv", "", "the file is empty"),
        ("orders.json", " \n\n", "the file is empty"),
        ("orders.csv", ",".join(COLUMNS) + "\n\n", "no orders in the file"),
        ("orders.jsonl", "\n", "the file is empty"),
        ("orders.json", "[]", "no orders in the file"),
        ("orders.csv", "order_number,email\n1001,a@b.de\n".encode("latin-1") + b"M\xfcller\n", "not UTF-8"),
        ("orders.json", '{"order_number": "1"}', "expected a JSON array of orders, not an object"),
        ("orders.json", "[{", "not valid JSON"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_clear_error(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    with pytest.raises(OrderImportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_orders(write(tmp_path, name, content))


def test_header_problems_are_reported_once_on_row_1(tmp_path: Path) -> None:
    header = "Order Number,email,items,total,currency,status,destination_country,colour,colour\n"
    with pytest.raises(OrderImportError) as raised:
        parse_orders(write(tmp_path, "orders.csv", header + "1,a@b.de,x,1,EUR,paid,DE,red,red\n"))
    assert [str(p) for p in raised.value.problems] == [
        "row 1: column(s) appear twice: colour",
        "row 1: missing required column(s): postcode, customer_name",
        "row 1: unknown column(s): 'colour'; expected only: " + ", ".join(COLUMNS),
    ]


def test_a_bom_and_missing_optional_columns_are_fine(tmp_path: Path) -> None:
    required = "order_number,email,postcode,customer_name,items,total,currency,status,destination_country\n"
    row = "1001,a@example.com,10115,Lena Fischer,SKU-1|Beans|1|9.90,9.90,EUR,paid,DE\n"
    orders, problems = parse_orders(write(tmp_path, "orders.csv", "\ufeff" + required + row))
    assert problems == []
    assert orders[0].carrier is None and orders[0].customer_tags == () and orders[0].placed_at is None


# --- the demo store's sample orders ---------------------------------------------------------------


def test_the_sample_is_deterministic_and_dated_from_today() -> None:
    first = sample_orders(TODAY)
    assert first == sample_orders(TODAY)
    assert len(first) == 240
    assert sample_orders(TODAY, seed=8) != first
    later = sample_orders(TODAY + timedelta(days=30))
    assert later[0].shipped_at == first[0].shipped_at + timedelta(days=30)
    assert all(o.placed_at is not None and o.placed_at.date() <= TODAY for o in first)
    assert all(o.shipped_at is None or o.shipped_at <= TODAY for o in first)
    assert all(o.delivered_at is None or o.delivered_at <= TODAY for o in first)


def test_the_sample_has_the_promised_mix() -> None:
    orders = sample_orders(TODAY)
    by_number = {o.number: o for o in orders}
    lena = by_number["1001"]
    assert (lena.email, lena.postcode, lena.carrier, lena.status) == (
        "lena.fischer@example.com",
        "10115",
        "DHL",
        OrderStatus.SHIPPED,
    )
    assert sorted(o.number for o in orders if o.email == lena.email) == ["1001", "1005", "1011"]

    statuses = Counter(o.status for o in orders)
    assert statuses[OrderStatus.DELIVERED] > len(orders) / 2
    assert statuses[OrderStatus.PAID] >= 3 and statuses[OrderStatus.SHIPPED] >= 5
    assert statuses[OrderStatus.OUT_FOR_DELIVERY] >= 2
    assert statuses[OrderStatus.CANCELLED] >= 1 and statuses[OrderStatus.REFUNDED] >= 1
    paid = [o for o in orders if o.status is OrderStatus.PAID]
    assert all(o.placed_at is not None and (TODAY - o.placed_at.date()).days <= 2 for o in paid)
    out = [o for o in orders if o.status is OrderStatus.OUT_FOR_DELIVERY]
    assert all(o.shipped_at is not None and o.tracking_number for o in out)

    # Late by the bot's own delivery table: exactly the demo's late ones, on any day of the week.
    table = load_delivery_table()
    for shift in range(7):
        today = TODAY + timedelta(days=shift)
        late = set()
        for order in sample_orders(today):
            if order.status in (OrderStatus.SHIPPED, OrderStatus.OUT_FOR_DELIVERY):
                found = lateness(order, table, today)
                if found is not None and found.days_late > 0:
                    late.add(order.number)
        assert late == {"1002", "1008", "1009", "1013"}, today

    emails = Counter(o.email for o in orders)
    assert sum(1 for n in emails.values() if n >= 2) >= 10
    assert {o.destination_country for o in orders} == {
        "DE", "AT", "NL", "FR", "BE", "IT", "ES", "GB", "US", "IE", "DK", "SE",
    }  # fmt: skip
    assert all(o.email.endswith(("@example.com", "@example.org")) for o in orders)
    assert {o.currency for o in orders if o.destination_country == "GB"} == {"GBP"}
    assert {o.currency for o in orders if o.destination_country == "US"} == {"USD"}
    assert {o.currency for o in orders if o.destination_country not in ("GB", "US")} == {"EUR"}
    shipped = [o for o in orders if o.shipped_at is not None]
    assert {o.carrier for o in shipped} == {"DHL", "DPD", "UPS", "GLS", "Royal Mail", "USPS"}
    assert all(o.tracking_number and o.tracking_url for o in shipped)
    assert any("vip" in o.customer_tags for o in orders)
    assert any("wholesale" in o.customer_tags for o in orders)
    assert any(o.quantity >= 10 for o in orders)
    assert sum(1 for o in orders if o.total >= 300) >= 2


def test_every_sample_order_survives_the_importer(tmp_path: Path) -> None:
    orders = sample_orders(TODAY)
    path = tmp_path / "sample.csv"
    write_csv(orders, path)
    parsed, problems = parse_orders(path)
    assert problems == []
    assert parsed == orders


# --- the command ---------------------------------------------------------------------------------


def test_the_import_command_reports_each_problem_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", str(tmp_path / "var"))
    path = write(tmp_path, "orders.csv", BAD_CSV)
    assert main(["orders", "import", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"{path}: {line}" for line in EXPECTED]
    assert f"{len(EXPECTED)} problem(s) in {path}; nothing imported" in captured.err

    assert main(["orders", "import", str(write(tmp_path, "good.csv", GOOD_CSV))]) == 0
    assert capsys.readouterr().out.strip() == "imported 2 orders"
    assert main(["orders", "sample", "--if-empty"]) == 0
    assert "already has 2 orders" in capsys.readouterr().out


async def test_a_large_import_fits_every_database(repository: Repository) -> None:
    """Thousands of orders in one go: PostgreSQL caps a statement at 32,767 parameters."""
    store = EmbeddedOrders(repository)
    orders = sample_orders(date(2026, 12, 2), count=2_500)
    assert await store.save_all(orders) == 2_500
    assert await store.count() == 2_500
    again = await store.by_number(orders[-1].number)
    assert again is not None and again.email == orders[-1].email.lower()
