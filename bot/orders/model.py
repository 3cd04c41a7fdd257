"""Orders as the bot sees them, whatever store platform they come from."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


class OrderStatus(enum.StrEnum):
    PAID = "paid"  # paid, being prepared, not shipped yet
    SHIPPED = "shipped"  # with the carrier, in transit
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class OrderItem:
    sku: str
    name: str
    quantity: int
    price: Decimal  # per unit


@dataclass(frozen=True, slots=True)
class Order:
    number: str  # as the store shows it, without "#": "1234", "HP-20931"
    email: str
    postcode: str
    customer_name: str
    items: tuple[OrderItem, ...]
    total: Decimal
    currency: str
    status: OrderStatus
    destination_country: str  # ISO 3166-1 alpha-2
    placed_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    shipped_at: date | None = None
    delivered_at: date | None = None
    city: str | None = None
    customer_tags: tuple[str, ...] = ()
    customer_order_count: int | None = None

    @property
    def quantity(self) -> int:
        return sum(item.quantity for item in self.items)


class OrderSourceError(Exception):
    """The store platform cannot be reached or answered badly; the customer is told to try later."""


class OrderSource(Protocol):
    """Where orders come from: the embedded store, Shopify, WooCommerce."""

    async def by_number(self, number: str) -> Order | None:
        """The order with this number (normalised with `normalise_number`), or None."""
        ...

    async def by_email(self, email: str, limit: int = 10) -> list[Order]:
        """The customer's orders, newest first."""
        ...


_NUMBER_JUNK = re.compile(r"[\s#]")


def normalise_number(raw: str) -> str:
    """'#1234' → '1234', ' hp-20931 ' → 'HP-20931': how numbers are stored and compared."""
    return _NUMBER_JUNK.sub("", raw).upper()


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


def normalise_postcode(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw).upper()
