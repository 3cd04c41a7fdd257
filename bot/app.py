"""The one place that wires everything: create_app(settings) returns the Starlette app."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.domain import Channel, ConversationRef, CustomerIdentity, IncomingMessage, Reply
from bot.engine import Engine, RecordingHandoff
from bot.knowledge import KnowledgeSearchAdapter, make_knowledge_service
from bot.persistence.database import create_engine, migrate
from bot.persistence.repository import Repository
from bot.replies import Wording
from bot.settings import Settings
from knowledge_base.embedder import Embedder
from knowledge_base.service import KnowledgeService

log = logging.getLogger(__name__)
PAGE = Path(__file__).resolve().parent / "web" / "chat.html"
MAX_BODY_BYTES = 256_000


@dataclass
class Services:
    settings: Settings
    database: AsyncEngine
    repository: Repository
    knowledge: KnowledgeService
    engine: Engine


async def build_services(settings: Settings, embedder: Embedder | None = None) -> Services:
    url = settings.effective_database_url
    if settings.auto_migrate:
        await migrate(url)
    database = create_engine(url)
    repository = Repository(database)
    knowledge = make_knowledge_service(settings, embedder)
    await knowledge.start()
    wording = Wording(settings.store_name, settings.support_contact)
    engine = Engine(
        KnowledgeSearchAdapter(knowledge),
        repository,
        wording,
        RecordingHandoff(repository, wording),
        settings.max_message_chars,
    )
    return Services(settings, database, repository, knowledge, engine)


async def close_services(services: Services) -> None:
    await services.knowledge.stop()
    await services.database.dispose()


def reply_json(reply: Reply) -> dict[str, object]:
    return {
        "text": reply.text,
        "link": reply.link,
        "choices": [{"label": c.label, "payload": c.payload} for c in reply.choices],
    }


def create_app(settings: Settings, *, embedder: Embedder | None = None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await build_services(settings, embedder)
        app.state.services = services
        try:
            yield
        finally:
            await close_services(services)

    async def page(request: Request) -> Response:
        html = PAGE.read_text(encoding="utf-8").replace("{{store_name}}", _html_escape(settings.store_name))
        return HTMLResponse(html)

    async def health(request: Request) -> Response:
        services: Services = request.app.state.services
        status = services.knowledge.status()
        return JSONResponse(
            {"status": "ok" if services.knowledge.ready else "starting", "knowledge_base": status}
        )

    async def chat(request: Request) -> Response:
        services: Services = request.app.state.services
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"error": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        if not isinstance(data, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        text, button = data.get("text", ""), data.get("button")
        conversation = data.get("conversation") or secrets.token_urlsafe(18)
        if not isinstance(text, str) or (button is not None and not isinstance(button, str)):
            return JSONResponse({"error": "text and button must be strings"}, status_code=400)
        if not isinstance(conversation, str) or not 16 <= len(conversation) <= 64:
            return JSONResponse(
                {"error": "conversation must be the id this endpoint returned"}, status_code=400
            )
        message = IncomingMessage(
            ref=ConversationRef(Channel.WEB, conversation),
            customer=CustomerIdentity(f"web:{conversation}"),
            text=text,
            received_at=datetime.now(UTC),
            vendor_message_id=None,
            button_payload=button,
        )
        turn = await services.engine.handle(message)
        replies = [reply_json(r) for r in turn.replies] if turn else []
        decision = turn.decision.value if turn else None
        return JSONResponse({"conversation": conversation, "decision": decision, "replies": replies})

    return Starlette(
        routes=[
            Route("/", page),
            Route("/health", health),
            Route("/api/chat", chat, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


def _html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)
