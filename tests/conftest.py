"""Shared fixtures: a small knowledge base, both databases, a hashing embedder for speed."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot.persistence.database import create_engine, migrate
from bot.persistence.repository import Repository
from knowledge_base.embedder import HashingEmbedder

FIXTURES = Path(__file__).resolve().parent / "fixtures"
POSTGRES_ADMIN_URL = os.environ.get(
    "SUPPORTBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def kb_folder(tmp_path: Path) -> Path:
    """A writable copy of the small test knowledge base."""
    folder = tmp_path / "kb"
    shutil.copytree(FIXTURES / "kb", folder)
    return folder


@pytest.fixture
def hashing() -> HashingEmbedder:
    return HashingEmbedder()


async def _postgres_available() -> bool:
    import asyncpg

    try:
        connection = await asyncpg.connect(_plain(POSTGRES_ADMIN_URL), timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database of each kind. PostgreSQL gets its own throwaway database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not await _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (required in CI)")
        pytest.skip("PostgreSQL is not running on this machine")
    import asyncpg

    name = f"supportbot_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_plain(POSTGRES_ADMIN_URL))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(_plain(POSTGRES_ADMIN_URL))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def repository(database_url: str) -> AsyncIterator[Repository]:
    await migrate(database_url)
    engine = create_engine(database_url)
    yield Repository(engine)
    await engine.dispose()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never read the developer's own SUPPORTBOT_ settings."""
    for key in list(os.environ):
        if key.startswith("SUPPORTBOT_") and not key.startswith("SUPPORTBOT_TEST_"):
            monkeypatch.delenv(key)
    yield
