"""Telegram end to end: the real python-telegram-bot against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import create_app
from bot.domain import Channel, ConversationRef
from bot.settings import load_settings
from tests.fakes.server import serving
from tests.fakes.telegram import TOKEN, FakeTelegram, callback_update, text_update
from tests.helpers import fast_settings

SECRET = "s3cret-token_1"
CHAT = 5551234


class Bot:
    """The running app, the fake Telegram, and a way to post webhook updates."""

    def __init__(self, app: Any, url: str, fake: FakeTelegram) -> None:
        self.app, self.url, self.fake = app, url, fake

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with httpx.AsyncClient() as client:
            return await client.post(f"{self.url}/telegram/webhook", json=update, headers=headers)

    @property
    def repository(self) -> Any:
        return self.app.state.services.repository


def settings_for(kb: Path, data: Path, api: str, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "telegram_token": TOKEN,
        "telegram_api_url": api,
        "telegram_mode": "webhook",
        "telegram_webhook_secret": SECRET,
        "public_url": "https://bot.example.com",
    }
    values.update(extra)
    return fast_settings(kb, data, **values)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    async with serving(fake.app()) as url:
        yield fake, url


@pytest.fixture
async def bot(
    fake: tuple[FakeTelegram, str], kb_folder: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Bot]:
    telegram, api = fake
    app = create_app(settings_for(kb_folder, tmp_path / "var", api, **getattr(request, "param", {})))
    async with serving(app) as url:
        yield Bot(app, url, telegram)


async def test_start_registers_the_webhook_with_its_secret(bot: Bot) -> None:
    hooks = bot.fake.sent("setWebhook")
    assert hooks and hooks[0]["url"] == "https://bot.example.com/telegram/webhook"
    assert hooks[0]["secret_token"] == SECRET


async def test_a_quick_answer_needs_no_typing_indicator(bot: Bot) -> None:
    response = await bot.post(text_update(1, CHAT, "how long does shipping take to canada"))
    assert response.status_code == 200
    sent = await bot.fake.wait_for("sendMessage", 1)
    assert sent[0]["text"].startswith("Standard shipping takes 3 to 5 business days")
    await asyncio.sleep(0.7)  # past the default half second
    assert bot.fake.sent("sendChatAction") == []


# An answer slower than the threshold (here: any answer) shows "typing…" first.
@pytest.mark.parametrize("bot", [{"telegram_typing_after": 0.0}], indirect=True)
async def test_a_slow_answer_is_preceded_by_a_typing_indicator(bot: Bot) -> None:
    response = await bot.post(text_update(1, CHAT, "how long does shipping take to canada"))
    assert response.status_code == 200
    sent = await bot.fake.wait_for("sendMessage", 1)
    assert sent[0]["text"].startswith("Standard shipping takes 3 to 5 business days")
    actions = bot.fake.sent("sendChatAction")
    assert actions and actions[0]["action"] == "typing"
    names = [c.method for c in bot.fake.calls]
    assert names.index("sendChatAction") < names.index("sendMessage")


async def test_a_forged_or_missing_secret_is_refused_and_nothing_recorded(bot: Bot) -> None:
    assert (await bot.post(text_update(2, CHAT, "hello"), secret="wrong")).status_code == 403
    assert (await bot.post(text_update(3, CHAT, "hello"), secret=None)).status_code == 403
    await asyncio.sleep(0.3)
    assert await bot.repository.count_messages() == 0
    assert bot.fake.sent("sendMessage") == []


async def test_a_redelivered_update_is_processed_once(bot: Bot) -> None:
    update = text_update(7, CHAT, "Can I buy a gift voucher?")
    assert (await bot.post(update)).status_code == 200
    assert (await bot.post(update)).status_code == 200
    await bot.fake.wait_for("sendMessage", 1)
    await asyncio.sleep(0.5)
    assert len(bot.fake.sent("sendMessage")) == 1
    assert await bot.repository.count_messages() == 2


async def test_start_command_greets(bot: Bot) -> None:
    await bot.post(text_update(8, CHAT, "/start"))
    sent = await bot.fake.wait_for("sendMessage", 1)
    assert "Test" not in sent[0]["text"] and "assistant" in sent[0]["text"]


async def test_abstain_offers_a_person_as_an_inline_button_and_the_button_works(bot: Bot) -> None:
    await bot.post(text_update(9, CHAT, "quantum chromodynamics lattice"))
    sent = await bot.fake.wait_for("sendMessage", 1)
    keyboard = sent[0]["reply_markup"]["inline_keyboard"]
    assert keyboard == [[{"text": "Talk to a person", "callback_data": "human"}]]
    await bot.post(callback_update(10, CHAT, "human"))
    sent = await bot.fake.wait_for("sendMessage", 2)
    assert "bringing in a person from our team" in sent[1]["text"]
    assert bot.fake.sent("answerCallbackQuery")[0]["callback_query_id"] == "cb10"


async def test_a_photo_is_acknowledged_and_kept_as_a_reference(bot: Bot) -> None:
    photo = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 1000},
        {"file_id": "big-photo", "file_unique_id": "b", "width": 800, "height": 800, "file_size": 90000},
    ]
    await bot.post(text_update(11, CHAT, "", photo=photo))
    sent = await bot.fake.wait_for("sendMessage", 1)
    assert "received your photo" in sent[0]["text"]
    from sqlalchemy import select

    from bot.persistence.models import MessageRow

    async with bot.repository._sessions() as session:
        stored = (
            await session.scalars(select(MessageRow.attachments).where(MessageRow.direction == "in"))
        ).all()
    assert stored == [[{"kind": "photo", "file_id": "big-photo", "name": None, "size": 90000}]]


async def test_group_chats_are_declined_politely(bot: Bot) -> None:
    await bot.post(text_update(12, -100200, "where is my order", chat_type="group"))
    sent = await bot.fake.wait_for("sendMessage", 1)
    assert "only answer in private chats" in sent[0]["text"]
    assert await bot.repository.count_messages() == 0


async def test_an_edited_message_is_answered_once(bot: Bot) -> None:
    edit = text_update(13, CHAT, "Do gift cards expire?", edited=True)
    await bot.post(edit)
    await bot.post(edit)
    await bot.fake.wait_for("sendMessage", 1)
    await asyncio.sleep(0.4)
    assert len(bot.fake.sent("sendMessage")) == 1


async def test_429_is_retried_after_the_vendors_delay(bot: Bot) -> None:
    bot.fake.fail("sendMessage", 429, retry_after=1)
    await bot.post(text_update(14, CHAT, "Do gift cards expire?"))
    sent = await bot.fake.wait_for("sendMessage", 1, within=8)
    refused = [c for c in bot.fake.calls if c.method == "sendMessage!429"]
    delivered = [c for c in bot.fake.calls if c.method == "sendMessage"]
    assert len(refused) == 1 and sent[0]["text"].startswith("Digital gift cards")
    assert delivered[0].at - refused[0].at >= 0.95


async def test_5xx_is_retried_with_backoff_and_nothing_is_lost(bot: Bot) -> None:
    bot.fake.fail("sendMessage", 500, times=2)
    await bot.post(text_update(15, CHAT, "Do gift cards expire?"))
    await bot.fake.wait_for("sendMessage", 1, within=10)
    assert len([c for c in bot.fake.calls if c.method == "sendMessage!500"]) == 2
    ref = ConversationRef(Channel.TELEGRAM, str(CHAT))
    for _ in range(100):  # the fake answered; the outbox records it a moment later
        states = await bot.repository.outbox_states(ref)
        if states[0][0] != "pending":
            break
        await asyncio.sleep(0.05)
    assert states[0][0] == "sent" and states[0][1] == 2


async def test_a_customer_who_blocked_the_bot_is_marked_undeliverable(bot: Bot) -> None:
    bot.fake.blocked_chats.add(CHAT)
    await bot.post(text_update(16, CHAT, "Do gift cards expire?"))
    ref = ConversationRef(Channel.TELEGRAM, str(CHAT))
    for _ in range(100):
        states = await bot.repository.outbox_states(ref)
        if states and states[0][0] != "pending":
            break
        await asyncio.sleep(0.05)
    assert states[0][0] == "undeliverable"
    assert "blocked by the user" in (states[0][2] or "")


async def test_replies_to_one_chat_are_spaced_a_second_apart(bot: Bot) -> None:
    for i in range(3):
        await bot.post(
            text_update(20 + i, CHAT, "Do gift cards expire?" if i % 2 else "when will my parcel arrive")
        )
    await bot.fake.wait_for("sendMessage", 3, within=10)
    times = [c.at for c in bot.fake.calls if c.method == "sendMessage"]
    assert all(later - earlier >= 0.9 for earlier, later in itertools.pairwise(times))


async def test_replies_pending_at_shutdown_are_sent_after_restart(
    fake: tuple[FakeTelegram, str], kb_folder: Path, tmp_path: Path
) -> None:
    telegram, api = fake
    settings = settings_for(kb_folder, tmp_path / "var", api)
    telegram.fail("sendMessage", 500, times=1000)
    app = create_app(settings)
    async with serving(app) as url:
        await Bot(app, url, telegram).post(text_update(30, CHAT, "Do gift cards expire?"))
        await asyncio.sleep(0.5)
    assert telegram.sent("sendMessage") == []
    telegram.failures.clear()
    app = create_app(settings)
    async with serving(app):
        sent = await telegram.wait_for("sendMessage", 1, within=10)
    assert sent[0]["text"].startswith("Digital gift cards")


async def test_polling_mode_answers_queued_updates(
    fake: tuple[FakeTelegram, str], kb_folder: Path, tmp_path: Path
) -> None:
    telegram, api = fake
    telegram.updates.append(text_update(40, CHAT, "Can I buy a gift voucher?"))
    settings = settings_for(kb_folder, tmp_path / "var", api, telegram_mode="polling")
    async with serving(create_app(settings)):
        sent = await telegram.wait_for("sendMessage", 1, within=15)
    assert sent[0]["text"].startswith("Digital gift cards")
    assert telegram.sent("deleteWebhook")


def test_webhook_mode_without_a_secret_is_a_configuration_error(tmp_path: Path) -> None:
    from bot.errors import SettingsError

    with pytest.raises(SettingsError, match="SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET is required"):
        load_settings(telegram_token=TOKEN, telegram_mode="webhook")


@pytest.mark.parametrize("bot", [{"telegram_typing_after": 0.0}], indirect=True)
async def test_typing_indicators_give_way_to_answers_under_load(bot: Bot) -> None:
    updates = [text_update(100 + n, 9000 + n, "how long does shipping take to canada") for n in range(20)]
    responses = await asyncio.gather(*(bot.post(update) for update in updates))
    assert all(r.status_code == 200 for r in responses)
    await bot.fake.wait_for("sendMessage", 20, within=30)
    typing_times = [c.at for c in bot.fake.calls if c.method == "sendChatAction"]
    assert 1 <= len(typing_times) <= 10  # at most five a second, and the answers all went out
    for first in typing_times:
        assert sum(1 for t in typing_times if first <= t < first + 1.0) <= 5
