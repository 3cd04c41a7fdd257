"""The live knowledge base: loaded, indexed, learned, reloaded on edit, searched.

Editing must never make the bot slow or silent: a reload swaps in the new index as soon as
it is embedded (seconds), the learned head for the new version trains in the background
while the previous answers keep flowing, and a broken edit leaves the last good version live.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.article import Article
from knowledge_base.calibration import calibrate
from knowledge_base.embedder import BatchingEncoder, Embedder, Vectors
from knowledge_base.errors import InvalidKnowledgeBase, KnowledgeBaseError, Problem
from knowledge_base.index import KnowledgeIndex, build_index
from knowledge_base.learned import HEAD_FORMAT, LearnedHead, train_head
from knowledge_base.loader import check_folder
from knowledge_base.search import DecisionRule, RankingWeights, Verdict, decide, rank
from knowledge_base.vector_cache import VectorCache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchOptions:
    weights: RankingWeights = field(default_factory=RankingWeights)
    abstain_threshold: float | None = None  # None: calibrated on the knowledge base
    abstain_target: float = 0.70  # share of unanswerable questions to refuse, when calibrated
    clarify_margin: float = 0.04
    learn: bool = True
    reload: bool = True
    reload_debounce_ms: int = 300
    remember_vectors: int = 512  # recent message vectors kept (search and escalation share them)


@dataclass(frozen=True)
class _Live:
    index: KnowledgeIndex
    head: LearnedHead | None
    rule: DecisionRule


class KnowledgeService:
    def __init__(
        self,
        folder: Path,
        embedder: Embedder,
        data_dir: Path | None,
        options: SearchOptions | None = None,
        *,
        show_progress: bool = False,
    ) -> None:
        self.folder = folder
        self._embedder = embedder
        self._options = options or SearchOptions()
        self._data_dir = data_dir
        self._cache = VectorCache(data_dir / "vectors.sqlite" if data_dir else None)
        self._encoder = BatchingEncoder(embedder, remember=self._options.remember_vectors)
        self._live: _Live | None = None
        self._show_progress = show_progress
        self._tasks: set[asyncio.Task[None]] = set()
        self._watch_stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self.last_problems: list[Problem] = []
        self.learning: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Load and index; raise when the folder is invalid (nothing good to serve yet)."""
        problems = await self.reload()
        if self._live is None:
            raise InvalidKnowledgeBase(problems) if problems else KnowledgeBaseError("no articles")
        if self._options.reload:
            self._spawn(self._watch())

    async def stop(self) -> None:
        self._watch_stop.set()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._cache.close()

    def _spawn(self, coro: object) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- state -----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._live is not None

    @property
    def index(self) -> KnowledgeIndex:
        if self._live is None:
            raise KnowledgeBaseError("the knowledge base is not loaded yet")
        return self._live.index

    @property
    def head(self) -> LearnedHead | None:
        return None if self._live is None else self._live.head

    @property
    def rule(self) -> DecisionRule:
        if self._live is None:
            raise KnowledgeBaseError("the knowledge base is not loaded yet")
        return self._live.rule

    def article(self, article_id: str) -> Article | None:
        return None if self._live is None else self._live.index.article(article_id)

    def status(self) -> dict[str, object]:
        live = self._live
        return {
            "articles": 0 if live is None else live.index.size,
            "version": None if live is None else live.index.version,
            "learned": bool(live and live.head),
            "abstain_below": None if live is None else round(live.rule.abstain_below, 4),
            "problems": [str(p) for p in self.last_problems],
        }

    # -- loading ---------------------------------------------------------------------------

    async def reload(self) -> list[Problem]:
        """Re-read the folder; swap in the new version only when every file is valid."""
        async with self._reload_lock:
            try:
                result = await asyncio.to_thread(check_folder, self.folder)
            except KnowledgeBaseError as exc:
                problem = Problem(self.folder, 0, str(exc))
                self.last_problems = [problem]
                log.error("knowledge base not reloaded: %s", exc)
                return [problem]
            if result.problems:
                self.last_problems = result.problems
                for problem in result.problems:
                    log.error("knowledge base not reloaded: %s", problem)
                return result.problems
            self.last_problems = []
            await self._install(result.articles)
            return []

    async def install(self, articles: list[Article]) -> None:
        """Serve these articles (already validated), e.g. built from an evaluation file."""
        async with self._reload_lock:
            await self._install(articles)

    async def _install(self, articles: list[Article]) -> None:
        if self._live is not None and self._live.index.version == _version_of(articles):
            return
        index = await asyncio.to_thread(
            build_index, articles, self._embedder, self._cache, show_progress=self._show_progress
        )
        head = self._cached_head(index)
        previous = self._live
        if head is None and previous is not None and previous.head is not None:
            log.info("serving the new articles; the learned ranking is retrained in the background")
        rule = await asyncio.to_thread(self._rule_for, index, head)
        self._live = _Live(index, head, rule)
        log.info(
            "knowledge base live: %d articles, version %s (%d texts embedded now)",
            index.size,
            index.version,
            index.embedded_now,
        )
        if head is None and self._options.learn:
            self.learning = self._spawn(self._learn(index))

    def set_abstain_threshold(self, threshold: float) -> None:
        """Fix the threshold for the served version (an evaluation tuned on a validation split)."""
        live = self._live
        if live is None:
            raise KnowledgeBaseError("the knowledge base is not loaded yet")
        self._live = _Live(live.index, live.head, DecisionRule(threshold, live.rule.clarify_margin))

    async def wait_until_learned(self) -> None:
        if self.learning is not None:
            await asyncio.shield(self.learning)

    def _rule_for(self, index: KnowledgeIndex, head: LearnedHead | None) -> DecisionRule:
        threshold = self._options.abstain_threshold
        if threshold is None:
            threshold = self._calibrated(index, learned=head is not None)
        return DecisionRule(abstain_below=threshold, clarify_margin=self._options.clarify_margin)

    def _calibrated(self, index: KnowledgeIndex, learned: bool) -> float:
        """Calibration costs seconds on a large base: cache it per version, like the head."""
        target = self._options.abstain_target
        path = self._head_path(index.version)
        cache = None if path is None else path.with_name(f"{path.stem}-rule-{int(learned)}-{target:.3f}.json")
        if cache is not None and cache.exists():
            with contextlib.suppress(ValueError, OSError, KeyError):
                return float(json.loads(cache.read_text())["abstain_below"])
        threshold = calibrate(index, learned, self._options.weights, target)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps({"abstain_below": threshold}))
        return threshold

    def _head_path(self, version: str) -> Path | None:
        if self._data_dir is None:
            return None
        space = hashlib.sha256(self._embedder.name.encode()).hexdigest()[:8]
        return self._data_dir / "learned" / f"{space}-{HEAD_FORMAT}-{version}.npz"

    def _cached_head(self, index: KnowledgeIndex) -> LearnedHead | None:
        if not self._options.learn:
            return None
        path = self._head_path(index.version)
        if path is None or not path.exists():
            return None
        head = LearnedHead.load(path)
        return head if head is not None and head.version == index.version else None

    async def _learn(self, index: KnowledgeIndex) -> None:
        head = await asyncio.to_thread(train_head, index)
        if head is None:
            return
        path = self._head_path(index.version)
        if path is not None:
            await asyncio.to_thread(head.save, path)
        live = self._live
        if live is not None and live.index.version == index.version:  # still the served version
            rule = await asyncio.to_thread(self._rule_for, index, head)
            self._live = _Live(index, head, rule)
            log.info("learned ranking ready for version %s", index.version)

    async def _watch(self) -> None:
        from watchfiles import awatch

        async for changes in awatch(
            self.folder,
            stop_event=self._watch_stop,
            debounce=self._options.reload_debounce_ms,
            step=50,
            recursive=True,
        ):
            if any(path.endswith(".md") for _, path in changes):
                try:
                    await self.reload()
                except Exception:  # a failed reload must never stop the watcher
                    log.exception("knowledge base reload failed; the last good version stays live")

    # -- searching -------------------------------------------------------------------------

    async def embed(self, text: str) -> Vectors:
        """The message's vector; the same call from the search and the escalation check encodes once."""
        return await self._encoder.encode_one(text)

    async def search(self, text: str, limit: int = 5) -> Verdict:
        live = self._live
        if live is None:
            raise KnowledgeBaseError("the knowledge base is not loaded yet")
        query = await self._encoder.encode_one(text)
        hits = rank(live.index, query, text, live.head, self._options.weights, limit=limit)
        return decide(hits, live.rule)

    def decide_encoded(self, text: str, query: Vectors, limit: int = 5) -> Verdict:
        """The same decision as search(), for a message already encoded (batch evaluation)."""
        live = self._live
        if live is None:
            raise KnowledgeBaseError("the knowledge base is not loaded yet")
        hits = rank(live.index, query, text, live.head, self._options.weights, limit=limit)
        return decide(hits, live.rule)

    def encode_many(self, texts: Sequence[str]) -> Vectors:
        return self._embedder.encode(texts)


def _version_of(articles: list[Article]) -> str:
    from knowledge_base.index import knowledge_version

    return knowledge_version(articles)
