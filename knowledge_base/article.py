"""An article: one answer and the ways customers ask for it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    answer: str
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    link: str | None = None
    source: Path | None = None
    line: int = 1

    @property
    def content_hash(self) -> str:
        """Changes exactly when what the bot would index or say changes."""
        payload = json.dumps(
            [self.id, self.title, self.answer, self.questions, self.tags, self.related, self.link]
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def passages(self) -> list[str]:
        """The answer split into sentence-sized passages: the index embeds each one."""
        plain = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", self.answer)
        plain = re.sub(r"[*_`#>]", " ", plain)
        pieces = re.split(r"(?<=[.!?])\s+|\n\s*[-+]\s+|\n{2,}", plain)
        cleaned = [" ".join(p.split()) for p in pieces]
        return [p for p in cleaned if len(p) >= 12]


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80].rstrip("-") or "article"


def normalise_question(text: str) -> str:
    """Two questions that differ only in case, spacing or punctuation are the same question."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())
