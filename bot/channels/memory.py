"""An in-memory channel: tests and the terminal chat drive the engine through it as a dialog."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.domain import Channel, ConversationRef, CustomerIdentity, IncomingMessage, Reply, Turn
from bot.engine import Engine


@dataclass
class MemoryConversation:
    """One customer talking to the engine; `say` returns what the bot answered."""

    engine: Engine
    chat_id: str = "chat-1"
    customer: CustomerIdentity = field(default_factory=lambda: CustomerIdentity("customer-1", "Sam"))
    channel: Channel = Channel.MEMORY
    transcript: list[tuple[str, str]] = field(default_factory=list)
    last_turn: Turn | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def ref(self) -> ConversationRef:
        return ConversationRef(self.channel, self.chat_id)

    async def say(self, text: str, *, button: str | None = None, vendor_id: str | None = None) -> list[Reply]:
        message = IncomingMessage(
            ref=self.ref,
            customer=self.customer,
            text=text,
            received_at=datetime.now(UTC),
            vendor_message_id=vendor_id if vendor_id is not None else f"m{next(self._ids)}-{self.chat_id}",
            button_payload=button,
        )
        self.transcript.append(("customer", text))
        turn = await self.engine.handle(message)
        self.last_turn = turn
        replies = list(turn.replies) if turn else []
        self.transcript.extend(("bot", r.text) for r in replies)
        return replies

    async def press(self, payload: str, label: str = "") -> list[Reply]:
        return await self.say(label, button=payload)
