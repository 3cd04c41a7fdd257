"""The local agent desk: login, a JSON API over HandoffService, and the one-page desk.

Security model, kept deliberately small because the desk shows customers' personal data:
- one shared desk password; an agent logs in with their name, which is signed (HMAC-SHA256) into an
  HttpOnly, SameSite=Strict cookie that expires after 12 hours. The server keeps no sessions.
- every state-changing call is a POST with a JSON body and `X-Requested-With: desk`. A cross-site
  form cannot set that header, and a cross-site fetch that sets it needs a CORS preflight we never
  answer, so together with SameSite=Strict this stops request forgery without CSRF tokens.
- the page's Content-Security-Policy allows only its own inline script and style (by hash), so even
  a mistake in the page could not run script smuggled in by a customer's message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import logging
import re
import string
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from handoff.ports import Line, TicketStore, TranscriptSource
from handoff.service import HandoffError, HandoffService
from handoff.templates import REASON_ALIASES, ReplyTemplate, fill, suggest
from handoff.tickets import Agent, Closure, Ticket, TicketState

__all__ = ["COOKIE", "MAX_TEXT", "DeskPresence", "SessionSigner", "desk_routes"]

log = logging.getLogger(__name__)

COOKIE = "sb_desk"
SESSION_SECONDS = 12 * 60 * 60
MAX_TEXT = 4000  # characters in one reply or note, matching the bot's own reply limit
MAX_NAME = 40
# 4000 characters can take 24 000 bytes as JSON \u escapes; anything far beyond is not from the page.
MAX_BODY_BYTES = 64_000
# Ticket ids are database integers; a larger number cannot exist and must not reach the database.
MAX_ID = 2**31 - 1
PAGE = Path(__file__).resolve().parent / "desk.html"
OPEN_STATES = frozenset({TicketState.WAITING.value, TicketState.CLAIMED.value})
LIST_LIMIT = 200
TRANSCRIPT_LIMIT = 20


# -- the session cookie ----------------------------------------------------------------------------


class SessionSigner:
    """Signs an agent's name and an expiry into a cookie value; nothing is stored on the server."""

    # Domain separation: the app may use the same secret elsewhere (the widget's tokens), and a
    # value signed for another purpose must never verify here.
    _PURPOSE = b"supportbot-desk-session\x00"

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the desk needs a non-empty secret to sign its sessions")
        self._secret = secret

    def issue(self, name: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + SESSION_SECONDS)
        # The name is base64url-encoded so any Unicode name survives in a cookie (no ; , or spaces).
        body = f"{_b64(name.encode())}.{expires}"
        return f"{body}.{self._mac(body)}"

    def verify(self, value: str | None, now: float | None = None) -> str | None:
        """The agent's name when the value is ours, intact and not expired; else None."""
        if not value or len(value) > 400 or value.count(".") != 2:
            return None
        encoded, expires, mac = value.split(".")
        if not hmac.compare_digest(self._mac(f"{encoded}.{expires}"), mac):
            return None
        if not expires.isdigit() or int(expires) <= (time.time() if now is None else now):
            return None
        try:
            name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return clean_name(name)

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._secret, self._PURPOSE + body.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def clean_name(raw: str) -> str | None:
    """An agent's display name with whitespace collapsed, or None when it is unusable."""
    name = " ".join(raw.split())
    # isprintable() refuses control and invisible format characters that could disguise a name.
    if not name or len(name) > MAX_NAME or not name.isprintable():
        return None
    return name


def desk_agent(name: str) -> Agent:
    # The id ignores case, so "Anna" and "anna" are one agent owning the same tickets.
    return Agent(id="desk:" + name.lower(), name=name)


# -- page headers -------------------------------------------------------------------------------------


def _hashes(page: str, tag: str) -> str:
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.DOTALL)
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'" for block in blocks
    )


def _page_headers(page: str) -> dict[str, str]:
    """Security headers for one of our HTML pages: only its own inline script and style may run."""
    scripts = _hashes(page, "script") or "'none'"
    styles = _hashes(page, "style") or "'none'"
    policy = (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return {"Content-Security-Policy": policy, **_PRIVATE}


# Customer conversations are personal data: never cached, never framed, never sent as a referrer.
_PRIVATE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

_LOGIN = string.Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Agent desk: log in</title>
<link rel="icon" href="data:,">
<style>
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: #f3f4f6; color: #111827;
  display: flex; min-height: 100vh; margin: 0; align-items: center; justify-content: center; }
form { background: #fff; padding: 2rem; border-radius: 10px; box-shadow: 0 2px 12px rgb(0 0 0 / 0.08);
  width: min(22rem, 90vw); }
h1 { font-size: 1.3rem; margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: 0.8rem 0 0.3rem; }
input { width: 100%; box-sizing: border-box; font: inherit; padding: 0.5rem; border: 1px solid #9ca3af;
  border-radius: 6px; }
input:focus, button:focus { outline: 3px solid #2563eb; outline-offset: 2px; }
button { margin-top: 1.2rem; width: 100%; font: inherit; font-weight: 600; padding: 0.6rem; border: 0;
  border-radius: 6px; background: #1d4ed8; color: #fff; cursor: pointer; }
.error { color: #b91c1c; font-weight: 600; margin: 0 0 0.5rem; }
</style>
</head>
<body>
<form method="post" action="/desk/login">
<h1>Agent desk</h1>
$error
<label for="name">Your name</label>
<input id="name" name="name" autocomplete="name" maxlength="40" required value="$name" $name_focus>
<label for="password">Desk password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required $password_focus>
<button type="submit">Log in</button>
</form>
</body>
</html>
""")


def _login_page(error: str = "", name: str = "", status_code: int = 200) -> HTMLResponse:
    page = _LOGIN.substitute(
        error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
        name=html.escape(name),
        # Focus where the agent has to type next: the password after a wrong one, else the name.
        name_focus="" if name else "autofocus",
        password_focus="autofocus" if name else "",
    )
    return HTMLResponse(page, status_code=status_code, headers=_page_headers(page))


# -- JSON ---------------------------------------------------------------------------------------------


class _Problem(Exception):
    """A request the desk refuses, with the status and a message for the agent."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=_PRIVATE)


def _ok(data: object) -> JSONResponse:
    return JSONResponse(data, headers=_PRIVATE)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


async def _json_body(request: Request, *, required: bool) -> dict[str, object]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _Problem(413, f"The request is over {MAX_BODY_BYTES // 1000} kB.")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:  # a body sent without (or lying about) its length
            raise _Problem(413, f"The request is over {MAX_BODY_BYTES // 1000} kB.")
    if not raw.strip():
        if required:
            raise _Problem(400, "The request body must be a JSON object.")
        return {}
    try:
        data = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        raise _Problem(400, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise _Problem(400, "The request body must be a JSON object.")
    return data


def _text(body: Mapping[str, object]) -> str:
    text = body.get("text")
    if not isinstance(text, str):
        raise _Problem(400, "Send the message as a string in 'text'.")
    # Only the ends are trimmed: the agent's line breaks and spacing inside are theirs.
    text = text.strip()
    if not text:
        raise _Problem(400, "Write a message first.")
    if len(text) > MAX_TEXT:
        raise _Problem(400, f"The message is {len(text)} characters long; the limit is {MAX_TEXT}.")
    return text


def _reason(code: str) -> str:
    return code.replace("_", " ")


def _summary(ticket: Ticket, agent: Agent) -> dict[str, object]:
    return {
        "id": ticket.id,
        "state": ticket.state.value,
        "reason": ticket.reason,
        "customer": ticket.customer.display_name,
        "channel": ticket.ref.channel.value,
        "created": _iso(ticket.created_at),
        "first_response_due": _iso(ticket.due.first_response),
        "resolution_due": _iso(ticket.due.resolution),
        "first_reply_at": _iso(ticket.first_reply_at),
        "claimed_by": ticket.claimed_by.name if ticket.claimed_by else None,
        "mine": ticket.owned_by(agent.id),
        "recovery": ticket.recovery,
        "csat_score": ticket.csat_score,
    }


def _line(line: Line, agent: Agent) -> dict[str, object]:
    return {
        "id": line.id,
        "kind": line.kind.value,
        "text": line.text,
        "author": line.author_name,
        "mine": line.author_id is not None and line.author_id == agent.id,
        "time": _iso(line.created_at),
        "delivery": line.delivery.value if line.delivery else None,
        "delivery_error": line.delivery_error,
    }


# -- the routes ---------------------------------------------------------------------------------------


Handler = Callable[[Request, Agent], Awaitable[Response]]


class DeskPresence:
    """Who has the desk open: the page asks for the ticket list every few seconds while it is."""

    ONLINE_FOR = 60.0  # seconds since an agent's last request

    def __init__(self) -> None:
        self._last_seen: dict[str, float] = {}

    def seen(self, agent_id: str) -> None:
        self._last_seen[agent_id] = time.monotonic()

    async def anyone_online(self) -> bool:
        now = time.monotonic()
        return any(now - at < self.ONLINE_FOR for at in self._last_seen.values())


class _Desk:
    def __init__(
        self,
        service: HandoffService,
        store: TicketStore,
        password: str,
        templates: Mapping[str, ReplyTemplate],
        transcript: TranscriptSource,
        sessions: SessionSigner,
        store_name: str,
        presence: DeskPresence | None = None,
    ) -> None:
        self._presence = presence
        self._service = service
        self._store = store
        self._password = password.encode()
        self._templates = templates
        self._transcript = transcript
        self._sessions = sessions
        self._store_name = store_name
        self._page = PAGE.read_text(encoding="utf-8")
        self._page_headers = _page_headers(self._page)

    def _agent(self, request: Request) -> Agent | None:
        name = self._sessions.verify(request.cookies.get(COOKIE))
        return desk_agent(name) if name is not None else None

    # -- pages ---------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        if self._agent(request) is None:
            return _login_page()
        return HTMLResponse(self._page, headers=self._page_headers)

    async def login(self, request: Request) -> Response:
        try:
            form = await request.form(max_files=0, max_fields=10)
        except Exception:  # a malformed form body: treat it like an empty one
            log.debug("unreadable desk login form", exc_info=True)
            form = None
        raw_name = form.get("name") if form is not None else None
        raw_password = form.get("password") if form is not None else None
        name = raw_name if isinstance(raw_name, str) else ""
        password = raw_password if isinstance(raw_password, str) else ""
        # compare_digest on bytes: constant time, and safe for non-ASCII passwords.
        if not hmac.compare_digest(password.encode(), self._password):
            log.warning("desk login refused: wrong password")
            return _login_page("Wrong password", name[:MAX_NAME], status_code=401)
        cleaned = clean_name(name)
        if cleaned is None:
            return _login_page(f"Enter your name (up to {MAX_NAME} characters).", status_code=400)
        response = RedirectResponse("/desk", status_code=303, headers=_PRIVATE)
        response.set_cookie(
            COOKIE,
            self._sessions.issue(cleaned),
            max_age=SESSION_SECONDS,
            path="/desk",
            # Secure whenever the desk is reached over HTTPS; plain http stays usable on localhost.
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        log.info("desk login", extra={"agent": desk_agent(cleaned).id})
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/desk", status_code=303, headers=_PRIVATE)
        response.delete_cookie(
            COOKIE, path="/desk", secure=request.url.scheme == "https", httponly=True, samesite="strict"
        )
        return response

    # -- the API -------------------------------------------------------------------------------

    def api(self, handler: Handler, *, writes: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            agent = self._agent(request)
            if agent is None:
                return _error(401, "Your desk session has ended: log in again.")
            if self._presence is not None:
                self._presence.seen(agent.id)
            if writes and request.headers.get("x-requested-with") != "desk":
                return _error(403, "Missing the X-Requested-With: desk header.")
            try:
                return await handler(request, agent)
            except _Problem as problem:
                return _error(problem.status, problem.message)
            except HandoffError as exc:
                return _error(409, str(exc))

        return endpoint

    async def _ticket(self, request: Request) -> Ticket:
        ticket_id = int(request.path_params["ticket_id"])
        ticket = await self._store.ticket(ticket_id) if ticket_id <= MAX_ID else None
        if ticket is None:
            raise _Problem(404, f"There is no ticket #{ticket_id}.")
        return ticket

    async def _line_id(self, request: Request) -> int:
        line_id = int(request.path_params["line_id"])
        if line_id > MAX_ID or await self._store.line(line_id) is None:
            raise _Problem(404, f"There is no message #{line_id}.")
        return line_id

    async def me(self, request: Request, agent: Agent) -> Response:
        return _ok({"id": agent.id, "name": agent.name, "store_name": self._store_name})

    async def tickets(self, request: Request, agent: Agent) -> Response:
        which = request.query_params.get("state", "open")
        if which not in ("open", "all"):
            raise _Problem(400, "state must be 'open' or 'all'.")
        found = await self._store.tickets(OPEN_STATES if which == "open" else None, limit=LIST_LIMIT)
        # Sorted here rather than trusting the store's order: the page promises newest first.
        found = sorted(found, key=lambda t: (t.created_at, t.id), reverse=True)
        # The server's clock comes along so the page shows due times right on a laptop whose clock is off.
        return _ok({"now": _iso(datetime.now(UTC)), "tickets": [_summary(t, agent) for t in found]})

    async def ticket(self, request: Request, agent: Agent) -> Response:
        ticket = await self._ticket(request)
        lines = await self._store.lines(ticket.id)
        try:
            # Before the handoff only: what came after is in the ticket's own lines.
            history = await self._transcript.transcript(ticket.ref, TRANSCRIPT_LIMIT, ticket.created_at)
            transcript_error = None
        except Exception:
            # The transcript is context; the agent can still work the ticket without it.
            log.exception("transcript unavailable", extra={"ticket": ticket.id})
            history, transcript_error = [], "The conversation before the handoff could not be loaded."
        code = REASON_ALIASES.get(ticket.reason, ticket.reason)
        values = {
            "customer_name": ticket.customer.display_name,
            "agent_name": agent.name,
            "store_name": self._store_name,
        }
        detail = _summary(ticket, agent) | {
            "now": _iso(datetime.now(UTC)),
            "customer_id": ticket.customer.channel_user_id,
            "language": ticket.customer.language,
            "reasons": [
                {"reason": r.reason, "label": _reason(r.reason), "score": r.score, "evidence": r.evidence}
                for r in ticket.reasons
            ],
            "trigger_text": ticket.trigger_text,
            "due": {
                "first_response": _iso(ticket.due.first_response),
                "resolution": _iso(ticket.due.resolution),
                "reminder": _iso(ticket.due.reminder),
            },
            "claimed_at": _iso(ticket.claimed_at),
            "resolved_at": _iso(ticket.resolved_at),
            "returned_at": _iso(ticket.returned_at),
            "reopened_at": _iso(ticket.reopened_at),
            "closed_as": ticket.closed_as.value if ticket.closed_as else None,
            "closed_by": ticket.closed_by.name if ticket.closed_by else None,
            "csat_comment": ticket.csat_comment,
            "lines": [_line(line, agent) for line in lines],
            "transcript": [
                {"author": author, "text": text, "time": _iso(at)} for author, text, at in history
            ],
            "transcript_error": transcript_error,
            "templates": [
                {
                    "id": t.id,
                    "title": t.title,
                    "suggested": code in t.triggers,
                    "text": fill(t, values),
                }
                for t in suggest(self._templates, ticket.reason)
            ],
        }
        return _ok(detail)

    async def claim(self, request: Request, agent: Agent) -> Response:
        ticket = await self._ticket(request)
        return _ok(_summary(await self._service.claim(ticket.id, agent), agent))

    async def resolve(self, request: Request, agent: Agent) -> Response:
        ticket = await self._ticket(request)
        body = await _json_body(request, required=False)
        raw = body.get("closed_as", Closure.RESOLVED.value)
        if not isinstance(raw, str) or raw not in {c.value for c in Closure}:
            raise _Problem(400, "closed_as must be 'resolved', 'spam' or 'duplicate'.")
        closed = await self._service.resolve(ticket.id, agent, Closure(raw))
        return _ok(_summary(closed, agent))

    async def return_to_bot(self, request: Request, agent: Agent) -> Response:
        ticket = await self._ticket(request)
        return _ok(_summary(await self._service.return_to_bot(ticket.id, agent), agent))

    async def note(self, request: Request, agent: Agent) -> Response:
        ticket = await self._ticket(request)
        text = _text(await _json_body(request, required=True))
        line = await self._service.note(ticket.id, agent, text)
        return _ok({"line_id": line.id if line else None})

    async def reply(self, request: Request, agent: Agent) -> Response:
        ticket = await self._ticket(request)
        body = await _json_body(request, required=True)
        text = _text(body)
        confirm = body.get("confirm", False)
        if not isinstance(confirm, bool):
            raise _Problem(400, "confirm must be true or false.")
        outcome = await self._service.reply(ticket.id, agent, text, confirmed=confirm)
        return _ok(
            {
                "sent": outcome.sent,
                "warnings": list(outcome.warnings),
                "internal_reason": outcome.internal_reason,
                "line_id": outcome.line.id if outcome.line else None,
            }
        )

    async def send_held(self, request: Request, agent: Agent) -> Response:
        line_id = await self._line_id(request)
        await _json_body(request, required=False)
        outcome = await self._service.send_held(line_id, agent)
        return _ok({"sent": outcome.sent, "line_id": line_id})

    async def discard_held(self, request: Request, agent: Agent) -> Response:
        line_id = await self._line_id(request)
        await _json_body(request, required=False)
        await self._service.discard_held(line_id, agent)
        line = await self._store.line(line_id)
        # The text goes back to the page so "Edit" can put it in the reply box again.
        return _ok({"discarded": True, "line_id": line_id, "text": line.text if line else ""})


def desk_routes(
    service: HandoffService,
    store: TicketStore,
    password: str,
    templates: Mapping[str, ReplyTemplate],
    transcript: TranscriptSource,
    secret: bytes,
    *,
    store_name: str,
    presence: DeskPresence | None = None,
) -> list[BaseRoute]:
    """The desk's routes, all under /desk, for the app to add at its root."""
    if not password:
        # An empty password would let anyone who can reach /desk read and answer customers.
        raise ValueError("the agent desk needs a password")
    desk = _Desk(service, store, password, templates, transcript, SessionSigner(secret), store_name, presence)
    ticket = "/desk/api/tickets/{ticket_id:int}"
    line = "/desk/api/lines/{line_id:int}"
    return [
        Route("/desk", desk.page, methods=["GET"]),
        Route("/desk/login", desk.login, methods=["POST"]),
        Route("/desk/logout", desk.logout, methods=["POST"]),
        Route("/desk/api/me", desk.api(desk.me), methods=["GET"]),
        Route("/desk/api/tickets", desk.api(desk.tickets), methods=["GET"]),
        Route(ticket, desk.api(desk.ticket), methods=["GET"]),
        Route(f"{ticket}/claim", desk.api(desk.claim, writes=True), methods=["POST"]),
        Route(f"{ticket}/resolve", desk.api(desk.resolve, writes=True), methods=["POST"]),
        Route(f"{ticket}/return", desk.api(desk.return_to_bot, writes=True), methods=["POST"]),
        Route(f"{ticket}/note", desk.api(desk.note, writes=True), methods=["POST"]),
        Route(f"{ticket}/reply", desk.api(desk.reply, writes=True), methods=["POST"]),
        Route(f"{line}/send", desk.api(desk.send_held, writes=True), methods=["POST"]),
        Route(f"{line}/discard", desk.api(desk.discard_held, writes=True), methods=["POST"]),
    ]
