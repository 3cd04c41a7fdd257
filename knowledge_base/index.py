"""The searchable form of a knowledge base: one vector per title, question and answer passage."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knowledge_base.article import Article, normalise_question
from knowledge_base.embedder import Embedder, Vectors
from knowledge_base.vector_cache import VectorCache


class EntryKind(enum.IntEnum):
    TITLE = 0
    QUESTION = 1
    PASSAGE = 2


@dataclass(frozen=True)
class KnowledgeIndex:
    articles: tuple[Article, ...]
    vectors: Vectors  # (entries, dim), L2-normalised
    entry_article: np.ndarray[Any, np.dtype[np.int32]]  # row -> article position
    entry_kind: np.ndarray[Any, np.dtype[np.int8]]
    lexical_texts: tuple[str, ...]  # normalised titles and questions, for fuzzy matching
    lexical_article: np.ndarray[Any, np.dtype[np.int32]]
    version: str
    embedded_now: int = 0  # how many texts were embedded (not cached) to build it
    position: dict[str, int] = field(default_factory=dict)
    texts: tuple[str, ...] = ()  # the text of every row
    # Rows (and lexical texts) are stored article by article, so per-article maxima are one
    # np.maximum.reduceat over these starts instead of a slow scatter.
    row_starts: np.ndarray[Any, np.dtype[np.intp]] = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    lexical_starts: np.ndarray[Any, np.dtype[np.intp]] = field(
        default_factory=lambda: np.zeros(0, dtype=np.intp)
    )

    @property
    def size(self) -> int:
        return len(self.articles)

    def article(self, article_id: str) -> Article | None:
        pos = self.position.get(article_id)
        return None if pos is None else self.articles[pos]

    def example_rows(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Rows that are ways of asking (titles and questions), as opposed to answer passages."""
        return np.asarray(self.entry_kind != EntryKind.PASSAGE)


def knowledge_version(articles: Sequence[Article]) -> str:
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.id):
        digest.update(article.content_hash.encode())
    return digest.hexdigest()[:16]


def build_index(
    articles: Sequence[Article],
    embedder: Embedder,
    cache: VectorCache,
    *,
    show_progress: bool = False,
    progress: Callable[[int], None] | None = None,
) -> KnowledgeIndex:
    texts: list[str] = []
    entry_article: list[int] = []
    entry_kind: list[int] = []
    lexical_texts: list[str] = []
    lexical_article: list[int] = []
    for pos, article in enumerate(articles):
        asked = [article.title, *article.questions]
        for kind, items in (
            (EntryKind.TITLE, [article.title]),
            (EntryKind.QUESTION, list(article.questions)),
            (EntryKind.PASSAGE, article.passages()),
        ):
            for text in items:
                texts.append(text)
                entry_article.append(pos)
                entry_kind.append(kind)
        for text in dict.fromkeys(normalise_question(q) for q in asked):
            lexical_texts.append(text)
            lexical_article.append(pos)
    vectors, embedded = cache.embed(embedder, texts, show_progress=show_progress, progress=progress)
    rows_article = np.asarray(entry_article, dtype=np.int32)
    lexical_of = np.asarray(lexical_article, dtype=np.int32)
    every = np.arange(len(articles))
    return KnowledgeIndex(
        articles=tuple(articles),
        vectors=vectors,
        entry_article=rows_article,
        entry_kind=np.asarray(entry_kind, dtype=np.int8),
        lexical_texts=tuple(lexical_texts),
        lexical_article=lexical_of,
        version=knowledge_version(articles),
        embedded_now=embedded,
        position={a.id: i for i, a in enumerate(articles)},
        texts=tuple(texts),
        row_starts=np.searchsorted(rows_article, every),
        lexical_starts=np.searchsorted(lexical_of, every),
    )
