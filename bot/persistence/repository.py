"""The one place that reads and writes conversations, messages and events."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain import (
    Channel,
    ConversationRef,
    CustomerIdentity,
    Decision,
    Direction,
    HistoryEntry,
    IncomingMessage,
    OutboxItem,
    Reply,
    Turn,
)
from bot.persistence.database import WRITE_OPTION
from bot.persistence.models import (
    ConversationRow,
    CustomerRow,
    EventRow,
    IncidentRow,
    MessageRow,
    OutboxRow,
    QualityReportRow,
    utcnow,
)

PENDING, WAITING, SENT, UNDELIVERABLE = "pending", "waiting", "sent", "undeliverable"
AGENT_DECISION = Decision.AGENT.value  # how an agent's message to the customer is marked
ID_CACHE_SIZE = 50_000


class _Duplicate(Exception):
    """Raised inside a transaction to roll it back when the vendor id was already recorded."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    direction: Direction
    text: str
    decision: Decision | None
    confidence: float | None
    article_id: str | None
    created_at: datetime


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Repository:
    """Implements the engine's ConversationStore port on SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # Conversations and customers are never deleted, so their ids can be remembered:
        # a turn then costs two inserts instead of four extra round trips to the database.
        self._conversation_ids: OrderedDict[tuple[str, str], int] = OrderedDict()
        # SQLite has one writer at a time. Queue this process's writers here, first come first
        # served, instead of letting hundreds of connections poll the file lock (which starves
        # some past any busy timeout). PostgreSQL needs no such queue.
        self._write_queue = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        if self._write_queue is None:
            async with self._sessions.begin() as session:
                yield session
            return
        async with self._write_queue, self._sessions.begin() as session:
            await session.connection(execution_options={WRITE_OPTION: True})
            yield session

    def writing(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        """A write transaction, queued behind this process's other writers on SQLite."""
        return self._writing()

    def reading(self) -> AsyncSession:
        return self._sessions()

    def remember_conversation(self, ref: ConversationRef, conversation_id: int) -> None:
        """After a commit that created or found the conversation: later turns skip the lookup."""
        self._remember(ref, conversation_id)

    async def conversation_id(
        self, session: AsyncSession, ref: ConversationRef, customer: CustomerIdentity
    ) -> int:
        return await self._ids(session, ref, customer)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def _insert(self, table: Any) -> Any:
        # Both dialects speak INSERT ... ON CONFLICT DO NOTHING: the race-free get-or-create.
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(table)

    async def _customer_id(self, session: AsyncSession, ref: ConversationRef, who: CustomerIdentity) -> int:
        # Get-or-create in one statement: a no-op update on conflict makes RETURNING give the id
        # of the existing row too (both dialects), instead of an insert and then a select.
        statement = self._insert(CustomerRow).values(
            channel=ref.channel.value,
            channel_user_id=who.channel_user_id,
            display_name=who.display_name,
            language=who.language,
            created_at=utcnow(),
        )
        found = await session.scalar(
            statement.on_conflict_do_update(
                index_elements=["channel", "channel_user_id"], set_={"channel": statement.excluded.channel}
            ).returning(CustomerRow.id)
        )
        assert found is not None
        return int(found)

    async def _ids(self, session: AsyncSession, ref: ConversationRef, customer: CustomerIdentity) -> int:
        """The conversation's id, creating the customer and the conversation on first contact."""
        key = (ref.channel.value, ref.chat_id)
        known = self._conversation_ids.get(key)
        if known is not None:
            self._conversation_ids.move_to_end(key)
            return known
        customer_id = await self._customer_id(session, ref, customer)
        return await self._conversation_id(session, ref, customer_id)

    def _remember(self, ref: ConversationRef, conversation_id: int) -> None:
        """Called after the commit: an id from a rolled-back first contact must not be kept."""
        self._conversation_ids[(ref.channel.value, ref.chat_id)] = conversation_id
        if len(self._conversation_ids) > ID_CACHE_SIZE:
            self._conversation_ids.popitem(last=False)

    async def _conversation_id(self, session: AsyncSession, ref: ConversationRef, customer_id: int) -> int:
        now = utcnow()
        statement = self._insert(ConversationRow).values(
            channel=ref.channel.value,
            chat_id=ref.chat_id,
            customer_id=customer_id,
            state="bot",
            created_at=now,
            updated_at=now,
        )
        found = await session.scalar(
            statement.on_conflict_do_update(
                index_elements=["channel", "chat_id"], set_={"channel": statement.excluded.channel}
            ).returning(ConversationRow.id)
        )
        assert found is not None
        return int(found)

    async def record_message(
        self,
        ref: ConversationRef,
        customer: CustomerIdentity,
        direction: Direction,
        text: str,
        *,
        vendor_message_id: str | None = None,
        decision: Decision | None = None,
        confidence: float | None = None,
        article_id: str | None = None,
    ) -> bool:
        async with self._writing() as session:
            conversation_id = await self._ids(session, ref, customer)
            now = utcnow()
            statement = self._insert(MessageRow).values(
                conversation_id=conversation_id,
                direction=direction.value,
                channel=ref.channel.value,
                text=text,
                vendor_message_id=vendor_message_id,
                decision=decision.value if decision else None,
                confidence=confidence,
                article_id=article_id,
                created_at=now,
            )
            if vendor_message_id is not None:
                statement = statement.on_conflict_do_nothing(index_elements=["channel", "vendor_message_id"])
            result = await session.execute(statement)
            if getattr(result, "rowcount", 1) == 0:
                return False
            await session.execute(
                update(ConversationRow).where(ConversationRow.id == conversation_id).values(updated_at=now)
            )
        self._remember(ref, conversation_id)
        return True

    async def seen(self, ref: ConversationRef, vendor_message_id: str) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(MessageRow.id).where(
                    MessageRow.channel == ref.channel.value, MessageRow.vendor_message_id == vendor_message_id
                )
            )
        return found is not None

    async def record_turn(
        self, message: IncomingMessage, stored_text: str, turn: Turn, deliver: bool
    ) -> bool:
        """The message, the replies and their outbox rows, in one transaction: all or nothing.

        False when the vendor id was recorded meanwhile (a concurrent redelivery): nothing is
        written, so a customer never gets the same answer twice.
        """
        ref = message.ref
        try:
            async with self._writing() as session:
                conversation_id = await self._ids(session, ref, message.customer)
                now = utcnow()
                statement = self._insert(MessageRow).values(
                    conversation_id=conversation_id,
                    direction=Direction.INBOUND.value,
                    channel=ref.channel.value,
                    text=stored_text,
                    vendor_message_id=message.vendor_message_id,
                    attachments=[
                        {"kind": a.kind, "file_id": a.vendor_file_id, "name": a.name, "size": a.size}
                        for a in message.attachments
                    ]
                    or None,
                    escalation=[
                        {"reason": r.reason, "score": round(r.score, 4), "evidence": r.evidence}
                        for r in turn.escalation
                    ]
                    or None,
                    created_at=now,
                )
                if message.vendor_message_id is not None:
                    statement = statement.on_conflict_do_nothing(
                        index_elements=["channel", "vendor_message_id"]
                    )
                if getattr(await session.execute(statement), "rowcount", 1) == 0:
                    raise _Duplicate
                for reply in turn.replies:
                    row = MessageRow(
                        conversation_id=conversation_id,
                        direction=Direction.OUTBOUND.value,
                        channel=ref.channel.value,
                        text=reply.text,
                        decision=turn.decision.value,
                        confidence=round(turn.confidence, 4),
                        article_id=turn.article_id,
                        created_at=now,
                    )
                    session.add(row)
                    if deliver:
                        await session.flush()
                        session.add(self._outbox_row(conversation_id, row.id, ref, reply, now))
                await session.execute(
                    update(ConversationRow)
                    .where(ConversationRow.id == conversation_id)
                    .values(updated_at=now)
                )
        except _Duplicate:
            return False
        self._remember(ref, conversation_id)
        return True

    @staticmethod
    def _outbox_row(
        conversation_id: int, message_id: int | None, ref: ConversationRef, reply: Reply, now: datetime
    ) -> OutboxRow:
        return OutboxRow(
            conversation_id=conversation_id,
            message_id=message_id,
            channel=ref.channel.value,
            chat_id=ref.chat_id,
            payload=reply.to_payload(),
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )

    # -- the outbox ------------------------------------------------------------------------

    async def pending_outbox(
        self, channels: set[Channel], limit: int = 200
    ) -> list[tuple[OutboxItem, datetime]]:
        """Pending replies in order, with the time each may be tried."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(OutboxRow)
                    .where(OutboxRow.status == PENDING, OutboxRow.channel.in_([c.value for c in channels]))
                    .order_by(OutboxRow.id)
                    .limit(limit)
                )
            ).all()
        return [
            (
                OutboxItem(
                    row.id,
                    ConversationRef(Channel(row.channel), row.chat_id),
                    Reply.from_payload(row.payload),
                    row.attempts,
                ),
                _aware(row.next_attempt_at),
            )
            for row in rows
        ]

    async def _update_outbox(self, item_id: int, **values: Any) -> None:
        async with self._writing() as session:
            await session.execute(update(OutboxRow).where(OutboxRow.id == item_id).values(**values))

    async def mark_sent(self, item_id: int, vendor_message_id: str | None) -> None:
        await self._update_outbox(item_id, status=SENT, sent_at=utcnow(), vendor_message_id=vendor_message_id)

    async def mark_retry(self, item_id: int, attempts: int, when: datetime, error: str) -> None:
        await self._update_outbox(item_id, attempts=attempts, next_attempt_at=when, last_error=error[:500])

    async def mark_undeliverable(self, item_id: int, reason: str) -> None:
        await self._update_outbox(item_id, status=UNDELIVERABLE, last_error=reason[:500])

    async def mark_waiting(self, item_id: int) -> None:
        """The recipient is offline (a closed widget): wait for them, without spending retries."""
        await self._update_outbox(item_id, status=WAITING)

    async def release_waiting(self, ref: ConversationRef) -> int:
        async with self._writing() as session:
            result = await session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.channel == ref.channel.value,
                    OutboxRow.chat_id == ref.chat_id,
                    OutboxRow.status == WAITING,
                )
                .values(status=PENDING, next_attempt_at=utcnow())
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def outbox_states(self, ref: ConversationRef) -> list[tuple[str, int, str | None]]:
        """(status, attempts, last error) of a conversation's replies, oldest first."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(OutboxRow.status, OutboxRow.attempts, OutboxRow.last_error)
                    .where(OutboxRow.channel == ref.channel.value, OutboxRow.chat_id == ref.chat_id)
                    .order_by(OutboxRow.id)
                )
            ).all()
        return [(r[0], int(r[1]), r[2]) for r in rows]

    async def history(self, ref: ConversationRef, limit: int = 50) -> list[HistoryEntry]:
        """What the customer saw: their messages and the replies that were delivered or are on their way."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(
                        MessageRow.direction,
                        MessageRow.text,
                        MessageRow.created_at,
                        OutboxRow.payload,
                        OutboxRow.id,
                        MessageRow.decision,
                    )
                    .join(ConversationRow, MessageRow.conversation_id == ConversationRow.id)
                    .outerjoin(OutboxRow, OutboxRow.message_id == MessageRow.id)
                    .where(
                        ConversationRow.channel == ref.channel.value, ConversationRow.chat_id == ref.chat_id
                    )
                    .order_by(MessageRow.id.desc())
                    .limit(limit)
                )
            ).all()
        entries = []
        # Replies still on their way are included too, with their outbox id: the widget drops the
        # copy the outbox delivers later, and a reply is never missing from a reload.
        for direction, text, at, payload, reply_id, decision in reversed(rows):
            if direction == Direction.INBOUND.value:
                entries.append(HistoryEntry("customer", text, _aware(at)))
            else:
                reply = Reply.from_payload(payload) if payload else Reply(text)
                author = "agent" if decision == AGENT_DECISION else "bot"
                entries.append(HistoryEntry(author, text, _aware(at), reply, reply_id))
        return entries

    # -- what escalation needs to know --------------------------------------------------------

    async def recent_bot_decisions(self, ref: ConversationRef, limit: int = 5) -> list[Decision]:
        """The bot's latest decisions in this conversation, newest first."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(MessageRow.decision)
                    .join(ConversationRow, MessageRow.conversation_id == ConversationRow.id)
                    .where(
                        ConversationRow.channel == ref.channel.value,
                        ConversationRow.chat_id == ref.chat_id,
                        MessageRow.direction == Direction.OUTBOUND.value,
                    )
                    .order_by(MessageRow.id.desc())
                    .limit(limit)
                )
            ).all()
        return [Decision(d) for d in rows if d]

    async def earlier_articles(self, ref: ConversationRef, since: datetime, before: datetime) -> set[str]:
        """Articles this customer was answered with between `since` and `before`, in any conversation."""
        async with self._sessions() as session:
            customer = await session.scalar(
                select(ConversationRow.customer_id).where(
                    ConversationRow.channel == ref.channel.value, ConversationRow.chat_id == ref.chat_id
                )
            )
            if customer is None:
                return set()
            rows = (
                await session.scalars(
                    select(MessageRow.article_id)
                    .join(ConversationRow, MessageRow.conversation_id == ConversationRow.id)
                    .where(
                        ConversationRow.customer_id == customer,
                        MessageRow.article_id.is_not(None),
                        MessageRow.created_at >= since,
                        MessageRow.created_at < before,
                    )
                )
            ).all()
        return {r for r in rows if r}

    async def report_quality(self, product: str, customer: str, evidence: str, since: datetime) -> int:
        """Record one customer's defect report; return how many customers reported it since `since`."""
        async with self._writing() as session:
            session.add(
                QualityReportRow(
                    product=product, customer=customer, evidence=evidence[:500], created_at=utcnow()
                )
            )
            await session.flush()
            count = await session.scalar(
                select(func.count(func.distinct(QualityReportRow.customer))).where(
                    QualityReportRow.product == product, QualityReportRow.created_at >= since
                )
            )
        return int(count or 0)

    async def open_incident(
        self, kind: str, key: str, since: datetime, reports: int, payload: dict[str, Any]
    ) -> bool:
        """Open an incident unless one for the same thing was opened since `since`; True when opened."""
        async with self._writing() as session:
            existing = await session.scalar(
                select(IncidentRow.id).where(
                    IncidentRow.kind == kind, IncidentRow.key == key, IncidentRow.opened_at >= since
                )
            )
            if existing is not None:
                await session.execute(
                    update(IncidentRow).where(IncidentRow.id == existing).values(reports=reports)
                )
                return False
            session.add(IncidentRow(kind=kind, key=key, opened_at=utcnow(), reports=reports, payload=payload))
        return True

    async def incidents(self, kind: str | None = None) -> list[tuple[str, str, int, dict[str, Any]]]:
        async with self._sessions() as session:
            query = select(IncidentRow).order_by(IncidentRow.id)
            if kind is not None:
                query = query.where(IncidentRow.kind == kind)
            return [(r.kind, r.key, r.reports, r.payload) for r in (await session.scalars(query)).all()]

    async def record_event(self, ref: ConversationRef | None, kind: str, payload: dict[str, object]) -> None:
        async with self._writing() as session:
            conversation_id = None
            if ref is not None:
                conversation_id = await session.scalar(
                    select(ConversationRow.id).where(
                        ConversationRow.channel == ref.channel.value,
                        ConversationRow.chat_id == ref.chat_id,
                    )
                )
            session.add(
                EventRow(conversation_id=conversation_id, kind=kind, payload=payload, created_at=utcnow())
            )

    async def transcript(self, ref: ConversationRef, limit: int = 50) -> list[StoredMessage]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(MessageRow)
                    .join(ConversationRow, MessageRow.conversation_id == ConversationRow.id)
                    .where(
                        ConversationRow.channel == ref.channel.value,
                        ConversationRow.chat_id == ref.chat_id,
                    )
                    .order_by(MessageRow.id.desc())
                    .limit(limit)
                )
            ).all()
        return [
            StoredMessage(
                direction=Direction(row.direction),
                text=row.text,
                decision=Decision(row.decision) if row.decision else None,
                confidence=row.confidence,
                article_id=row.article_id,
                created_at=row.created_at,
            )
            for row in reversed(rows)
        ]

    async def count_messages(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(MessageRow)) or 0)

    async def events(self, kind: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        async with self._sessions() as session:
            query = select(EventRow).order_by(EventRow.id)
            if kind is not None:
                query = query.where(EventRow.kind == kind)
            return [(row.kind, row.payload) for row in (await session.scalars(query)).all()]
