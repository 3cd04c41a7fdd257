"""Reading a store platform's order JSON leniently: what the Shopify and WooCommerce sources share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.orders.model import Order


def newest_first(order: Order) -> tuple[bool, float]:
    """Sort key: the newest order first; orders without a date go last."""
    return (order.placed_at is None, -order.placed_at.timestamp() if order.placed_at else 0.0)


def as_dict(value: Any) -> Mapping[str, Any]:
    """The value when it is an object, else an empty one: a missing or odd field reads as empty."""
    return value if isinstance(value, dict) else {}


def person_name(part: Mapping[str, Any]) -> str:
    """'First Last' from an object with first_name and last_name (either may be missing)."""
    return " ".join(str(part[k]).strip() for k in ("first_name", "last_name") if part.get(k)).strip()


def text_or_none(*values: Any) -> str | None:
    """The first value that is non-blank text, stripped; None when there is none."""
    for value in values:
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def first_text(*values: Any) -> str:
    return text_or_none(*values) or ""
