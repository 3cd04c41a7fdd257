"""A light classifier over frozen embeddings, learned from the articles' own example questions.

Nearest neighbour alone trusts every example equally; the classifier learns which directions
of the embedding separate close neighbours (refund timing vs return window), which is where
plain cosine ranking loses most. It trains in seconds and is cached per knowledge-base version.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base.embedder import Vectors
from knowledge_base.index import EntryKind, KnowledgeIndex

log = logging.getLogger(__name__)
HEAD_FORMAT = "lr100"  # part of the cache key: change it when the training recipe changes


@dataclass(frozen=True)
class LearnedHead:
    """Softmax regression: probabilities over the articles of one index version."""

    version: str
    weights: np.ndarray[Any, np.dtype[np.float32]]  # (dim, articles)
    bias: np.ndarray[Any, np.dtype[np.float32]]  # (articles,)

    def probabilities(self, query: Vectors) -> Vectors:
        logits = query @ self.weights + self.bias
        logits = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=-1, keepdims=True), dtype=np.float32)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, weights=self.weights, bias=self.bias, version=np.array(self.version))
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)  # atomic: a crash never leaves a half-written head behind

    @classmethod
    def load(cls, path: Path) -> LearnedHead | None:
        try:
            with np.load(path) as data:
                return cls(str(data["version"]), data["weights"], data["bias"])
        except (OSError, ValueError, KeyError):
            return None


def training_rows(
    index: KnowledgeIndex, include_passages: bool = True
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    rows = index.entry_kind != EntryKind.PASSAGE
    if include_passages:
        rows = np.ones_like(rows, dtype=bool)
    return np.asarray(rows)


def train_head(index: KnowledgeIndex, c: float = 100.0, max_iter: int = 500) -> LearnedHead | None:
    """Fit on titles, questions and answer passages; None when there is nothing to separate."""
    return fit_head(index, training_rows(index), c=c, max_iter=max_iter)


def fit_head(
    index: KnowledgeIndex,
    rows: np.ndarray[Any, np.dtype[np.bool_]],
    c: float = 100.0,
    max_iter: int = 500,
) -> LearnedHead | None:
    """Fit on the selected rows only (calibration hides some); unseen articles get zero probability."""
    from sklearn.linear_model import LogisticRegression

    x = index.vectors[rows]
    y = index.entry_article[rows]
    if len(np.unique(y)) < 2:
        return None
    model = LogisticRegression(C=c, max_iter=max_iter)
    model.fit(x, y)
    weights = np.zeros((x.shape[1], index.size), dtype=np.float32)
    bias = np.full(index.size, -1e4, dtype=np.float32)
    classes = model.classes_.astype(int)
    weights[:, classes] = model.coef_.T.astype(np.float32)
    bias[classes] = model.intercept_.astype(np.float32)
    return LearnedHead(index.version, weights, bias)
