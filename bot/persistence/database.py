"""Opening the database and bringing its schema up to date with Alembic."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import SupportBotError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE_OPTION = "supportbot_writes"  # execution option marking a write transaction


class DatabaseError(SupportBotError):
    """The database cannot be opened or migrated."""


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Many conversations at once each hold a connection briefly; the default 5 + 10 queue up.
    engine = create_async_engine(
        url,
        pool_pre_ping=not parsed.drivername.startswith("sqlite"),
        pool_size=10,
        max_overflow=20,
        pool_timeout=60,
    )
    if parsed.drivername.startswith("sqlite"):
        _sqlite_for_concurrency(engine)
    return engine


def _sqlite_for_concurrency(engine: AsyncEngine) -> None:
    """SQLite defaults that break under concurrent conversations, fixed.

    A deferred transaction that reads and then writes fails at once with "database is locked"
    when another connection holds the write lock (SQLite skips the busy handler to avoid a
    deadlock). BEGIN IMMEDIATE takes the write lock up front, so writers queue for up to
    busy_timeout instead. Foreign keys are off unless asked for; WAL lets readers run alongside.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # the driver must not emit its own BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no committed data
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection):  # type: ignore[no-untyped-def]
        # Only writers take the write lock up front; a reader taking it would queue behind
        # every writer (and hold a pooled connection while it waits).
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(url: str, revision: str = "head") -> None:
    """Apply migrations. Alembic's env runs its own event loop, so it goes to a worker thread."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), revision)
    except Exception as exc:
        raise DatabaseError(
            f"cannot migrate the database at {parsed.render_as_string(hide_password=True)}: {exc}"
        ) from exc
