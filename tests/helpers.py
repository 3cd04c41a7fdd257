"""Building a real engine around a test knowledge base, with the fast hashing embedder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.engine import Engine, RecordingHandoff
from bot.knowledge import KnowledgeSearchAdapter
from bot.persistence.repository import Repository
from bot.replies import Wording
from bot.settings import Settings, load_settings
from knowledge_base.embedder import Embedder, HashingEmbedder
from knowledge_base.service import KnowledgeService, SearchOptions

WORDING = Wording("Test Store", "help@test.example, Mon–Fri 9–17")


async def started_service(
    folder: Path, data_dir: Path | None = None, embedder: Embedder | None = None, **options: object
) -> KnowledgeService:
    opts = SearchOptions(reload=bool(options.pop("reload", False)), **options)  # type: ignore[arg-type]
    service = KnowledgeService(folder, embedder or HashingEmbedder(), data_dir, opts)
    await service.start()
    await service.wait_until_learned()
    return service


def make_engine(service: KnowledgeService, repository: Repository, max_chars: int = 4000) -> Engine:
    return Engine(
        KnowledgeSearchAdapter(service), repository, WORDING, RecordingHandoff(repository, WORDING), max_chars
    )


def fast_settings(kb: Path, data: Path, **extra: Any) -> Settings:
    """The app's settings for tests: the test knowledge base, the hashing embedder, no file watcher."""
    values: dict[str, Any] = {
        "kb_path": kb,
        "data_dir": data,
        "embedder": "hashing",
        "kb_reload": False,
        "abstain_threshold": 0.3,
    }
    values.update(extra)
    return load_settings(**values)
