"""Escalation: each trigger, the hard negatives, the rules file's errors, context and clusters."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.channels.memory import MemoryConversation
from bot.cli import main
from bot.domain import Decision, Direction
from bot.engine import Engine, RecordingHandoff
from bot.escalation.detector import EscalationDetector
from bot.escalation.model import ConversationContext, OrderContext
from bot.escalation.rules import DEFAULT_RULES, check_rules, load_rules
from bot.escalation.service import EscalationService, product_named
from bot.knowledge import KnowledgeSearchAdapter
from bot.persistence.models import MessageRow
from bot.persistence.repository import Repository
from knowledge_base.service import KnowledgeService
from tests.helpers import WORDING, started_service

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "escalation_cases.jsonl"
RULES = load_rules()
DETECTOR = EscalationDetector(RULES)  # rules only: the meaning part is tested with the real model


def cases() -> list[dict[str, object]]:
    return [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("case", cases(), ids=lambda c: str(c["text"])[:40])
def test_each_trigger_and_each_hard_negative(case: dict[str, object]) -> None:
    assessment = DETECTOR.assess(str(case["text"]))
    assert assessment.escalate is case["escalate"], assessment.hits
    if case["escalate"]:
        assert assessment.reason == case["reason"]
        assert assessment.hits[0].evidence  # the agent sees what fired


@pytest.mark.parametrize(
    "text",
    [
        "I asked for a human earlier but never mind, you answered it",
        "how long do refunds usually take?",
        "my friend said your returns are generous",
        "I'd kill for a restock of the copper kettle",
        "I'm not angry, just confused about points",
        "left you a 5 star review on Trustpilot!",
        "how would I reach a person if I ever need one? just asking",
    ],
)
def test_trigger_words_used_harmlessly_do_not_escalate(text: str) -> None:
    assert not DETECTOR.assess(text).escalate


def test_typos_are_tolerated() -> None:
    assert DETECTOR.assess("gonna file a chargback").reason == "chargeback_dispute"
    assert DETECTOR.assess("talk to humen").reason == "human_request"
    assert DETECTOR.assess("refnd my order asap").reason == "refund_request"
    assert not DETECTOR.assess("just curious how points work").escalate  # curious is not furious


def test_precedence_picks_the_reason_when_several_fire() -> None:
    assessment = DETECTOR.assess("Refund me or I'm doing a chargeback, and my lawyer will hear of it")
    assert [h.reason for h in assessment.hits][:3] == ["legal_threat", "chargeback_dispute", "refund_request"]


def test_context_triggers() -> None:
    order = OrderContext(order_total=420.0, item_quantity=12, customer_tags=("VIP",), customer_order_count=1)
    reasons = {h.reason for h in DETECTOR.assess("where is my order", order=order).hits}
    assert reasons == {"high_value_order", "vip_customer", "bulk_order"}
    small = OrderContext(order_total=40.0, item_quantity=1, customer_tags=(), customer_order_count=6)
    assert {h.reason for h in DETECTOR.assess("where is my order", order=small).hits} == {"vip_customer"}
    loop = ConversationContext(failures_in_a_row=2, repeated_topic="track-order", last_csat=1)
    assert {h.reason for h in DETECTOR.assess("hm", conversation=loop).hits} == {
        "bot_loop",
        "repeat_contact",
        "low_csat",
    }


def test_products_are_found_by_alias() -> None:
    assert product_named("the gooseneck smells of burning", RULES.cluster.products) == "kettle"
    assert product_named("nothing to see", RULES.cluster.products) is None


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_bundled_rules_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_rules(DEFAULT_RULES)[1] == []
    assert main(["escalation", "check"]) == 0
    assert "ok: 7 triggers" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("precedence: [a]\ntriggers:\n  a:\n    phrases: [x\n", "rules.yaml:4: not valid YAML"),
        (
            "precedence: [a]\ntriggers:\n  a:\n    patterns: ['(unclosed']\n",
            "rules.yaml:4: a.patterns item 1 is not a valid regular expression",
        ),
        (
            "precedence: [a]\ntriggers:\n  a:\n    phrases: [x]\n    threshold: 3\n",
            "rules.yaml:5: unknown field 'threshold' in trigger 'a'",
        ),
        (
            "precedence: [a]\ntriggers:\n  a:\n    phrases: [x]\n  b:\n    phrases: [y]\n",
            "rules.yaml:5: trigger 'b' is missing from precedence",
        ),
        (
            "precedence: [a, c]\ntriggers:\n  a:\n    phrases: [x]\n",
            "rules.yaml:1: precedence names 'c', which is not a trigger",
        ),
        (
            "precedence: [a]\ntriggers:\n  a:\n    phrases: [x]\nnegations: [not, no]\n",
            "rules.yaml:5: negations item 2 must be non-empty text",
        ),
        (
            "precedence: [a]\ntriggers:\n  a:\n    exemplars: [x]\n    semantic_threshold: 2\n",
            "rules.yaml:5: a.semantic_threshold must be a number from 0 to 1",
        ),
        (
            "precedence: [a]\ntriggers:\n  a:\n    description: never fires\n",
            "rules.yaml:3: trigger 'a' has no phrases, patterns or exemplars",
        ),
    ],
)
def test_rule_mistakes_point_at_the_line(
    tmp_path: Path, text: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, text)
    assert main(["escalation", "check", str(path)]) == 1
    assert expected in capsys.readouterr().out


def test_explain_prints_what_fired(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTBOT_EMBEDDER", "hashing")
    assert main(["escalation", "explain", "I want my money back, the kettle smells of burning"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("escalate: yes, reason refund_request")
    assert "fired  quality_issue" in out and "phrase 'smells of burning'" in out
    assert main(["escalation", "explain", "do you ship to Canada?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["escalate"] is False


def test_eval_escalation_command(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_EMBEDDER", "hashing")
    assert main(["eval", "escalation", "--cases", str(CASES), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"cases", "recall", "precision", "false_escalation_rate", "reason_accuracy"} <= set(result)
    assert result["cases"] == len(cases())
    assert result["recall"] >= 0.95 and result["false_escalation_rate"] <= 0.05


# -- through the engine -------------------------------------------------------------------------


@pytest.fixture
async def service(kb_folder: Path) -> AsyncIterator[KnowledgeService]:
    service = await started_service(kb_folder, abstain_threshold=0.3)
    yield service
    await service.stop()


def engine_for(service: KnowledgeService, repository: Repository) -> Engine:
    def tags(article_id: str) -> tuple[str, ...]:
        article = service.article(article_id)
        return article.tags if article else ()

    escalation = EscalationService(DETECTOR, None, repository, tags)
    return Engine(
        KnowledgeSearchAdapter(service),
        repository,
        WORDING,
        RecordingHandoff(repository, WORDING),
        4000,
        escalation=escalation,
    )


async def test_an_escalated_message_goes_to_the_handoff_and_the_customer_is_told(
    service: KnowledgeService, repository: Repository
) -> None:
    chat = MemoryConversation(engine_for(service, repository))
    replies = await chat.say("Refund me for the order or I'm calling my bank to reverse the charge")
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.ESCALATE
    assert chat.last_turn.escalation[0].reason == "chargeback_dispute"
    assert "Payment disputes are handled by a person on our team" in replies[0].text
    assert "won't need to repeat yourself" in replies[0].text
    assert await repository.events("handoff_requested") == [
        ("handoff_requested", {"reason": "chargeback_dispute"})
    ]
    async with repository._sessions() as session:
        from sqlalchemy import select

        stored = await session.scalar(select(MessageRow.escalation).where(MessageRow.direction == "in"))
    assert stored is not None and stored[0]["reason"] == "chargeback_dispute"
    assert "phrase" in stored[0]["evidence"] or "pattern" in stored[0]["evidence"]


async def test_the_bot_failing_twice_in_a_row_brings_in_a_person(
    service: KnowledgeService, repository: Repository
) -> None:
    chat = MemoryConversation(engine_for(service, repository))
    await chat.say("xylophone zebra quartz")
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.ABSTAIN
    replies = await chat.say("quartz zebra xylophone please")
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.ESCALATE
    assert chat.last_turn.escalation[0].reason == "bot_loop"
    assert "I couldn't answer that" in replies[0].text


async def test_the_same_problem_raised_again_days_later(
    service: KnowledgeService, repository: Repository
) -> None:
    chat = MemoryConversation(engine_for(service, repository))
    await chat.say("I typed the wrong address, can you fix it?")
    assert chat.last_turn is not None and chat.last_turn.article_id == "change-address"
    async with repository._writing() as session:
        await session.execute(update(MessageRow).values(created_at=datetime.now(UTC) - timedelta(days=3)))
    await chat.say("I typed the wrong address, can you fix it?")
    assert chat.last_turn is not None and chat.last_turn.decision is Decision.ESCALATE
    assert chat.last_turn.escalation[0].reason == "repeat_contact"


async def test_a_quality_cluster_raises_exactly_one_incident(
    service: KnowledgeService, repository: Repository
) -> None:
    engine = engine_for(service, repository)
    needed = RULES.cluster.customers
    for n in range(needed - 1):
        await MemoryConversation(engine, chat_id=f"c{n}", customer=_who(n)).say("my kettle smells of burning")
    assert await repository.incidents() == []  # N-1 customers: no incident yet
    # The same customer again does not count twice.
    await MemoryConversation(engine, chat_id="c0-again", customer=_who(0)).say(
        "the kettle smells of burning again"
    )
    assert await repository.incidents() == []
    for n in range(needed - 1, needed + 2):
        await MemoryConversation(engine, chat_id=f"c{n}", customer=_who(n)).say(
            "the kettle gets hot and smells of burning"
        )
    incidents = await repository.incidents()
    assert len(incidents) == 1
    kind, key, reports, _ = incidents[0]
    assert (kind, key) == ("quality_cluster", "kettle") and reports == needed + 2


def _who(n: int):  # type: ignore[no-untyped-def]
    from bot.domain import CustomerIdentity

    return CustomerIdentity(f"customer-{n}")


async def test_every_decision_is_stored_with_its_message(
    service: KnowledgeService, repository: Repository
) -> None:
    chat = MemoryConversation(engine_for(service, repository))
    await chat.say("how long does shipping take to canada")
    stored = await repository.transcript(chat.ref)
    assert [m.direction for m in stored] == [Direction.INBOUND, Direction.OUTBOUND]
    assert stored[1].decision is Decision.ANSWER
