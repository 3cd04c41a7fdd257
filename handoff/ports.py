"""What the handoff needs from the rest of the system, as small Protocols wired in bot.app."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain import ConversationRef, CustomerIdentity, EscalationReason, Reply
from handoff.tickets import SlaTimes, Ticket


class LineKind(enum.StrEnum):
    """One entry in a ticket's thread."""

    CUSTOMER = "customer"  # the customer wrote (relayed to the agents)
    AGENT = "agent"  # the claiming agent's reply (relayed to the customer)
    NOTE = "note"  # internal: never reaches the customer
    SYSTEM = "system"  # the service's own remark for the agents (claimed, rated, reminder)


class Delivery(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"  # an agent reply held back by the reply check until the agent confirms


@dataclass(frozen=True, slots=True)
class Line:
    id: int
    ticket_id: int
    kind: LineKind
    text: str
    created_at: datetime
    author_id: str | None = None
    author_name: str | None = None
    vendor_id: str | None = None
    delivery: Delivery | None = None
    delivery_error: str | None = None


class TicketStore(Protocol):
    """Tickets and their lines, persisted. Transitions are compare-and-set on the prior state."""

    async def open_ticket(
        self,
        ref: ConversationRef,
        customer: CustomerIdentity,
        reasons: tuple[EscalationReason, ...],
        trigger_text: str,
        due: SlaTimes,
        now: datetime,
        order: dict[str, object] | None = None,
    ) -> tuple[Ticket, bool]:
        """Open a ticket, or return the conversation's open one; True when it was created now."""
        ...

    async def ticket(self, ticket_id: int) -> Ticket | None: ...

    async def open_ticket_for(self, ref: ConversationRef) -> Ticket | None: ...

    async def latest_ticket_for(self, ref: ConversationRef) -> Ticket | None: ...

    async def tickets(self, states: frozenset[str] | None = None, limit: int = 200) -> list[Ticket]: ...

    async def save(self, before: Ticket, after: Ticket) -> bool:
        """Persist `after` only if the stored ticket is still in `before`'s state; False otherwise."""
        ...

    async def set_comment(self, ticket_id: int, comment: str) -> None:
        """The customer's comment on their rating."""
        ...

    async def add_line(
        self,
        ticket_id: int,
        kind: LineKind,
        text: str,
        *,
        author_id: str | None = None,
        author_name: str | None = None,
        vendor_id: str | None = None,
        delivery: Delivery | None = None,
    ) -> Line | None:
        """None when a line with this vendor id was already recorded (a redelivered event)."""
        ...

    async def line(self, line_id: int) -> Line | None: ...

    async def lines(self, ticket_id: int) -> list[Line]: ...

    async def set_delivery(
        self, line_id: int, delivery: Delivery, *, outbox_id: int | None = None, error: str | None = None
    ) -> None: ...

    async def line_for_outbox(self, outbox_id: int) -> Line | None: ...


class CustomerOutbox(Protocol):
    """Queues a message to the customer on their channel (persisted, retried); returns its outbox id."""

    async def send_to_customer(
        self, ref: ConversationRef, reply: Reply, *, from_agent: bool
    ) -> int | None: ...


class DeskNotifier(Protocol):
    """Tells the agents' side (Slack, the local desk) that something changed and should be shown."""

    def changed(self, ticket_id: int) -> None: ...


class TranscriptSource(Protocol):
    """The conversation as stored: (author, text, time), oldest first; customer, bot or agent."""

    async def transcript(
        self, ref: ConversationRef, limit: int = 20, before: datetime | None = None
    ) -> list[tuple[str, str, datetime]]: ...
