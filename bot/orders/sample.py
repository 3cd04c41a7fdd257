"""The demo store's orders: realistic, deterministic, and never stale.

`sample_orders(today)` builds Copperline Coffee Co.'s orders with every date counted back from
`today`, so a demo run next year still has an order "shipped two days ago". The same `today`,
`count` and `seed` always give the same orders. `supportbot orders sample` loads them;
`supportbot orders export-sample FILE` writes them as the CSV a store owner would import.

Orders to try in a demo (number, email, postcode):

* **1001** `lena.fischer@example.com`, `10115` (Berlin, DE): shipped with DHL two days ago, two
  bags of Ethiopia Guji and a hand grinder. Lena is tagged `vip` and has two more orders (1005,
  delivered three weeks ago, and 1011, delivered about four months ago), so "my orders" lists three.
* **1002** `oliver.bennett@example.org`, `M1 1AE` (Manchester, GB): shipped with Royal Mail 19
  days ago and still in transit: clearly **late** (`delivery.yaml` gives the UK 3–7 business days).
* **1003** `sofia.rossi@example.com`, `20121` (Milano, IT): paid yesterday, not shipped yet.
* **1004** `daniel.carter@example.com`, `97205` (Portland, US): **out for delivery** today with UPS,
  in USD.
* **1006** `emma.devries@example.org`, `3511 LX` (Utrecht, NL): cancelled.
* **1007** `julien.dubois@example.org`, `1000` (Bruxelles, BE): a `wholesale` café's bulk order, 18
  bags of 1 kg beans, EUR 750.00, delivered.
* **1008** (US, USPS), **1009** (ES, GLS) and **1013** (SE, DHL): also shipped long ago and late.
* **1010** `lucas.moreau@example.com`, `69002` (Lyon, FR): refunded (the kettle arrived dented).
* **1012** `freja.jensen@example.org`, `1050` (København, DK): an electric grinder and kettle,
  EUR 378.00, shipped yesterday with DPD.

The rest (from 1014, numbered oldest to newest) are generated: mostly delivered, some paid in the
last day or two, some shipped in the last few days, a few out for delivery today, a few cancelled
or refunded; customers in 12 countries, some with several orders, a few `vip` or `wholesale`.
"""

from __future__ import annotations

import csv
import functools
import itertools
import random
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from bot.orders.importer import COLUMNS
from bot.orders.model import Order, OrderItem, OrderStatus

CENT = Decimal("0.01")
FIRST_NUMBER = 1001


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    eur: Decimal
    kind: str  # beans (250 g), bulk (1 kg), gear, small (filters, mugs)
    weight: int  # how often it is bought


PRODUCTS: tuple[Product, ...] = (
    Product("CC-ETH-250", "Ethiopia Guji 250 g", Decimal("14.50"), "beans", 10),
    Product("CC-COL-250", "Colombia Huila 250 g", Decimal("12.90"), "beans", 10),
    Product("CC-BRA-250", "Brazil Mogiana 250 g", Decimal("11.50"), "beans", 8),
    Product("CC-KEN-250", "Kenya Nyeri AA 250 g", Decimal("16.90"), "beans", 6),
    Product("CC-GUA-250", "Guatemala Huehuetenango 250 g", Decimal("13.90"), "beans", 6),
    Product("CC-HSE-250", "House Espresso 250 g", Decimal("11.90"), "beans", 12),
    Product("CC-DEC-250", "Decaf Colombia (Swiss Water) 250 g", Decimal("13.50"), "beans", 4),
    Product("CC-ETH-1K", "Ethiopia Guji 1 kg", Decimal("48.00"), "bulk", 3),
    Product("CC-COL-1K", "Colombia Huila 1 kg", Decimal("42.00"), "bulk", 3),
    Product("CC-HSE-1K", "House Espresso 1 kg", Decimal("38.50"), "bulk", 4),
    Product("CC-GRN-01", "Hand grinder", Decimal("89.00"), "gear", 3),
    Product("CC-GRN-EL", "Electric burr grinder", Decimal("249.00"), "gear", 1),
    Product("CC-KTL-GN", "Gooseneck kettle 0.9 l", Decimal("69.00"), "gear", 2),
    Product("CC-KTL-EL", "Electric gooseneck kettle", Decimal("129.00"), "gear", 1),
    Product("CC-DRP-02", "Ceramic dripper size 02", Decimal("24.00"), "gear", 3),
    Product("CC-PRS-1L", "French press 1 l", Decimal("35.00"), "gear", 2),
    Product("CC-SCL-01", "Coffee scale with timer", Decimal("39.00"), "gear", 2),
    Product("CC-FLT-100", "Paper filters size 02, 100 pcs", Decimal("6.50"), "small", 6),
    Product("CC-MUG-CU", "Copperline stoneware mug", Decimal("18.00"), "small", 3),
)
_BY_SKU = {p.sku: p for p in PRODUCTS}
_RATES = {"EUR": Decimal(1), "GBP": Decimal("0.86"), "USD": Decimal("1.10")}


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    currency: str
    weight: int
    carriers: tuple[str, ...]
    places: tuple[tuple[str, str], ...]  # (city, postcode)
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    transit: tuple[int, int]  # calendar days from shipping to delivery, on time


_GERMAN_FIRST = ("Lena", "Jonas", "Anna", "Lukas", "Marie", "Felix", "Sophie", "Paul", "Hannah", "Tobias")
_GERMAN_LAST = ("Müller", "Schmidt", "Weber", "Wagner", "Becker", "Hoffmann", "Schäfer", "Koch", "Richter")
_ENGLISH_FIRST = ("Oliver", "Amelia", "Harry", "Isla", "George", "Emily", "Jack", "Charlotte", "James")
_ENGLISH_LAST = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Clarke", "Hughes")
_EU = ("DHL", "DPD", "GLS", "UPS")

COUNTRIES: tuple[Country, ...] = (
    Country(
        "DE",
        "EUR",
        30,
        ("DHL", "DHL", "DPD", "GLS"),
        (
            ("Berlin", "10115"),
            ("Hamburg", "20095"),
            ("München", "80331"),
            ("Köln", "50667"),
            ("Frankfurt am Main", "60311"),
            ("Leipzig", "04109"),
            ("Stuttgart", "70173"),
            ("Düsseldorf", "40213"),
            ("Freiburg im Breisgau", "79098"),
            ("Dresden", "01067"),
        ),
        (*_GERMAN_FIRST, "Julia", "Niklas", "Katharina", "Maximilian"),
        (*_GERMAN_LAST, "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann"),
        (1, 3),
    ),
    Country(
        "AT",
        "EUR",
        8,
        ("DHL", "DPD", "GLS"),
        (("Wien", "1010"), ("Graz", "8010"), ("Salzburg", "5020"), ("Linz", "4020"), ("Innsbruck", "6020")),
        _GERMAN_FIRST,
        ("Gruber", "Huber", "Bauer", "Wagner", "Pichler", "Steiner", "Moser", "Mayer"),
        (2, 4),
    ),
    Country(
        "NL",
        "EUR",
        8,
        _EU,
        (
            ("Amsterdam", "1012 JS"),
            ("Utrecht", "3511 LX"),
            ("Rotterdam", "3011 AD"),
            ("Den Haag", "2511 CV"),
            ("Groningen", "9711 LM"),
        ),
        ("Daan", "Emma", "Sem", "Julia", "Lucas", "Sanne", "Thijs", "Fleur"),
        ("de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Boer"),
        (2, 4),
    ),
    Country(
        "FR",
        "EUR",
        8,
        _EU,
        (
            ("Paris", "75011"),
            ("Lyon", "69002"),
            ("Marseille", "13001"),
            ("Bordeaux", "33000"),
            ("Lille", "59000"),
            ("Nantes", "44000"),
        ),
        ("Camille", "Louis", "Chloé", "Hugo", "Manon", "Lucas", "Léa", "Antoine"),
        ("Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Lefèvre", "Girard", "Roux"),
        (3, 5),
    ),
    Country(
        "BE",
        "EUR",
        5,
        _EU,
        (("Bruxelles", "1000"), ("Antwerpen", "2000"), ("Gent", "9000"), ("Leuven", "3000")),
        ("Louis", "Elise", "Arthur", "Louise", "Jules", "Marie"),
        ("Peeters", "Janssens", "Maes", "Dubois", "Claes", "Lambert"),
        (2, 4),
    ),
    Country(
        "IT",
        "EUR",
        6,
        _EU,
        (
            ("Milano", "20121"),
            ("Roma", "00184"),
            ("Torino", "10121"),
            ("Bologna", "40121"),
            ("Firenze", "50122"),
        ),
        ("Giulia", "Marco", "Sofia", "Luca", "Chiara", "Matteo", "Francesca", "Alessandro"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"),
        (3, 6),
    ),
    Country(
        "ES",
        "EUR",
        5,
        _EU,
        (("Madrid", "28004"), ("Barcelona", "08001"), ("Valencia", "46001"), ("Sevilla", "41001")),
        ("Lucía", "Javier", "María", "Pablo", "Carmen", "Diego", "Elena", "Alejandro"),
        ("García", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz"),
        (3, 6),
    ),
    Country(
        "GB",
        "GBP",
        10,
        ("Royal Mail", "Royal Mail", "DHL", "DPD", "UPS"),
        (
            ("London", "N1 9GU"),
            ("Manchester", "M1 1AE"),
            ("Bristol", "BS1 4DJ"),
            ("Edinburgh", "EH1 1YZ"),
            ("Leeds", "LS1 4AP"),
        ),
        (*_ENGLISH_FIRST, "Sophie"),
        (*_ENGLISH_LAST, "Bennett"),
        (3, 6),
    ),
    Country(
        "US",
        "USD",
        10,
        ("USPS", "USPS", "UPS", "DHL"),
        (
            ("Portland", "97205"),
            ("Brooklyn", "11201"),
            ("Austin", "78701"),
            ("Seattle", "98101"),
            ("Chicago", "60607"),
            ("Denver", "80202"),
        ),
        ("Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Mia", "Mason", "Harper"),
        ("Johnson", "Miller", "Davis", "Garcia", "Anderson", "Carter", "Mitchell", "Parker", "Hayes"),
        (5, 9),
    ),
    Country(
        "IE",
        "EUR",
        3,
        ("DHL", "DPD", "UPS"),
        (("Dublin", "D02 AF30"), ("Cork", "T12 RK2Y"), ("Galway", "H91 E2K3")),
        ("Aoife", "Conor", "Niamh", "Seán", "Ciara", "Cian"),
        ("Murphy", "Kelly", "O'Brien", "Walsh", "Byrne", "Ryan"),
        (3, 6),
    ),
    Country(
        "DK",
        "EUR",
        3,
        ("DHL", "DPD", "GLS"),
        (("København", "1050"), ("Aarhus", "8000"), ("Odense", "5000")),
        ("Freja", "Mikkel", "Ida", "Magnus", "Emma", "Frederik"),
        ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen"),
        (2, 4),
    ),
    Country(
        "SE",
        "EUR",
        4,
        ("DHL", "DPD", "GLS"),
        (("Stockholm", "111 29"), ("Göteborg", "411 18"), ("Malmö", "211 20")),
        ("Elsa", "Erik", "Maja", "Oscar", "Wilma", "Axel"),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Lindqvist"),
        (3, 5),
    ),
)
_COUNTRY = {c.code: c for c in COUNTRIES}

TRACKING_URLS = {
    "DHL": "https://www.dhl.com/de-en/home/tracking/tracking-parcel.html?submit=1&tracking-id={}",
    "DPD": "https://tracking.dpd.de/status/en_US/parcel/{}",
    "GLS": "https://gls-group.com/DE/en/parcel-tracking?match={}",
    "UPS": "https://www.ups.com/track?tracknum={}",
    "Royal Mail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
}


@dataclass(frozen=True, slots=True)
class _Customer:
    name: str
    email: str
    country: Country
    city: str
    postcode: str
    tags: tuple[str, ...] = ()


def sample_orders(today: date, count: int = 240, seed: int = 7) -> list[Order]:
    """`count` orders for the demo store, dated back from `today`: the demo ones, then generated."""
    rng = random.Random(seed)
    demo = _demo_orders(today)
    # Namesakes of the demo customers get other addresses, so a demo lookup is never ambiguous.
    taken = {o.email.split("@")[0] for o in demo}
    start = FIRST_NUMBER + len(demo)
    return demo[:count] + _generated(rng, today, count - len(demo), taken, start)


def write_csv(orders: Iterable[Order], path: Path) -> None:
    """The orders in the importer's CSV format (canonical column order, UTF-8)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for order in orders:
            writer.writerow(_csv_row(order))


def _csv_row(order: Order) -> list[str]:
    entries = []
    for item in order.items:
        # The separators of the items column cannot be escaped; refuse rather than write a file
        # that would import differently.
        if any(ch in f"{item.sku}{item.name}" for ch in "|;"):
            raise ValueError(f"order {order.number}: item {item.sku!r} contains '|' or ';'")
        entries.append(f"{item.sku}|{item.name}|{item.quantity}|{item.price}")
    return [
        order.number,
        order.email,
        order.postcode,
        order.customer_name,
        ";".join(entries),
        str(order.total),
        order.currency,
        order.status.value,
        order.destination_country,
        order.carrier or "",
        order.tracking_number or "",
        order.tracking_url or "",
        order.placed_at.isoformat() if order.placed_at else "",
        order.shipped_at.isoformat() if order.shipped_at else "",
        order.delivered_at.isoformat() if order.delivered_at else "",
        order.city or "",
        ";".join(order.customer_tags),
    ]


# --- the demo orders -----------------------------------------------------------------------------


def _demo_orders(today: date) -> list[Order]:
    def day(back: int) -> date:
        return today - timedelta(days=back)

    lena = _Customer("Lena Fischer", "lena.fischer@example.com", _COUNTRY["DE"], "Berlin", "10115", ("vip",))
    oliver = _Customer("Oliver Bennett", "oliver.bennett@example.org", _COUNTRY["GB"], "Manchester", "M1 1AE")
    sofia = _Customer("Sofia Rossi", "sofia.rossi@example.com", _COUNTRY["IT"], "Milano", "20121")
    daniel = _Customer("Daniel Carter", "daniel.carter@example.com", _COUNTRY["US"], "Portland", "97205")
    emma = _Customer("Emma de Vries", "emma.devries@example.org", _COUNTRY["NL"], "Utrecht", "3511 LX")
    julien = _Customer(
        "Julien Dubois", "julien.dubois@example.org", _COUNTRY["BE"], "Bruxelles", "1000", ("wholesale",)
    )
    mia = _Customer("Mia Johnson", "mia.johnson@example.com", _COUNTRY["US"], "Austin", "78701")
    javier = _Customer("Javier García", "javier.garcia@example.org", _COUNTRY["ES"], "Madrid", "28004")
    lucas = _Customer("Lucas Moreau", "lucas.moreau@example.com", _COUNTRY["FR"], "Lyon", "69002")
    freja = _Customer("Freja Jensen", "freja.jensen@example.org", _COUNTRY["DK"], "København", "1050")
    axel = _Customer("Axel Lindqvist", "axel.lindqvist@example.com", _COUNTRY["SE"], "Göteborg", "411 18")

    # Fixed tracking numbers: a demo script can quote them.
    return [
        _order(1001, lena, [("CC-ETH-250", 2), ("CC-GRN-01", 1)], OrderStatus.SHIPPED,
               placed=(day(3), time(9, 42)), shipped=day(2), carrier=("DHL", "00340434161094042557")),
        _order(1002, oliver, [("CC-HSE-250", 2), ("CC-KEN-250", 1)], OrderStatus.SHIPPED,
               placed=(day(20), time(18, 5)), shipped=day(19), carrier=("Royal Mail", "RM428163957GB")),
        _order(1003, sofia, [("CC-COL-250", 1), ("CC-DRP-02", 1), ("CC-FLT-100", 1)], OrderStatus.PAID,
               placed=(day(1), time(21, 17))),
        _order(1004, daniel, [("CC-GUA-250", 2), ("CC-SCL-01", 1)], OrderStatus.OUT_FOR_DELIVERY,
               placed=(day(5), time(14, 3)), shipped=day(4), carrier=("UPS", "1Z8V41E20394857161")),
        _order(1005, lena, [("CC-KEN-250", 1), ("CC-FLT-100", 2)], OrderStatus.DELIVERED,
               placed=(day(24), time(7, 55)), shipped=day(23), delivered=day(21),
               carrier=("DHL", "00340434161093817220")),
        _order(1006, emma, [("CC-BRA-250", 2)], OrderStatus.CANCELLED, placed=(day(6), time(11, 30))),
        _order(1007, julien, [("CC-HSE-1K", 12), ("CC-ETH-1K", 6)], OrderStatus.DELIVERED,
               placed=(day(12), time(8, 10)), shipped=day(11), delivered=day(9),
               carrier=("DPD", "01505036817294")),
        _order(1008, mia, [("CC-ETH-250", 3)], OrderStatus.SHIPPED,
               placed=(day(23), time(16, 48)), shipped=day(22),
               carrier=("USPS", "9400111899562857301946")),
        _order(1009, javier, [("CC-HSE-250", 1), ("CC-PRS-1L", 1)], OrderStatus.SHIPPED,
               placed=(day(18), time(10, 21)), shipped=day(17), carrier=("GLS", "67193540281")),
        _order(1010, lucas, [("CC-KTL-GN", 1), ("CC-COL-250", 1)], OrderStatus.REFUNDED,
               placed=(day(35), time(13, 2)), shipped=day(34), delivered=day(30),
               carrier=("DPD", "01505036533871")),
        _order(1011, lena, [("CC-HSE-250", 2), ("CC-MUG-CU", 2)], OrderStatus.DELIVERED,
               placed=(day(118), time(19, 36)), shipped=day(117), delivered=day(116),
               carrier=("DHL", "00340434161090266158")),
        _order(1012, freja, [("CC-GRN-EL", 1), ("CC-KTL-EL", 1)], OrderStatus.SHIPPED,
               placed=(day(2), time(12, 14)), shipped=day(1), carrier=("DPD", "01505036902845")),
        _order(1013, axel, [("CC-ETH-250", 1), ("CC-DEC-250", 1)], OrderStatus.SHIPPED,
               placed=(day(16), time(9, 5)), shipped=day(15), carrier=("DHL", "00340434161092748813")),
    ]  # fmt: skip


def _order(
    number: int,
    customer: _Customer,
    lines: Sequence[tuple[str, int]],
    status: OrderStatus,
    *,
    placed: tuple[date, time],
    shipped: date | None = None,
    delivered: date | None = None,
    carrier: tuple[str, str] | None = None,
) -> Order:
    currency = customer.country.currency
    items = tuple(
        OrderItem(sku, _BY_SKU[sku].name, quantity, _price(_BY_SKU[sku], currency)) for sku, quantity in lines
    )
    subtotal = sum((i.price * i.quantity for i in items), Decimal(0))
    name, tracking = carrier if carrier else (None, None)
    return Order(
        number=str(number),
        email=customer.email,
        postcode=customer.postcode,
        customer_name=customer.name,
        items=items,
        total=(subtotal + _shipping(customer.country, subtotal)).quantize(CENT),
        currency=currency,
        status=status,
        destination_country=customer.country.code,
        placed_at=datetime.combine(placed[0], placed[1], UTC),
        carrier=name,
        tracking_number=tracking,
        tracking_url=TRACKING_URLS[name].format(tracking) if name and tracking else None,
        shipped_at=shipped,
        delivered_at=delivered,
        city=customer.city,
        customer_tags=customer.tags,
    )


def _price(product: Product, currency: str) -> Decimal:
    if currency == "EUR":
        return product.eur
    # Price lists in other currencies are set in round half-units, not converted to the cent.
    halves = (product.eur * _RATES[currency] * 2).quantize(Decimal(1))
    return (halves / 2).quantize(CENT)


def _shipping(country: Country, subtotal: Decimal) -> Decimal:
    fee, free_from = {
        "DE": (Decimal("4.90"), Decimal(50)),
        "GB": (Decimal("8.90"), Decimal(70)),
        "US": (Decimal("14.90"), Decimal(120)),
    }.get(country.code, (Decimal("7.90"), Decimal(75)))
    return Decimal(0) if subtotal >= free_from else fee


# --- the generated history -----------------------------------------------------------------------


def _generated(rng: random.Random, today: date, count: int, taken: set[str], start: int) -> list[Order]:
    if count <= 0:
        return []
    # Recent days are denser than months ago (the demo needs orders paid yesterday and shipped
    # this week), so the age in days is exponential around six weeks, at most a year.
    ages = sorted((min(int(rng.expovariate(1 / 40)), 365) for _ in range(count)), reverse=True)
    customers: list[_Customer] = []
    country_weights = list(itertools.accumulate(c.weight for c in COUNTRIES))
    orders: list[Order] = []
    for offset, age in enumerate(ages):
        # About a third of orders come from returning customers; picking any earlier customer
        # alike means the early ones return most often, as loyal customers do.
        if customers and rng.random() < 0.3:
            customer = rng.choice(customers)
        else:
            country = rng.choices(COUNTRIES, cum_weights=country_weights)[0]
            customer = _new_customer(rng, country, taken)
            customers.append(customer)
        lines = _basket(rng, customer)
        status, shipped, delivered = _progress(rng, today, age, customer.country)
        carrier = None
        if shipped is not None:
            name = rng.choice(customer.country.carriers)
            carrier = (name, _tracking_number(rng, name))
        placed = (today - timedelta(days=age), time(rng.randint(6, 22), rng.randint(0, 59)))
        orders.append(
            _order(
                start + offset,
                customer,
                lines,
                status,
                placed=placed,
                shipped=shipped,
                delivered=delivered,
                carrier=carrier,
            )
        )
    return orders


def _new_customer(rng: random.Random, country: Country, taken: set[str]) -> _Customer:
    first, last = rng.choice(country.first_names), rng.choice(country.last_names)
    base = local = f"{_ascii(first)}.{_ascii(last)}"
    while local in taken:  # namesakes are different people: give them different addresses
        local = f"{base}{rng.randint(2, 9999)}"
    taken.add(local)
    email = f"{local}@{rng.choice(('example.com', 'example.org'))}"
    city, postcode = rng.choice(country.places)
    roll = rng.random()
    tags = ("wholesale",) if roll < 0.006 else ("vip",) if roll < 0.04 else ()
    return _Customer(f"{first} {last}", email, country, city, postcode, tags)


_GERMAN_LETTERS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@functools.cache
def _ascii(name: str) -> str:
    """'Müller' → 'mueller', 'Lefèvre' → 'lefevre', "O'Brien" → 'obrien', 'de Vries' → 'devries'."""
    plain = unicodedata.normalize("NFKD", name.lower().translate(_GERMAN_LETTERS))
    return "".join(ch for ch in plain if ch.isascii() and ch.isalnum())


_BEANS = [p for p in PRODUCTS if p.kind == "beans"]
_BULK = [p for p in PRODUCTS if p.kind == "bulk"]
_RETAIL = [p for p in PRODUCTS if p.kind != "bulk"]


def _basket(rng: random.Random, customer: _Customer) -> list[tuple[str, int]]:
    if "wholesale" in customer.tags:
        # A café restocking: 10 to 30 kilo bags of one to three coffees.
        chosen = rng.sample(_BULK, rng.randint(1, 3))
        return [(p.sku, rng.randint(10 // len(chosen) + 1, 30 // len(chosen))) for p in chosen]
    if rng.random() < 0.02:
        # Setting up a whole brew bar at home: the big-ticket items together.
        return [("CC-GRN-EL", 1), ("CC-KTL-EL", 1), (rng.choice(_BEANS).sku, 2)]
    size = 1 + (rng.random() < 0.45) + (rng.random() < 0.15)
    chosen = []
    while len(chosen) < size:
        product = rng.choices(_RETAIL, [p.weight for p in _RETAIL])[0]
        if product not in chosen:
            chosen.append(product)
    if rng.random() < 0.1:
        chosen[0] = rng.choice(_BULK)
    lines = []
    for product in chosen:
        if product.kind == "beans":
            quantity = rng.choices((1, 2, 3, 4), (5, 4, 2, 1))[0]
        elif product.kind == "small":
            quantity = rng.choice((1, 1, 2, 3))
        else:
            quantity = 1
        lines.append((product.sku, quantity))
    return lines


def _progress(
    rng: random.Random, today: date, age: int, country: Country
) -> tuple[OrderStatus, date | None, date | None]:
    """Status, shipped and delivered days for an order placed `age` days ago, never late."""
    placed = today - timedelta(days=age)
    roll = rng.random()
    if roll < 0.02 and age >= 1:
        return OrderStatus.CANCELLED, None, None
    if age <= 1 and roll < 0.85:
        return OrderStatus.PAID, None, None
    shipped = min(placed + timedelta(days=rng.choice((0, 1, 1, 1, 2))), today)
    arrives = shipped + timedelta(days=rng.randint(*country.transit))
    if arrives > today:
        # Still on its way, within the normal transit time; some arrive today.
        if 2 <= age <= 6 and rng.random() < 0.2:
            return OrderStatus.OUT_FOR_DELIVERY, shipped, None
        return OrderStatus.SHIPPED, shipped, None
    if roll > 0.985:
        return OrderStatus.REFUNDED, shipped, arrives
    return OrderStatus.DELIVERED, shipped, arrives


def _tracking_number(rng: random.Random, carrier: str) -> str:
    def digits(n: int) -> str:
        return f"{rng.randrange(10**n):0{n}d}"

    if carrier == "DHL":
        return "003404" + digits(14)  # DHL Paket: 20 digits
    if carrier == "DPD":
        return "0150" + digits(10)  # 14 digits
    if carrier == "GLS":
        return digits(11)
    if carrier == "UPS":
        letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(6))
        return f"1Z{letters}{digits(10)}"  # 1Z + shipper + service + package: 18 characters
    if carrier == "Royal Mail":
        return f"{rng.choice('ABCFHJKLMRTV')}{rng.choice('ABDEFGHJKLMNPQRSTUWXYZ')}{digits(9)}GB"
    return "9400" + digits(18)  # USPS: 22 digits
