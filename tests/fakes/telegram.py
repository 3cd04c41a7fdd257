"""A fake Telegram Bot API on 127.0.0.1, speaking the real wire protocol.

python-telegram-bot is pointed at it by base URL. It records every call (method, parameters),
queues updates for getUpdates, and answers 429 (with retry_after) or 5xx on demand.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "123456:TEST-token"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class Failure:
    status: int
    retry_after: int | None
    remaining: int
    description: str


@dataclass
class FakeTelegram:
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)
    blocked_chats: set[int] = field(default_factory=set)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- what tests use ---------------------------------------------------------------------

    def fail(self, method: str, status: int, *, times: int = 1, retry_after: int | None = None) -> None:
        description = "Too Many Requests: retry later" if status == 429 else "Internal Server Error"
        self.failures[method] = Failure(status, retry_after, times, description)

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def texts_to(self, chat_id: int) -> list[str]:
        return [str(p["text"]) for p in self.sent() if int(p["chat_id"]) == chat_id]

    async def wait_for(self, method: str, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.sent(method)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"expected {count} {method} calls, got {len(self.sent(method))}: {self.sent(method)}"
        )

    def next_update_id(self) -> int:
        return next(self._update_ids)

    # -- the wire protocol ------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])])

    async def _params(self, request: Request) -> dict[str, Any]:
        kind = request.headers.get("content-type", "")
        if "json" in kind:
            body = await request.body()
            return dict(json.loads(body)) if body else {}
        form = await request.form()
        params: dict[str, Any] = {}
        for key, value in form.items():
            text = str(value)
            # The library JSON-encodes nested values (reply_markup, allowed_updates) in forms.
            if text[:1] in "[{":
                try:
                    params[key] = json.loads(text)
                    continue
                except json.JSONDecodeError:
                    pass
            params[key] = text
        return params

    async def _endpoint(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        if token != TOKEN:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        params = await self._params(request)
        failure = self.failures.get(method)
        if failure is not None and failure.remaining > 0:
            failure.remaining -= 1
            self.calls.append(Call(f"{method}!{failure.status}", params, time.monotonic()))
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return JSONResponse(body, status_code=failure.status)
        self.calls.append(Call(method, params, time.monotonic()))
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        result = await handler(params)
        if isinstance(result, JSONResponse):
            return result
        return JSONResponse({"ok": True, "result": result})

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": 42,
            "is_bot": True,
            "first_name": "Copperline",
            "username": "copperline_bot",
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked_chats:
            return JSONResponse(
                {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
                status_code=403,
            )
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "text": params.get("text", ""),
        }

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        return await self._m_sendMessage(params)

    async def _m_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 1.0)
        deadline = time.monotonic() + wait
        while True:
            ready = [u for u in self.updates if u["update_id"] >= offset]
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.05)


def text_update(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    chat_type: str = "private",
    edited: bool = False,
    message_id: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {
            "id": chat_id,
            "type": chat_type,
            **({"first_name": "Ana"} if chat_type == "private" else {"title": "Group"}),
        },
        "from": {
            "id": chat_id if chat_type == "private" else 777,
            "is_bot": False,
            "first_name": "Ana",
            "language_code": "en",
        },
        "text": text,
        **extra,
    }
    if not text:
        message.pop("text")
    if edited:
        message["edit_date"] = int(time.time())
    return {"update_id": update_id, ("edited_message" if edited else "message"): message}


def callback_update(update_id: int, chat_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ana"},
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 5,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": 42, "is_bot": True, "first_name": "Copperline"},
                "text": "Which one?",
            },
        },
    }
