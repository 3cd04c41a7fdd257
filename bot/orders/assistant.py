"""The order assistant: recognises order questions, verifies the customer, answers the status.

No order detail is ever said before verification, in any channel. The wording never reveals
whether an order number exists. Lookups are rate-limited per conversation, and three failed
verifications pause lookups and offer a person.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Protocol

from bot.domain import Choice, ConversationRef, EscalationReason, IncomingMessage, OrderReply, Reply
from bot.orders import verification as v
from bot.orders.answer import agent_summary, choice_label, lateness, status_answer
from bot.orders.delivery import DeliveryTable
from bot.orders.model import Order, OrderSource, OrderSourceError, normalise_number
from bot.orders.recognise import email_in, is_order_question, order_numbers, postcode_in
from bot.orders.verification import OrderSession, Stage
from bot.replies import HUMAN_PAYLOAD

log = logging.getLogger(__name__)
ORDER_PAYLOAD_PREFIX = "order:"
HUMAN = Choice("Talk to a person", HUMAN_PAYLOAD)


class SessionStore(Protocol):
    async def load(self, key: str) -> OrderSession: ...
    async def save(self, key: str, state: OrderSession) -> None: ...


class _TurnCache:
    """The session as this turn loaded or saved it, for the turn's later questions about it.

    `handle` always reads the stored session (verification must never act on a stale copy).
    The context for escalation and the summary for a handoff, asked moments later in the same
    turn, reuse that copy instead of reading the database twice more per message.
    """

    FRESH_FOR = 5.0  # seconds

    def __init__(self, store: SessionStore) -> None:
        self._store = store
        self._copies: OrderedDict[str, tuple[float, OrderSession]] = OrderedDict()

    def _keep(self, key: str, session: OrderSession) -> None:
        self._copies[key] = (time.monotonic(), session)
        self._copies.move_to_end(key)
        while len(self._copies) > 10_000:
            self._copies.popitem(last=False)

    async def load(self, key: str) -> OrderSession:
        session = await self._store.load(key)
        self._keep(key, session)
        return session

    async def save(self, key: str, session: OrderSession) -> None:
        await self._store.save(key, session)
        self._keep(key, session)

    async def recent(self, key: str) -> OrderSession:
        kept = self._copies.get(key)
        if kept is not None and time.monotonic() - kept[0] < self.FRESH_FOR:
            return kept[1]
        return await self.load(key)


class Words:
    ask_number = (
        "I can check that for you. What's your order number? You'll find it in your order confirmation "
        "email (it looks like #1234)."
    )
    not_a_number = (
        "I couldn't find an order number in that. It's in your order confirmation email and looks like "
        "#1234. What is it?"
    )

    @staticmethod
    def ask_contact(number: str) -> str:
        return f"Thanks. To keep your order private, what's the email address or the postcode on order #{number}?"

    no_match = (
        "I couldn't match that order number with that email address or postcode. Please check both (the "
        "number is in your confirmation email) and send me the email or postcode again."
    )
    locked_now = (
        "That still doesn't match, so I've paused order lookups in this chat for 30 minutes to keep orders "
        "safe. A person from our team can help you right away."
    )

    @staticmethod
    def locked(until: datetime) -> str:
        return (
            f"Order lookups are paused in this chat until {until.astimezone(UTC).strftime('%H:%M')} UTC, after "
            "several attempts that didn't match. A person from our team can help you now."
        )

    too_many = (
        "You've looked up a lot of orders in a short time, so I've paused lookups for a while. A person from "
        "our team can help you with the rest."
    )
    unavailable = (
        "I can't reach our order system right now, sorry. Please try again in a few minutes, or ask for a "
        "person and they'll check it for you."
    )
    pick = "You have several orders with us. Which one do you mean?"
    late_handoff_note = (
        "I've also passed this to our team with your order details, so you won't need to repeat anything."
    )


class OrderDesk:
    """Implements the engine's OrderAssistant port."""

    def __init__(
        self,
        source: OrderSource,
        sessions: SessionStore,
        table: DeliveryTable,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._source = source
        self._sessions = _TurnCache(sessions)
        self._table = table
        self._clock = clock

    async def handle(self, message: IncomingMessage, text: str) -> OrderReply | None:
        key = message.ref.key
        session = await self._sessions.load(key)
        payload = message.button_payload or ""
        if payload.startswith(ORDER_PAYLOAD_PREFIX):
            return await self._lookup(key, session, payload.removeprefix(ORDER_PAYLOAD_PREFIX))
        if payload:
            return None
        # A verified customer naming another order ("and order 1002?") is asking about it too.
        asked = is_order_question(text) or bool(session.verified_numbers and order_numbers(text))
        numbers = order_numbers(text, bare=asked or session.stage is not Stage.IDLE)
        if session.stage is Stage.AWAITING_CONTACT and session.pending_number:
            # An email verifies; a marked order number ("#1240") starts over with that order; a
            # postcode on its own verifies (a bare "10115" here is a postcode, not an order number).
            email = email_in(text)
            if email:
                return await self._verify(key, session, session.pending_number, email)
            explicit = order_numbers(text)
            if explicit:
                return await self._lookup(key, session, explicit[0])
            postcode = postcode_in(text)
            if postcode:
                return await self._verify(key, session, session.pending_number, postcode)
            if asked:
                return OrderReply((Reply(Words.ask_contact(session.pending_number)),))
            await self._sessions.save(key, v.forgotten(session))  # moved on: answer as usual
            return None
        if session.stage is Stage.AWAITING_NUMBER:
            if numbers:
                return await self._lookup(key, session, numbers[0])
            if asked:
                return OrderReply((Reply(Words.not_a_number),))
            await self._sessions.save(key, v.forgotten(session))
            return None
        if not asked:
            return None
        if numbers:
            return await self._lookup(key, session, numbers[0])
        if session.verified_email is not None:
            return await self._verified_orders(key, session)
        await self._sessions.save(key, v.asked_number(session))
        return OrderReply((Reply(Words.ask_number),), asks_for_details=True)

    async def _gate(self, key: str, session: OrderSession, now: datetime) -> OrderReply | None:
        """Refuse when lookups are paused or too frequent; None lets the lookup go ahead."""
        if session.locked(now):
            assert session.locked_until is not None
            return OrderReply((Reply(Words.locked(session.locked_until), (HUMAN,)),))
        if session.too_many_lookups(now):
            return OrderReply((Reply(Words.too_many, (HUMAN,)),))
        return None

    async def _find(self, number: str) -> Order | None:
        return await self._source.by_number(number)

    async def _lookup(self, key: str, session: OrderSession, number: str) -> OrderReply:
        now = self._clock()
        # Asking again about an order already proven is no probing: it is neither limited nor counted.
        known = normalise_number(number) in session.verified_numbers
        refused = None if known else await self._gate(key, session, now)
        if refused is not None:
            return refused
        try:
            order = await self._find(number)
        except OrderSourceError:
            log.exception("order source failed", extra={"conversation": key})
            return OrderReply((Reply(Words.unavailable, (HUMAN,)),))
        if known and order is not None:
            return self._answer(order, now.date())
        session = v.looked_up(session, now)
        if order is not None and session.may_see(order):
            await self._sessions.save(key, v.verified(session, order))
            return self._answer(order, now.date())
        # Unknown number or someone else's order: the same question either way.
        await self._sessions.save(key, v.asked_contact(session, number))
        return OrderReply(
            (Reply(Words.ask_contact(v.asked_contact(session, number).pending_number or number)),)
        )

    async def _verify(self, key: str, session: OrderSession, number: str, contact: str) -> OrderReply:
        now = self._clock()
        refused = await self._gate(key, session, now)
        if refused is not None:
            return refused
        try:
            order = await self._find(number)
        except OrderSourceError:
            log.exception("order source failed", extra={"conversation": key})
            return OrderReply((Reply(Words.unavailable, (HUMAN,)),))
        session = v.looked_up(session, now)
        if order is not None and v.matches(order, contact):
            await self._sessions.save(key, v.verified(session, order))
            log.info("customer verified for an order", extra={"conversation": key, "order": order.number})
            return self._answer(order, now.date())
        failed = v.failed(session, now)
        await self._sessions.save(key, failed)
        log.info("order verification failed", extra={"conversation": key, "failures": session.failures + 1})
        if failed.locked(now):
            return OrderReply((Reply(Words.locked_now, (HUMAN,)),))
        return OrderReply((Reply(Words.no_match),))

    async def _verified_orders(self, key: str, session: OrderSession) -> OrderReply:
        assert session.verified_email is not None
        try:
            orders = await self._source.by_email(session.verified_email)
        except OrderSourceError:
            return OrderReply((Reply(Words.unavailable, (HUMAN,)),))
        if len(orders) == 1:
            return self._answer(orders[0], self._clock().date())
        if not orders:
            await self._sessions.save(key, v.asked_number(session))
            return OrderReply((Reply(Words.ask_number),))
        choices = tuple(Choice(choice_label(o), f"{ORDER_PAYLOAD_PREFIX}{o.number}") for o in orders[:5])
        return OrderReply((Reply(Words.pick, choices),))

    def _answer(self, order: Order, today: date) -> OrderReply:
        answer = Reply(status_answer(order, self._table, today), link=None)
        late = lateness(order, self._table, today)
        if late is not None and late.days_late > self._table.late_escalate_days:
            evidence = f"order #{order.number} is {late.days_late} business days past its delivery window"
            return OrderReply(
                (answer,), (EscalationReason("order_late", 1.0, evidence),), order=agent_summary(order)
            )
        return OrderReply((answer,), order=agent_summary(order))

    async def aclose(self) -> None:
        close = getattr(self._source, "aclose", None)  # a platform client holds connections
        if close is not None:
            await close()

    async def summary(self, ref: ConversationRef) -> dict[str, object] | None:
        session = await self._sessions.recent(ref.key)
        if not session.verified_numbers:
            return None
        try:
            order = await self._source.by_number(session.verified_numbers[-1])
        except OrderSourceError:
            return None
        return agent_summary(order) if order is not None else None

    async def context(self, ref: ConversationRef) -> Order | None:
        """The verified customer's latest order, for the escalation triggers; None before verification."""
        session = await self._sessions.recent(ref.key)
        if not session.verified_numbers:
            return None
        try:
            return await self._source.by_number(session.verified_numbers[-1])
        except OrderSourceError:
            return None
