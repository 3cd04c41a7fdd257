"""Who may see an order: the order number plus the email or postcode on it, and nothing less.

Pure functions over one conversation's OrderSession. The same answer whether the number or the
contact detail is wrong, so nobody can probe which orders exist; three failed tries pause lookups
for the conversation; a verified email is remembered, so the customer's other orders need no
second proof.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.orders.model import Order, normalise_email, normalise_number, normalise_postcode

MAX_FAILURES = 3
LOCKOUT = timedelta(minutes=30)
LOOKUP_WINDOW = timedelta(hours=1)
MAX_LOOKUPS_PER_WINDOW = 10


class Stage(enum.StrEnum):
    IDLE = "idle"
    AWAITING_NUMBER = "awaiting_number"  # asked "what's your order number?"
    AWAITING_CONTACT = "awaiting_contact"  # asked "what's the email or postcode on it?"


@dataclass(frozen=True, slots=True)
class OrderSession:
    stage: Stage = Stage.IDLE
    pending_number: str | None = None
    verified_email: str | None = None
    verified_numbers: tuple[str, ...] = ()
    failures: int = 0
    locked_until: datetime | None = None
    lookups: tuple[datetime, ...] = ()

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def may_see(self, order: Order) -> bool:
        """Verified for this order: it was proven, or it belongs to the proven email."""
        return normalise_number(order.number) in self.verified_numbers or (
            self.verified_email is not None and normalise_email(order.email) == self.verified_email
        )

    def too_many_lookups(self, now: datetime) -> bool:
        recent = [t for t in self.lookups if now - t < LOOKUP_WINDOW]
        return len(recent) >= MAX_LOOKUPS_PER_WINDOW


def asked_number(session: OrderSession) -> OrderSession:
    return replace(session, stage=Stage.AWAITING_NUMBER, pending_number=None)


def asked_contact(session: OrderSession, number: str) -> OrderSession:
    return replace(session, stage=Stage.AWAITING_CONTACT, pending_number=normalise_number(number))


def looked_up(session: OrderSession, now: datetime) -> OrderSession:
    recent = tuple(t for t in session.lookups if now - t < LOOKUP_WINDOW)
    return replace(session, lookups=(*recent, now))


def matches(order: Order | None, contact: str) -> bool:
    """Does the contact detail match the order's email or postcode? False for no order at all."""
    if order is None or not contact.strip():
        return False
    if "@" in contact:
        return normalise_email(contact) == normalise_email(order.email)
    return bool(order.postcode) and normalise_postcode(contact) == normalise_postcode(order.postcode)


def verified(session: OrderSession, order: Order) -> OrderSession:
    numbers = tuple(dict.fromkeys((*session.verified_numbers, normalise_number(order.number))))
    return replace(
        session,
        stage=Stage.IDLE,
        pending_number=None,
        verified_email=normalise_email(order.email),
        verified_numbers=numbers,
        failures=0,
    )


def failed(session: OrderSession, now: datetime) -> OrderSession:
    failures = session.failures + 1
    if failures >= MAX_FAILURES:
        return replace(session, stage=Stage.IDLE, pending_number=None, failures=0, locked_until=now + LOCKOUT)
    return replace(session, stage=Stage.AWAITING_CONTACT, failures=failures)


def forgotten(session: OrderSession) -> OrderSession:
    """The customer moved on to something else: stop waiting for a number or a contact."""
    return replace(session, stage=Stage.IDLE, pending_number=None)
