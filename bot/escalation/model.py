"""The values escalation works with: rules as loaded, hits with their evidence, context inputs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TextTrigger:
    """A trigger read from the customer's words."""

    name: str
    phrases: tuple[str, ...] = ()  # matched with typo tolerance, word by word
    patterns: tuple[re.Pattern[str], ...] = ()  # regular expressions, case-insensitive
    unless: tuple[re.Pattern[str], ...] = ()  # hard negatives: any match vetoes the trigger
    exemplars: tuple[str, ...] = ()  # compared by meaning with the message's embedding
    semantic_threshold: float = 0.6


@dataclass(frozen=True, slots=True)
class ContextRules:
    high_value_total: float = 300.0
    vip_tags: tuple[str, ...] = ("vip", "influencer", "wholesale")
    vip_min_orders: int = 5
    bulk_min_quantity: int = 10
    repeat_within_days: int = 14
    repeat_topic_tags: tuple[str, ...] = ()
    loop_failures_in_a_row: int = 2
    low_csat_at_most: int = 2


@dataclass(frozen=True, slots=True)
class ClusterRules:
    customers: int = 3
    within_hours: float = 72.0
    products: dict[str, tuple[str, ...]] = field(default_factory=dict)  # product -> aliases


@dataclass(frozen=True, slots=True)
class EscalationRules:
    triggers: tuple[TextTrigger, ...]
    precedence: tuple[str, ...]
    benign: tuple[str, ...]  # messages that look alarming but are not (semantic hard negatives)
    benign_margin: float
    negations: tuple[str, ...]
    context: ContextRules
    cluster: ClusterRules
    source: str = "<rules>"

    def rank(self, reason: str) -> int:
        return self.precedence.index(reason) if reason in self.precedence else len(self.precedence)


@dataclass(frozen=True, slots=True)
class TriggerHit:
    reason: str
    score: float  # 1.0 for a rule or context fact; the similarity for a semantic match
    evidence: str  # what fired: the phrase matched, the exemplar closest, the fact


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the detector concluded about one message."""

    hits: tuple[TriggerHit, ...]  # ordered by precedence, the reason first
    considered: tuple[TriggerHit, ...] = ()  # near misses, for `escalation explain`

    @property
    def escalate(self) -> bool:
        return bool(self.hits)

    @property
    def reason(self) -> str | None:
        return self.hits[0].reason if self.hits else None


@dataclass(frozen=True, slots=True)
class OrderContext:
    """What the orders work knows about the customer and the order in question."""

    order_total: float | None = None
    item_quantity: int | None = None
    customer_tags: tuple[str, ...] = ()
    customer_order_count: int | None = None


@dataclass(frozen=True, slots=True)
class ConversationContext:
    """What the conversation so far says."""

    failures_in_a_row: int = 0  # the bot abstained or had to ask again
    repeated_topic: str | None = None  # the same problem raised before, within the window
    last_csat: int | None = None
