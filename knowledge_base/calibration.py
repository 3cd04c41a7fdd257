"""Choosing the abstain threshold from the knowledge base itself, with no labelled traffic.

Cross-fitting makes both kinds of examples out of the articles. The articles are split into
folds; for each fold:
- unanswerable: the questions of the fold's articles, asked of an index (and a learned head)
  from which those articles are hidden, play questions the knowledge base does not cover,
  asked right next to covered topics (the hard case);
- answerable: one question of every other article, hidden from the index and from the head's
  training, must still find its article through the rest (title, other questions, answer).
The threshold refuses a chosen share of the unanswerable probes. Because the head is
trained without the probes, the scores are honest: no probe is ever its own evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from knowledge_base.article import normalise_question
from knowledge_base.index import EntryKind, KnowledgeIndex
from knowledge_base.learned import fit_head
from knowledge_base.search import RankingWeights, article_scores

DEFAULT_THRESHOLD = 0.5
FOLDS = 5
MAX_PROBES_PER_FOLD = 80


@dataclass(frozen=True)
class Probes:
    answerable: np.ndarray[Any, np.dtype[np.float64]]  # top score
    answerable_correct: np.ndarray[Any, np.dtype[np.bool_]]
    unanswerable: np.ndarray[Any, np.dtype[np.float64]]


def cross_fitted_probes(index: KnowledgeIndex, weights: RankingWeights, learn: bool, seed: int = 0) -> Probes:
    rng = np.random.default_rng(seed)
    folds = np.array_split(rng.permutation(index.size), min(FOLDS, index.size))
    questions = index.entry_kind == EntryKind.QUESTION
    same_text: dict[str, list[int]] = {}
    for position, text in enumerate(index.lexical_texts):
        same_text.setdefault(text, []).append(position)
    answerable: list[float] = []
    correct: list[bool] = []
    unanswerable: list[float] = []
    for fold in folds:
        hidden_article = np.isin(index.entry_article, fold)
        probe_rows = _one_question_each(index, questions & ~hidden_article, rng)
        hidden_rows = hidden_article.copy()
        hidden_rows[probe_rows] = True
        head = fit_head(index, ~hidden_rows) if learn else None
        lexical_hidden = np.isin(index.lexical_article, fold)
        for row in probe_rows:
            text = index.texts[row]
            same = lexical_hidden.copy()
            same[same_text.get(normalise_question(text), [])] = True
            fused, *_ = article_scores(
                index, index.vectors[row], text, head, weights, exclude_rows=hidden_rows, exclude_lexical=same
            )
            fused[fold] = -1.0
            answerable.append(float(fused.max()))
            correct.append(int(np.argmax(fused)) == int(index.entry_article[row]))
        fold_questions = np.flatnonzero(questions & hidden_article)
        if len(fold_questions) > MAX_PROBES_PER_FOLD:
            fold_questions = rng.choice(fold_questions, MAX_PROBES_PER_FOLD, replace=False)
        for fold_row in fold_questions:
            row = int(fold_row)
            text = index.texts[row]
            fused, *_ = article_scores(
                index,
                index.vectors[row],
                text,
                head,
                weights,
                exclude_rows=hidden_rows,
                exclude_lexical=lexical_hidden,
            )
            fused[fold] = -1.0
            unanswerable.append(float(fused.max()))
    return Probes(np.array(answerable), np.array(correct, dtype=bool), np.array(unanswerable))


def _one_question_each(
    index: KnowledgeIndex, eligible: np.ndarray[Any, np.dtype[np.bool_]], rng: np.random.Generator
) -> list[int]:
    """One random question row per article that keeps at least one other way of being asked."""
    asked = index.entry_kind != EntryKind.PASSAGE
    asked_count = np.bincount(index.entry_article[asked], minlength=index.size)
    rows = rng.permutation(np.flatnonzero(eligible))
    articles = index.entry_article[rows]
    _, first = np.unique(articles, return_index=True)  # a random row per article (rows are shuffled)
    chosen = [int(rows[i]) for i in first if asked_count[articles[i]] >= 2]
    if len(chosen) > MAX_PROBES_PER_FOLD:
        chosen = [int(r) for r in rng.choice(chosen, MAX_PROBES_PER_FOLD, replace=False)]
    return chosen


def calibrate(index: KnowledgeIndex, learn: bool, weights: RankingWeights, refuse_share: float) -> float:
    """The score under which `refuse_share` of the unanswerable probes fall.

    A store states the trade-off it wants in one number ("refuse about 75% of questions
    we cannot answer"); the threshold follows from its own articles, whatever their style.
    Maximising balanced accuracy instead was measured to over-refuse answerable questions.
    """
    if index.size < 3:
        return DEFAULT_THRESHOLD
    probes = cross_fitted_probes(index, weights, learn)
    if len(probes.unanswerable) == 0:
        return DEFAULT_THRESHOLD
    return float(np.quantile(probes.unanswerable, refuse_share))
