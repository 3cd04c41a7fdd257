"""Greetings, thanks and goodbyes are answered without searching the knowledge base."""

from __future__ import annotations

import enum
import re


class SmallTalk(enum.StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    ACK = "ack"
    BOT_QUESTION = "bot_question"
    WELLBEING = "wellbeing"


_PATTERNS: dict[SmallTalk, str] = {
    SmallTalk.GREETING: r"(hi+|hey+|hello+|hiya|howdy|yo|hallo|hola|bonjour|salut|hoi|ciao|good (morning|afternoon|evening|day))( there| guys| team| all| everyone)?",
    SmallTalk.THANKS: r"((many |great |ok |okay )?(thanks?( you)?( so much| a lot| very much)?|thx|ty|tysm|cheers|much appreciated|merci( beaucoup)?|gracias|danke( sch[oö]n)?|dank je( wel)?|bedankt))( for (the|your) help)?",
    SmallTalk.GOODBYE: r"(bye+|goodbye|good bye|see (you|ya)( later)?|later|have a (nice|good|great) (day|one|evening)|ciao|adios|tsch[uü]ss)",
    SmallTalk.ACK: r"(ok+|okay|k|kk|cool|great|perfect|awesome|got it|alright|all right|nice|sounds good|understood|sure|fine)",
    SmallTalk.BOT_QUESTION: r"(are you (a )?(bot|robot|human|real|an? ai)|is this (a )?(bot|robot|human|real person)|who are you|what are you)",
    SmallTalk.WELLBEING: r"(how are you( doing)?|how('s| is) it going|what'?s up|sup)",
}
_COMPILED = {kind: re.compile(rf"^(?:{p})$") for kind, p in _PATTERNS.items()}
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?,;:])\s+|\n+")


def _normalise(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.casefold())
    return " ".join(text.split())


def classify(text: str) -> SmallTalk | None:
    """The kind of small talk when the whole message is small talk, else None."""
    kinds = [_match(part) for part in _parts(text)]
    if not kinds or any(k is None for k in kinds):
        return None
    # "hi, thanks!" is thanks; the most specific kind wins over a greeting or an "ok".
    for preferred in (
        SmallTalk.BOT_QUESTION,
        SmallTalk.THANKS,
        SmallTalk.GOODBYE,
        SmallTalk.WELLBEING,
    ):
        if preferred in kinds:
            return preferred
    return kinds[0]


def strip_pleasantries(text: str) -> str:
    """Drop greeting and thanks sentences around the question, so the search sees the question."""
    parts = _parts(text)
    kept = [p for p in parts if _match(p) is None]
    return " ".join(kept) if kept else text


def _parts(text: str) -> list[str]:
    return [p for p in (s.strip() for s in _SENTENCE_SPLIT.split(text)) if _normalise(p)]


def _match(part: str) -> SmallTalk | None:
    norm = _normalise(part)
    for kind, pattern in _COMPILED.items():
        if pattern.match(norm):
            return kind
    return None
