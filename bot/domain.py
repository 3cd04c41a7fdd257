"""Domain values shared by the engine, the channels and the handoff. Frozen: they cross boundaries."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Channel(enum.StrEnum):
    MEMORY = "memory"
    WEB = "web"
    TELEGRAM = "telegram"
    CLI = "cli"
    API = "api"  # the synchronous JSON endpoint: replies come back in the HTTP response


#: Channels whose replies go through the persisted outbox (sent asynchronously, retried).
#: The in-memory and terminal channels read replies straight from the Turn.
OUTBOX_CHANNELS = frozenset({Channel.WEB, Channel.TELEGRAM})


class Direction(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class Decision(enum.StrEnum):
    """What the bot decided to do with a customer message."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    ABSTAIN = "abstain"
    ESCALATE = "escalate"  # handed to a person, with the reasons
    RELAYED = "relayed"  # a person owns the conversation: passed to them, the bot stays quiet
    ORDER = "order"  # an order question: verification asked, or the status answered
    # Messages the bot did not decide, stored with the rest of the conversation:
    AGENT = "agent"  # a person's reply from Slack or the desk
    HANDOFF = "handoff"  # the handoff telling the customer (a person joined, resolved, the rating)
    SMALL_TALK = "small_talk"
    ACKNOWLEDGE = "acknowledge"  # a photo or file received, nothing to answer yet
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class ConversationRef:
    """Where a conversation lives: the channel and the channel's own id for the chat."""

    channel: Channel
    chat_id: str

    @property
    def key(self) -> str:
        return f"{self.channel.value}:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class CustomerIdentity:
    channel_user_id: str
    display_name: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the customer sent, kept as the vendor's reference (never downloaded by the bot)."""

    kind: str  # photo, document, voice, video, sticker
    vendor_file_id: str
    name: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    ref: ConversationRef
    customer: CustomerIdentity
    text: str
    received_at: datetime
    vendor_message_id: str | None = None
    button_payload: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Choice:
    """A quick-reply button: what it says and what it sends back."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    link: str | None = None
    agent: str | None = None  # the person who wrote it, when it is not the bot

    def to_payload(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "text": self.text,
            "link": self.link,
            "choices": [{"label": c.label, "payload": c.payload} for c in self.choices],
        }
        if self.agent:
            payload["agent"] = self.agent
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, object]) -> Reply:
        choices = payload.get("choices") or []
        assert isinstance(choices, list)
        link = payload.get("link")
        agent = payload.get("agent")
        return cls(
            text=str(payload.get("text", "")),
            choices=tuple(Choice(str(c["label"]), str(c["payload"])) for c in choices),
            link=str(link) if link else None,
            agent=str(agent) if agent else None,
        )


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked article for a message, with the scores that ranked it."""

    article_id: str
    title: str
    score: float
    dense: float
    lexical: float
    learned: float | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    decision: Decision
    confidence: float
    candidates: tuple[Candidate, ...]
    answer_article_id: str | None = None

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, slots=True)
class EscalationReason:
    """Why a person must take over: a reason code, how strongly, and what showed it."""

    reason: str
    score: float
    evidence: str


@dataclass(frozen=True, slots=True)
class Turn:
    """The outcome of one customer message: what was decided and what the customer is told."""

    decision: Decision
    confidence: float
    replies: tuple[Reply, ...]
    article_id: str | None = None
    candidates: tuple[Candidate, ...] = field(default=())
    escalation: tuple[EscalationReason, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A stored reply on its way to a customer."""

    id: int
    ref: ConversationRef
    reply: Reply
    attempts: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a conversation as the customer saw it (for a widget that reconnects)."""

    author: str  # customer, bot or agent
    text: str
    at: datetime
    reply: Reply | None = None
    reply_id: int | None = None  # the outbox row, when the reply went through the outbox


@dataclass(frozen=True, slots=True)
class OrderReply:
    """The order assistant's answer to one message: what to say, and whether a person must follow up."""

    replies: tuple[Reply, ...]
    escalation: tuple[EscalationReason, ...] = ()
    order: dict[str, object] | None = None  # the order as agents see it (personal details masked)
    asks_for_details: bool = False  # only asks for the order number or the email: nothing answered yet
