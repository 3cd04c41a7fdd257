"""The handoff service over a real database (SQLite and PostgreSQL), driven through the real engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.memory import MemoryConversation
from bot.domain import Channel, Decision
from bot.persistence.repository import Repository
from bot.persistence.tickets import TicketRepository
from handoff.ports import Delivery, LineKind
from handoff.service import HandoffError, HandoffService
from handoff.tickets import Agent, Closure, TicketState
from knowledge_base.service import KnowledgeService
from tests.handoff_helpers import engine_with_handoff, handoff_service, queued_replies, queued_texts
from tests.helpers import started_service

ALEX, SAM = Agent("UALEX", "Alex"), Agent("USAM", "Sam")
GOOD_REPLY = "I've issued the refund; you'll see it on your card within 5 business days."


@pytest.fixture
async def knowledge(kb_folder: Path) -> AsyncIterator[KnowledgeService]:
    service = await started_service(kb_folder, abstain_threshold=0.3)
    yield service
    await service.stop()


@pytest.fixture
def handoff(repository: Repository) -> HandoffService:
    return handoff_service(repository)


@pytest.fixture
def chat(knowledge: KnowledgeService, repository: Repository, handoff: HandoffService) -> MemoryConversation:
    # A web conversation: what the customer is told goes through the outbox, as in production.
    return MemoryConversation(engine_with_handoff(knowledge, repository, handoff), channel=Channel.WEB)


async def open_ticket(chat: MemoryConversation, handoff: HandoffService) -> int:
    replies = await chat.press("human", "Talk to a person")
    assert "person" in replies[0].text and "within about 2 hours" in replies[0].text
    ticket = await handoff.store.open_ticket_for(chat.ref)
    assert ticket is not None and ticket.state is TicketState.WAITING
    return ticket.id


async def test_the_customer_is_told_who_answers_and_by_when(
    chat: MemoryConversation, handoff: HandoffService
) -> None:
    ticket_id = await open_ticket(chat, handoff)
    ticket = await handoff.ticket(ticket_id)
    assert ticket.reason == "human_request"
    assert (ticket.due.first_response - ticket.created_at).total_seconds() == pytest.approx(7200, abs=2)


async def test_one_open_ticket_per_conversation(chat: MemoryConversation, handoff: HandoffService) -> None:
    first = await open_ticket(chat, handoff)
    replies = await chat.press("human", "Talk to a person")
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.RELAYED
    assert replies == []  # already with a person: the bot stays quiet, the agents see it
    assert [t.id for t in await handoff.store.tickets(frozenset({"waiting", "claimed"}))] == [first]


async def test_while_a_person_owns_it_the_bot_says_nothing_and_relays(
    chat: MemoryConversation, handoff: HandoffService, repository: Repository
) -> None:
    ticket_id = await open_ticket(chat, handoff)
    await handoff.claim(ticket_id, ALEX)
    assert (await queued_texts(repository, chat.ref))[
        -1
    ] == "Alex from Test Store has joined and will reply here."
    replies = await chat.say("how long does shipping take to canada")
    assert replies == [] and chat.last_turn is not None and chat.last_turn.decision is Decision.RELAYED
    lines = await handoff.store.lines(ticket_id)
    assert [(line.kind, line.text) for line in lines if line.kind is LineKind.CUSTOMER] == [
        (LineKind.CUSTOMER, "how long does shipping take to canada")
    ]


async def test_the_owner_reply_reaches_the_customer_and_others_stay_internal(
    chat: MemoryConversation, handoff: HandoffService, repository: Repository
) -> None:
    ticket_id = await open_ticket(chat, handoff)
    early = await handoff.reply(ticket_id, ALEX, GOOD_REPLY)
    assert not early.sent and early.internal_reason and "claim" in early.internal_reason
    await handoff.claim(ticket_id, ALEX)
    by_other = await handoff.reply(
        ticket_id, SAM, "I'll check the warehouse today and get back to you tomorrow."
    )
    note = await handoff.reply(ticket_id, ALEX, "note: customer is a regular, be generous; refund by Friday")
    sent = await handoff.reply(ticket_id, ALEX, GOOD_REPLY)
    assert not by_other.sent and not note.sent and sent.sent
    replies = await queued_replies(repository, chat.ref)
    agent_replies = [r for r in replies if r.agent]
    assert [(r.agent, r.text) for r in agent_replies] == [("Alex", GOOD_REPLY)]
    ticket = await handoff.ticket(ticket_id)
    assert ticket.first_reply_at is not None
    history = await repository.history(chat.ref)
    assert [e.author for e in history if e.text == GOOD_REPLY] == ["agent"]


async def test_a_reply_without_a_timing_is_held_until_the_agent_confirms(
    chat: MemoryConversation, handoff: HandoffService, repository: Repository
) -> None:
    ticket_id = await open_ticket(chat, handoff)
    await handoff.claim(ticket_id, ALEX)
    held = await handoff.reply(ticket_id, ALEX, "We'll send a replacement.")
    assert not held.sent and held.warnings and "timing" in held.warnings[0].lower()
    assert "We'll send a replacement." not in await queued_texts(repository, chat.ref)
    assert held.line is not None
    with pytest.raises(HandoffError):
        await handoff.send_held(held.line.id, SAM)
    await handoff.send_held(held.line.id, ALEX)
    assert "We'll send a replacement." in await queued_texts(repository, chat.ref)
    with pytest.raises(HandoffError, match="no longer waiting"):
        await handoff.send_held(held.line.id, ALEX)


async def test_delivery_results_are_recorded_on_the_agent_line(
    chat: MemoryConversation, handoff: HandoffService, repository: Repository
) -> None:
    ticket_id = await open_ticket(chat, handoff)
    await handoff.claim(ticket_id, ALEX)
    sent = await handoff.reply(ticket_id, ALEX, GOOD_REPLY)
    pending = await repository.pending_outbox({Channel.WEB})
    outbox_id = next(item.id for item, _ in pending if item.reply.text == GOOD_REPLY)
    assert sent.line is not None
    assert (await handoff.store.line(sent.line.id)).delivery is Delivery.PENDING  # type: ignore[union-attr]
    await handoff.delivery_result(outbox_id, False, "the customer blocked the bot")
    line = await handoff.store.line(sent.line.id)
    assert line is not None and line.delivery is Delivery.FAILED
    assert line.delivery_error == "the customer blocked the bot"


async def test_resolve_asks_for_a_rating_and_a_low_one_reopens_for_recovery(
    chat: MemoryConversation, handoff: HandoffService, repository: Repository
) -> None:
    ticket_id = await open_ticket(chat, handoff)
    await handoff.claim(ticket_id, ALEX)
    await handoff.reply(ticket_id, ALEX, GOOD_REPLY)
    await handoff.resolve(ticket_id, ALEX)
    prompt = (await queued_replies(repository, chat.ref))[-1]
    assert "rate" in prompt.text and [c.label for c in prompt.choices] == ["1", "2", "3", "4", "5"]
    # After Resolve the bot answers again.
    replies = await chat.say("how long does shipping take to canada")
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.ANSWER and replies
    replies = await chat.press(prompt.choices[1].payload, "2")
    assert "reopened" in replies[0].text
    reopened = await handoff.ticket(ticket_id)
    assert reopened.state is TicketState.WAITING and reopened.recovery and reopened.csat_score == 2
    system = [line.text for line in await handoff.store.lines(ticket_id) if line.kind is LineKind.SYSTEM]
    assert any("rated 2/5" in text and "recovery" in text for text in system)
    replies = await chat.say("the grinder still squeaks")
    assert replies == [] and chat.last_turn is not None and chat.last_turn.decision is Decision.RELAYED


async def test_a_good_rating_takes_an_optional_comment(
    chat: MemoryConversation, handoff: HandoffService, repository: Repository
) -> None:
    ticket_id = await open_ticket(chat, handoff)
    await handoff.claim(ticket_id, ALEX)
    await handoff.resolve(ticket_id, ALEX)
    prompt = (await queued_replies(repository, chat.ref))[-1]
    replies = await chat.press(prompt.choices[4].payload, "5")
    assert "tell us more" in replies[0].text
    again = await chat.press(prompt.choices[0].payload, "1")
    assert "already recorded" in again[0].text
    # A question right after rating is answered, not swallowed as a comment.
    replies = await chat.say("how long does shipping take to canada")
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.ANSWER
    replies = await chat.press(f"csat-comment:{ticket_id}", "Add a comment")
    assert "write your comment" in replies[0].text
    replies = await chat.say("Alex was super quick, thank you")
    assert replies[0].text == "Thanks, I've passed that on to the team."
    rated = await handoff.ticket(ticket_id)
    assert rated.csat_score == 5 and rated.state is TicketState.RESOLVED
    assert rated.csat_comment == "Alex was super quick, thank you"


async def test_no_rating_for_a_ticket_closed_as_spam(
    chat: MemoryConversation, handoff: HandoffService, repository: Repository
) -> None:
    ticket_id = await open_ticket(chat, handoff)
    before = await queued_texts(repository, chat.ref)
    await handoff.resolve(ticket_id, SAM, Closure.SPAM)
    assert await queued_texts(repository, chat.ref) == before


async def test_return_to_bot_hands_the_conversation_back(
    chat: MemoryConversation, handoff: HandoffService, repository: Repository
) -> None:
    ticket_id = await open_ticket(chat, handoff)
    await handoff.claim(ticket_id, ALEX)
    with pytest.raises(HandoffError, match="Alex owns this ticket"):
        await handoff.return_to_bot(ticket_id, SAM)
    await handoff.return_to_bot(ticket_id, ALEX)
    assert "back with the Test Store assistant" in (await queued_texts(repository, chat.ref))[-1]
    replies = await chat.say("how long does shipping take to canada")
    assert replies and chat.last_turn is not None and chat.last_turn.decision is Decision.ANSWER


async def test_of_eight_simultaneous_claims_exactly_one_wins(
    chat: MemoryConversation, handoff: HandoffService, repository: Repository
) -> None:
    ticket_id = await open_ticket(chat, handoff)
    # Eight agents, each with their own service (as on separate replicas), click at once.
    services = [handoff_service(repository) for _ in range(8)]
    agents = [Agent(f"U{n}", f"Agent {n}") for n in range(8)]
    results = await asyncio.gather(
        *(s.claim(ticket_id, a) for s, a in zip(services, agents, strict=True)), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, HandoffError)]
    assert len(winners) == 1 and len(losers) == 7
    assert all("Already claimed by" in str(e) for e in losers)
    stored = await handoff.ticket(ticket_id)
    assert stored.claimed_by == winners[0].claimed_by
    joined = [t for t in await queued_texts(repository, chat.ref) if "has joined" in t]
    assert len(joined) == 1


async def test_the_partial_unique_index_allows_one_open_ticket(
    chat: MemoryConversation, handoff: HandoffService, repository: Repository
) -> None:
    """Two replicas opening a ticket for one conversation at once end up with one."""
    await chat.say("hello")
    tickets = TicketRepository(repository)
    ticket = await handoff.ticket(await open_ticket(chat, handoff))
    again, created = await tickets.open_ticket(
        chat.ref, chat.customer, ticket.reasons, "again", ticket.due, ticket.created_at
    )
    assert not created and again.id == ticket.id


async def test_after_a_person_helped_the_bot_still_handles_what_it_cannot_answer(
    knowledge: KnowledgeService, repository: Repository, handoff: HandoffService
) -> None:
    """The conversation now holds a person's replies; the bot's own history checks must cope."""
    from bot.engine import Engine
    from bot.escalation.detector import EscalationDetector
    from bot.escalation.rules import load_rules
    from bot.escalation.service import EscalationService
    from bot.knowledge import KnowledgeSearchAdapter
    from bot.settings import load_settings
    from tests.helpers import WORDING

    rules = load_rules(load_settings().escalation_rules)
    escalation = EscalationService(EscalationDetector(rules, None), None, repository, lambda _: ())
    engine = Engine(
        KnowledgeSearchAdapter(knowledge), repository, WORDING, handoff, 4000, escalation=escalation
    )
    chat = MemoryConversation(engine, channel=Channel.WEB)
    ticket_id = await open_ticket(chat, handoff)
    await handoff.claim(ticket_id, ALEX)
    await handoff.reply(ticket_id, ALEX, GOOD_REPLY)
    await handoff.resolve(ticket_id, ALEX)
    replies = await chat.say("quantum chromodynamics lattice gauge")
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.ABSTAIN
    assert "I don't know" in replies[0].text
