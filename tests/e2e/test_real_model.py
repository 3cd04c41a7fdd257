"""The sample store's knowledge base with the real model: what a customer would actually get."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.memory import MemoryConversation
from bot.domain import Decision
from bot.persistence.database import create_engine, migrate
from bot.persistence.repository import Repository
from bot.settings import DEFAULT_KB_PATH
from knowledge_base.embedder import SentenceTransformerEmbedder
from knowledge_base.service import KnowledgeService
from tests.helpers import make_engine, started_service

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def model() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture
async def service(
    model: SentenceTransformerEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[KnowledgeService]:
    data = tmp_path_factory.getbasetemp() / "real-model-data"  # shared: the cache makes later starts fast
    service = await started_service(DEFAULT_KB_PATH, data, model)
    yield service
    await service.stop()


@pytest.fixture
async def chat(service: KnowledgeService, tmp_path: Path) -> AsyncIterator[MemoryConversation]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}"
    await migrate(url)
    engine = create_engine(url)
    yield MemoryConversation(make_engine(service, Repository(engine)))
    await engine.dispose()


@pytest.mark.parametrize(
    ("message", "article"),
    [
        ("my mug showed up in pieces", "damaged-item"),
        ("I need to reset my login password", "account-password"),
        ("can I pay for it later in a few payments?", "buy-now-pay-later"),
        ("how do I stop the coffee subscription", "subscription-manage"),
        ("you put the wrong t-shirt colour in my box", "wrong-item"),
        ("Hi! I ordered yesterday... can I still change the address it goes to?", "change-shipping-address"),
        ("will my kettle work with 230 volts in germany", "voltage-plugs"),
    ],
)
async def test_paraphrased_questions_get_the_right_article(
    chat: MemoryConversation, message: str, article: str
) -> None:
    replies = await chat.say(message)
    turn = chat.last_turn
    assert turn is not None
    assert turn.decision is Decision.ANSWER, (turn.decision, turn.candidates[:2])
    assert turn.article_id == article
    assert replies[0].text  # the article's answer, as written by the editors


@pytest.mark.parametrize(
    "message", ["what is the capital of mongolia", "can you recommend a good dentist in Boston"]
)
async def test_off_topic_questions_abstain_and_offer_a_person(chat: MemoryConversation, message: str) -> None:
    replies = await chat.say(message)
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.ABSTAIN
    assert "I don't know" in replies[0].text
    assert replies[0].choices[0].payload == "human"


async def test_the_learned_ranking_and_calibration_are_in_place(service: KnowledgeService) -> None:
    assert service.head is not None
    assert 0.2 < service.rule.abstain_below < 0.8


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("your company clearly couldn't care less about the people who buy from it", "angry_customer"),
        ("the battery pack puffed up and now it won't close", "quality_issue"),
    ],
)
def test_escalation_by_meaning_when_no_phrase_matches(
    model: SentenceTransformerEmbedder, message: str, reason: str
) -> None:
    from bot.escalation.detector import EscalationDetector
    from bot.escalation.rules import load_rules

    rules_only = EscalationDetector(load_rules())
    assert not rules_only.assess(message).escalate  # no phrase or pattern catches it
    with_meaning = EscalationDetector(load_rules(), model.encode)
    assessment = with_meaning.assess(message, model.encode([message])[0])
    assert assessment.reason == reason
    assert assessment.hits[0].evidence.startswith("close to ")
