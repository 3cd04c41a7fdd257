"""A fake Slack Web API on 127.0.0.1, speaking the real wire protocol, plus signed deliveries to an app.

slack_sdk's `AsyncWebClient(token=BOT_TOKEN, base_url=f"{url}/api/")` is pointed at it. It accepts what the
client sends: JSON bodies (chat.postMessage, views.open ...), form bodies (with nested JSON such as `blocks`
or `view` sent as strings) and query parameters, with the token in `Authorization: Bearer ...` (or a `token`
parameter). It records every call, keeps channels, messages, threads, reactions and views, and answers 429
(with Retry-After), 5xx or 503 (`down()`) on demand.

The module-level helpers build payloads shaped like Slack's (Events API, interactivity, slash commands),
sign them as Slack does and POST them to the app under test.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-app-token"  # app-level token: opens Socket Mode connections
SIGNING_SECRET = "test-signing-secret"
VERIFICATION_TOKEN = "test-verification-token"

TEAM_ID = "T0001"
TEAM_DOMAIN = "supportbot-test"
TEAM_URL = f"https://{TEAM_DOMAIN}.slack.com/"
API_APP_ID = "A0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "supportbot"
DEFAULT_RESPONSE_URL = f"https://hooks.slack.com/actions/{TEAM_ID}/1/test-response-url"

DEFAULT_CHANNEL_NAMES: dict[str, str] = {"CSUPPORT": "support"}
DEFAULT_USERS: dict[str, dict[str, Any]] = {
    "UALEX": {"name": "alex", "real_name": "Alex Kim", "tz": "Europe/London"},
    "USAM": {"name": "sam", "real_name": "Sam Lee", "tz": "America/New_York"},
    "UOUT": {"name": "outsider", "real_name": "Olive Outsider", "tz": "Asia/Tokyo"},
}

# Slack's message timestamps: seconds "." six digits, unique and increasing within a channel.
_FIRST_TS = 1_700_000_000_000_100
_TS_STEP = 100

Handler = Callable[[dict[str, Any]], dict[str, Any]]

_event_ids = itertools.count(1)
_trigger_ids = itertools.count(1)


def format_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@dataclass
class Call:
    """One request to the fake. `status` is the HTTP status; `error` is Slack's error for `ok: false`."""

    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass
class Failure:
    method: str | None
    status: int
    retry_after: int | None
    remaining: int


class SlackError(Exception):
    """Raised inside a method handler: answered as `{"ok": false, "error": ...}` with HTTP 200."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class FakeSlack:
    channels: dict[str, set[str]] = field(default_factory=lambda: {"CSUPPORT": {"UALEX", "USAM"}})
    channel_names: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CHANNEL_NAMES))
    users: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(DEFAULT_USERS))
    calls: list[Call] = field(default_factory=list)
    reactions: list[dict[str, Any]] = field(default_factory=list)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    is_down: bool = False
    _messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _clock: itertools.count[int] = field(default_factory=lambda: itertools.count(_FIRST_TS, _TS_STEP))
    _view_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # Socket Mode: the app's open WebSockets, and the acknowledgements it sent back.
    sockets: list[WebSocket] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    presence: dict[str, str] = field(default_factory=dict)  # users.getPresence: "active" unless set "away"
    _envelopes: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- what tests use ---------------------------------------------------------------------

    def fail(
        self, method: str | None, status: int, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """The next `times` calls of `method` (None: of any method) answer HTTP `status`.

        429 always carries `Retry-After` (1 s unless given), as Slack's does."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self.failures.append(Failure(method, status, retry_after, times))

    def down(self) -> None:
        """Every call answers 503 until `up()`."""
        self.is_down = True

    def up(self) -> None:
        self.is_down = False

    def sent(self, method: str = "chat.postMessage") -> list[dict[str, Any]]:
        """The arguments of the successful calls of `method` (HTTP 200 and `ok: true`), in order."""
        return [c.args for c in self.calls if c.method == method and c.ok]

    async def wait_for(
        self, method: str = "chat.postMessage", count: int = 1, within: float = 10.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.sent(method)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        received = [
            (c.args if c.ok else {"status": c.status, "error": c.error, "args": c.args})
            for c in self.calls
            if c.method == method
        ]
        raise AssertionError(
            f"expected {count} successful {method} calls, got {len(self.sent(method))}: {received}"
        )

    def messages(self, channel: str, *, top_level: bool = False) -> list[dict[str, Any]]:
        """Messages stored in `channel`, oldest first; thread replies too unless `top_level`."""
        stored = self._messages.get(channel, [])
        if top_level:
            return [m for m in stored if m.get("thread_ts") in (None, m["ts"])]
        return list(stored)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies in the thread under `ts` (not the parent), oldest first."""
        return [m for m in self._messages.get(channel, []) if m.get("thread_ts") == ts and m["ts"] != ts]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        for stored in self._messages.get(channel, []):
            if stored["ts"] == ts:
                return stored
        return None

    def add_message(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """Store a message written by a person (so chat.getPermalink, threads ... know it); returns it.

        Feed it to `message_event(channel, user, text, ts=m["ts"], thread_ts=...)` to deliver it."""
        message: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": self.next_ts(),
            "team": TEAM_ID,
            "client_msg_id": str(uuid.uuid4()),
        }
        self._store(channel, message, thread_ts)
        return message

    def next_ts(self) -> str:
        return format_ts(next(self._clock))

    def dm_channel(self, user: str) -> str:
        """The id of the bot's direct-message conversation with `user` (created on demand)."""
        channel = "D" + user[1:]
        if channel not in self.channels:
            self.channels[channel] = {user, BOT_USER_ID}
        return channel

    @property
    def responses(self) -> list[dict[str, Any]]:
        """Bodies POSTed to `/respond/...` (use `f"{url}/respond/x"` as a payload's response_url)."""
        return self.sent("response_url")

    # -- the wire protocol ------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/apps.connections.open", self._connections_open, methods=["POST"]),
                Route("/api/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/respond/{key:path}", self._respond, methods=["POST"]),
                WebSocketRoute("/socket-mode", self._socket_mode),
            ]
        )

    async def _args(self, request: Request) -> dict[str, Any]:
        args: dict[str, Any] = {key: _maybe_json(value) for key, value in request.query_params.items()}
        kind = request.headers.get("content-type", "")
        if "json" in kind:
            body = await request.body()
            if body:
                args.update(json.loads(body))
        elif "form" in kind:
            form = await request.form()
            for key, value in form.items():
                args[key] = _maybe_json(value) if isinstance(value, str) else value
        return {key: value for key, value in args.items() if value is not None}

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        args = await self._args(request)
        token = args.pop("token", None)
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            token = authorization[len("bearer ") :].strip()

        def record(status: int, error: str | None) -> None:
            self.calls.append(Call(method, args, time.monotonic(), status, error))

        if self.is_down:
            record(503, "service_unavailable")
            return JSONResponse({"ok": False, "error": "service_unavailable"}, status_code=503)
        failure = self._take_failure(method)
        if failure is not None:
            error = "ratelimited" if failure.status == 429 else _server_error(failure.status)
            record(failure.status, error)
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else None
            return JSONResponse({"ok": False, "error": error}, status_code=failure.status, headers=headers)
        if token != BOT_TOKEN:
            record(200, "invalid_auth")
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        handler = self._handlers().get(method)
        if handler is None:
            record(200, "unknown_method")
            return JSONResponse({"ok": False, "error": "unknown_method"})
        try:
            result = handler(args)
        except SlackError as problem:
            record(200, problem.error)
            return JSONResponse({"ok": False, "error": problem.error, **problem.extra})
        record(200, None)
        return JSONResponse({"ok": True, **result})

    # -- Socket Mode ------------------------------------------------------------------------

    async def _connections_open(self, request: Request) -> JSONResponse:
        """apps.connections.open: takes the app-level token, answers a WebSocket URL."""
        authorization = request.headers.get("authorization", "")
        token = (
            authorization[len("bearer ") :].strip() if authorization.lower().startswith("bearer ") else None
        )
        if token != APP_TOKEN:
            self.calls.append(Call("apps.connections.open", {}, time.monotonic(), 200, "invalid_auth"))
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        self.calls.append(Call("apps.connections.open", {}, time.monotonic()))
        url = str(request.base_url).replace("http", "ws", 1).rstrip("/") + "/socket-mode"
        return JSONResponse({"ok": True, "url": url})

    async def _socket_mode(self, socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": API_APP_ID}}
        )
        self.sockets.append(socket)
        try:
            while True:
                self.socket_acks.append(json.loads(await socket.receive_text()))
        except WebSocketDisconnect:
            self.sockets.remove(socket)

    async def push(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> str:
        """Send an envelope over Socket Mode (events_api, interactive, slash_commands); its id."""
        envelope_id = f"env-{next(self._envelopes)}"
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": accepts_response_payload,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    async def wait_for_socket(self, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not self.sockets:
            if time.monotonic() > deadline:
                raise AssertionError("the app never opened a Socket Mode connection")
            await asyncio.sleep(0.02)

    async def _respond(self, request: Request) -> JSONResponse:
        body = await request.body()
        args = dict(json.loads(body)) if body else {}
        args["_key"] = request.path_params["key"]
        self.calls.append(Call("response_url", args, time.monotonic()))
        return JSONResponse({"ok": True})

    def _take_failure(self, method: str) -> Failure | None:
        for failure in self.failures:
            if failure.remaining > 0 and failure.method in (None, method):
                failure.remaining -= 1
                if failure.remaining == 0:
                    self.failures.remove(failure)
                return failure
        return None

    def _handlers(self) -> dict[str, Handler]:
        return {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "users.info": self._users_info,
            "users.getPresence": self._users_get_presence,
            "conversations.members": self._conversations_members,
            "conversations.info": self._conversations_info,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
        }

    # -- methods ----------------------------------------------------------------------------

    def _api_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"args": args}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": TEAM_URL,
            "team": "Supportbot Test",
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _channel(self, args: dict[str, Any], key: str = "channel") -> str:
        channel = str(args.get(key) or "")
        if channel in self.users:
            return self.dm_channel(channel)
        if channel not in self.channels:
            raise SlackError("channel_not_found")
        return channel

    def _store(self, channel: str, message: dict[str, Any], thread_ts: str | None) -> None:
        stored = self._messages.setdefault(channel, [])
        if thread_ts:
            message["thread_ts"] = thread_ts
            parent = self.message(channel, thread_ts)
            if parent is not None:
                if "user" in parent:
                    message["parent_user_id"] = parent["user"]
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
                parent["latest_reply"] = message["ts"]
                parent.setdefault("reply_users", [])
                if message.get("user") and message["user"] not in parent["reply_users"]:
                    parent["reply_users"].append(message["user"])
        stored.append(message)

    def _bot_message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "text": str(args.get("text", "")),
            "ts": ts,
            "team": TEAM_ID,
            "bot_profile": {"id": BOT_ID, "app_id": API_APP_ID, "name": BOT_NAME, "team_id": TEAM_ID},
        }
        for key in ("blocks", "attachments", "metadata"):
            if key in args:
                message[key] = args[key]
        return message

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if not any(args.get(key) for key in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        message = self._bot_message(args, self.next_ts())
        self._store(channel, message, _ts_or_none(args.get("thread_ts")))
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        message = self.message(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        if message.get("user") != BOT_USER_ID:
            raise SlackError("cant_update_message")
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in args:
                message[key] = str(args[key]) if key == "text" else args[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self.next_ts()}
        return {"channel": channel, "ts": ts, "text": message["text"], "message": copy.deepcopy(message)}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        user = str(args.get("user") or "")
        if user not in self.users:
            raise SlackError("user_not_found")
        if user not in self.channels[channel]:
            raise SlackError("user_not_in_channel")
        if not any(args.get(key) for key in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        message = self._bot_message(args, self.next_ts())
        thread_ts = _ts_or_none(args.get("thread_ts"))
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.ephemerals.append({**message, "channel": channel, "user": user})
        return {"message_ts": message["ts"]}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        # Lenient: the message need not be stored (tests deliver events with made-up timestamps).
        channel = self._channel(args)
        ts = str(args.get("message_ts") or "")
        if not ts:
            raise SlackError("message_not_found")
        permalink = f"{TEAM_URL}archives/{channel}/p{ts.replace('.', '')}"
        message = self.message(channel, ts)
        if message is not None and message.get("thread_ts") not in (None, ts):
            permalink += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": permalink}

    def _reaction(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        timestamp = str(args.get("timestamp") or "")
        name = str(args.get("name") or "").strip(":")
        if not timestamp:
            raise SlackError("no_item_specified")
        if not name:
            raise SlackError("invalid_name")
        return {"channel": channel, "timestamp": timestamp, "name": name, "user": BOT_USER_ID}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        reaction = self._reaction(args)
        if reaction in self.reactions:
            raise SlackError("already_reacted")
        self.reactions.append(reaction)
        return {}

    def _reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        reaction = self._reaction(args)
        if reaction not in self.reactions:
            raise SlackError("no_reaction")
        self.reactions.remove(reaction)
        return {}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user") or "")
        if user_id not in self.users:
            raise SlackError("user_not_found")
        return {"user": user_object(user_id, self.users[user_id])}

    def _users_get_presence(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user", ""))
        if user not in self.users:
            raise SlackError("user_not_found")
        presence = self.presence.get(user, "active")
        return {"presence": presence, "online": presence == "active", "auto_away": False}

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        members = sorted(self.channels[channel])
        try:
            limit = int(args.get("limit") or 100)
        except ValueError as problem:
            raise SlackError("invalid_limit") from problem
        if limit < 1:
            raise SlackError("invalid_limit")
        offset = 0
        cursor = str(args.get("cursor") or "")
        if cursor:
            try:
                offset = int(base64.b64decode(cursor).decode().removeprefix("member:"))
            except ValueError as problem:
                raise SlackError("invalid_cursor") from problem
        page = members[offset : offset + limit]
        more = offset + limit < len(members)
        next_cursor = base64.b64encode(f"member:{offset + limit}".encode()).decode() if more else ""
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        is_im = channel.startswith("D")
        info: dict[str, Any] = {
            "id": channel,
            "created": 1_690_000_000,
            "is_archived": False,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": is_im or channel.startswith("G"),
            "is_channel": not is_im,
            "is_group": False,
            "is_general": False,
            "is_member": BOT_USER_ID in self.channels[channel] or not is_im,
            "is_ext_shared": False,
            "is_org_shared": False,
            "context_team_id": TEAM_ID,
        }
        if is_im:
            info["user"] = next(iter(sorted(self.channels[channel] - {BOT_USER_ID})), "")
        else:
            name = self.channel_names.get(channel, channel.lower())
            info.update({"name": name, "name_normalized": name, "num_members": len(self.channels[channel])})
            info["topic"] = {"value": "", "creator": "", "last_set": 0}
            info["purpose"] = {"value": "", "creator": "", "last_set": 0}
        return {"channel": info}

    def _view_object(
        self, view_id: str, view: dict[str, Any], previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "title": None,
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "app_id": API_APP_ID,
            "external_id": previous["external_id"] if previous else "",
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        stored.update({k: v for k, v in view.items() if k not in ("id", "hash", "state")})
        return stored

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not (args.get("trigger_id") or args.get("interactivity_pointer")):
            raise SlackError("invalid_arguments")
        view = args.get("view")
        if not isinstance(view, dict) or "type" not in view:
            raise SlackError("invalid_arguments")
        view_id = f"V{next(self._view_ids):08d}"
        stored = self._view_object(view_id, view, None)
        self.views[view_id] = stored
        return {"view": copy.deepcopy(stored)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments")
        view_id = str(args.get("view_id") or "")
        external_id = str(args.get("external_id") or "")
        if not view_id and external_id:
            view_id = next((k for k, v in self.views.items() if v.get("external_id") == external_id), "")
        previous = self.views.get(view_id)
        if previous is None:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != previous["hash"]:
            raise SlackError("hash_conflict")
        stored = self._view_object(view_id, view, previous)
        stored["state"] = previous["state"]
        self.views[view_id] = stored
        return {"view": copy.deepcopy(stored)}


def user_object(user_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A users.info `user` object from a short spec ({"name", "real_name", "tz", ...})."""
    name = str(spec.get("name", user_id.lower()))
    real_name = str(spec.get("real_name", name))
    tz = str(spec.get("tz", "Europe/London"))
    try:
        offset = ZoneInfo(tz).utcoffset(datetime.now())
        tz_offset = int(offset.total_seconds()) if offset is not None else 0
    except (KeyError, ValueError):
        tz_offset = 0
    display_name = str(spec.get("display_name", name))
    user: dict[str, Any] = {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "deleted": False,
        "real_name": real_name,
        "tz": tz,
        "tz_label": tz,
        "tz_offset": tz_offset,
        "is_admin": False,
        "is_owner": False,
        "is_bot": bool(spec.get("is_bot", False)),
        "is_app_user": False,
        "updated": 1_690_000_000,
        "profile": {
            "display_name": display_name,
            "display_name_normalized": display_name,
            "real_name": real_name,
            "real_name_normalized": real_name,
            "team": TEAM_ID,
        },
    }
    if "email" in spec:
        user["profile"]["email"] = spec["email"]
    user.update({k: v for k, v in spec.items() if k not in user and k not in ("display_name", "email")})
    return user


def _maybe_json(text: str) -> Any:
    # Form bodies and query strings carry nested values (blocks, view, attachments) as JSON strings.
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def _ts_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _server_error(status: int) -> str:
    return {500: "fatal_error", 502: "bad_gateway", 503: "service_unavailable"}.get(status, "request_failed")


# -- delivering signed requests to the app under test ----------------------------------------


def sign(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack adds to each request it sends to an app."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def new_trigger_id() -> str:
    return f"{next(_trigger_ids)}.{int(time.time())}.{uuid.uuid4().hex}"


def _json_body(payload: dict[str, Any]) -> tuple[bytes, str]:
    return json.dumps(payload).encode(), "application/json"


def _form_payload(payload: dict[str, Any]) -> tuple[bytes, str]:
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def _user(user: str) -> dict[str, Any]:
    name = str(DEFAULT_USERS.get(user, {}).get("name", user.lower()))
    return {"id": user, "username": name, "name": name, "team_id": TEAM_ID}


def _channel_name(channel: str) -> str:
    if channel.startswith("D"):
        return "directmessage"
    return DEFAULT_CHANNEL_NAMES.get(channel, channel.lower())


def event_callback(
    event: dict[str, Any],
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
) -> tuple[bytes, str]:
    """An Events API envelope around `event`, JSON."""
    payload = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):010d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }
    return _json_body(payload)


def message_event(
    channel: str,
    user: str | None,
    text: str,
    *,
    ts: str,
    thread_ts: str | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
) -> dict[str, Any]:
    """The inner `message` event (for `event_callback`)."""
    event: dict[str, Any] = {"type": "message"}
    if subtype is not None:
        event["subtype"] = subtype
    if user is not None:
        event["user"] = user
    if bot_id is not None:
        event["bot_id"] = bot_id
        event["app_id"] = API_APP_ID if bot_id == BOT_ID else "AOTHER"
    elif subtype is None:
        event["client_msg_id"] = str(uuid.uuid4())
    event.update({"text": text, "ts": ts, "team": TEAM_ID})
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    event.update(
        {
            "channel": channel,
            "event_ts": ts,
            "channel_type": "im"
            if channel.startswith("D")
            else "group"
            if channel.startswith("G")
            else "channel",
        }
    )
    return event


def url_verification(challenge: str) -> tuple[bytes, str]:
    return _json_body({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"})


def block_action(
    user: str,
    channel: str,
    message_ts: str,
    action_id: str,
    value: str,
    *,
    thread_ts: str | None = None,
    block_id: str = "actions",
    trigger_id: str | None = None,
    message: dict[str, Any] | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
) -> tuple[bytes, str]:
    """A button click in a message (form-encoded `payload=`). `message` defaults to a minimal bot message."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if thread_ts is not None:
        container["thread_ts"] = thread_ts
    shown: dict[str, Any] = (
        dict(message)
        if message is not None
        else {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": "",
            "team": TEAM_ID,
            "blocks": [],
        }
    )
    shown["ts"] = message_ts
    if thread_ts is not None:
        shown["thread_ts"] = thread_ts
    action_ts = f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": _channel_name(channel)},
        "message": shown,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": value, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }
    return _form_payload(payload)


def message_shortcut(
    user: str,
    channel: str,
    message_ts: str,
    callback_id: str,
    *,
    thread_ts: str | None = None,
    text: str = "",
    message_user: str | None = None,
    trigger_id: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
) -> tuple[bytes, str]:
    """A message shortcut ("message_action") on the message `message_ts` (by `message_user`, default `user`)."""
    message: dict[str, Any] = {
        "type": "message",
        "user": message_user or user,
        "ts": message_ts,
        "text": text,
        "team": TEAM_ID,
    }
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
    payload = {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user),
        "channel": {"id": channel, "name": _channel_name(channel)},
        "is_enterprise_install": False,
        "enterprise": None,
        "api_app_id": API_APP_ID,
        "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
        "response_url": response_url,
        "message_ts": message_ts,
        "message": message,
    }
    return _form_payload(payload)


def slash_command(
    user: str,
    channel: str,
    command: str,
    text: str,
    *,
    trigger_id: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
) -> tuple[bytes, str]:
    """A slash command, form-encoded as Slack sends it."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": _channel_name(channel),
        "user_id": user,
        "user_name": _user(user)["name"],
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


def view_submission(user: str, view: dict[str, Any], values: dict[str, Any]) -> tuple[bytes, str]:
    """A modal submitted by `user`. `view` is the opened view (e.g. from `fake.views` or what views.open got).

    `values` is `view.state.values`: {block_id: {action_id: {"type": ..., "value": ...}}}; a plain string
    leaf is taken as a plain_text_input's value."""
    state = {
        block_id: {
            action_id: ({"type": "plain_text_input", "value": entry} if isinstance(entry, str) else entry)
            for action_id, entry in actions.items()
        }
        for block_id, actions in values.items()
    }
    view_id = str(view.get("id") or "V00000000")
    shown: dict[str, Any] = {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": "modal",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "title": {"type": "plain_text", "text": "Form", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": API_APP_ID,
        "external_id": "",
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
    }
    shown.update({k: v for k, v in view.items() if v is not None})
    shown["state"] = {"values": state}
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": shown,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _form_payload(payload)


async def deliver(
    app_url: str,
    body: bytes,
    content_type: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    path: str = "/slack/events",
) -> httpx.Response:
    """POST `body` to the app as Slack does: signed, and with the retry headers when `retry_num` is given."""
    headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
    headers.update(sign(body, secret, timestamp))
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    async with httpx.AsyncClient(timeout=10.0) as client:
        return await client.post(app_url.rstrip("/") + path, content=body, headers=headers)
