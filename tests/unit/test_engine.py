"""Dialogs through the in-memory channel: what a customer sees, and what is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.memory import MemoryConversation
from bot.domain import Decision, Direction
from bot.persistence.repository import Repository
from knowledge_base.service import KnowledgeService
from tests.helpers import make_engine, started_service


@pytest.fixture
async def service(kb_folder: Path) -> AsyncIterator[KnowledgeService]:
    service = await started_service(kb_folder, abstain_threshold=0.3)
    yield service
    await service.stop()


@pytest.fixture
def chat(service: KnowledgeService, repository: Repository) -> MemoryConversation:
    return MemoryConversation(make_engine(service, repository))


async def test_answers_from_the_knowledge_base_and_stores_the_decision(
    chat: MemoryConversation, repository: Repository
) -> None:
    replies = await chat.say("how long does shipping take to canada")
    assert replies[0].text.startswith("Standard shipping takes 3 to 5 business days")
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.ANSWER
    stored = await repository.transcript(chat.ref)
    assert [m.direction for m in stored] == [Direction.INBOUND, Direction.OUTBOUND]
    assert stored[1].decision is Decision.ANSWER
    assert stored[1].article_id == "shipping-times"
    assert stored[1].confidence is not None and stored[1].confidence >= 0.3


async def test_greeting_and_thanks_are_answered_without_search(chat: MemoryConversation) -> None:
    replies = await chat.say("Hello!")
    assert "Test Store assistant" in replies[0].text
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.SMALL_TALK
    replies = await chat.say("thanks a lot :)")
    assert replies[0].text.startswith("You're welcome")


async def test_multi_sentence_message_with_a_greeting(chat: MemoryConversation) -> None:
    replies = await chat.say("Hi! I ordered yesterday... Can I change my shipping address?")
    assert chat.last_turn is not None and chat.last_turn.article_id == "change-address"
    assert "within 12 hours" in replies[0].text


async def test_off_topic_question_abstains_and_offers_a_person(chat: MemoryConversation) -> None:
    replies = await chat.say("quantum chromodynamics lattice gauge")
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.ABSTAIN
    assert "I don't know" in replies[0].text
    assert [c.payload for c in replies[0].choices] == ["human"]
    replies = await chat.press("human", "Talk to a person")
    assert "bringing in a person from our team" in replies[0].text


async def test_clarify_offers_choices_and_a_choice_answers(kb_folder: Path, repository: Repository) -> None:
    service = await started_service(kb_folder, abstain_threshold=0.1, clarify_margin=1.0)
    try:
        chat = MemoryConversation(make_engine(service, repository))
        replies = await chat.say("refund return days")
        assert chat.last_turn is not None and chat.last_turn.decision is Decision.CLARIFY
        payloads = [c.payload for c in replies[0].choices]
        assert payloads[-1] == "human"
        assert {"article:returns-window", "article:refund-timing"} <= set(payloads)
        replies = await chat.press("article:refund-timing", "How long does a refund take?")
        assert replies[0].text.startswith("Refunds are issued within 3 business days")
    finally:
        await service.stop()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "didn't get any text"),
        ("   \n\t ", "didn't get any text"),
        ("x" * 50_000, "too long for me (the limit is 4,000 characters)"),
        ("\x00\x01\x02\x03\x04\x05\x06\x07\x08" * 5, "only read text messages"),
        ("?!... ---", "couldn't find a question"),
    ],
)
async def test_bad_input_gets_a_clear_reply(chat: MemoryConversation, text: str, expected: str) -> None:
    replies = await chat.say(text)
    assert expected in replies[0].text
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.INVALID


async def test_huge_message_is_stored_truncated(chat: MemoryConversation, repository: Repository) -> None:
    await chat.say("y" * 50_000)
    stored = await repository.transcript(chat.ref)
    assert len(stored[0].text) == 4000


async def test_redelivered_message_is_handled_once(chat: MemoryConversation, repository: Repository) -> None:
    first = await chat.say("when will my parcel arrive", vendor_id="update-77")
    again = await chat.say("when will my parcel arrive", vendor_id="update-77")
    assert first and again == []
    assert len(await repository.transcript(chat.ref)) == 2


async def test_unknown_button_payload(chat: MemoryConversation) -> None:
    replies = await chat.press("article:does-not-exist")
    assert "I don't know" in replies[0].text
    replies = await chat.press("launch-missiles")
    assert "couldn't read that message" in replies[0].text


async def test_search_failure_is_an_apology_not_a_traceback(
    chat: MemoryConversation, service: KnowledgeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(text: str, limit: int = 5) -> None:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(service, "search", broken)
    replies = await chat.say("when will my parcel arrive")
    assert "something went wrong on our side" in replies[0].text
    assert "exploded" not in replies[0].text
