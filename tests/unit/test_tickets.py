"""The ticket state machine: which moves are allowed, and what each one records."""

from __future__ import annotations

import pytest

from bot.domain import Channel, ConversationRef, CustomerIdentity, EscalationReason
from handoff import tickets as machine
from handoff.tickets import Agent, Closure, SlaTimes, Ticket, TicketState, TransitionError
from tests.handoff_helpers import at

ALEX, SAM = Agent("UALEX", "Alex"), Agent("USAM", "Sam")


def waiting() -> Ticket:
    due = SlaTimes(at(11), at(20), at(10, 30))
    return Ticket(
        id=1,
        ref=ConversationRef(Channel.WEB, "c1"),
        customer=CustomerIdentity("u1", "Dana"),
        reasons=(EscalationReason("refund_request", 0.9, "I want a refund"),),
        state=TicketState.WAITING,
        created_at=at(9),
        due=due,
    )


def test_claim_records_who_and_when_and_a_second_claim_is_refused() -> None:
    claimed = machine.claim(waiting(), ALEX, at(9, 5))
    assert claimed.state is TicketState.CLAIMED
    assert claimed.claimed_by == ALEX and claimed.claimed_at == at(9, 5)
    with pytest.raises(TransitionError, match="Already claimed by Alex"):
        machine.claim(claimed, SAM, at(9, 6))


def test_only_the_owner_replies_and_the_first_reply_time_is_kept() -> None:
    claimed = machine.claim(waiting(), ALEX, at(9, 5))
    with pytest.raises(TransitionError):
        machine.agent_replied(claimed, SAM, at(9, 7))
    with pytest.raises(TransitionError):
        machine.agent_replied(waiting(), ALEX, at(9, 7))
    first = machine.agent_replied(claimed, ALEX, at(9, 7))
    again = machine.agent_replied(first, ALEX, at(9, 30))
    assert first.first_reply_at == at(9, 7) and again.first_reply_at == at(9, 7)


def test_resolve_and_return_to_bot_close_the_ticket_once() -> None:
    claimed = machine.claim(waiting(), ALEX, at(9, 5))
    with pytest.raises(TransitionError, match="Alex owns this ticket"):
        machine.resolve(claimed, SAM, at(9, 8))
    resolved = machine.resolve(claimed, ALEX, at(9, 10))
    assert resolved.state is TicketState.RESOLVED and not resolved.is_open
    assert resolved.closed_as is Closure.RESOLVED and resolved.resolved_at == at(9, 10)
    with pytest.raises(TransitionError, match="already resolved"):
        machine.resolve(resolved, ALEX, at(9, 11))
    with pytest.raises(TransitionError):
        machine.return_to_bot(resolved, ALEX, at(9, 11))
    returned = machine.return_to_bot(waiting(), SAM, at(9, 2))
    assert returned.state is TicketState.RETURNED and returned.returned_at == at(9, 2)


def test_any_member_may_close_an_unclaimed_ticket_as_spam() -> None:
    spam = machine.resolve(waiting(), SAM, at(9, 1), Closure.SPAM)
    assert spam.closed_as is Closure.SPAM
    with pytest.raises(TransitionError, match="Only a resolved ticket"):
        machine.rate(spam, 5, at(9, 2))


def test_a_low_rating_reopens_for_recovery_and_a_good_one_does_not() -> None:
    resolved = machine.resolve(machine.claim(waiting(), ALEX, at(9, 5)), ALEX, at(9, 10))
    good = machine.rate(resolved, 4, at(9, 20))
    assert good.state is TicketState.RESOLVED and good.csat_score == 4 and not good.recovery
    with pytest.raises(TransitionError, match="already rated"):
        machine.rate(good, 5, at(9, 21))
    low = machine.rate(resolved, 2, at(9, 20))
    assert low.state is TicketState.WAITING and low.recovery and low.reopened_at == at(9, 20)
    assert low.claimed_by is None and low.csat_score == 2
    with pytest.raises(TransitionError, match="1 to 5"):
        machine.rate(resolved, 6, at(9, 20))
