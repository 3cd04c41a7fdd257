"""The one place that reads and writes conversations, messages and events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain import ConversationRef, CustomerIdentity, Decision, Direction
from bot.persistence.models import ConversationRow, CustomerRow, EventRow, MessageRow, utcnow


@dataclass(frozen=True, slots=True)
class StoredMessage:
    direction: Direction
    text: str
    decision: Decision | None
    confidence: float | None
    article_id: str | None
    created_at: datetime


class Repository:
    """Implements the engine's ConversationStore port on SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def _insert(self, table: Any) -> Any:
        # Both dialects speak INSERT ... ON CONFLICT DO NOTHING: the race-free get-or-create.
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(table)

    async def _customer_id(self, session: AsyncSession, ref: ConversationRef, who: CustomerIdentity) -> int:
        await session.execute(
            self._insert(CustomerRow)
            .values(
                channel=ref.channel.value,
                channel_user_id=who.channel_user_id,
                display_name=who.display_name,
                language=who.language,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["channel", "channel_user_id"])
        )
        found = await session.scalar(
            select(CustomerRow.id).where(
                CustomerRow.channel == ref.channel.value,
                CustomerRow.channel_user_id == who.channel_user_id,
            )
        )
        assert found is not None
        return int(found)

    async def _conversation_id(self, session: AsyncSession, ref: ConversationRef, customer_id: int) -> int:
        now = utcnow()
        await session.execute(
            self._insert(ConversationRow)
            .values(
                channel=ref.channel.value,
                chat_id=ref.chat_id,
                customer_id=customer_id,
                state="bot",
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["channel", "chat_id"])
        )
        found = await session.scalar(
            select(ConversationRow.id).where(
                ConversationRow.channel == ref.channel.value, ConversationRow.chat_id == ref.chat_id
            )
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
        async with self._sessions.begin() as session:
            customer_id = await self._customer_id(session, ref, customer)
            conversation_id = await self._conversation_id(session, ref, customer_id)
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
            return True

    async def record_event(self, ref: ConversationRef | None, kind: str, payload: dict[str, object]) -> None:
        async with self._sessions.begin() as session:
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
