"""Tickets and their thread lines on SQLAlchemy: implements handoff.ports.TicketStore.

A transition is saved with `UPDATE ... WHERE id = ? AND state = ?`: of several agents clicking
Claim at once, exactly one update matches a row and wins; the others see rowcount 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import (
    OUTBOX_CHANNELS,
    Channel,
    ConversationRef,
    CustomerIdentity,
    Decision,
    Direction,
    EscalationReason,
    Reply,
)
from bot.persistence.models import (
    ConversationRow,
    MessageRow,
    OutboxRow,
    ProcessedEventRow,
    TicketLineRow,
    TicketRow,
    utcnow,
)
from bot.persistence.repository import AGENT_DECISION, PENDING, Repository, _aware
from handoff.ports import Delivery, Line, LineKind
from handoff.tickets import Agent, Closure, SlaTimes, Ticket, TicketState

OPEN = (TicketState.WAITING.value, TicketState.CLAIMED.value)


def _maybe(moment: datetime | None) -> datetime | None:
    return _aware(moment) if moment is not None else None


def _agent(agent_id: str | None, name: str | None) -> Agent | None:
    return Agent(agent_id, name or agent_id) if agent_id else None


def to_ticket(row: TicketRow) -> Ticket:
    return Ticket(
        id=row.id,
        ref=ConversationRef(Channel(row.channel), row.chat_id),
        customer=CustomerIdentity(row.customer_user_id, row.customer_name, row.customer_language),
        reasons=tuple(
            EscalationReason(str(r["reason"]), float(r.get("score", 1.0)), str(r.get("evidence", "")))
            for r in row.reasons
        ),
        state=TicketState(row.state),
        created_at=_aware(row.created_at),
        due=SlaTimes(_aware(row.first_response_due), _aware(row.resolution_due), _aware(row.reminder_due)),
        trigger_text=row.trigger_text,
        claimed_by=_agent(row.claimed_by, row.claimed_by_name),
        claimed_at=_maybe(row.claimed_at),
        first_reply_at=_maybe(row.first_reply_at),
        resolved_at=_maybe(row.resolved_at),
        reopened_at=_maybe(row.reopened_at),
        returned_at=_maybe(row.returned_at),
        closed_as=Closure(row.closed_as) if row.closed_as else None,
        closed_by=_agent(row.closed_by, row.closed_by_name),
        recovery=bool(row.recovery),
        csat_score=row.csat_score,
        rated_at=_maybe(row.rated_at),
        csat_comment=row.csat_comment,
        reminded_at=_maybe(row.reminded_at),
        breached_at=_maybe(row.breached_at),
        order=row.order_summary,
    )


def _values(ticket: Ticket) -> dict[str, Any]:
    """The columns a transition may change."""
    return {
        "state": ticket.state.value,
        "claimed_by": ticket.claimed_by.id if ticket.claimed_by else None,
        "claimed_by_name": ticket.claimed_by.name if ticket.claimed_by else None,
        "claimed_at": ticket.claimed_at,
        "first_reply_at": ticket.first_reply_at,
        "resolved_at": ticket.resolved_at,
        "reopened_at": ticket.reopened_at,
        "returned_at": ticket.returned_at,
        "closed_as": ticket.closed_as.value if ticket.closed_as else None,
        "closed_by": ticket.closed_by.id if ticket.closed_by else None,
        "closed_by_name": ticket.closed_by.name if ticket.closed_by else None,
        "recovery": ticket.recovery,
        "csat_score": ticket.csat_score,
        "rated_at": ticket.rated_at,
        "reminded_at": ticket.reminded_at,
        "breached_at": ticket.breached_at,
    }


def to_line(row: TicketLineRow) -> Line:
    return Line(
        id=row.id,
        ticket_id=row.ticket_id,
        kind=LineKind(row.kind),
        text=row.text,
        created_at=_aware(row.created_at),
        author_id=row.author_id,
        author_name=row.author_name,
        vendor_id=row.vendor_id,
        delivery=Delivery(row.delivery) if row.delivery else None,
        delivery_error=row.delivery_error,
    )


@dataclass(frozen=True, slots=True)
class DeskView:
    """Where a ticket is shown on the agents' side, and whether that view is out of date."""

    ticket: Ticket
    channel: str | None
    ts: str | None
    version: int


class TicketRepository:
    def __init__(self, repository: Repository) -> None:
        self._db = repository

    # -- tickets ------------------------------------------------------------------------------

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
        try:
            async with self._db.writing() as session:
                conversation_id = await self._db.conversation_id(session, ref, customer)
                existing = await session.scalar(
                    select(TicketRow).where(
                        TicketRow.conversation_id == conversation_id, TicketRow.state.in_(OPEN)
                    )
                )
                if existing is not None:
                    return to_ticket(existing), False
                row = TicketRow(
                    conversation_id=conversation_id,
                    channel=ref.channel.value,
                    chat_id=ref.chat_id,
                    customer_user_id=customer.channel_user_id,
                    customer_name=customer.display_name,
                    customer_language=customer.language,
                    state=TicketState.WAITING.value,
                    reasons=[
                        {"reason": r.reason, "score": round(r.score, 4), "evidence": r.evidence}
                        for r in reasons
                    ],
                    trigger_text=trigger_text,
                    order_summary=order,
                    created_at=now,
                    first_response_due=due.first_response,
                    resolution_due=due.resolution,
                    reminder_due=due.reminder,
                    recovery=False,
                    version=1,
                    desk_version=0,
                )
                session.add(row)
                await session.flush()
                opened = to_ticket(row)
            self._db.remember_conversation(ref, conversation_id)
            return opened, True
        except IntegrityError:
            # Another replica opened one between our read and our insert (the partial unique index).
            found = await self.open_ticket_for(ref)
            if found is None:
                raise
            return found, False

    async def ticket(self, ticket_id: int) -> Ticket | None:
        async with self._db.reading() as session:
            row = await session.get(TicketRow, ticket_id)
        return to_ticket(row) if row is not None else None

    async def open_ticket_for(self, ref: ConversationRef) -> Ticket | None:
        return await self._latest(ref, open_only=True)

    async def latest_ticket_for(self, ref: ConversationRef) -> Ticket | None:
        return await self._latest(ref, open_only=False)

    async def _latest(self, ref: ConversationRef, open_only: bool) -> Ticket | None:
        query = select(TicketRow).where(
            TicketRow.channel == ref.channel.value, TicketRow.chat_id == ref.chat_id
        )
        if open_only:
            query = query.where(TicketRow.state.in_(OPEN))
        async with self._db.reading() as session:
            row = await session.scalar(query.order_by(TicketRow.id.desc()).limit(1))
        return to_ticket(row) if row is not None else None

    async def tickets(self, states: frozenset[str] | None = None, limit: int = 200) -> list[Ticket]:
        query = select(TicketRow).order_by(TicketRow.id.desc()).limit(limit)
        if states:
            query = query.where(TicketRow.state.in_(sorted(states)))
        async with self._db.reading() as session:
            rows = (await session.scalars(query)).all()
        return [to_ticket(r) for r in rows]

    async def save(self, before: Ticket, after: Ticket) -> bool:
        async with self._db.writing() as session:
            result = await session.execute(
                update(TicketRow)
                .where(TicketRow.id == before.id, TicketRow.state == before.state.value)
                .values(**_values(after), version=TicketRow.version + 1)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    async def set_comment(self, ticket_id: int, comment: str) -> None:
        async with self._db.writing() as session:
            await session.execute(
                update(TicketRow).where(TicketRow.id == ticket_id).values(csat_comment=comment)
            )

    # -- lines --------------------------------------------------------------------------------

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
        row = TicketLineRow(
            ticket_id=ticket_id,
            kind=kind.value,
            text=text,
            author_id=author_id,
            author_name=author_name,
            vendor_id=vendor_id,
            delivery=delivery.value if delivery else None,
            created_at=utcnow(),
            desk_posted=False,
            desk_marked=False,
        )
        try:
            async with self._db.writing() as session:
                session.add(row)
                await session.flush()
                return to_line(row)
        except IntegrityError:
            return None  # this vendor id is already recorded: a redelivered event

    async def line(self, line_id: int) -> Line | None:
        async with self._db.reading() as session:
            row = await session.get(TicketLineRow, line_id)
        return to_line(row) if row is not None else None

    async def lines(self, ticket_id: int) -> list[Line]:
        async with self._db.reading() as session:
            rows = (
                await session.scalars(
                    select(TicketLineRow)
                    .where(TicketLineRow.ticket_id == ticket_id)
                    .order_by(TicketLineRow.id)
                )
            ).all()
        return [to_line(r) for r in rows]

    async def set_delivery(
        self, line_id: int, delivery: Delivery, *, outbox_id: int | None = None, error: str | None = None
    ) -> None:
        values: dict[str, Any] = {"delivery": delivery.value, "delivery_error": error, "desk_marked": False}
        if outbox_id is not None:
            values["outbox_id"] = outbox_id
        async with self._db.writing() as session:
            await session.execute(update(TicketLineRow).where(TicketLineRow.id == line_id).values(**values))

    async def line_for_outbox(self, outbox_id: int) -> Line | None:
        async with self._db.reading() as session:
            row = await session.scalar(select(TicketLineRow).where(TicketLineRow.outbox_id == outbox_id))
        return to_line(row) if row is not None else None

    # -- to the customer ------------------------------------------------------------------------

    async def send_to_customer(self, ref: ConversationRef, reply: Reply, *, from_agent: bool) -> int | None:
        """Store the message and queue it in the outbox; None for channels without one."""
        now = utcnow()
        queued = ref.channel in OUTBOX_CHANNELS
        async with self._db.writing() as session:
            conversation_id = await session.scalar(
                select(ConversationRow.id).where(
                    ConversationRow.channel == ref.channel.value, ConversationRow.chat_id == ref.chat_id
                )
            )
            if conversation_id is None:
                return None
            message = MessageRow(
                conversation_id=conversation_id,
                direction=Direction.OUTBOUND.value,
                channel=ref.channel.value,
                text=reply.text,
                decision=AGENT_DECISION if from_agent else Decision.HANDOFF.value,
                created_at=now,
            )
            session.add(message)
            await session.flush()
            if not queued:  # a terminal or test chat reads the transcript; nothing to send
                return None
            outbox = OutboxRow(
                conversation_id=conversation_id,
                message_id=message.id,
                channel=ref.channel.value,
                chat_id=ref.chat_id,
                payload=reply.to_payload(),
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            session.add(outbox)
            await session.flush()
            return int(outbox.id)

    # -- what the agents' side (Slack) must catch up on -------------------------------------------

    async def desk_views(self, limit: int = 100) -> list[DeskView]:
        """Tickets not yet posted, or changed since they were last shown."""
        async with self._db.reading() as session:
            rows = (
                await session.scalars(
                    select(TicketRow)
                    .where(or_(TicketRow.desk_ts.is_(None), TicketRow.desk_version < TicketRow.version))
                    .order_by(TicketRow.id)
                    .limit(limit)
                )
            ).all()
        return [DeskView(to_ticket(r), r.desk_channel, r.desk_ts, r.version) for r in rows]

    async def desk_location(self, ticket_id: int) -> tuple[str, str] | None:
        async with self._db.reading() as session:
            row = await session.get(TicketRow, ticket_id)
        if row is None or row.desk_channel is None or row.desk_ts is None:
            return None
        return row.desk_channel, row.desk_ts

    async def ticket_at(self, channel: str, ts: str) -> Ticket | None:
        """The ticket whose agents' message (the thread parent) is at this Slack channel and ts."""
        async with self._db.reading() as session:
            row = await session.scalar(
                select(TicketRow).where(TicketRow.desk_channel == channel, TicketRow.desk_ts == ts)
            )
        return to_ticket(row) if row is not None else None

    async def mark_shown(self, shown: Sequence[tuple[int, int, str, str]]) -> None:
        """The agents' view shows these (ticket id, version, channel, ts); a later change shows again."""
        async with self._db.writing() as session:
            for ticket_id, version, channel, ts in shown:
                await session.execute(
                    update(TicketRow)
                    .where(TicketRow.id == ticket_id)
                    .values(desk_channel=channel, desk_ts=ts, desk_version=version)
                )

    async def lines_to_post(self, limit: int = 200) -> list[Line]:
        """Lines the agents have not seen yet, for tickets already posted (oldest first)."""
        async with self._db.reading() as session:
            rows = (
                await session.scalars(
                    select(TicketLineRow)
                    .join(TicketRow, TicketRow.id == TicketLineRow.ticket_id)
                    .where(
                        TicketLineRow.desk_posted.is_(False),
                        TicketLineRow.kind.in_([LineKind.CUSTOMER.value, LineKind.SYSTEM.value]),
                        TicketRow.desk_ts.is_not(None),
                    )
                    .order_by(TicketLineRow.id)
                    .limit(limit)
                )
            ).all()
        return [to_line(r) for r in rows]

    async def mark_line_posted(self, line_id: int) -> None:
        async with self._db.writing() as session:
            await session.execute(
                update(TicketLineRow).where(TicketLineRow.id == line_id).values(desk_posted=True)
            )

    async def deliveries_to_mark(self, limit: int = 200) -> list[Line]:
        """Agent replies whose delivery result (sent or failed) is not yet shown on the agent's message."""
        async with self._db.reading() as session:
            rows = (
                await session.scalars(
                    select(TicketLineRow)
                    .where(
                        TicketLineRow.kind == LineKind.AGENT.value,
                        TicketLineRow.desk_marked.is_(False),
                        TicketLineRow.delivery.in_([Delivery.SENT.value, Delivery.FAILED.value]),
                    )
                    .order_by(TicketLineRow.id)
                    .limit(limit)
                )
            ).all()
        return [to_line(r) for r in rows]

    async def mark_line_marked(self, line_id: int) -> None:
        async with self._db.writing() as session:
            await session.execute(
                update(TicketLineRow).where(TicketLineRow.id == line_id).values(desk_marked=True)
            )

    async def due_reminders(self, now: datetime) -> list[Ticket]:
        """Waiting tickets nobody has answered, past their reminder or their first-response due time."""
        async with self._db.reading() as session:
            rows = (
                await session.scalars(
                    select(TicketRow).where(
                        TicketRow.state == TicketState.WAITING.value,
                        TicketRow.first_reply_at.is_(None),
                        TicketRow.desk_ts.is_not(None),
                        or_(
                            (TicketRow.reminded_at.is_(None)) & (TicketRow.reminder_due <= now),
                            (TicketRow.breached_at.is_(None)) & (TicketRow.first_response_due <= now),
                        ),
                    )
                )
            ).all()
        return [to_ticket(r) for r in rows]

    async def mark_reminded(
        self, ticket_id: int, *, reminded: datetime | None, breached: datetime | None
    ) -> None:
        values: dict[str, Any] = {}
        if reminded is not None:
            values["reminded_at"] = reminded
        if breached is not None:
            values["breached_at"] = breached
        async with self._db.writing() as session:
            await session.execute(update(TicketRow).where(TicketRow.id == ticket_id).values(**values))

    async def first_time(self, event_id: str) -> bool:
        """True the first time a vendor event id is seen; False for a retry of it."""
        try:
            async with self._db.writing() as session:
                session.add(ProcessedEventRow(event_id=event_id, received_at=utcnow()))
        except IntegrityError:
            return False
        return True

    # -- the conversation before the handoff -------------------------------------------------------

    async def transcript(
        self, ref: ConversationRef, limit: int = 20, before: datetime | None = None
    ) -> list[tuple[str, str, datetime]]:
        query = (
            select(MessageRow.direction, MessageRow.text, MessageRow.created_at, MessageRow.decision)
            .join(ConversationRow, MessageRow.conversation_id == ConversationRow.id)
            .where(ConversationRow.channel == ref.channel.value, ConversationRow.chat_id == ref.chat_id)
            .order_by(MessageRow.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(MessageRow.created_at < before)
        async with self._db.reading() as session:
            rows = (await session.execute(query)).all()
        found = []
        for direction, text, at, decision in reversed(rows):
            author = (
                "customer"
                if direction == Direction.INBOUND.value
                else "agent"
                if decision == AGENT_DECISION
                else "bot"
            )
            found.append((author, text, _aware(at)))
        return found
