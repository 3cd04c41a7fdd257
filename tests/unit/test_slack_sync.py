"""SlackSync against the fake Slack Web API: what it posts, and that it never posts a ticket twice
while the database is too busy to record that it did."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.memory import MemoryConversation
from bot.domain import Channel
from bot.persistence.repository import Repository
from bot.persistence.tickets import TicketRepository
from handoff.slack.sync import SlackSync
from tests.fakes.server import serving
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.handoff_helpers import handoff_service


class SlowRecords(TicketRepository):
    """The database writer is busy: recording what Slack shows waits until released."""

    def __init__(self, repository: Repository) -> None:
        super().__init__(repository)
        self.release = asyncio.Event()

    async def mark_shown(self, shown: Sequence[tuple[int, int, str, str]]) -> None:
        await self.release.wait()
        await super().mark_shown(shown)


async def test_a_ticket_is_posted_once_even_before_the_post_is_recorded(repository: Repository) -> None:
    from bot.engine import Engine
    from tests.helpers import WORDING

    slack = FakeSlack()
    handoff = handoff_service(repository)
    store = SlowRecords(repository)
    async with serving(slack.app) as url:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=f"{url}/api/")
        sync = SlackSync(store, client, store, lambda reason: "CSUPPORT")
        engine = Engine(_NoSearch(), repository, WORDING, handoff, 4000)
        chat = MemoryConversation(engine, chat_id="c1", channel=Channel.WEB)
        await chat.press("human", "Talk to a person")
        ticket = await handoff.store.open_ticket_for(chat.ref)
        assert ticket is not None
        await sync.sync_once()
        await sync.sync_once()  # the record is still pending: nothing is posted again
        assert len(slack.sent("chat.postMessage")) == 1
        posted = slack.messages("CSUPPORT", top_level=True)[0]
        # The Slack side already finds the ticket by its message, before the database has it.
        assert await store.desk_location(ticket.id) is None
        assert await sync.desk_location(ticket.id) == ("CSUPPORT", posted["ts"])
        found = await sync.ticket_at("CSUPPORT", posted["ts"])
        assert found is not None and found.id == ticket.id
        store.release.set()
        await sync.stop()  # writes what is pending
        assert await store.desk_location(ticket.id) == ("CSUPPORT", posted["ts"])
        await sync.sync_once()
        assert len(slack.sent("chat.postMessage")) == 1


class _NoSearch:
    async def search(self, text: str) -> object:
        raise AssertionError("not used: the customer pressed the button for a person")

    def article_answer(self, article_id: str) -> None:
        return None
