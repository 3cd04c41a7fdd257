"""Vectors cached by content hash, so an unchanged text is never embedded twice, across restarts."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from knowledge_base.embedder import Embedder, Vectors

PROGRESS_FROM = 256  # texts to embed before a progress bar is worth showing


class VectorCache:
    """A small SQLite file of (hash of model name and text) -> vector.

    SQLite because it is in the standard library, survives crashes mid-write, and
    looks up tens of thousands of keys in one query.
    """

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        if path is None:
            self._db = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()

    def embed(
        self,
        embedder: Embedder,
        texts: Sequence[str],
        *,
        progress: Callable[[int], None] | None = None,
        show_progress: bool = False,
    ) -> tuple[Vectors, int]:
        """Vectors for `texts` (cached where possible) and how many had to be computed."""
        keys = [self.key(embedder.name, t) for t in texts]
        found = self._get_many(set(keys))
        missing = sorted({t for t, k in zip(texts, keys, strict=True) if k not in found})
        if missing:
            # A bar only for long work: a one-article edit should not flash one in the log.
            fresh = embedder.encode(missing, show_progress=show_progress and len(missing) >= PROGRESS_FROM)
            new_rows = {self.key(embedder.name, t): fresh[i] for i, t in enumerate(missing)}
            self._put_many(new_rows)
            found.update(new_rows)
        if progress is not None:
            progress(len(missing))
        dim = embedder.dimension if not found else len(next(iter(found.values())))
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = found[k]
        return out, len(missing)

    def _get_many(self, keys: set[str]) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        key_list = list(keys)
        with self._lock:
            for start in range(0, len(key_list), 900):  # SQLite's bound-parameter limit
                chunk = key_list[start : start + 900]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk)
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _put_many(self, rows: dict[str, Vectors]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in rows.items()],
            )
            self._db.commit()
