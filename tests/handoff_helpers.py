"""A real engine wired to the real handoff service over a real database, for handoff tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.domain import Channel, ConversationRef, Reply
from bot.engine import Engine
from bot.knowledge import KnowledgeSearchAdapter
from bot.persistence.repository import Repository
from bot.persistence.tickets import TicketRepository
from handoff.service import CustomerWords, HandoffService
from handoff.sla import SlaPolicy, SlaTarget, parse_business_hours
from knowledge_base.service import KnowledgeService
from tests.helpers import WORDING

ALWAYS_OPEN = SlaPolicy(
    hours=parse_business_hours("24/7", "Europe/Berlin"),
    default=SlaTarget(120, 1440),
    by_reason={"chargeback_dispute": SlaTarget(30, 480)},
    reminder_share=0.75,
)


def handoff_service(
    repository: Repository, policy: SlaPolicy = ALWAYS_OPEN, **options: Any
) -> HandoffService:
    tickets = TicketRepository(repository)
    return HandoffService(tickets, tickets, policy, CustomerWords("Test Store"), **options)


def engine_with_handoff(
    knowledge: KnowledgeService, repository: Repository, handoff: HandoffService
) -> Engine:
    return Engine(KnowledgeSearchAdapter(knowledge), repository, WORDING, handoff, 4000)


async def queued_texts(repository: Repository, ref: ConversationRef) -> list[str]:
    """What is waiting in the outbox for this conversation, oldest first."""
    pending = await repository.pending_outbox({Channel.WEB, Channel.TELEGRAM})
    return [item.reply.text for item, _ in pending if item.ref == ref]


async def queued_replies(repository: Repository, ref: ConversationRef) -> list[Reply]:
    pending = await repository.pending_outbox({Channel.WEB, Channel.TELEGRAM})
    return [item.reply for item, _ in pending if item.ref == ref]


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    """A fixed moment in December 2026 (the 2nd is a Wednesday), in UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)
