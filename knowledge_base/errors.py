"""The knowledge base's root exception and the shape of a reported problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class KnowledgeBaseError(Exception):
    """Base class for every error raised on purpose by this package."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in one file, reported the way editors and compilers expect: file:line: what."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class InvalidKnowledgeBase(KnowledgeBaseError):
    """The folder holds files with problems; nothing from it is served until they are fixed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the knowledge base:\n{shown}{more}")
