"""Checking and cleaning what a customer typed before anything else looks at it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


@dataclass(frozen=True, slots=True)
class CheckedText:
    text: str  # cleaned, ready for the engine
    problem: str | None  # a reason to refuse it, phrased as a code for the reply table


def check_message(raw: str, max_chars: int) -> CheckedText:
    """Strip control characters; refuse empty, oversized and non-text input."""
    if len(raw) > max_chars:
        return CheckedText(raw[:max_chars], "too_long")
    junk = len(_CONTROL.findall(raw))
    cleaned = unicodedata.normalize("NFC", _CONTROL.sub(" ", raw))
    cleaned = (
        " ".join(cleaned.split())
        if "\n" not in cleaned
        else "\n".join(" ".join(line.split()) for line in cleaned.splitlines() if line.strip())
    )
    if not cleaned:
        return CheckedText("", "binary" if junk else "empty")
    if junk > max(3, len(raw) // 10) or not any(ch.isalnum() or _is_emoji(ch) for ch in cleaned):
        return CheckedText(cleaned, "binary" if junk else "no_words")
    return CheckedText(cleaned, None)


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So"
