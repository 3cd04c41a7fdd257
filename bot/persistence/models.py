"""Tables. Every message is kept with the bot's decision, so reports can be made from them later."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class CustomerRow(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id", name="uq_customer_channel_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    channel_user_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConversationRow(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_conversation_channel_chat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    state: Mapped[str] = mapped_column(String(20), default="bot")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "vendor_message_id", name="uq_message_vendor_id"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    vendor_message_id: Mapped[str | None] = mapped_column(String(128))
    decision: Mapped[str | None] = mapped_column(String(20))
    confidence: Mapped[float | None] = mapped_column(Float)
    article_id: Mapped[str | None] = mapped_column(String(120))
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    escalation: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxRow(Base):
    """A reply waiting to be sent (or sent, or given up on, with the reason)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat", "channel", "chat_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
    vendor_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_kind_created", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IncidentRow(Base):
    """One incident for many reports (a product defect several customers report)."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_kind_key_opened", "kind", "key", "opened_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reports: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class QualityReportRow(Base):
    __tablename__ = "quality_reports"
    __table_args__ = (Index("ix_quality_reports_product_created", "product", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product: Mapped[str] = mapped_column(String(120))
    customer: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TicketRow(Base):
    """A handoff to a person. At most one open (waiting or claimed) ticket per conversation."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index(
            "uq_tickets_one_open_per_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("state IN ('waiting', 'claimed')"),
            postgresql_where=text("state IN ('waiting', 'claimed')"),
        ),
        Index("ix_tickets_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(128))
    customer_user_id: Mapped[str] = mapped_column(String(128))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_language: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    trigger_text: Mapped[str] = mapped_column(Text, default="")
    order_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_response_due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolution_due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reminder_due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_by_name: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_as: Mapped[str | None] = mapped_column(String(20))
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_by_name: Mapped[str | None] = mapped_column(String(200))
    recovery: Mapped[bool] = mapped_column(Boolean, default=False)
    csat_score: Mapped[int | None] = mapped_column(Integer)
    csat_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where the agents see it (a Slack channel and message ts), and whether that view is current.
    desk_channel: Mapped[str | None] = mapped_column(String(64))
    desk_ts: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    desk_version: Mapped[int] = mapped_column(Integer, default=0)


class TicketLineRow(Base):
    """One entry of a ticket's thread: the customer, the agent, an internal note, or the service."""

    __tablename__ = "ticket_lines"
    __table_args__ = (
        UniqueConstraint("vendor_id", name="uq_ticket_lines_vendor_id"),
        Index("ix_ticket_lines_ticket", "ticket_id", "id"),
        Index("ix_ticket_lines_outbox", "outbox_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str | None] = mapped_column(String(64))
    author_name: Mapped[str | None] = mapped_column(String(200))
    vendor_id: Mapped[str | None] = mapped_column(String(128))
    delivery: Mapped[str | None] = mapped_column(String(20))
    delivery_error: Mapped[str | None] = mapped_column(String(500))
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Shown on the agents' side yet? (posted into the thread, delivery mark added)
    desk_posted: Mapped[bool] = mapped_column(Boolean, default=False)
    desk_marked: Mapped[bool] = mapped_column(Boolean, default=False)


class ProcessedEventRow(Base):
    """Vendor event ids already handled: Slack retries an event it thinks was missed."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrderRow(Base):
    """An order in the embedded store (imported from the shop's CSV or JSON export)."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_email", "email"),)

    number: Mapped[str] = mapped_column(String(64), primary_key=True)  # normalised: no '#', upper case
    email: Mapped[str] = mapped_column(String(320))  # normalised: lower case
    postcode: Mapped[str] = mapped_column(String(20))  # normalised: no spaces, upper case
    customer_name: Mapped[str] = mapped_column(String(200))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{sku, name, quantity, price}]
    total: Mapped[str] = mapped_column(String(32))  # a decimal, kept exact
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    carrier: Mapped[str | None] = mapped_column(String(60))
    tracking_number: Mapped[str | None] = mapped_column(String(120))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shipped_at: Mapped[date | None] = mapped_column(Date)
    delivered_at: Mapped[date | None] = mapped_column(Date)
    destination_country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(120))
    customer_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OrderSessionRow(Base):
    """Order-lookup state of one conversation: what is being asked, who is verified, failed tries."""

    __tablename__ = "order_sessions"

    conversation_key: Mapped[str] = mapped_column(String(160), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20))
    pending_number: Mapped[str | None] = mapped_column(String(64))
    verified_email: Mapped[str | None] = mapped_column(String(320))
    verified_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lookups: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO times of recent lookups
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
