"""The engine's view of the world: small Protocols, implemented elsewhere and wired in bot.app."""

from __future__ import annotations

from typing import Protocol

from bot.domain import ConversationRef, CustomerIdentity, Decision, Direction, Reply, SearchResult


class KnowledgeSearch(Protocol):
    """Ranks the knowledge base for one message and decides answer, clarify or abstain."""

    async def search(self, text: str) -> SearchResult: ...

    def article_answer(self, article_id: str) -> tuple[str, str, str | None] | None:
        """(title, answer markdown, link) of an article, or None when it no longer exists."""
        ...


class ConversationStore(Protocol):
    """Persists conversations and every message with the bot's decision."""

    async def record_message(
        self,
        ref: ConversationRef,
        customer: CustomerIdentity,
        direction: Direction,
        text: str,
        *,
        vendor_message_id: str | None = None,
        decision: Decision | None = None,
        confidence: float | None = None,
        article_id: str | None = None,
    ) -> bool:
        """Store one message; False when the vendor id was already recorded (a redelivery)."""
        ...

    async def record_event(
        self, ref: ConversationRef | None, kind: str, payload: dict[str, object]
    ) -> None: ...


class OutgoingChannel(Protocol):
    """Sends replies to a customer on one channel."""

    async def send(self, ref: ConversationRef, reply: Reply) -> None: ...
