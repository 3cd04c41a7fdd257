"""Delivery windows per destination country and carriers' tracking pages, from a YAML table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import yaml

DEFAULT_TABLE = Path(__file__).resolve().parent / "delivery.yaml"


class DeliveryTableError(ValueError):
    """The delivery table cannot be read; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Window:
    earliest: int  # business days
    latest: int


@dataclass(frozen=True, slots=True)
class DeliveryTable:
    processing: Window
    default: Window
    countries: dict[str, Window] = field(default_factory=dict)
    carriers: dict[str, str] = field(default_factory=dict)
    late_escalate_days: int = 3

    def window(self, country: str) -> Window:
        return self.countries.get(country.upper(), self.default)

    def tracking_link(self, carrier: str | None, tracking: str | None) -> str | None:
        if not carrier or not tracking:
            return None
        template = next((t for name, t in self.carriers.items() if name.lower() == carrier.lower()), None)
        return template.replace("{tracking}", quote(tracking, safe="")) if template else None


def add_business_days(start: date, days: int) -> date:
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def business_days_between(start: date, end: date) -> int:
    """Business days after `start` up to and including `end` (negative when end is before start)."""
    if end < start:
        return -business_days_between(end, start)
    days = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days += 1
    return days


def _window(value: object, where: str) -> Window:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and v >= 0 for v in value)
        or value[0] > value[1]
    ):
        raise DeliveryTableError(f"{where}: expected [earliest, latest] business days, got {value!r}")
    return Window(value[0], value[1])


def load_delivery_table(path: Path = DEFAULT_TABLE) -> DeliveryTable:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DeliveryTableError(f"{path}: cannot read the delivery table: {exc}") from None
    if not isinstance(data, dict):
        raise DeliveryTableError(f"{path}: expected a mapping at the top")
    countries = data.get("countries") or {}
    carriers = data.get("carriers") or {}
    if not isinstance(countries, dict) or not isinstance(carriers, dict):
        raise DeliveryTableError(f"{path}: countries and carriers must be mappings")
    late = data.get("late_escalate_days", 3)
    if not isinstance(late, int) or late < 0:
        raise DeliveryTableError(f"{path}: late_escalate_days must be a whole number ≥ 0, got {late!r}")
    for name, template in carriers.items():
        if not isinstance(template, str) or "{tracking}" not in template:
            raise DeliveryTableError(f"{path}: carriers.{name}: a URL with {{tracking}} in it")
    return DeliveryTable(
        processing=_window(data.get("processing_days", [1, 2]), f"{path}: processing_days"),
        default=_window(data.get("default", [5, 10]), f"{path}: default"),
        countries={str(k).upper(): _window(v, f"{path}: countries.{k}") for k, v in countries.items()},
        carriers={str(k): str(v) for k, v in carriers.items()},
        late_escalate_days=late,
    )
