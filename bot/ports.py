"""The engine's view of the world: small Protocols, implemented elsewhere and wired in bot.app."""

from __future__ import annotations

from typing import Protocol

from bot.domain import (
    ConversationRef,
    Decision,
    EscalationReason,
    IncomingMessage,
    OrderReply,
    Reply,
    SearchResult,
    Turn,
)


class KnowledgeSearch(Protocol):
    """Ranks the knowledge base for one message and decides answer, clarify or abstain."""

    async def search(self, text: str) -> SearchResult: ...

    def article_answer(self, article_id: str) -> tuple[str, str, str | None] | None:
        """(title, answer markdown, link) of an article, or None when it no longer exists."""
        ...


class ConversationStore(Protocol):
    """Persists conversations and every message with the bot's decision."""

    async def seen(self, ref: ConversationRef, vendor_message_id: str) -> bool:
        """Whether this vendor message was already handled (a redelivery)."""
        ...

    async def record_turn(
        self, message: IncomingMessage, stored_text: str, turn: Turn, deliver: bool
    ) -> bool:
        """Store the message, the decision and the replies (queued for sending when `deliver`)
        in one transaction; False when the vendor id was recorded meanwhile."""
        ...

    async def record_event(
        self, ref: ConversationRef | None, kind: str, payload: dict[str, object]
    ) -> None: ...


class OutgoingChannel(Protocol):
    """Sends replies to a customer on one channel."""

    async def send(self, ref: ConversationRef, reply: Reply) -> None: ...


class ReplySender(Protocol):
    """Delivers one stored reply on one channel; raises bot.errors.DeliveryError subclasses."""

    async def send(self, ref: ConversationRef, reply: Reply, reply_id: int) -> str | None:
        """Send; return the vendor's message id when it has one. `reply_id` is the outbox row,
        stable across retries, so a client can drop a reply it has already shown."""
        ...


class EscalationCheck(Protocol):
    """Decides whether a message is for a person; the reasons come highest precedence first."""

    async def assess(
        self, message: IncomingMessage, text: str, decision: Decision, article_id: str | None
    ) -> tuple[EscalationReason, ...]: ...


class OrderAssistant(Protocol):
    """Answers questions about the customer's own orders, after verifying who is asking."""

    async def handle(self, message: IncomingMessage, text: str) -> OrderReply | None:
        """The answer when the message is about an order (or continues an order lookup); else None."""
        ...

    async def summary(self, ref: ConversationRef) -> dict[str, object] | None:
        """The conversation's verified order as agents may see it (masked), for a handoff."""
        ...
