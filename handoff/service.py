"""The handoff service: opens tickets, relays both ways, and carries out the agents' actions.

Slack and the local desk are two faces of this one service. It implements the engine's
HandoffGateway (request, intercept) and sees the rest of the system only through handoff.ports.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain import Choice, Decision, EscalationReason, IncomingMessage, Reply, Turn
from handoff import tickets as machine
from handoff.ports import CustomerOutbox, Delivery, DeskNotifier, Line, LineKind, TicketStore
from handoff.sla import SlaPolicy
from handoff.templates import check_reply
from handoff.tickets import Agent, Closure, SlaTimes, Ticket, TicketState, TransitionError

log = logging.getLogger(__name__)

CSAT_PREFIX = "csat:"
CSAT_SKIP_PREFIX = "csat-skip:"
CSAT_COMMENT_PREFIX = "csat-comment:"
COMMENT_WINDOW = timedelta(minutes=30)


class HandoffError(Exception):
    """An agent's action cannot be carried out; the message is meant for that agent."""


@dataclass(frozen=True, slots=True)
class CustomerWords:
    """What the customer is told at each step. Plain, and always saying what happens next."""

    store_name: str

    def handed_off(self, reason: str, expectation: str) -> str:
        opening = {
            "human_request": "Of course, I'm bringing in a person from our team",
            "refund_request": "Refunds are handled by a person on our team, so I've passed this to them",
            "chargeback_dispute": "Payment disputes are handled by a person on our team, so I've passed this to them",
            "legal_threat": "I'm sorry it has come to this. I've passed your message to a person on our team",
            "threat_public_review": "I'm sorry about your experience. I've passed this to a person on our team",
            "quality_issue": "Thank you for telling us. I've passed this straight to a person on our team",
            "angry_customer": "I'm sorry this has been so frustrating. I've passed your conversation to a person",
            "bot_loop": "I'm sorry I couldn't answer that. I've passed your conversation to a person on our team",
            "repeat_contact": "I see you've asked about this before, so I've passed it to a person on our team",
            "order_late": "I've passed this to our team with your order details",
        }.get(reason, "I've passed your conversation to a person from our team")
        return (
            f"{opening}. They'll see everything you've written so far, so you won't need to repeat yourself. "
            f"{expectation}"
        )

    def already_waiting(self, expectation: str) -> str:
        return f"You're already with our team, and I've added this to your request. {expectation}"

    def joined(self, agent: str) -> str:
        return f"{agent} from {self.store_name} has joined and will reply here."

    def resolved(self, agent: str) -> str:
        return f"{agent} has marked this as resolved. If anything else comes up, just write here."

    def returned(self) -> str:
        return (
            f"You're back with the {self.store_name} assistant. Ask me anything, or ask for a person again."
        )

    def rating_prompt(self) -> str:
        return "How did we do? Please rate your experience from 1 (poor) to 5 (excellent)."

    def thanks_for_rating(self) -> str:
        return "Thank you for rating us! Would you like to tell us more?"

    def ask_comment(self) -> str:
        return "Please write your comment in one message; it goes straight to the team."

    def sorry_for_rating(self) -> str:
        return (
            "I'm sorry we didn't get this right. I've reopened your request and a teammate will get back "
            "to you. Tell us here what went wrong, if you like."
        )

    def comment_received(self) -> str:
        return "Thanks, I've passed that on to the team."


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """What happened to an agent's message: sent, held back by the check, or kept internal."""

    line: Line | None
    sent: bool
    warnings: tuple[str, ...] = ()
    internal_reason: str | None = None


NOTE_PREFIXES = ("note:", "//", "(note)", "[note]", "internal:")


def is_note(text: str) -> bool:
    return text.strip().lower().startswith(NOTE_PREFIXES)


class HandoffService:
    def __init__(
        self,
        store: TicketStore,
        outbox: CustomerOutbox,
        policy: SlaPolicy,
        words: CustomerWords,
        *,
        on_enqueued: Callable[[], None] | None = None,
        hold_unchecked_replies: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._presence: list[Callable[[], Awaitable[bool | None]]] = []
        self._store = store
        self._outbox = outbox
        self._policy = policy
        self._words = words
        self._on_enqueued = on_enqueued  # wakes the outbox sender
        self._hold = hold_unchecked_replies
        self._clock = clock
        self._desks: list[DeskNotifier] = []

    @property
    def store(self) -> TicketStore:
        return self._store

    @property
    def policy(self) -> SlaPolicy:
        return self._policy

    def attach(self, desk: DeskNotifier) -> None:
        self._desks.append(desk)

    def watch_presence(self, anyone_online: Callable[[], Awaitable[bool | None]]) -> None:
        """Where agents may be online (Slack, the local desk): someone in any of them counts."""
        self._presence.append(anyone_online)

    async def _anyone_online(self) -> bool | None:
        answers = []
        for source in self._presence:
            try:
                answers.append(await source())
            except Exception:  # presence only shapes a sentence: never fail a handoff over it
                log.warning("agent presence unknown", exc_info=True)
                answers.append(None)
        if any(a is True for a in answers):
            return True
        if answers and all(a is False for a in answers):
            return False
        return None  # no source, or none that knows

    def _changed(self, ticket_id: int) -> None:
        for desk in self._desks:
            desk.changed(ticket_id)

    async def _tell_customer(self, ticket: Ticket, reply: Reply, *, from_agent: bool = False) -> int | None:
        outbox_id = await self._outbox.send_to_customer(ticket.ref, reply, from_agent=from_agent)
        if self._on_enqueued is not None:
            self._on_enqueued()
        return outbox_id

    # -- the engine's side (HandoffGateway) ------------------------------------------------------

    async def request(
        self,
        message: IncomingMessage,
        reasons: tuple[EscalationReason, ...],
        order: dict[str, object] | None = None,
    ) -> Reply:
        now = self._clock()
        reason = reasons[0].reason if reasons else "human_request"
        due = self._policy.due(now, reason)
        ticket, created = await self._store.open_ticket(
            message.ref,
            message.customer,
            reasons or (EscalationReason("human_request", 1.0, "asked for a person"),),
            message.text[:2000],
            SlaTimes(due.first_response, due.resolution, due.reminder),
            now,
            order,
        )
        expectation = self._policy.customer_expectation(now, ticket.reason, await self._anyone_online())
        if not created:
            await self._relay_customer(ticket, message, message.text)
            return Reply(self._words.already_waiting(expectation))
        log.info("ticket opened", extra={"conversation": message.ref.key, "ticket": ticket.id})
        self._changed(ticket.id)
        return Reply(self._words.handed_off(reason, expectation))

    async def intercept(self, message: IncomingMessage, text: str) -> Turn | None:
        """Take the message when a person owns the conversation (or it answers a rating); else None."""
        payload = message.button_payload or ""
        if payload.startswith((CSAT_PREFIX, CSAT_SKIP_PREFIX, CSAT_COMMENT_PREFIX)):
            return await self._on_rating_button(message, payload)
        # One read on every message: the latest ticket says both "a person owns this" and "a comment is due".
        latest = await self._store.latest_ticket_for(message.ref)
        if latest is not None and latest.is_open:
            await self._relay_customer(latest, message, text)
            return Turn(Decision.RELAYED, 1.0, ())
        if payload or not text:
            return None
        if latest is not None and self._awaits_comment(latest):
            await self._store.set_comment(latest.id, text[:2000])
            await self._store.add_line(
                latest.id, LineKind.SYSTEM, f"Customer's comment on the rating: {text[:2000]}"
            )
            self._changed(latest.id)
            return Turn(Decision.ACKNOWLEDGE, 1.0, (Reply(self._words.comment_received()),))
        return None

    def _awaits_comment(self, ticket: Ticket) -> bool:
        # "" marks a comment asked for (the customer pressed "Add a comment") and not yet written;
        # only then is the next message taken as the comment, never a new question by surprise.
        return (
            ticket.csat_score is not None
            and ticket.csat_comment == ""
            and ticket.rated_at is not None
            and self._clock() - ticket.rated_at < COMMENT_WINDOW
        )

    async def _relay_customer(self, ticket: Ticket, message: IncomingMessage, text: str) -> None:
        shown = text
        if message.attachments:
            kinds = ", ".join(sorted({a.kind for a in message.attachments}))
            shown = f"[sent {kinds}] {text}".strip()
        if not shown:
            return
        vendor_id = f"{message.ref.key}:{message.vendor_message_id}" if message.vendor_message_id else None
        line = await self._store.add_line(
            ticket.id,
            LineKind.CUSTOMER,
            shown,
            author_id=message.customer.channel_user_id,
            author_name=message.customer.display_name,
            vendor_id=vendor_id,
        )
        if line is not None:
            self._changed(ticket.id)

    async def _on_rating_button(self, message: IncomingMessage, payload: str) -> Turn:
        try:
            if payload.startswith(CSAT_SKIP_PREFIX):
                return Turn(Decision.ACKNOWLEDGE, 1.0, (Reply("No problem. Thanks for your time!"),))
            if payload.startswith(CSAT_COMMENT_PREFIX):
                return await self._ask_comment(message, int(payload.removeprefix(CSAT_COMMENT_PREFIX)))
            ticket_part, score_part = payload.removeprefix(CSAT_PREFIX).split(":", 1)
            ticket = await self._store.ticket(int(ticket_part))
            score = int(score_part)
        except ValueError:
            ticket, score = None, 0
        if ticket is None or ticket.ref != message.ref:
            return Turn(Decision.INVALID, 0.0, (Reply("Sorry, I couldn't record that rating."),))
        try:
            rated = machine.rate(ticket, score, self._clock())
        except TransitionError:
            return Turn(Decision.ACKNOWLEDGE, 1.0, (Reply("Thanks, your rating is already recorded."),))
        if not await self._store.save(ticket, rated):
            return Turn(Decision.ACKNOWLEDGE, 1.0, (Reply("Thanks, your rating is already recorded."),))
        stars = "★" * score + "☆" * (5 - score)
        if rated.recovery:
            await self._store.add_line(
                ticket.id,
                LineKind.SYSTEM,
                f"Customer rated {score}/5 {stars}. Reopened for recovery: please claim.",
            )
            self._changed(ticket.id)
            return Turn(Decision.ACKNOWLEDGE, 1.0, (Reply(self._words.sorry_for_rating()),))
        await self._store.add_line(ticket.id, LineKind.SYSTEM, f"Customer rated {score}/5 {stars}.")
        self._changed(ticket.id)
        choices = (
            Choice("Add a comment", f"{CSAT_COMMENT_PREFIX}{ticket.id}"),
            Choice("No, thanks", f"{CSAT_SKIP_PREFIX}{ticket.id}"),
        )
        return Turn(Decision.ACKNOWLEDGE, 1.0, (Reply(self._words.thanks_for_rating(), choices),))

    async def _ask_comment(self, message: IncomingMessage, ticket_id: int) -> Turn:
        ticket = await self._store.ticket(ticket_id)
        if ticket is None or ticket.ref != message.ref or ticket.csat_score is None or ticket.csat_comment:
            return Turn(Decision.ACKNOWLEDGE, 1.0, (Reply("Thanks, your feedback is already recorded."),))
        await self._store.set_comment(ticket_id, "")
        return Turn(Decision.ACKNOWLEDGE, 1.0, (Reply(self._words.ask_comment()),))

    # -- the agents' side ------------------------------------------------------------------------

    async def _load(self, ticket_id: int) -> Ticket:
        ticket = await self._store.ticket(ticket_id)
        if ticket is None:
            raise HandoffError(f"There is no ticket #{ticket_id}.")
        return ticket

    async def _transition(self, ticket: Ticket, after: Ticket) -> Ticket:
        if not await self._store.save(ticket, after):
            current = await self._load(ticket.id)
            if current.state is TicketState.CLAIMED and current.claimed_by is not None:
                raise HandoffError(f"Already claimed by {current.claimed_by.name}.")
            raise HandoffError(
                f"This ticket changed meanwhile; it is now {current.state.value.replace('_', ' ')}."
            )
        self._changed(ticket.id)
        return after

    async def claim(self, ticket_id: int, agent: Agent) -> Ticket:
        ticket = await self._load(ticket_id)
        try:
            after = machine.claim(ticket, agent, self._clock())
        except TransitionError as exc:
            raise HandoffError(str(exc)) from exc
        claimed = await self._transition(ticket, after)
        await self._store.add_line(ticket_id, LineKind.SYSTEM, f"{agent.name} claimed this ticket.")
        await self._tell_customer(claimed, Reply(self._words.joined(agent.name)))
        return claimed

    async def reply(
        self,
        ticket_id: int,
        agent: Agent,
        text: str,
        *,
        vendor_id: str | None = None,
        confirmed: bool = False,
    ) -> ReplyOutcome:
        """An agent's message. It reaches the customer only when it is the owner's and not a note;
        a reply missing a next step or a timing is held until the agent confirms it."""
        ticket = await self._load(ticket_id)
        if is_note(text):
            line = await self._store.add_line(
                ticket_id,
                LineKind.NOTE,
                text,
                author_id=agent.id,
                author_name=agent.name,
                vendor_id=vendor_id,
            )
            return ReplyOutcome(line, False, internal_reason="marked as a note")
        if not ticket.owned_by(agent.id):
            why = (
                "claim the ticket first to reply to the customer"
                if ticket.state is TicketState.WAITING
                else "only the agent who claimed the ticket reaches the customer"
                if ticket.is_open
                else "the ticket is closed"
            )
            line = await self._store.add_line(
                ticket_id,
                LineKind.NOTE,
                text,
                author_id=agent.id,
                author_name=agent.name,
                vendor_id=vendor_id,
            )
            return ReplyOutcome(line, False, internal_reason=why)
        warnings = tuple(check_reply(text))
        held = bool(warnings) and self._hold and not confirmed
        line = await self._store.add_line(
            ticket_id,
            LineKind.AGENT,
            text,
            author_id=agent.id,
            author_name=agent.name,
            vendor_id=vendor_id,
            delivery=Delivery.HELD if held else Delivery.PENDING,
        )
        if line is None:  # a redelivered event: already handled
            return ReplyOutcome(None, False, internal_reason="already handled")
        if held:
            return ReplyOutcome(line, False, warnings)
        await self._deliver(ticket, line, agent)
        return ReplyOutcome(line, True, warnings)

    async def send_held(self, line_id: int, agent: Agent) -> ReplyOutcome:
        """The agent confirmed a held reply: send it as written."""
        line = await self._store.line(line_id)
        if line is None or line.delivery is not Delivery.HELD:
            raise HandoffError("That reply is no longer waiting to be sent.")
        ticket = await self._load(line.ticket_id)
        if not ticket.owned_by(agent.id):
            raise HandoffError("Only the agent who claimed this ticket can reply to the customer.")
        await self._deliver(ticket, line, agent)
        return ReplyOutcome(line, True)

    async def discard_held(self, line_id: int, agent: Agent) -> None:
        line = await self._store.line(line_id)
        if line is None or line.delivery is not Delivery.HELD:
            raise HandoffError("That reply is no longer waiting to be sent.")
        if line.author_id != agent.id:
            raise HandoffError("Only its author can discard that reply.")
        await self._store.set_delivery(line_id, Delivery.FAILED, error="discarded by the agent")

    async def _deliver(self, ticket: Ticket, line: Line, agent: Agent) -> None:
        after = machine.agent_replied(ticket, agent, self._clock())
        if after != ticket:
            await self._store.save(ticket, after)
        outbox_id = await self._tell_customer(ticket, Reply(line.text, agent=agent.name), from_agent=True)
        if outbox_id is None:  # a channel without an outbox (a terminal chat): nothing to wait for
            await self._store.set_delivery(line.id, Delivery.SENT)
        else:
            await self._store.set_delivery(line.id, Delivery.PENDING, outbox_id=outbox_id)
        self._changed(ticket.id)

    async def delivery_result(self, outbox_id: int, delivered: bool, error: str | None = None) -> None:
        """Called by the outbox sender: mark the agent's message as delivered (or not)."""
        line = await self._store.line_for_outbox(outbox_id)
        if line is None:
            return
        await self._store.set_delivery(
            line.id, Delivery.SENT if delivered else Delivery.FAILED, error=None if delivered else error
        )
        self._changed(line.ticket_id)

    async def note(self, ticket_id: int, agent: Agent, text: str) -> Line | None:
        await self._load(ticket_id)
        line = await self._store.add_line(
            ticket_id, LineKind.NOTE, text, author_id=agent.id, author_name=agent.name
        )
        self._changed(ticket_id)
        return line

    async def resolve(self, ticket_id: int, agent: Agent, closed_as: Closure = Closure.RESOLVED) -> Ticket:
        ticket = await self._load(ticket_id)
        try:
            after = machine.resolve(ticket, agent, self._clock(), closed_as)
        except TransitionError as exc:
            raise HandoffError(str(exc)) from exc
        resolved = await self._transition(ticket, after)
        label = "resolved" if closed_as is Closure.RESOLVED else f"closed as {closed_as.value}"
        await self._store.add_line(ticket_id, LineKind.SYSTEM, f"{agent.name} {label} this ticket.")
        if closed_as is Closure.RESOLVED:
            await self._tell_customer(resolved, Reply(self._words.resolved(agent.name)))
            choices = tuple(Choice(str(n), f"{CSAT_PREFIX}{ticket_id}:{n}") for n in range(1, 6))
            await self._tell_customer(resolved, Reply(self._words.rating_prompt(), choices))
        return resolved

    async def return_to_bot(self, ticket_id: int, agent: Agent) -> Ticket:
        ticket = await self._load(ticket_id)
        try:
            after = machine.return_to_bot(ticket, agent, self._clock())
        except TransitionError as exc:
            raise HandoffError(str(exc)) from exc
        returned = await self._transition(ticket, after)
        await self._store.add_line(
            ticket_id, LineKind.SYSTEM, f"{agent.name} returned the conversation to the bot."
        )
        await self._tell_customer(returned, Reply(self._words.returned()))
        return returned

    async def ticket(self, ticket_id: int) -> Ticket:
        return await self._load(ticket_id)
