"""Adapts the knowledge_base package to the engine's KnowledgeSearch port (domain values only)."""

from __future__ import annotations

from pathlib import Path

from bot.domain import Candidate, Decision, SearchResult
from bot.settings import Settings
from knowledge_base.embedder import Embedder, HashingEmbedder, SentenceTransformerEmbedder
from knowledge_base.search import Hit, Outcome
from knowledge_base.service import KnowledgeService, SearchOptions

_DECISIONS = {
    Outcome.ANSWER: Decision.ANSWER,
    Outcome.CLARIFY: Decision.CLARIFY,
    Outcome.ABSTAIN: Decision.ABSTAIN,
}


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "hashing":
        return HashingEmbedder()
    return SentenceTransformerEmbedder(settings.model_path)


def make_knowledge_service(
    settings: Settings, embedder: Embedder | None = None, *, show_progress: bool = False
) -> KnowledgeService:
    options = SearchOptions(
        abstain_threshold=settings.abstain_threshold,
        abstain_target=settings.abstain_target,
        clarify_margin=settings.clarify_margin,
        learn=settings.learn,
        reload=settings.kb_reload,
    )
    return KnowledgeService(
        Path(settings.kb_path),
        embedder or make_embedder(settings),
        settings.data_dir,
        options,
        show_progress=show_progress,
    )


def to_candidate(hit: Hit) -> Candidate:
    return Candidate(hit.article_id, hit.title, hit.score, hit.dense, hit.lexical, hit.learned)


class KnowledgeSearchAdapter:
    """The engine's view of the knowledge base."""

    def __init__(self, service: KnowledgeService) -> None:
        self._service = service

    async def search(self, text: str) -> SearchResult:
        verdict = await self._service.search(text)
        decision = _DECISIONS[verdict.outcome]
        top = verdict.top
        return SearchResult(
            decision=decision,
            confidence=verdict.confidence,
            candidates=tuple(to_candidate(h) for h in verdict.hits),
            answer_article_id=top.article_id if top is not None and decision is Decision.ANSWER else None,
        )

    def article_answer(self, article_id: str) -> tuple[str, str, str | None] | None:
        article = self._service.article(article_id)
        if article is None:
            return None
        return article.title, article.answer, article.link
