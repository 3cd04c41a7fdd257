"""A handoff ticket and its state machine: pure values and pure transitions.

waiting ──claim──▶ claimed ──resolve──▶ resolved
   │                  │                    │
   └──return_to_bot───┴──return_to_bot──▶ returned_to_bot
   resolved ──reopen (low rating)──▶ waiting

Every transition returns a new Ticket or raises TransitionError; nothing here touches storage.
The store persists a transition only if the ticket is still in the state it was read in (a
conditional update), so two agents racing for one ticket cannot both win.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.domain import ConversationRef, CustomerIdentity, EscalationReason


class TicketState(enum.StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    RETURNED = "returned_to_bot"


OPEN_STATES = frozenset({TicketState.WAITING, TicketState.CLAIMED})


class Closure(enum.StrEnum):
    """How a ticket was closed; only a real resolution asks the customer for a rating."""

    RESOLVED = "resolved"
    SPAM = "spam"
    DUPLICATE = "duplicate"


class TransitionError(Exception):
    """The ticket is not in a state that allows this; the message says why, for the agent."""


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class SlaTimes:
    first_response: datetime
    resolution: datetime
    reminder: datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    ref: ConversationRef
    customer: CustomerIdentity
    reasons: tuple[EscalationReason, ...]
    state: TicketState
    created_at: datetime
    due: SlaTimes
    trigger_text: str = ""
    claimed_by: Agent | None = None
    claimed_at: datetime | None = None
    first_reply_at: datetime | None = None
    resolved_at: datetime | None = None
    reopened_at: datetime | None = None
    returned_at: datetime | None = None
    closed_as: Closure | None = None
    closed_by: Agent | None = None
    recovery: bool = False
    csat_score: int | None = None
    rated_at: datetime | None = None
    csat_comment: str | None = None
    reminded_at: datetime | None = None
    breached_at: datetime | None = None
    order: dict[str, object] | None = field(default=None, hash=False, compare=False)

    @property
    def reason(self) -> str:
        return self.reasons[0].reason if self.reasons else "human_request"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def owned_by(self, agent_id: str) -> bool:
        return (
            self.state is TicketState.CLAIMED
            and self.claimed_by is not None
            and self.claimed_by.id == agent_id
        )


def claim(ticket: Ticket, agent: Agent, now: datetime) -> Ticket:
    if ticket.state is TicketState.CLAIMED:
        who = ticket.claimed_by.name if ticket.claimed_by else "someone"
        raise TransitionError(f"Already claimed by {who}.")
    if ticket.state is not TicketState.WAITING:
        raise TransitionError(f"This ticket is {ticket.state.value.replace('_', ' ')}; it cannot be claimed.")
    return replace(ticket, state=TicketState.CLAIMED, claimed_by=agent, claimed_at=now)


def agent_replied(ticket: Ticket, agent: Agent, now: datetime) -> Ticket:
    """Only the claiming agent speaks to the customer; the first reply stops the SLA clock."""
    if not ticket.owned_by(agent.id):
        raise TransitionError("Only the agent who claimed this ticket can reply to the customer.")
    if ticket.first_reply_at is not None:
        return ticket
    return replace(ticket, first_reply_at=now)


def resolve(ticket: Ticket, agent: Agent, now: datetime, closed_as: Closure = Closure.RESOLVED) -> Ticket:
    if not ticket.is_open:
        raise TransitionError(f"This ticket is already {ticket.state.value.replace('_', ' ')}.")
    if (
        ticket.state is TicketState.CLAIMED
        and not ticket.owned_by(agent.id)
        and closed_as is Closure.RESOLVED
    ):
        who = ticket.claimed_by.name if ticket.claimed_by else "someone"
        raise TransitionError(f"{who} owns this ticket; only they can resolve it.")
    return replace(ticket, state=TicketState.RESOLVED, resolved_at=now, closed_as=closed_as, closed_by=agent)


def return_to_bot(ticket: Ticket, agent: Agent, now: datetime) -> Ticket:
    if not ticket.is_open:
        raise TransitionError(f"This ticket is already {ticket.state.value.replace('_', ' ')}.")
    if ticket.state is TicketState.CLAIMED and not ticket.owned_by(agent.id):
        who = ticket.claimed_by.name if ticket.claimed_by else "someone"
        raise TransitionError(f"{who} owns this ticket; only they can hand it back.")
    return replace(ticket, state=TicketState.RETURNED, returned_at=now, closed_by=agent)


def rate(ticket: Ticket, score: int, now: datetime, recovery_at_or_below: int = 2) -> Ticket:
    """Record the customer's rating; a low one reopens the ticket for recovery."""
    if not 1 <= score <= 5:
        raise TransitionError("A rating is from 1 to 5.")
    if ticket.state is not TicketState.RESOLVED or ticket.closed_as is not Closure.RESOLVED:
        raise TransitionError("Only a resolved ticket can be rated.")
    if ticket.csat_score is not None:
        raise TransitionError("This ticket was already rated.")
    rated = replace(ticket, csat_score=score, rated_at=now)
    if score <= recovery_at_or_below:
        return replace(
            rated,
            state=TicketState.WAITING,
            reopened_at=now,
            recovery=True,
            claimed_by=None,
            claimed_at=None,
            resolved_at=None,
            closed_as=None,
        )
    return rated
