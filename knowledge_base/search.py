"""Hybrid ranking and the decision: answer, clarify, or say plainly that the bot does not know.

Three signals per article, each in [0, 1]:
- dense: the best cosine between the message and the article's titles, questions and passages;
- lexical: rapidfuzz similarity to the article's titles and questions (catches typo'd keywords,
  order of words, and short messages that the embedding under-weights);
- learned: the probability of a classifier trained on the article's own examples (when trained).
They are fused into one score; the confidence is that score passed through a calibration
fitted on the knowledge base itself (see calibration.py), so thresholds mean the same thing
on any store's articles.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from knowledge_base.embedder import Vectors
from knowledge_base.index import EntryKind, KnowledgeIndex
from knowledge_base.learned import LearnedHead


class Outcome(enum.StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    ABSTAIN = "abstain"


@dataclass(frozen=True, slots=True)
class Hit:
    article_id: str
    title: str
    score: float
    dense: float
    lexical: float
    learned: float | None


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    confidence: float
    hits: tuple[Hit, ...]

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None


@dataclass(frozen=True, slots=True)
class RankingWeights:
    """Chosen on the store's dev queries; a broad plateau (see bench/README.md), not a sharp peak."""

    asked: float = 0.6  # best cosine to a title or listed question
    passage: float = 0.2  # best cosine to a sentence of the answer
    lexical: float = 0.1
    learned: float = 0.8


@dataclass(frozen=True, slots=True)
class DecisionRule:
    abstain_below: float  # confidence under which the bot abstains
    clarify_margin: float  # top two within this margin (and both plausible): offer choices


def article_scores(
    index: KnowledgeIndex,
    query: Vectors,
    text: str,
    head: LearnedHead | None,
    weights: RankingWeights,
    *,
    exclude_rows: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    exclude_lexical: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
) -> tuple[Vectors, Vectors, Vectors, Vectors | None]:
    """(fused, dense, lexical, learned) per article. The masks hide entries (for calibration)."""
    cosines = index.vectors @ query
    if exclude_rows is not None:
        cosines = np.where(exclude_rows, -1.0, cosines)
    is_passage = index.entry_kind == EntryKind.PASSAGE
    asked = _best_per_article(index, np.where(is_passage, -1.0, cosines))
    passage = _best_per_article(index, np.where(is_passage, cosines, -1.0))
    lexical = lexical_scores(index, text, exclude_lexical)
    fused = weights.asked * asked + weights.passage * passage + weights.lexical * lexical
    total = weights.asked + weights.passage + weights.lexical
    learned = None
    if head is not None and head.version == index.version:
        learned = head.probabilities(query)
        fused = fused + weights.learned * learned
        total += weights.learned
    return np.asarray(fused / total, dtype=np.float32), asked, lexical, learned


def _best_per_article(index: KnowledgeIndex, cosines: Vectors) -> Vectors:
    best = np.maximum.reduceat(cosines.astype(np.float32), index.row_starts)
    return np.clip(best, 0.0, 1.0)


def lexical_scores(
    index: KnowledgeIndex, text: str, exclude: np.ndarray[Any, np.dtype[np.bool_]] | None = None
) -> Vectors:
    """Best fuzzy match per article over its titles and questions, in [0, 1]."""
    query = " ".join("".join(ch if ch.isalnum() else " " for ch in text.casefold()).split())
    if not query or not index.lexical_texts:
        return np.zeros(index.size, dtype=np.float32)
    scores = process.cdist([query], index.lexical_texts, scorer=fuzz.token_set_ratio, dtype=np.uint8)[0]
    if exclude is not None:
        scores = np.where(exclude, 0, scores)
    return np.asarray(
        np.maximum.reduceat(scores.astype(np.float32) / 100.0, index.lexical_starts), dtype=np.float32
    )


def rank(
    index: KnowledgeIndex,
    query: Vectors,
    text: str,
    head: LearnedHead | None,
    weights: RankingWeights,
    limit: int = 5,
) -> list[Hit]:
    fused, dense, lexical, learned = article_scores(index, query, text, head, weights)
    order = np.argsort(-fused)[:limit]
    return [
        Hit(
            article_id=index.articles[i].id,
            title=index.articles[i].title,
            score=float(fused[i]),
            dense=float(dense[i]),
            lexical=float(lexical[i]),
            learned=None if learned is None else float(learned[i]),
        )
        for i in order
    ]


def decide(hits: list[Hit], rule: DecisionRule) -> Verdict:
    if not hits:
        return Verdict(Outcome.ABSTAIN, 0.0, ())
    top = hits[0]
    confidence = top.score
    if confidence < rule.abstain_below:
        return Verdict(Outcome.ABSTAIN, confidence, tuple(hits))
    if (
        len(hits) > 1
        and top.score - hits[1].score < rule.clarify_margin
        and hits[1].score >= rule.abstain_below
    ):
        return Verdict(Outcome.CLARIFY, confidence, tuple(hits))
    return Verdict(Outcome.ANSWER, confidence, tuple(hits))
