"""Deciding whether a message is for a person, and why.

Three kinds of evidence, each naming what fired:
- phrases, matched word by word with typo tolerance (rapidfuzz), skipped when negated
  ("not angry") and vetoed by the trigger's hard negatives ("how long do refunds take");
- meaning: the message's embedding (the one the search already computed) against each
  trigger's exemplars, which must also beat the closest benign exemplar by a margin;
- context: the order (value, quantity, customer tags) and the conversation (the bot failing
  in a row, the same problem again, a low rating).
The reason is the highest-precedence trigger that fired.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from bot.escalation.model import (
    Assessment,
    ConversationContext,
    EscalationRules,
    OrderContext,
    TextTrigger,
    TriggerHit,
)

Vector = np.ndarray[Any, np.dtype[np.float32]]
Encode = Callable[[Sequence[str]], np.ndarray[Any, Any]]

TYPO_SCORE = 86  # rapidfuzz ratio for a word group to count as the phrase, misspelt
MIN_FUZZY_LENGTH = 5  # shorter phrases must match exactly ("agent" ~ "urgent" is not a typo)
NEGATION_WINDOW = 3  # words before a phrase in which a negation cancels it
_WORD = re.compile(r"[\w']+")


def normalise(text: str) -> str:
    """Lowercase, accents folded, curly quotes straightened: what phrases are matched against."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").casefold()
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


class EscalationDetector:
    def __init__(self, rules: EscalationRules, encode: Encode | None = None) -> None:
        self.rules = rules
        self._phrases: dict[int, list[tuple[str, str]]] = {}  # words -> [(phrase, trigger)]
        for trigger in rules.triggers:
            for phrase in trigger.phrases:
                folded = " ".join(_WORD.findall(normalise(phrase)))
                self._phrases.setdefault(len(folded.split()), []).append((folded, trigger.name))
        self._negations = {normalise(n) for n in rules.negations}
        self._exemplars: dict[str, tuple[Vector, tuple[str, ...]]] = {}
        self._benign: tuple[Vector, tuple[str, ...]] | None = None
        if encode is not None:
            for trigger in rules.triggers:
                if trigger.exemplars:
                    self._exemplars[trigger.name] = (
                        np.asarray(encode(trigger.exemplars), np.float32),
                        trigger.exemplars,
                    )
            if rules.benign:
                self._benign = (np.asarray(encode(rules.benign), np.float32), rules.benign)

    @property
    def uses_meaning(self) -> bool:
        return bool(self._exemplars)

    def assess(
        self,
        text: str,
        vector: Vector | None = None,
        *,
        order: OrderContext | None = None,
        conversation: ConversationContext | None = None,
    ) -> Assessment:
        folded = normalise(text)
        words = _WORD.findall(folded)
        hits: dict[str, TriggerHit] = {}
        considered: list[TriggerHit] = []
        vetoed = {t.name for t in self.rules.triggers if any(p.search(folded) for p in t.unless)}
        for reason, evidence in self._phrase_hits(words):
            if reason not in vetoed and reason not in hits:
                hits[reason] = TriggerHit(reason, 1.0, f"phrase '{evidence}'")
        for trigger in self.rules.triggers:
            if trigger.name in hits or trigger.name in vetoed:
                continue
            match = next((p.search(folded) for p in trigger.patterns if p.search(folded)), None)
            if match is not None:
                hits[trigger.name] = TriggerHit(trigger.name, 1.0, f"pattern matched '{match.group(0)}'")
        if _shouting(text) and "angry_customer" not in vetoed:
            hits.setdefault("angry_customer", TriggerHit("angry_customer", 1.0, "written in capitals"))
        if vector is not None:
            for hit in self._meaning(vector, vetoed):
                considered.append(hit)
                strong = hit.score >= self._trigger(hit.reason).semantic_threshold
                if strong and hit.reason not in hits and self._beats_benign(vector, hit.score):
                    hits[hit.reason] = hit
        for hit in self._context_hits(order, conversation):
            hits.setdefault(hit.reason, hit)
        ordered = sorted(hits.values(), key=lambda h: (self.rules.rank(h.reason), -h.score))
        return Assessment(tuple(ordered), tuple(sorted(considered, key=lambda h: -h.score)))

    def _trigger(self, name: str) -> TextTrigger:
        return next(t for t in self.rules.triggers if t.name == name)

    def _phrase_hits(self, words: list[str]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for size, phrases in self._phrases.items():
            if len(words) < size:
                continue
            windows = [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]
            targets = [p for p, _ in phrases]
            scores = process.cdist(windows, targets, scorer=fuzz.ratio, dtype=np.uint8, workers=1)
            for start, column in zip(*np.nonzero(scores >= TYPO_SCORE), strict=True):
                phrase, reason = phrases[int(column)]
                window = windows[int(start)]
                # A typo keeps the first letter ("chargback", "humen"); "curious" is not "furious".
                if window != phrase and (len(phrase) < MIN_FUZZY_LENGTH or window[0] != phrase[0]):
                    continue
                if self._negated(words, int(start)):
                    continue
                found.append((reason, window))
        return found

    def _negated(self, words: list[str], start: int) -> bool:
        before = words[max(0, start - NEGATION_WINDOW) : start]
        return any(w in self._negations for w in before)

    def _meaning(self, vector: Vector, vetoed: set[str]) -> list[TriggerHit]:
        hits = []
        for name, (matrix, texts) in self._exemplars.items():
            if name in vetoed:
                continue
            similarities = matrix @ vector
            best = int(np.argmax(similarities))
            hits.append(TriggerHit(name, float(similarities[best]), f"close to '{texts[best]}'"))
        return hits

    def _beats_benign(self, vector: Vector, score: float) -> bool:
        if self._benign is None:
            return True
        return score - float(np.max(self._benign[0] @ vector)) >= self.rules.benign_margin

    def closest_benign(self, vector: Vector) -> tuple[float, str] | None:
        if self._benign is None:
            return None
        similarities = self._benign[0] @ vector
        best = int(np.argmax(similarities))
        return float(similarities[best]), self._benign[1][best]

    def _context_hits(
        self, order: OrderContext | None, conversation: ConversationContext | None
    ) -> list[TriggerHit]:
        rules = self.rules.context
        hits = []
        if order is not None:
            if order.order_total is not None and order.order_total >= rules.high_value_total:
                hits.append(TriggerHit("high_value_order", 1.0, f"order total {order.order_total:.2f}"))
            tags = {t.lower() for t in order.customer_tags} & set(rules.vip_tags)
            if tags:
                hits.append(TriggerHit("vip_customer", 1.0, f"customer tagged {', '.join(sorted(tags))}"))
            elif (
                order.customer_order_count is not None and order.customer_order_count >= rules.vip_min_orders
            ):
                hits.append(TriggerHit("vip_customer", 1.0, f"{order.customer_order_count} orders"))
            if order.item_quantity is not None and order.item_quantity >= rules.bulk_min_quantity:
                hits.append(TriggerHit("bulk_order", 1.0, f"{order.item_quantity} items"))
        if conversation is not None:
            if conversation.failures_in_a_row >= rules.loop_failures_in_a_row:
                hits.append(
                    TriggerHit(
                        "bot_loop",
                        1.0,
                        f"the bot could not help {conversation.failures_in_a_row} times in a row",
                    )
                )
            if conversation.repeated_topic:
                hits.append(
                    TriggerHit("repeat_contact", 1.0, f"'{conversation.repeated_topic}' raised again")
                )
            if conversation.last_csat is not None and conversation.last_csat <= rules.low_csat_at_most:
                hits.append(TriggerHit("low_csat", 1.0, f"rated {conversation.last_csat} of 5"))
        return hits


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) >= 0.8
