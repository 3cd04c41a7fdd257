"""Importing a store's order export (CSV, JSON or JSON lines) into the embedded order store.

A store owner exports orders from their platform (or a spreadsheet) and runs
`supportbot orders import FILE`. Every row is checked and every problem is reported with the row
number as a person counts it in the file, so the owner can fix the file in one pass:

* CSV: line 1 is the header, so the first order is row 2 (the line it starts on, for an editor).
* JSON: an array of objects; the first object is row 1.
* JSON lines: one object per line; the row is the line number.

A file with any problem imports nothing (a half-imported export is worse than none: the bot would
confidently say "no such order" for the missing half), unless the caller asks to skip bad rows.

CSV columns, in any order (a header is required)::

    order_number, email, postcode, customer_name, items, total, currency, status,
    destination_country                                     (required)
    carrier, tracking_number, tracking_url, placed_at, shipped_at, delivered_at,
    city, customer_tags                                     (optional)

`items` is `SKU|name|quantity|unit price` entries separated by `;`, for example
`CC-ETH-250|Ethiopia Guji 250 g|2|14.50;CC-GRN-01|Hand grinder|1|89.00`. `customer_tags` is
separated by `;` or `,`. Dates are ISO (`2026-11-02`); `placed_at` may be a full ISO datetime
(without a zone it is taken as UTC). In JSON, `items` is a list of `{sku, name, quantity, price}`
and `customer_tags` a list of strings; numbers may be JSON numbers or strings.

Checks on every row: the required fields; the order number's shape (letters, digits, `-`, an
optional leading `#`, at most 64) and that it appears once in the file; the email's shape; the
status (the six of OrderStatus, or a platform's word: fulfilled, in_transit, unfulfilled,
processing, pending, canceled); currency and country codes; prices and total as non-negative
amounts with at most 2 decimals, the total at least the items' sum (shipping may come on top);
valid dates, delivered_at not before shipped_at, and shipped_at on shipped or delivered orders.
Stored: the number without `#` in upper case, the email in lower case, tags in lower case, the
postcode as written (lookups compare it normalised).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from bot.orders.model import Order, OrderItem, OrderStatus

if TYPE_CHECKING:
    from bot.persistence.orders import EmbeddedOrders

REQUIRED = (
    "order_number",
    "email",
    "postcode",
    "customer_name",
    "items",
    "total",
    "currency",
    "status",
    "destination_country",
)
OPTIONAL = (
    "carrier",
    "tracking_number",
    "tracking_url",
    "placed_at",
    "shipped_at",
    "delivered_at",
    "city",
    "customer_tags",
)
COLUMNS = REQUIRED + OPTIONAL  # the canonical order, as `write_csv` writes them
_KNOWN = frozenset(COLUMNS)

# Platform words for the same states (Shopify, WooCommerce, spreadsheets), after lower-casing and
# turning spaces and hyphens into underscores.
STATUS_WORDS: Mapping[str, OrderStatus] = {
    **{s.value: s for s in OrderStatus},
    "fulfilled": OrderStatus.SHIPPED,
    "in_transit": OrderStatus.SHIPPED,
    "unfulfilled": OrderStatus.PAID,
    "processing": OrderStatus.PAID,
    "pending": OrderStatus.PAID,
    "canceled": OrderStatus.CANCELLED,
}
_SHIPPED_STATES = frozenset({OrderStatus.SHIPPED, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED})
_STATUS_NAMES = ", ".join(s.value for s in OrderStatus)

# The widths of the `orders` table's columns (migration 0005). Checked here because PostgreSQL
# rejects an over-long value by failing the whole transaction, long after the row was "valid".
_MAX_LENGTH = {
    "email": 320,
    "postcode": 20,
    "customer_name": 200,
    "carrier": 60,
    "tracking_number": 120,
    "tracking_url": 500,
    "city": 120,
}
_TOO_LARGE = Decimal(10) ** 12  # a million million: a typo, not an order

# Compiled once: the per-row work must stay small (100,000 rows in a few seconds).
_NUMBER_SHAPE = re.compile(r"#?[A-Za-z0-9-]{1,64}")
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_TAG_SPLIT = re.compile(r"[;,]")
_CENT = Decimal("0.01")
_TOLERANCE = Decimal("0.01")
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int  # as a person counts rows in the file (see the module docstring)
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


class OrderImportError(Exception):
    """The file cannot be imported; `problems` holds the rows at fault, if it got that far."""

    def __init__(self, message: str, problems: Iterable[RowProblem] = ()) -> None:
        super().__init__(message)
        self.problems: list[RowProblem] = list(problems)


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: int  # orders written (new or updated)
    skipped: int  # rows left out because they had problems (only with skip_bad_rows)
    problems: list[RowProblem] = field(default_factory=list)


def parse_orders(path: Path) -> tuple[list[Order], list[RowProblem]]:
    """Every valid order in the file and every problem found, in file order.

    Raises OrderImportError when the file as a whole cannot be used: unknown extension,
    unreadable, not UTF-8, empty or without orders, not JSON, or a header that misses or misspells
    columns (those would fail or silently drop the same field on every row: reported once).
    """
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".json", ".jsonl"}:
        raise OrderImportError(
            f"{path}: unknown file type {suffix or '(no extension)'!r}; use .csv, .json or .jsonl"
        )
    text = _read_text(path)
    records: Iterable[_Record]
    if suffix == ".csv":
        records = _csv_records(path, text)
    elif suffix == ".json":
        records = _json_records(path, text)
    else:
        records = _jsonl_records(path, text)
    orders, problems = _validate_all(records)
    if not orders and not problems:
        raise OrderImportError(f"{path}: no orders in the file")  # a header alone, or []
    return orders, problems


async def import_orders(path: Path, store: EmbeddedOrders, *, skip_bad_rows: bool) -> ImportResult:
    """Check the file and write its orders (insert or update by number) in one transaction.

    With any problem and `skip_bad_rows` false, nothing is written and OrderImportError carries
    the problems. With `skip_bad_rows`, the good rows are written and the bad ones reported in the
    result. A header problem is never skippable: it is not a row, it is every row.
    """
    # Reading and checking 100,000 rows takes seconds of CPU. In a worker thread the event loop
    # still gets its turns (the GIL changes hands every few ms), so a server calling this keeps
    # answering chats instead of freezing until the file is done.
    orders, problems = await asyncio.to_thread(parse_orders, path)
    if problems and not skip_bad_rows:
        raise OrderImportError(f"{path}: {len(problems)} problem(s); nothing imported", problems)
    skipped = len({p.row for p in problems})
    imported = await store.save_all(orders) if orders else 0
    return ImportResult(imported=imported, skipped=skipped, problems=problems)


# --- reading -------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OrderImportError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    try:
        # utf-8-sig: spreadsheets (Excel) put a byte-order mark in front of UTF-8 CSV files.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise OrderImportError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); "
            "export or save the file as UTF-8"
        ) from exc
    if not text.strip():
        raise OrderImportError(f"{path}: the file is empty")
    return text


@dataclass(slots=True)
class _Fields:
    """One row as read, before checking: the same shape whatever the file format."""

    text: dict[str, str]  # every column but items and customer_tags, stripped; "" when absent
    items: object  # CSV: the `SKU|name|quantity|price;...` string; JSON: usually a list
    tags: object  # CSV: a `;`/`,` separated string; JSON: usually a list
    problems: list[str]  # found while reading (a JSON value of the wrong type)


# A record: the row number and its fields, or why the row could not be read at all.
_Record = tuple[int, _Fields | str]
_SCALARS = tuple(c for c in COLUMNS if c not in ("items", "customer_tags"))


def _csv_records(path: Path, text: str) -> Iterator[_Record]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    try:
        for raw_header in reader:
            if any(cell.strip() for cell in raw_header):
                header = raw_header
                break
    except csv.Error as exc:
        raise OrderImportError(f"{path}: row {reader.line_num}: {exc}") from exc
    if header is None:
        raise OrderImportError(f"{path}: the file is empty")
    columns = [name.strip().lower().replace(" ", "_") for name in header]
    _check_columns(path, reader.line_num, columns)
    width = len(columns)
    absent = {c: "" for c in OPTIONAL if c not in columns}
    strip = str.strip
    line = reader.line_num
    while True:
        start = line + 1  # a record can span lines (quoted line breaks): report where it starts
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num
            yield start, f"cannot read the row: {exc}"
            continue
        line = reader.line_num
        if len(cells) != width:
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # a blank line
            yield start, f"has {len(cells)} fields but the header has {width}"
            continue
        fields = dict(zip(columns, map(strip, cells), strict=True))
        if absent:
            fields.update(absent)
        yield start, _Fields(fields, fields["items"], fields["customer_tags"], [])


def _check_columns(path: Path, row: int, columns: list[str]) -> None:
    problems: list[RowProblem] = []
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        problems.append(RowProblem(row, f"column(s) appear twice: {', '.join(repeated)}"))
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        problems.append(RowProblem(row, f"missing required column(s): {', '.join(missing)}"))
    unknown = list(dict.fromkeys(c for c in columns if c not in _KNOWN))
    if unknown:
        problems.append(RowProblem(row, _unknown_message(unknown)))
    if problems:
        raise OrderImportError(f"{path}: the header is not usable; nothing imported", problems)


def _unknown_message(unknown: Iterable[str]) -> str:
    names = ", ".join(repr(u) if u else "(blank)" for u in unknown)
    return f"unknown column(s): {names}; expected only: {', '.join(COLUMNS)}"


def _json_records(path: Path, text: str) -> list[_Record]:
    try:
        # Decimal, not float: 14.10 must stay 14.10, and 0.1 + 0.2 must add up.
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise OrderImportError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise OrderImportError(f"{path}: expected a JSON array of orders, not {_json_type(data)}")
    elements = list(enumerate(data, start=1))
    _check_keys(path, elements)
    return [_object(row, element) for row, element in elements]


def _jsonl_records(path: Path, text: str) -> list[_Record]:
    elements: list[tuple[int, object]] = []
    unreadable: list[_Record] = []
    for row, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            elements.append((row, json.loads(line, parse_float=Decimal)))
        except json.JSONDecodeError as exc:
            unreadable.append((row, f"not valid JSON: {exc.msg} (column {exc.colno})"))
    _check_keys(path, elements)
    records = unreadable + [_object(row, element) for row, element in elements]
    return sorted(records, key=lambda record: record[0])


def _check_keys(path: Path, elements: Iterable[tuple[int, object]]) -> None:
    """Unknown keys, each reported once where it first appears: like a CSV header, a misspelt key
    would drop the same field from every order, so it stops the import."""
    first: dict[str, int] = {}
    for row, element in elements:
        if isinstance(element, dict):
            for key in element:
                if key not in _KNOWN and key not in first:
                    first[key] = row
    if first:
        problems = [RowProblem(row, _unknown_message([key])) for key, row in first.items()]
        raise OrderImportError(f"{path}: unknown field(s); nothing imported", problems)


def _object(row: int, element: object) -> _Record:
    if not isinstance(element, dict):
        return row, f"is not an object but {_json_type(element)}"
    text: dict[str, str] = {}
    problems: list[str] = []
    for key in _SCALARS:
        value = element.get(key)
        if value is None:
            text[key] = ""
        elif isinstance(value, str):
            text[key] = value.strip()
        elif isinstance(value, int | Decimal) and not isinstance(value, bool):
            text[key] = str(value)  # order numbers, postcodes and totals as JSON numbers
        else:
            problems.append(f"{key} must be text, not {_json_type(value)}")
            text[key] = ""
    return row, _Fields(text, element.get("items"), element.get("customer_tags"), problems)


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return "a number" if isinstance(value, int | Decimal) else type(value).__name__


# --- checking ------------------------------------------------------------------------------------


def _validate_all(records: Iterable[_Record]) -> tuple[list[Order], list[RowProblem]]:
    orders: list[Order] = []
    problems: list[RowProblem] = []
    first_row: dict[str, int] = {}  # normalised number → the row it first appeared on
    for row, record in records:
        if isinstance(record, str):
            problems.append(RowProblem(row, record))
            continue
        messages = record.problems
        order, number = _check(record, messages)
        if number is not None:
            earlier = first_row.setdefault(number, row)
            if earlier != row:
                messages.append(f"order number {number} appears again (first on row {earlier})")
        if messages:
            problems.extend(RowProblem(row, m) for m in messages)
        elif order is not None:
            orders.append(order)
    return orders, problems


def _check(fields: _Fields, messages: list[str]) -> tuple[Order | None, str | None]:
    """The order in these fields (None with the reasons added to `messages`) and its number."""
    text = fields.text
    for key in REQUIRED:
        # (A JSON value of the wrong type was blanked and already reported: once is enough.)
        if key != "items" and not text[key] and not any(m.startswith(f"{key} must be") for m in messages):
            messages.append(f"{key} is required")

    raw_number = text["order_number"]
    number: str | None = None
    if raw_number:
        if _NUMBER_SHAPE.fullmatch(raw_number):
            number = raw_number.lstrip("#").upper()  # what normalise_number gives for this shape
        else:
            messages.append(
                f"order_number must be 1–64 letters, digits or '-', optionally after '#': {raw_number!r}"
            )
    email = text["email"]
    if email and not _EMAIL_SHAPE.fullmatch(email):
        messages.append(f"email is not an email address: {email!r}")
    for key, limit in _MAX_LENGTH.items():
        if len(text[key]) > limit:
            messages.append(f"{key} is longer than {limit} characters")

    status = _status(text["status"], messages)
    currency = text["currency"].upper()
    if currency and not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        messages.append(f"currency must be a 3-letter code like EUR: {text['currency']!r}")
    country = text["destination_country"].upper()
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        messages.append(
            f"destination_country must be a 2-letter code like DE: {text['destination_country']!r}"
        )
    url = text["tracking_url"]
    if url and not url.startswith(("https://", "http://")):
        messages.append(f"tracking_url is not a web address: {url!r}")

    total = _money("total", text["total"], messages) if text["total"] else None
    items = _items(fields.items, messages)
    if total is not None and items:
        owed = sum([i.price * i.quantity for i in items], _ZERO)
        # Shipping may be on top of the items, so a larger total is fine; a smaller one means
        # a typo or a discount the export left out, and the bot would quote the wrong figure.
        if total < owed - _TOLERANCE:
            messages.append(f"total {total} is less than the items' sum {owed}")

    placed_at = _moment("placed_at", text["placed_at"], messages)
    shipped_at = _day("shipped_at", text["shipped_at"], messages)
    delivered_at = _day("delivered_at", text["delivered_at"], messages)
    if shipped_at and delivered_at and delivered_at < shipped_at:
        messages.append(f"delivered_at {delivered_at} is before shipped_at {shipped_at}")
    if status is not None and status in _SHIPPED_STATES and not text["shipped_at"]:
        messages.append(f"status {status.value} needs shipped_at")
    tags = _tags(fields.tags, messages)

    if messages or number is None or status is None or total is None or not items:
        return None, number
    order = Order(
        number=number,
        email=email.lower(),
        # Kept as written ("SW1A 1AA"): lookups normalise both sides (verification.matches).
        postcode=text["postcode"],
        customer_name=text["customer_name"],
        items=tuple(items),
        total=total,
        currency=currency,
        status=status,
        destination_country=country,
        placed_at=placed_at,
        carrier=text["carrier"] or None,
        tracking_number=text["tracking_number"] or None,
        tracking_url=url or None,
        shipped_at=shipped_at,
        delivered_at=delivered_at,
        city=text["city"] or None,
        customer_tags=tags,
    )
    return order, number


def _status(raw: str, messages: list[str]) -> OrderStatus | None:
    if not raw:
        return None
    status = STATUS_WORDS.get(raw) or STATUS_WORDS.get(raw.lower().replace(" ", "_").replace("-", "_"))
    if status is None:
        messages.append(f"status is not one of {_STATUS_NAMES}: {raw!r}")
    return status


def _money(what: str, raw: str, messages: list[str]) -> Decimal | None:
    if not raw:
        messages.append(f"{what} is required")
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        hint = " (use a point for decimals)" if "," in raw else ""
        messages.append(f"{what} is not a number: {raw!r}{hint}")
        return None
    if not value.is_finite():
        messages.append(f"{what} is not a number: {raw!r}")
        return None
    if value < 0:
        messages.append(f"{what} is negative: {raw!r}")
        return None
    try:
        rounded = value.quantize(_CENT)
    except InvalidOperation:  # more digits than Decimal's precision: not a price anyway
        messages.append(f"{what} is too large: {raw!r}")
        return None
    if rounded != value:
        messages.append(f"{what} has more than 2 decimals: {raw!r}")
        return None
    if rounded >= _TOO_LARGE:
        messages.append(f"{what} is too large: {raw!r}")
        return None
    return rounded  # "14.5" and "14.500" are both stored as 14.50


def _items(raw: object, messages: list[str]) -> list[OrderItem]:
    if raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []:
        messages.append("items is required")
        return []
    # (position, sku, name, quantity, price) as found; checked below, the same for CSV and JSON.
    entries: list[tuple[int, object, object, object, object]] = []
    if isinstance(raw, str):
        for position, entry in enumerate((e for e in raw.split(";") if e.strip()), start=1):
            parts = entry.split("|")
            if len(parts) != 4:
                messages.append(f"item {position} is not SKU|name|quantity|unit price: {entry.strip()!r}")
                continue
            entries.append((position, parts[0], parts[1], parts[2], parts[3]))
    elif isinstance(raw, list):
        for position, element in enumerate(raw, start=1):
            if not isinstance(element, dict):
                messages.append(f"item {position} is not an object with sku, name, quantity, price")
                continue
            get = element.get
            entries.append((position, get("sku"), get("name"), get("quantity"), get("price")))
    else:
        messages.append(f"items must be a list, not {_json_type(raw)}")
        return []

    items: list[OrderItem] = []
    clean = not messages
    for position, sku, name, quantity, price in entries:
        sku_text = sku.strip() if isinstance(sku, str) else _plain(sku) if isinstance(sku, int) else ""
        if not sku_text:
            messages.append(f"item {position} has no SKU")
        name_text = name.strip() if isinstance(name, str) else ""
        # The common case (a CSV's digits) first; anything else goes through the full check.
        if isinstance(quantity, str) and quantity.isdigit() and quantity != "0" * len(quantity):
            amount: int | None = int(quantity)
        else:
            amount = _quantity(position, quantity, messages)
        unit_price = _money(f"item {position} price", _plain(price), messages)
        if sku_text and amount is not None and unit_price is not None:
            items.append(OrderItem(sku_text, name_text or sku_text, amount, unit_price))
    return items if clean and len(items) == len(entries) else []


def _plain(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    return str(value).strip()


def _quantity(position: int, raw: object, messages: list[str]) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        amount: int | None = raw
    elif isinstance(raw, str) and raw.strip().isdigit():
        amount = int(raw)
    else:
        amount = None
    if amount is None or amount < 1:
        messages.append(f"item {position} quantity is not a positive whole number: {_plain(raw)!r}")
        return None
    return amount


def _moment(what: str, raw: str, messages: list[str]) -> datetime | None:
    if not raw:
        return None
    try:
        # 3.11's fromisoformat takes dates, "T" or " " separators, "Z" and offsets.
        moment = datetime.fromisoformat(raw)
    except ValueError:
        messages.append(f"{what} is not an ISO date or time like 2026-11-02T14:30:00Z: {raw!r}")
        return None
    # Exports without a zone are almost always UTC. Zoned ones become UTC: SQLite keeps no zone and
    # the store reads every moment back as UTC, so 10:42+01:00 would come back an hour late.
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _day(what: str, raw: str, messages: list[str]) -> date | None:
    if not raw:
        return None
    try:
        if len(raw) <= 10:
            return date.fromisoformat(raw)
        # Platforms often export a full timestamp here; the day is what the bot tells customers.
        return datetime.fromisoformat(raw).date()
    except ValueError:
        messages.append(f"{what} is not an ISO date like 2026-11-02: {raw!r}")
        return None


def _tags(raw: object, messages: list[str]) -> tuple[str, ...]:
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        parts: list[object] = list(_TAG_SPLIT.split(raw))
    elif isinstance(raw, list):
        parts = raw
    else:
        messages.append(f"customer_tags must be a list of strings, not {_json_type(raw)}")
        return ()
    tags: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            messages.append(f"customer_tags must be strings, not {_json_type(part)}")
            return ()
        # Platforms treat tags case-insensitively ("VIP" = "vip"); one spelling keeps matching simple.
        tag = part.strip().lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)
