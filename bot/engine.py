"""The channel-agnostic brain: one customer message in, the bot's decision and replies out.

It sees only ports (bot.ports) and domain values; no vendor library, no database driver.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Protocol

from bot.domain import (
    OUTBOX_CHANNELS,
    Candidate,
    ConversationRef,
    Decision,
    EscalationReason,
    IncomingMessage,
    OrderReply,
    Reply,
    Turn,
)
from bot.ports import ConversationStore, EscalationCheck, KnowledgeSearch, OrderAssistant
from bot.replies import ARTICLE_PAYLOAD_PREFIX, HUMAN_PAYLOAD, START_PAYLOAD, Wording
from bot.small_talk import SmallTalk, classify, strip_pleasantries
from bot.text import check_message

log = logging.getLogger(__name__)


def understand(text: str) -> SmallTalk | str:
    """Small talk is answered as such; anything else becomes the query the search sees."""
    kind = classify(text)
    return kind if kind is not None else strip_pleasantries(text)


class HandoffGateway(Protocol):
    """Where a conversation goes when a person must take over."""

    async def request(
        self,
        message: IncomingMessage,
        reasons: tuple[EscalationReason, ...],
        order: dict[str, object] | None = None,
    ) -> Reply:
        """Open (or add to) the conversation's ticket, with the order when one is known; the reply
        tells the customer what happens next."""
        ...

    async def intercept(self, message: IncomingMessage, text: str) -> Turn | None:
        """The handoff's own turn when a person owns the conversation (the bot stays quiet),
        or when the message answers the handoff (a rating); None lets the bot answer."""
        ...


class Engine:
    def __init__(
        self,
        search: KnowledgeSearch,
        store: ConversationStore,
        wording: Wording,
        handoff: HandoffGateway,
        max_message_chars: int,
        on_enqueued: Callable[[ConversationRef], None] | None = None,
        escalation: EscalationCheck | None = None,
        orders: OrderAssistant | None = None,
    ) -> None:
        self._search = search
        self._store = store
        self._wording = wording
        self._handoff = handoff
        self._max_chars = max_message_chars
        self._on_enqueued = on_enqueued  # wakes the outbox sender
        self._escalation = escalation
        self._orders = orders
        # One lock per live conversation: a customer's messages are answered in order.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, ref: ConversationRef) -> asyncio.Lock:
        lock = self._locks.get(ref.key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[ref.key] = lock
        return lock

    async def handle(self, message: IncomingMessage) -> Turn | None:
        """Decide and record; None when this vendor message was already handled (a redelivery)."""
        lock = self._lock(message.ref)
        async with lock:
            return await self._handle_locked(message)

    async def _handle_locked(self, message: IncomingMessage) -> Turn | None:
        ref = message.ref
        if message.vendor_message_id is not None and await self._store.seen(ref, message.vendor_message_id):
            log.info("duplicate delivery ignored", extra={"conversation": ref.key})
            return None
        checked = check_message(message.text, self._max_chars)
        intercepted = await self._handoff.intercept(message, checked.text if checked.problem is None else "")
        if intercepted is not None:
            turn = intercepted
        elif message.button_payload:
            turn = await self._on_button(message, message.button_payload)
        elif message.attachments and checked.problem in ("empty", None):
            turn = await self._on_attachments(message, checked.text if checked.problem is None else "")
        elif checked.problem is not None:
            reply = self._wording.invalid(checked.problem, self._max_chars)
            turn = Turn(Decision.INVALID, 0.0, (reply,))
        else:
            turn = await self._on_text(message, checked.text)
        deliver = ref.channel in OUTBOX_CHANNELS
        # The message, the decision and the replies are stored together before anything is sent.
        if not await self._store.record_turn(message, checked.text, turn, deliver):
            log.info("concurrent duplicate delivery ignored", extra={"conversation": ref.key})
            return None
        if deliver and self._on_enqueued is not None:
            self._on_enqueued(ref)
        return turn

    async def _on_attachments(self, message: IncomingMessage, text: str) -> Turn:
        kinds = sorted({a.kind for a in message.attachments})
        ack = self._wording.attachment_received(kinds)
        if not text:
            return Turn(Decision.ACKNOWLEDGE, 1.0, (ack,))
        answered = await self._on_text(message, text)
        return Turn(
            answered.decision,
            answered.confidence,
            (ack, *answered.replies),
            article_id=answered.article_id,
            candidates=answered.candidates,
        )

    async def _on_text(self, message: IncomingMessage, text: str) -> Turn:
        understood = understand(text)
        if isinstance(understood, SmallTalk):
            return Turn(Decision.SMALL_TALK, 1.0, (self._wording.small_talk(understood),))
        if self._orders is not None:
            # Order questions are answered from the store's orders, not the knowledge base.
            handled = await self._orders.handle(message, understood)
            if handled is not None and not handled.asks_for_details:
                return await self._order_turn(message, understood, handled)
        else:
            handled = None
        try:
            result = await self._search.search(understood)
        except Exception:  # the customer gets a plain apology, never a stack trace
            log.exception("search failed", extra={"conversation": message.ref.key})
            return Turn(Decision.ABSTAIN, 0.0, (self._wording.unavailable(),))
        if handled is not None:
            # "When will my parcel arrive?": the general answer when the knowledge base has one,
            # then the offer to check their own order; the escalation check applies as for any order turn.
            if result.decision is not Decision.ANSWER or not result.answer_article_id:
                return await self._order_turn(message, understood, handled)
            order_turn = await self._order_turn(message, understood, handled)
            if order_turn.decision is Decision.ESCALATE:
                return order_turn
            answered = self._answer_turn(result.answer_article_id, result.confidence, result.candidates)
            return Turn(
                answered.decision,
                answered.confidence,
                (*answered.replies, *handled.replies),
                article_id=answered.article_id,
                candidates=answered.candidates,
            )
        if self._escalation is not None:
            # The check reuses the search's embedding of the same text (no second encode).
            reasons = await self._escalation.assess(
                message, understood, result.decision, result.answer_article_id
            )
            if reasons:
                order = await self._orders.summary(message.ref) if self._orders is not None else None
                reply = await self._handoff.request(message, reasons, order)
                return Turn(
                    Decision.ESCALATE, 1.0, (reply,), candidates=result.candidates, escalation=reasons
                )
        if result.decision is Decision.ANSWER and result.answer_article_id:
            return self._answer_turn(result.answer_article_id, result.confidence, result.candidates)
        if result.decision is Decision.CLARIFY:
            titles = [(c.article_id, c.title) for c in result.candidates[:3]]
            reply = self._wording.clarify(titles)
            return Turn(Decision.CLARIFY, result.confidence, (reply,), candidates=result.candidates)
        return Turn(
            Decision.ABSTAIN, result.confidence, (self._wording.abstain(),), candidates=result.candidates
        )

    async def _order_turn(self, message: IncomingMessage, text: str, handled: OrderReply) -> Turn:
        """The order answer, handed to a person too when the order is late or the words call for one."""
        reasons = handled.escalation
        if self._escalation is not None and text:
            said = await self._escalation.assess(message, text, Decision.ORDER, None)
            reasons = (*said, *reasons)  # what the customer says (a refund, anger) comes first
        if not reasons:
            return Turn(Decision.ORDER, 1.0, handled.replies)
        # The status is worth saying when we have it; a question for the order number is not.
        said_first = handled.replies if handled.order is not None else ()
        reply = await self._handoff.request(message, reasons, handled.order)
        return Turn(Decision.ESCALATE, 1.0, (*said_first, reply), escalation=reasons)

    def _answer_turn(self, article_id: str, confidence: float, candidates: tuple[Candidate, ...]) -> Turn:
        found = self._search.article_answer(article_id)
        if found is None:
            return Turn(Decision.ABSTAIN, 0.0, (self._wording.abstain(),), candidates=candidates)
        title, body, link = found
        reply = self._wording.answer(title, body, link)
        return Turn(Decision.ANSWER, confidence, (reply,), article_id=article_id, candidates=candidates)

    async def _on_button(self, message: IncomingMessage, payload: str) -> Turn:
        if payload == START_PAYLOAD:
            return Turn(Decision.SMALL_TALK, 1.0, (self._wording.small_talk(SmallTalk.GREETING),))
        if payload == HUMAN_PAYLOAD:
            asked = EscalationReason("human_request", 1.0, "pressed the button for a person")
            reply = await self._handoff.request(message, (asked,))
            return Turn(Decision.ABSTAIN, 1.0, (reply,))
        if payload.startswith(ARTICLE_PAYLOAD_PREFIX):
            return self._answer_turn(payload.removeprefix(ARTICLE_PAYLOAD_PREFIX), 1.0, ())
        if self._orders is not None:
            handled = await self._orders.handle(message, "")
            if handled is not None:
                return await self._order_turn(message, "", handled)
        reply = self._wording.invalid("unknown_button", self._max_chars)
        return Turn(Decision.INVALID, 0.0, (reply,))


class RecordingHandoff:
    """A handoff that only records the request and tells the customer: for exercising the bot alone."""

    def __init__(self, store: ConversationStore, wording: Wording) -> None:
        self._store = store
        self._wording = wording

    async def request(
        self,
        message: IncomingMessage,
        reasons: tuple[EscalationReason, ...],
        order: dict[str, object] | None = None,
    ) -> Reply:
        reason = reasons[0].reason if reasons else "human_request"
        await self._store.record_event(message.ref, "handoff_requested", {"reason": reason})
        return self._wording.handoff_requested(reason)

    async def intercept(self, message: IncomingMessage, text: str) -> Turn | None:
        return None
