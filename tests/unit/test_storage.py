"""Storage on both databases: migrations, messages with decisions, dedupe, events."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from bot.domain import Channel, ConversationRef, CustomerIdentity, Decision, Direction
from bot.persistence.database import alembic_config, create_engine, migrate
from bot.persistence.repository import Repository

REF = ConversationRef(Channel.WEB, "abc")
WHO = CustomerIdentity("web:abc", "Ana", "es")


async def test_migrations_create_the_schema_and_can_go_back(database_url: str) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {"customers", "conversations", "messages", "events", "alembic_version"} <= tables
    await migrate(database_url)  # idempotent
    import asyncio

    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "base")
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert tables <= {"alembic_version"}
    await engine.dispose()


async def test_messages_are_stored_in_order_with_decisions(repository: Repository) -> None:
    assert await repository.record_message(
        REF, WHO, Direction.INBOUND, "¿dónde está mi pedido?", vendor_message_id="u1"
    )
    assert await repository.record_message(
        REF,
        WHO,
        Direction.OUTBOUND,
        "Here it is",
        decision=Decision.ANSWER,
        confidence=0.81,
        article_id="track-order",
    )
    stored = await repository.transcript(REF)
    assert [(m.direction, m.text) for m in stored] == [
        (Direction.INBOUND, "¿dónde está mi pedido?"),
        (Direction.OUTBOUND, "Here it is"),
    ]
    assert stored[1].decision is Decision.ANSWER and stored[1].article_id == "track-order"
    assert abs((stored[1].confidence or 0) - 0.81) < 1e-6


async def test_a_vendor_message_id_is_recorded_once_per_channel(repository: Repository) -> None:
    assert await repository.record_message(REF, WHO, Direction.INBOUND, "hi", vendor_message_id="42")
    assert not await repository.record_message(REF, WHO, Direction.INBOUND, "hi", vendor_message_id="42")
    other = ConversationRef(Channel.TELEGRAM, "abc")
    assert await repository.record_message(other, WHO, Direction.INBOUND, "hi", vendor_message_id="42")
    assert await repository.count_messages() == 2


async def test_events_are_kept_with_their_conversation(repository: Repository) -> None:
    await repository.record_message(REF, WHO, Direction.INBOUND, "human please")
    await repository.record_event(REF, "handoff_requested", {"reason": "human_request"})
    assert await repository.events("handoff_requested") == [
        ("handoff_requested", {"reason": "human_request"})
    ]


async def test_many_conversations_writing_at_once_lose_nothing(repository: Repository) -> None:
    import asyncio

    async def conversation(n: int) -> None:
        ref = ConversationRef(Channel.WEB, f"c{n}")
        who = CustomerIdentity(f"web:c{n}")
        for i in range(5):
            assert await repository.record_message(
                ref, who, Direction.INBOUND, f"m{i}", vendor_message_id=f"{n}-{i}"
            )
            await repository.record_message(ref, who, Direction.OUTBOUND, f"r{i}", decision=Decision.ANSWER)
            await repository.record_event(ref, "turn", {"i": i})

    await asyncio.gather(*(conversation(n) for n in range(40)))
    assert await repository.count_messages() == 40 * 5 * 2
    stored = await repository.transcript(ConversationRef(Channel.WEB, "c7"))
    assert [m.text for m in stored] == ["m0", "r0", "m1", "r1", "m2", "r2", "m3", "r3", "m4", "r4"]


async def test_a_reader_never_blocks_a_writer(repository: Repository) -> None:
    """A read transaction left open (a slow request) must not stop replies from being stored."""
    import asyncio

    from sqlalchemy import text

    await repository.record_message(REF, WHO, Direction.INBOUND, "first")
    async with repository._sessions() as session:
        await session.execute(text("SELECT 1"))
        await asyncio.wait_for(repository.record_message(REF, WHO, Direction.INBOUND, "second"), 5)
    assert [m.text for m in await repository.transcript(REF)] == ["first", "second"]
