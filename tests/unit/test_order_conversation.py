"""Order status in conversation: verification first, the same answer for a wrong number or a wrong
email, lockout, several orders, late orders to a person. Real engine, real database (both kinds)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.channels.memory import MemoryConversation
from bot.domain import Channel, Decision, Reply
from bot.engine import Engine
from bot.knowledge import KnowledgeSearchAdapter
from bot.orders.assistant import OrderDesk
from bot.orders.delivery import load_delivery_table
from bot.orders.model import Order, OrderItem, OrderStatus
from bot.persistence.orders import EmbeddedOrders, OrderSessions
from bot.persistence.repository import Repository
from handoff.service import HandoffService
from knowledge_base.service import KnowledgeService
from tests.handoff_helpers import handoff_service
from tests.helpers import WORDING, started_service

TODAY = date(2026, 12, 2)  # a Wednesday
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def order(number: str, email: str, **fields: object) -> Order:
    values: dict[str, object] = {
        "number": number,
        "email": email,
        "postcode": "10115",
        "customer_name": "Lena Fischer",
        "items": (OrderItem("CC-ETH-250", "Ethiopia Guji 250 g", 2, Decimal("14.50")),),
        "total": Decimal("29.00"),
        "currency": "EUR",
        "status": OrderStatus.SHIPPED,
        "destination_country": "DE",
        "carrier": "DHL",
        "tracking_number": "JJD000390007",
        "shipped_at": TODAY - timedelta(days=1),
        "placed_at": NOW - timedelta(days=3),
        "city": "Berlin",
    }
    values.update(fields)
    return Order(**values)  # type: ignore[arg-type]


ORDERS = [
    order("1001", "lena.fischer@example.com"),
    order("1002", "lena.fischer@example.com", status=OrderStatus.PAID, shipped_at=None, carrier=None,
          tracking_number=None, placed_at=NOW - timedelta(days=1)),
    order("1003", "tom.baker@example.org", postcode="SW1A 1AA", destination_country="GB", carrier="Royal Mail",
          tracking_number="RM123456785GB", shipped_at=TODAY - timedelta(days=21), city="London"),
    order("HP-20931", "vip@example.com", customer_tags=("vip",), total=Decimal("412.00")),
]  # fmt: skip


@pytest.fixture
async def knowledge(kb_folder: Path) -> AsyncIterator[KnowledgeService]:
    service = await started_service(kb_folder, abstain_threshold=0.3)
    yield service
    await service.stop()


@pytest.fixture
async def desk(repository: Repository) -> OrderDesk:
    store = EmbeddedOrders(repository)
    await store.save_all(ORDERS)
    return OrderDesk(store, OrderSessions(repository), load_delivery_table(), clock=lambda: NOW)


@pytest.fixture
def handoff(repository: Repository) -> HandoffService:
    return handoff_service(repository)


@pytest.fixture
def engine(
    knowledge: KnowledgeService, repository: Repository, desk: OrderDesk, handoff: HandoffService
) -> Engine:
    from bot.app import order_context
    from bot.escalation.detector import EscalationDetector
    from bot.escalation.rules import load_rules
    from bot.escalation.service import EscalationService
    from bot.settings import load_settings

    rules = load_rules(load_settings().escalation_rules)
    escalation = EscalationService(
        EscalationDetector(rules, None), None, repository, lambda _: (), None, order_context(desk)
    )
    return Engine(
        KnowledgeSearchAdapter(knowledge),
        repository,
        WORDING,
        handoff,
        4000,
        escalation=escalation,
        orders=desk,
    )


def chat(engine: Engine, name: str = "c1") -> MemoryConversation:
    return MemoryConversation(engine, chat_id=name, channel=Channel.WEB)


def texts(replies: list[Reply]) -> str:
    return " ".join(r.text for r in replies)


async def test_no_order_detail_before_verification_then_the_status(engine: Engine) -> None:
    c = chat(engine)
    asked = texts(await c.say("where is my order #1001"))
    assert "email address or the postcode on order #1001" in asked
    for secret in ("DHL", "JJD000390007", "shipped", "Lena", "Berlin"):
        assert secret not in asked
    answer = texts(await c.say("lena.fischer@example.com"))
    assert c.last_turn is not None and c.last_turn.decision is Decision.ORDER
    assert "Order #1001 shipped on yesterday with DHL (tracking number JJD000390007)" in answer
    assert "tracking-id=JJD000390007" in answer and "1–3 business days" in answer
    # Remembered for the conversation: the same customer's other order needs no second proof.
    other = texts(await c.say("and what about order 1002?"))
    assert "Order #1002 is paid and being prepared" in other


async def test_a_wrong_number_and_a_wrong_email_get_the_same_reply(engine: Engine) -> None:
    unknown = chat(engine, "probe-1")
    await unknown.say("where is my order #99999")
    no_such_order = texts(await unknown.say("someone@example.com"))
    wrong_email = chat(engine, "probe-2")
    first = texts(await wrong_email.say("where is my order #1001"))
    assert first == texts(await chat(engine, "probe-3").say("where is my order #99999")).replace(
        "99999", "1001"
    )
    not_theirs = texts(await wrong_email.say("someone@example.com"))
    assert no_such_order == not_theirs and "couldn't match" in not_theirs


async def test_the_postcode_also_verifies(engine: Engine) -> None:
    c = chat(engine)
    await c.say("#1003 not here yet")
    answer = texts(await c.say("sw1a 1aa"))
    assert "running late" in answer and "Royal Mail" in answer


async def test_three_failed_tries_pause_lookups_and_offer_a_person(engine: Engine) -> None:
    c = chat(engine)
    await c.say("where is my order #1001")
    for wrong in ("a@example.com", "b@example.com"):
        assert "couldn't match" in texts(await c.say(wrong))
    locked = await c.say("c@example.com")
    assert "paused order lookups" in locked[0].text and [ch.payload for ch in locked[0].choices] == ["human"]
    # No more attempts for a while, even with the right details.
    refused = await c.say("where is my order #1001")
    assert "paused" in refused[0].text and "shipped" not in refused[0].text
    after = texts(await c.say("lena.fischer@example.com"))
    assert "shipped" not in after and "DHL" not in after


async def test_trying_many_order_numbers_reveals_nothing_and_is_stopped(engine: Engine) -> None:
    c = chat(engine)
    replies = []
    for n in range(1000, 1012):
        replies.append(texts(await c.say(f"where is order #{n}?")))
    assert all("shipped" not in r and "paid" not in r and "DHL" not in r for r in replies)
    assert all("email address or the postcode" in r for r in replies[:10])
    assert "paused lookups" in replies[-1]


async def test_several_orders_for_one_email_are_offered_as_buttons(engine: Engine) -> None:
    c = chat(engine)
    await c.say("where is my order #1001")
    await c.say("lena.fischer@example.com")
    offered = await c.say("where's my stuff?")
    assert "several orders" in offered[0].text
    assert [ch.payload for ch in offered[0].choices] == ["order:1002", "order:1001"]
    assert all("@" not in ch.label for ch in offered[0].choices)
    picked = texts(await c.press("order:1002", "#1002"))
    assert "Order #1002 is paid" in picked
    # A button for someone else's order is no way around verification.
    sneaky = texts(await c.press("order:1003", "#1003"))
    assert "Royal Mail" not in sneaky and "email address or the postcode on order #1003" in sneaky


async def test_a_long_late_order_goes_to_a_person_with_the_order_attached(
    engine: Engine, handoff: HandoffService
) -> None:
    c = chat(engine)
    await c.say("where is my parcel? order #1003")
    replies = await c.say("tom.baker@example.org")
    assert c.last_turn is not None and c.last_turn.decision is Decision.ESCALATE
    assert "running late" in replies[0].text and "our team" in replies[1].text
    ticket = await handoff.store.open_ticket_for(c.ref)
    assert ticket is not None and ticket.reason == "order_late" and ticket.order is not None
    assert ticket.order["number"] == "#1003" and ticket.order["email"] == "t***@example.org"
    assert "SW1A" not in str(ticket.order) and "SW****" in str(ticket.order)


async def test_a_general_question_gets_the_article_and_the_offer_to_check(engine: Engine) -> None:
    c = chat(engine)
    replies = await c.say("when will my parcel arrive")
    assert replies[0].text.startswith("Standard shipping takes 3 to 5 business days")
    assert "What's your order number?" in replies[1].text
    # The customer moves on: the pending lookup does not swallow the next question.
    replies = await c.say("how long does shipping take to canada")
    assert c.last_turn is not None and c.last_turn.decision is Decision.ANSWER and len(replies) == 1


async def test_a_bare_number_counts_once_it_was_asked_for(engine: Engine) -> None:
    c = chat(engine)
    await c.say("has my order shipped?")
    assert "email address or the postcode on order #1002" in texts(await c.say("1002"))


async def test_a_verified_vip_gets_a_person_for_questions_beyond_the_status(
    engine: Engine, handoff: HandoffService
) -> None:
    c = chat(engine)
    await c.say("where is my order HP-20931")
    status = await c.say("vip@example.com")
    assert c.last_turn is not None and c.last_turn.decision is Decision.ORDER  # the status itself: answered
    assert "HP-20931" in status[0].text
    await c.say("how long does shipping take to canada")
    assert c.last_turn is not None and c.last_turn.decision is Decision.ESCALATE
    ticket = await handoff.store.open_ticket_for(c.ref)
    assert ticket is not None and {r.reason for r in ticket.reasons} >= {"vip_customer", "high_value_order"}
    assert ticket.order is not None and ticket.order["number"] == "#HP-20931"


async def test_logs_never_carry_the_customers_email_or_postcode(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the default SUPPORTBOT_LOG_LEVEL
    c = chat(engine)
    await c.say("where is my order #1001")
    await c.say("wrong.person@example.com")
    await c.say("lena.fischer@example.com")
    await c.say("#1003 has it shipped?")
    await c.say("SW1A 1AA")
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in ("lena.fischer", "wrong.person", "SW1A", "tom.baker"):
        assert secret not in logged


def test_the_slack_post_shows_the_order_with_personal_details_masked() -> None:
    from bot.domain import ConversationRef, CustomerIdentity, EscalationReason
    from bot.orders.answer import agent_summary
    from handoff.slack.blocks import ticket_message
    from handoff.tickets import SlaTimes, Ticket, TicketState

    summary = agent_summary(ORDERS[2])
    ticket = Ticket(
        1,
        ConversationRef(Channel.TELEGRAM, "5"),
        CustomerIdentity("5", "Tom"),
        (EscalationReason("order_late", 1.0, "14 business days late"),),
        TicketState.WAITING,
        NOW,
        SlaTimes(NOW, NOW, NOW),
        order=summary,
    )
    _, blocks = ticket_message(ticket, [], NOW)
    shown = json.dumps(blocks, ensure_ascii=False).replace("\u2060", "")  # the escaping's word joiners
    assert "#1003" in shown and "Royal Mail RM123456785GB" in shown and "t***@example.org" in shown
    assert "tom.baker" not in shown and "SW1A 1AA" not in shown and "Order running late" in shown
