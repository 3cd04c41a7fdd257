"""The local agent desk over HTTP: a real Starlette app, a real HandoffService and SlaPolicy, and
in-memory fakes for the ticket store and the customer outbox."""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from bot.domain import (
    Channel,
    ConversationRef,
    CustomerIdentity,
    EscalationReason,
    IncomingMessage,
    Reply,
)
from handoff.desk.routes import COOKIE, PAGE, SessionSigner, desk_routes
from handoff.ports import Delivery, Line, LineKind, TranscriptSource
from handoff.service import CustomerWords, HandoffService
from handoff.sla import SlaPolicy, SlaTarget, parse_business_hours
from handoff.templates import NO_TIMING, default_templates_folder, load_templates
from handoff.tickets import SlaTimes, Ticket, TicketState

PASSWORD = "correct horse battery staple"
SECRET = b"test-desk-secret"
STORE = "Bean Store"
XRW = {"X-Requested-With": "desk"}
HOSTILE = '<img src=x onerror="alert(1)">'


# -- fakes ------------------------------------------------------------------------------------------


class MemoryTicketStore:
    """A dict-based TicketStore; `save` is compare-and-set on the stored state, like the real one."""

    def __init__(self) -> None:
        self.by_id: dict[int, Ticket] = {}
        self.line_rows: dict[int, Line] = {}
        self.outbox_of: dict[int, int] = {}  # line id -> outbox id
        self._ticket_ids = itertools.count(1)
        self._line_ids = itertools.count(1)

    async def open_ticket(
        self,
        ref: ConversationRef,
        customer: CustomerIdentity,
        reasons: tuple[EscalationReason, ...],
        trigger_text: str,
        due: SlaTimes,
        now: datetime,
        order: dict[str, object] | None = None,
    ) -> tuple[Ticket, bool]:
        existing = await self.open_ticket_for(ref)
        if existing is not None:
            return existing, False
        ticket = Ticket(
            id=next(self._ticket_ids),
            ref=ref,
            customer=customer,
            reasons=reasons,
            state=TicketState.WAITING,
            created_at=now,
            due=due,
            trigger_text=trigger_text,
            order=order,
        )
        self.by_id[ticket.id] = ticket
        return ticket, True

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return self.by_id.get(ticket_id)

    async def open_ticket_for(self, ref: ConversationRef) -> Ticket | None:
        found = [t for t in self.by_id.values() if t.ref == ref and t.is_open]
        return max(found, key=lambda t: t.id) if found else None

    async def latest_ticket_for(self, ref: ConversationRef) -> Ticket | None:
        found = [t for t in self.by_id.values() if t.ref == ref]
        return max(found, key=lambda t: t.id) if found else None

    async def tickets(self, states: frozenset[str] | None = None, limit: int = 200) -> list[Ticket]:
        found = [t for t in self.by_id.values() if not states or t.state.value in states]
        return sorted(found, key=lambda t: t.id, reverse=True)[:limit]

    async def save(self, before: Ticket, after: Ticket) -> bool:
        current = self.by_id.get(before.id)
        if current is None or current.state is not before.state:
            return False
        self.by_id[before.id] = after
        return True

    async def set_comment(self, ticket_id: int, comment: str) -> None:
        self.by_id[ticket_id] = replace(self.by_id[ticket_id], csat_comment=comment)

    async def add_line(
        self,
        ticket_id: int,
        kind: LineKind,
        text: str,
        *,
        author_id: str | None = None,
        author_name: str | None = None,
        vendor_id: str | None = None,
        delivery: Delivery | None = None,
    ) -> Line | None:
        if vendor_id is not None and any(line.vendor_id == vendor_id for line in self.line_rows.values()):
            return None
        line = Line(
            next(self._line_ids),
            ticket_id,
            kind,
            text,
            datetime.now(UTC),
            author_id,
            author_name,
            vendor_id,
            delivery,
        )
        self.line_rows[line.id] = line
        return line

    async def line(self, line_id: int) -> Line | None:
        return self.line_rows.get(line_id)

    async def lines(self, ticket_id: int) -> list[Line]:
        return [line for line in self.line_rows.values() if line.ticket_id == ticket_id]

    async def set_delivery(
        self, line_id: int, delivery: Delivery, *, outbox_id: int | None = None, error: str | None = None
    ) -> None:
        self.line_rows[line_id] = replace(self.line_rows[line_id], delivery=delivery, delivery_error=error)
        if outbox_id is not None:
            self.outbox_of[line_id] = outbox_id

    async def line_for_outbox(self, outbox_id: int) -> Line | None:
        for line_id, found in self.outbox_of.items():
            if found == outbox_id:
                return self.line_rows[line_id]
        return None


@dataclass
class RecordingOutbox:
    sent: list[tuple[ConversationRef, Reply, bool]] = field(default_factory=list)

    async def send_to_customer(self, ref: ConversationRef, reply: Reply, *, from_agent: bool) -> int | None:
        self.sent.append((ref, reply, from_agent))
        return len(self.sent)

    @property
    def texts(self) -> list[str]:
        return [reply.text for _, reply, _ in self.sent]


class FixedTranscript:
    async def transcript(
        self, ref: ConversationRef, limit: int = 20, before: datetime | None = None
    ) -> list[tuple[str, str, datetime]]:
        at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        return [
            ("customer", "where is my order 1042?", at),
            ("bot", "Standard shipping takes 3-5 days.", at + timedelta(seconds=5)),
            ("customer", HOSTILE, at + timedelta(seconds=30)),
        ][-limit:]


# -- the app --------------------------------------------------------------------------------------


@dataclass
class Desk:
    client: httpx.AsyncClient
    service: HandoffService
    store: MemoryTicketStore
    outbox: RecordingOutbox

    async def handoff(
        self, chat: str = "c1", name: str | None = "Maria", text: str = "I want a refund"
    ) -> int:
        """A customer asks for a person: a ticket opens through the service, as in production."""
        ref = ConversationRef(Channel.WEB, chat)
        message = IncomingMessage(ref, CustomerIdentity(f"u-{chat}", name), text, datetime.now(UTC))
        await self.service.request(message, (EscalationReason("refund_request", 0.9, "said 'refund'"),))
        ticket = await self.store.open_ticket_for(ref)
        assert ticket is not None
        return ticket.id

    async def login(self, name: str = "Anna") -> None:
        response = await self.client.post("/desk/login", data={"name": name, "password": PASSWORD})
        assert response.status_code == 303, response.text

    def as_agent(self, name: str) -> None:
        """Switch this client's cookie to another agent (a second browser, in effect)."""
        self.client.cookies.set(COOKIE, SessionSigner(SECRET).issue(name), path="/desk")


@pytest.fixture
async def desk() -> AsyncIterator[Desk]:
    store = MemoryTicketStore()
    outbox = RecordingOutbox()
    policy = SlaPolicy(parse_business_hours("24/7", "UTC"), SlaTarget(60, 480))
    service = HandoffService(store, outbox, policy, CustomerWords(STORE))
    transcript: TranscriptSource = FixedTranscript()
    templates = load_templates(default_templates_folder())
    app = Starlette(
        routes=desk_routes(service, store, PASSWORD, templates, transcript, SECRET, store_name=STORE)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield Desk(client, service, store, outbox)


# -- login --------------------------------------------------------------------------------------------


async def test_the_desk_shows_a_login_form_until_logged_in(desk: Desk) -> None:
    page = await desk.client.get("/desk")
    assert page.status_code == 200
    assert 'action="/desk/login"' in page.text and 'type="password"' in page.text
    assert "Agent desk" in page.text and 'id="tickets"' not in page.text


async def test_a_wrong_password_is_refused_and_changes_nothing(desk: Desk) -> None:
    response = await desk.client.post("/desk/login", data={"name": "Anna", "password": "guess"})
    assert response.status_code == 401
    assert "Wrong password" in response.text and 'action="/desk/login"' in response.text
    assert "set-cookie" not in response.headers
    assert COOKIE not in desk.client.cookies
    assert (await desk.client.get("/desk/api/tickets")).status_code == 401


async def test_the_right_password_signs_the_agent_in_with_a_strict_cookie(desk: Desk) -> None:
    response = await desk.client.post("/desk/login", data={"name": "  Anna  ", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/desk"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/desk" in cookie
    assert "Max-Age=43200" in cookie
    page = await desk.client.get("/desk")
    assert 'id="tickets"' in page.text
    me = (await desk.client.get("/desk/api/me")).json()
    assert me == {"id": "desk:anna", "name": "Anna", "store_name": STORE}


async def test_a_login_without_a_name_is_refused(desk: Desk) -> None:
    response = await desk.client.post("/desk/login", data={"name": "  ", "password": PASSWORD})
    assert response.status_code == 400 and "Enter your name" in response.text
    assert "set-cookie" not in response.headers


async def test_the_login_form_escapes_what_was_typed(desk: Desk) -> None:
    response = await desk.client.post(
        "/desk/login", data={"name": '"><script>x()</script>', "password": "no"}
    )
    assert response.status_code == 401
    assert "<script>x()" not in response.text and "&lt;script&gt;" in response.text


async def test_logout_ends_the_session(desk: Desk) -> None:
    await desk.login()
    response = await desk.client.post("/desk/logout")
    assert response.status_code == 303
    assert (await desk.client.get("/desk/api/tickets")).status_code == 401


def test_an_empty_password_is_refused_at_start() -> None:
    store = MemoryTicketStore()
    policy = SlaPolicy(parse_business_hours("24/7", "UTC"), SlaTarget(60, 480))
    service = HandoffService(store, RecordingOutbox(), policy, CustomerWords(STORE))
    with pytest.raises(ValueError, match="password"):
        desk_routes(service, store, "", {}, FixedTranscript(), SECRET, store_name=STORE)


# -- the API refuses strangers ------------------------------------------------------------------------


async def test_the_api_refuses_without_a_cookie(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    for method, path in [
        ("GET", "/desk/api/tickets"),
        ("GET", f"/desk/api/tickets/{ticket_id}"),
        ("POST", f"/desk/api/tickets/{ticket_id}/claim"),
    ]:
        response = await desk.client.request(method, path, headers=XRW, json={})
        assert response.status_code == 401, path
        assert "error" in response.json()
    assert desk.outbox.sent == []  # nobody joined: the customer heard nothing
    assert (await desk.store.ticket(ticket_id)).state is TicketState.WAITING  # type: ignore[union-attr]


def _renamed(cookie: str, name: str) -> str:
    """The cookie with another name put in and the signature left as it was."""
    _, expires, mac = cookie.split(".")
    return f"{base64.urlsafe_b64encode(name.encode()).decode().rstrip('=')}.{expires}.{mac}"


@pytest.mark.parametrize(
    "forged",
    [
        SessionSigner(b"another secret").issue("Anna"),  # signed with a key that is not ours
        _renamed(SessionSigner(SECRET).issue("Anna"), "Boss"),  # our signature, another name
        SessionSigner(SECRET).issue("Anna", now=time.time() - 13 * 3600),  # expired
        "Anna",
        "a.b.c",
        "",
    ],
)
async def test_the_api_refuses_a_forged_or_expired_cookie(desk: Desk, forged: str) -> None:
    desk.client.cookies.set(COOKIE, forged, path="/desk")
    response = await desk.client.get("/desk/api/tickets")
    assert response.status_code == 401
    assert (await desk.client.get("/desk")).text.count('type="password"') == 1  # the login form again


async def test_a_change_without_the_desk_header_is_refused(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login()
    response = await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", json={})
    assert response.status_code == 403 and "X-Requested-With" in response.json()["error"]
    assert (await desk.store.ticket(ticket_id)).state is TicketState.WAITING  # type: ignore[union-attr]


# -- working a ticket ---------------------------------------------------------------------------------


async def test_claiming_tells_the_customer_and_a_second_claim_is_refused(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    response = await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    assert response.status_code == 200
    assert response.json()["state"] == "claimed" and response.json()["mine"] is True
    ticket = await desk.store.ticket(ticket_id)
    assert ticket is not None and ticket.claimed_by is not None
    assert ticket.claimed_by.id == "desk:anna" and ticket.claimed_by.name == "Anna"
    assert desk.outbox.texts[-1] == f"Anna from {STORE} has joined and will reply here."

    desk.as_agent("Ben")
    second = await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    assert second.status_code == 409
    assert second.json() == {"error": "Already claimed by Anna."}


async def test_the_owners_reply_reaches_the_customer(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    text = "I've issued your refund; you'll see it within 5 business days."
    response = await desk.client.post(
        f"/desk/api/tickets/{ticket_id}/reply", headers=XRW, json={"text": text}
    )
    body = response.json()
    assert response.status_code == 200 and body["sent"] is True and body["warnings"] == []
    ref, reply, from_agent = desk.outbox.sent[-1]
    assert reply.text == text and reply.agent == "Anna" and from_agent is True
    assert ref == ConversationRef(Channel.WEB, "c1")
    line = await desk.store.line(body["line_id"])
    assert line is not None and line.kind is LineKind.AGENT


async def test_a_reply_without_a_timing_is_held_until_sent_anyway(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    sent_before = len(desk.outbox.sent)
    text = "I'll look into your refund."
    response = await desk.client.post(
        f"/desk/api/tickets/{ticket_id}/reply", headers=XRW, json={"text": text}
    )
    body = response.json()
    assert body["sent"] is False and NO_TIMING in body["warnings"] and body["line_id"] is not None
    assert len(desk.outbox.sent) == sent_before and text not in desk.outbox.texts

    detail = (await desk.client.get(f"/desk/api/tickets/{ticket_id}")).json()
    held = [line for line in detail["lines"] if line["delivery"] == "held"]
    assert [(line["text"], line["mine"]) for line in held] == [(text, True)]

    sent = await desk.client.post(f"/desk/api/lines/{body['line_id']}/send", headers=XRW, json={})
    assert sent.status_code == 200 and sent.json()["sent"] is True
    assert desk.outbox.texts[-1] == text
    again = await desk.client.post(f"/desk/api/lines/{body['line_id']}/send", headers=XRW, json={})
    assert again.status_code == 409 and desk.outbox.texts.count(text) == 1


async def test_a_held_reply_can_be_taken_back_for_editing(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    text = "I'll look into your refund."
    held = (
        await desk.client.post(f"/desk/api/tickets/{ticket_id}/reply", headers=XRW, json={"text": text})
    ).json()
    response = await desk.client.post(f"/desk/api/lines/{held['line_id']}/discard", headers=XRW, json={})
    assert response.status_code == 200 and response.json()["text"] == text
    assert text not in desk.outbox.texts
    sent = await desk.client.post(f"/desk/api/lines/{held['line_id']}/send", headers=XRW, json={})
    assert sent.status_code == 409  # discarded: no longer waiting to be sent


async def test_a_confirmed_reply_is_sent_despite_the_warnings(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    response = await desk.client.post(
        f"/desk/api/tickets/{ticket_id}/reply",
        headers=XRW,
        json={"text": "Thanks for waiting.", "confirm": True},
    )
    assert response.json()["sent"] is True and response.json()["warnings"]
    assert desk.outbox.texts[-1] == "Thanks for waiting."


async def test_notes_never_reach_the_customer(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    sent_before = len(desk.outbox.sent)
    note = await desk.client.post(
        f"/desk/api/tickets/{ticket_id}/note",
        headers=XRW,
        json={"text": "Customer is a regular; be generous."},
    )
    assert note.status_code == 200 and note.json()["line_id"] is not None
    # Typed into the reply box with a note prefix, it stays internal too.
    marked = await desk.client.post(
        f"/desk/api/tickets/{ticket_id}/reply", headers=XRW, json={"text": "note: checked the warehouse"}
    )
    assert marked.json()["sent"] is False and marked.json()["internal_reason"] == "marked as a note"
    # And another agent's reply on someone else's ticket is kept internal.
    desk.as_agent("Ben")
    other = await desk.client.post(
        f"/desk/api/tickets/{ticket_id}/reply",
        headers=XRW,
        json={"text": "We'll refund you within 2 days."},
    )
    assert other.json()["sent"] is False and "only the agent who claimed" in other.json()["internal_reason"]
    assert len(desk.outbox.sent) == sent_before
    lines = await desk.store.lines(ticket_id)
    assert [line.kind for line in lines if line.author_id] == [LineKind.NOTE] * 3


async def test_resolving_asks_the_customer_for_a_rating_with_five_buttons(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    response = await desk.client.post(f"/desk/api/tickets/{ticket_id}/resolve", headers=XRW)
    assert response.status_code == 200 and response.json()["state"] == "resolved"
    _, resolved, _ = desk.outbox.sent[-2]
    _, prompt, _ = desk.outbox.sent[-1]
    assert resolved.text.startswith("Anna has marked this as resolved")
    assert "rate your experience" in prompt.text
    assert [(c.label, c.payload) for c in prompt.choices] == [
        (str(n), f"csat:{ticket_id}:{n}") for n in range(1, 6)
    ]
    again = await desk.client.post(f"/desk/api/tickets/{ticket_id}/resolve", headers=XRW, json={})
    assert again.status_code == 409 and "already resolved" in again.json()["error"]


async def test_closing_as_spam_asks_for_no_rating(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    sent_before = len(desk.outbox.sent)
    response = await desk.client.post(
        f"/desk/api/tickets/{ticket_id}/resolve", headers=XRW, json={"closed_as": "spam"}
    )
    assert response.status_code == 200
    ticket = await desk.store.ticket(ticket_id)
    assert ticket is not None and ticket.closed_as is not None and ticket.closed_as.value == "spam"
    assert len(desk.outbox.sent) == sent_before


async def test_returning_to_the_bot_tells_the_customer(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    response = await desk.client.post(f"/desk/api/tickets/{ticket_id}/return", headers=XRW, json={})
    assert response.json()["state"] == "returned_to_bot"
    assert (
        desk.outbox.texts[-1]
        == f"You're back with the {STORE} assistant. Ask me anything, or ask for a person again."
    )


# -- reading ------------------------------------------------------------------------------------------


async def test_the_list_shows_open_tickets_newest_first(desk: Desk) -> None:
    first = await desk.handoff("c1", "Maria")
    second = await desk.handoff("c2", None)
    closed = await desk.handoff("c3", "Zed")
    await desk.login("Anna")
    await desk.client.post(
        f"/desk/api/tickets/{closed}/resolve", headers=XRW, json={"closed_as": "duplicate"}
    )
    await desk.client.post(f"/desk/api/tickets/{first}/claim", headers=XRW, json={})

    listed = (await desk.client.get("/desk/api/tickets")).json()
    assert [t["id"] for t in listed["tickets"]] == [second, first]
    item = listed["tickets"][1]
    assert item["state"] == "claimed" and item["claimed_by"] == "Anna" and item["mine"] is True
    assert item["customer"] == "Maria" and item["channel"] == "web" and item["reason"] == "refund_request"
    assert item["recovery"] is False and item["csat_score"] is None
    first_due = datetime.fromisoformat(item["first_response_due"])
    assert first_due - datetime.fromisoformat(item["created"]) == timedelta(minutes=60)
    assert datetime.fromisoformat(listed["now"]).tzinfo is not None

    everything = (await desk.client.get("/desk/api/tickets?state=all")).json()
    assert [t["id"] for t in everything["tickets"]] == [closed, second, first]
    bad = await desk.client.get("/desk/api/tickets?state=closed")
    assert bad.status_code == 400


async def test_a_ticket_comes_with_its_context_and_filled_templates(desk: Desk) -> None:
    ticket_id = await desk.handoff(text=f"refund now {HOSTILE}")
    await desk.login("Anna")
    detail = (await desk.client.get(f"/desk/api/tickets/{ticket_id}")).json()
    assert detail["reasons"] == [
        {"reason": "refund_request", "label": "refund request", "score": 0.9, "evidence": "said 'refund'"}
    ]
    assert detail["trigger_text"] == f"refund now {HOSTILE}"  # as typed: the page shows it as text
    assert set(detail["due"]) == {"first_response", "resolution", "reminder"}
    assert [m["author"] for m in detail["transcript"]] == ["customer", "bot", "customer"]
    assert detail["transcript"][-1]["text"] == HOSTILE

    templates = {t["id"]: t for t in detail["templates"]}
    refund = templates["refund_status"]
    assert refund["suggested"] is True and refund["title"] == "Where is my refund?"
    assert refund["text"].startswith("Hi Maria,")
    assert "Anna\nBean Store" in refund["text"]
    assert "[order number]" in refund["text"]  # the agent fills what the desk cannot know
    suggested = [t["suggested"] for t in detail["templates"]]
    assert suggested == sorted(suggested, reverse=True)  # the reason's templates come first


async def test_the_thread_shows_lines_with_their_delivery(desk: Desk) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    text = "I've issued your refund; you'll see it within 5 business days."
    reply = (
        await desk.client.post(f"/desk/api/tickets/{ticket_id}/reply", headers=XRW, json={"text": text})
    ).json()
    await desk.service.delivery_result(desk.store.outbox_of[reply["line_id"]], False, "chat closed")
    detail = (await desk.client.get(f"/desk/api/tickets/{ticket_id}")).json()
    kinds = [(line["kind"], line["author"]) for line in detail["lines"]]
    assert kinds == [("system", None), ("agent", "Anna")]
    agent_line = detail["lines"][1]
    assert agent_line["delivery"] == "failed" and agent_line["delivery_error"] == "chat closed"


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/desk/api/tickets/{id}/reply", b"not json", 400, "not valid JSON"),
        ("/desk/api/tickets/{id}/reply", b"[1]", 400, "must be a JSON object"),
        ("/desk/api/tickets/{id}/reply", b"", 400, "must be a JSON object"),
        ("/desk/api/tickets/{id}/reply", b'{"text": 5}', 400, "as a string"),
        ("/desk/api/tickets/{id}/reply", b'{"text": "   "}', 400, "Write a message first"),
        ("/desk/api/tickets/{id}/reply", b'{"text": "' + b"a" * 4001 + b'"}', 400, "the limit is 4000"),
        ("/desk/api/tickets/{id}/reply", b'{"text": "hi", "confirm": "yes"}', 400, "confirm must be"),
        ("/desk/api/tickets/{id}/note", b'{"text": ""}', 400, "Write a message first"),
        ("/desk/api/tickets/{id}/resolve", b'{"closed_as": "lost"}', 400, "closed_as must be"),
        ("/desk/api/tickets/{id}/resolve", b'{"closed_as": ["spam"]}', 400, "closed_as must be"),
        ("/desk/api/tickets/999/claim", b"{}", 404, "There is no ticket #999"),
        ("/desk/api/tickets/99999999999999999999/claim", b"{}", 404, "There is no ticket"),
        ("/desk/api/lines/999/send", b"{}", 404, "There is no message #999"),
        ("/desk/api/tickets/{id}/reply", b'{"text": "' + b"a" * 70_000 + b'"}', 413, "over 64 kB"),
    ],
)
async def test_bad_requests_get_a_clear_message(
    desk: Desk, path: str, body: bytes, status: int, error: str
) -> None:
    ticket_id = await desk.handoff()
    await desk.login("Anna")
    await desk.client.post(f"/desk/api/tickets/{ticket_id}/claim", headers=XRW, json={})
    sent_before = len(desk.outbox.sent)
    response = await desk.client.post(
        path.replace("{id}", str(ticket_id)),
        content=body,
        headers={**XRW, "Content-Type": "application/json"},
    )
    assert response.status_code == status
    assert error in response.json()["error"]
    assert len(desk.outbox.sent) == sent_before


async def test_an_unknown_ticket_is_not_found(desk: Desk) -> None:
    await desk.login()
    response = await desk.client.get("/desk/api/tickets/41")
    assert response.status_code == 404 and response.json() == {"error": "There is no ticket #41."}


# -- the page -----------------------------------------------------------------------------------------


async def test_the_page_inserts_text_only_as_text(desk: Desk) -> None:
    page = PAGE.read_text()
    for markup_sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert markup_sink not in page, markup_sink
    assert "textContent" in page and "replaceChildren" in page
    # Self-contained: no external scripts, styles, fonts or images.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    # No inline event handlers: the CSP below would block them anyway.
    assert not re.search(r"\son[a-z]+\s*=", page)


async def test_the_page_is_served_with_a_policy_that_allows_only_its_own_script(desk: Desk) -> None:
    await desk.login()
    response = await desk.client.get("/desk")
    policy = response.headers["content-security-policy"]
    script = re.search(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script[1].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy  # the page's script runs, nothing else does
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["cache-control"] == "no-store"
