"""Escalation as the engine sees it: one call per message, reasons out, incidents on the side."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.domain import ConversationRef, Decision, EscalationReason, IncomingMessage
from bot.escalation.detector import EscalationDetector, Vector, normalise
from bot.escalation.model import ConversationContext, OrderContext

log = logging.getLogger(__name__)
SAME_SESSION = timedelta(hours=1)  # a problem raised again within the hour is the same contact
QUALITY = "quality_issue"
FAILURES = (Decision.ABSTAIN,)


class EscalationStore(Protocol):
    async def recent_bot_decisions(self, ref: Any, limit: int = 5) -> list[Decision]: ...
    async def earlier_articles(self, ref: Any, since: datetime, before: datetime) -> set[str]: ...
    async def report_quality(self, product: str, customer: str, evidence: str, since: datetime) -> int: ...
    async def open_incident(
        self, kind: str, key: str, since: datetime, reports: int, payload: dict[str, Any]
    ) -> bool: ...


IncidentListener = Callable[[str, str, int, dict[str, Any]], Awaitable[None]]


class EscalationService:
    def __init__(
        self,
        detector: EscalationDetector,
        embed: Callable[[str], Awaitable[Vector]] | None,
        store: EscalationStore,
        article_tags: Callable[[str], tuple[str, ...]],
        on_incident: IncidentListener | None = None,
        order_context: Callable[[ConversationRef], Awaitable[OrderContext | None]] | None = None,
    ) -> None:
        self._detector = detector
        self._order_context = order_context  # the verified customer's order (high value, VIP, bulk)
        self._embed = embed
        self._store = store
        self._article_tags = article_tags
        self._on_incident = on_incident
        self._cluster_lock = asyncio.Lock()

    async def assess(
        self,
        message: IncomingMessage,
        text: str,
        decision: Decision,
        article_id: str | None,
        order: OrderContext | None = None,
    ) -> tuple[EscalationReason, ...]:
        if order is None and self._order_context is not None and decision is not Decision.ORDER:
            # The order's own status question is answered, not escalated; what the customer asks
            # beyond it goes to a person when the order or the customer calls for one.
            order = await self._order_context(message.ref)
        vector = await self._embed(text) if self._embed is not None and self._detector.uses_meaning else None
        conversation = await self._conversation(message, decision, article_id)
        assessment = self._detector.assess(text, vector, order=order, conversation=conversation)
        reasons = tuple(EscalationReason(h.reason, h.score, h.evidence) for h in assessment.hits)
        if any(r.reason == QUALITY for r in reasons):
            await self._report_quality(message, text)
        return reasons

    async def _conversation(
        self, message: IncomingMessage, decision: Decision, article_id: str | None
    ) -> ConversationContext:
        rules = self._detector.rules.context
        failures = 0
        if decision in FAILURES:
            previous = await self._store.recent_bot_decisions(message.ref, rules.loop_failures_in_a_row)
            failures = 1
            for earlier in previous:
                if earlier not in FAILURES:
                    break
                failures += 1
        repeated = None
        if article_id and set(self._article_tags(article_id)) & set(rules.repeat_topic_tags):
            now = datetime.now(UTC)
            answered_before = await self._store.earlier_articles(
                message.ref, now - timedelta(days=rules.repeat_within_days), now - SAME_SESSION
            )
            if article_id in answered_before:
                repeated = article_id
        return ConversationContext(failures_in_a_row=failures, repeated_topic=repeated)

    async def _report_quality(self, message: IncomingMessage, text: str) -> None:
        """Count customers reporting a defect in the same product; N of them open ONE incident."""
        rules = self._detector.rules.cluster
        product = product_named(text, rules.products)
        if product is None:
            return
        since = datetime.now(UTC) - timedelta(hours=rules.within_hours)
        customer = f"{message.ref.channel.value}:{message.customer.channel_user_id}"
        async with self._cluster_lock:  # one replica: no two incidents from a race
            reporters = await self._store.report_quality(product, customer, text[:200], since)
            if reporters < rules.customers:
                return
            payload = {"product": product, "window_hours": rules.within_hours}
            opened = await self._store.open_incident("quality_cluster", product, since, reporters, payload)
        if opened:
            log.warning("quality incident: %d customers reported %s", reporters, product)
            if self._on_incident is not None:
                await self._on_incident("quality_cluster", product, reporters, payload)


def product_named(text: str, products: dict[str, tuple[str, ...]]) -> str | None:
    folded = normalise(text)
    for product, aliases in products.items():
        if any(re.search(rf"\b{re.escape(alias)}s?\b", folded) for alias in aliases):
            return product
    return None
