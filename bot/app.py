"""The one place that wires everything: create_app(settings) returns the Starlette app."""

from __future__ import annotations

import contextlib
import html
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from bot.channels.telegram import TelegramChannel
from bot.channels.web import TokenSigner, WidgetEndpoint, WidgetHub, load_or_create_secret
from bot.delivery.outbox import OutboxSender
from bot.delivery.rate_limit import RateLimit
from bot.domain import Channel, ConversationRef, CustomerIdentity, IncomingMessage
from bot.engine import Engine
from bot.errors import SettingsError
from bot.escalation.detector import EscalationDetector
from bot.escalation.model import OrderContext
from bot.escalation.rules import load_rules
from bot.escalation.service import EscalationService
from bot.handoff_setup import Handoff, build_handoff
from bot.knowledge import KnowledgeSearchAdapter, make_knowledge_service
from bot.orders.assistant import OrderDesk
from bot.orders.delivery import DeliveryTableError, load_delivery_table
from bot.orders.model import OrderSource
from bot.persistence.database import create_engine, migrate
from bot.persistence.orders import EmbeddedOrders, OrderSessions
from bot.persistence.repository import Repository
from bot.ports import ReplySender
from bot.replies import Wording
from bot.settings import Settings
from knowledge_base.embedder import Embedder
from knowledge_base.service import KnowledgeService

log = logging.getLogger(__name__)
WEB = Path(__file__).resolve().parent / "web"
MAX_BODY_BYTES = 256_000
# Telegram: about 30 messages a second overall and one a second per chat (kept just under).
TELEGRAM_LIMIT = RateLimit(per_second=29, per_chat_interval=1.0)
WIDGET_LIMIT = RateLimit(per_second=1000, per_chat_interval=0.0)


@dataclass
class Services:
    settings: Settings
    database: AsyncEngine
    repository: Repository
    knowledge: KnowledgeService
    engine: Engine
    outbox: OutboxSender
    hub: WidgetHub
    widget: WidgetEndpoint
    handoff: Handoff
    orders: OrderDesk
    telegram: TelegramChannel | None = None


async def build_services(
    settings: Settings, embedder: Embedder | None = None, *, show_progress: bool = False
) -> Services:
    url = settings.effective_database_url
    if settings.auto_migrate:
        await migrate(url)
    database = create_engine(url)
    repository = Repository(database)
    knowledge = make_knowledge_service(settings, embedder, show_progress=show_progress)
    await knowledge.start()
    wording = Wording(settings.store_name, settings.support_contact)
    hub = WidgetHub()
    senders: dict[Channel, ReplySender] = {Channel.WEB: hub}
    limits = {Channel.WEB: WIDGET_LIMIT, Channel.TELEGRAM: TELEGRAM_LIMIT}

    async def delivered(outbox_id: int, ok: bool, error: str | None) -> None:
        await handoff.service.delivery_result(outbox_id, ok, error)

    outbox = OutboxSender(repository, senders, limits, on_result=delivered)
    secret = load_or_create_secret(settings.widget_secret, settings.data_dir)
    handoff = build_handoff(settings, repository, outbox.wake, secret)
    orders = make_orders(settings, repository)
    escalation = make_escalation(settings, knowledge, repository, orders)
    engine = Engine(
        KnowledgeSearchAdapter(knowledge),
        repository,
        wording,
        handoff.service,
        settings.max_message_chars,
        on_enqueued=outbox.wake,
        escalation=escalation,
        orders=orders,
    )

    async def reconnected(ref: ConversationRef) -> None:
        if await repository.release_waiting(ref):
            outbox.wake(ref)

    widget = WidgetEndpoint(
        hub,
        TokenSigner(secret),
        engine.handle,
        repository.history,
        reconnected,
        settings.allowed_origins,
        settings.max_message_chars,
        settings.widget_rate_per_minute,
        settings.widget_address_rate_per_minute,
    )
    telegram = None
    if settings.telegram_token:
        telegram = TelegramChannel(
            settings.telegram_token,
            settings.telegram_api_url,
            settings.telegram_mode,
            settings.telegram_webhook_secret,
            settings.public_url,
            engine.handle,
            settings.telegram_typing_after,
        )
        senders[Channel.TELEGRAM] = telegram.sender
        await telegram.start()
    outbox.start()
    await handoff.start()
    if handoff.slack is None:
        log.info(
            "Slack is not configured: handoffs appear on the local agent desk at /desk (password: %s)",
            "SUPPORTBOT_DESK_PASSWORD" if settings.desk_password else f"{settings.data_dir}/desk-password",
        )
    return Services(
        settings, database, repository, knowledge, engine, outbox, hub, widget, handoff, orders, telegram
    )


def make_orders(settings: Settings, repository: Repository) -> OrderDesk:
    try:
        table = load_delivery_table(settings.delivery_table)
    except DeliveryTableError as exc:
        raise SettingsError(f"SUPPORTBOT_DELIVERY_TABLE: {exc}") from None
    source: OrderSource
    if settings.order_source == "shopify":
        from bot.orders.shopify import ShopifyOrders

        assert settings.shopify_api_url and settings.shopify_access_token  # checked by Settings
        source = ShopifyOrders(settings.shopify_api_url, settings.shopify_access_token)
    elif settings.order_source == "woocommerce":
        from bot.orders.woocommerce import WooCommerceOrders

        key, secret = settings.woocommerce_consumer_key, settings.woocommerce_consumer_secret
        assert settings.woocommerce_api_url and key and secret  # checked by Settings
        source = WooCommerceOrders(settings.woocommerce_api_url, key, secret)
    else:
        source = EmbeddedOrders(repository)
    return OrderDesk(source, OrderSessions(repository), table)


def order_context(orders: OrderDesk) -> Callable[[ConversationRef], Awaitable[OrderContext | None]]:
    async def context(ref: ConversationRef) -> OrderContext | None:
        order = await orders.context(ref)
        if order is None:
            return None
        return OrderContext(
            order_total=float(order.total),
            item_quantity=order.quantity,
            customer_tags=order.customer_tags,
            customer_order_count=order.customer_order_count,
        )

    return context


def make_escalation(
    settings: Settings, knowledge: KnowledgeService, repository: Repository, orders: OrderDesk | None = None
) -> EscalationService:
    rules = load_rules(settings.escalation_rules)
    # Meaning needs the real model; the hashing stand-in would only add noise to the rules.
    encode = knowledge.encode_many if settings.embedder == "minilm" else None
    detector = EscalationDetector(rules, encode)

    def tags(article_id: str) -> tuple[str, ...]:
        article = knowledge.article(article_id)
        return article.tags if article is not None else ()

    async def incident(kind: str, key: str, reports: int, payload: dict[str, object]) -> None:
        await repository.record_event(
            None, "incident_opened", {"kind": kind, "key": key, "reports": reports, **payload}
        )

    context = order_context(orders) if orders is not None else None
    return EscalationService(detector, knowledge.embed, repository, tags, incident, context)


async def close_services(services: Services) -> None:
    if services.telegram is not None:
        await services.telegram.stop()
    await services.handoff.stop()
    await services.orders.aclose()
    await services.outbox.stop()
    await services.knowledge.stop()
    await services.database.dispose()


class DeskGate:
    """The local agent desk's routes live on the services (built at start-up); pass requests on."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services: Services = scope["app"].state.services
        await services.handoff.desk(scope, receive, send)


def _page(name: str, settings: Settings) -> str:
    return (
        (WEB / name).read_text(encoding="utf-8").replace("{{store_name}}", html.escape(settings.store_name))
    )


def create_app(
    settings: Settings, *, embedder: Embedder | None = None, show_progress: bool = False
) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await build_services(settings, embedder, show_progress=show_progress)
        app.state.services = services
        try:
            yield
        finally:
            await close_services(services)

    async def demo_store(request: Request) -> Response:
        return HTMLResponse(_page("demo.html", settings))

    async def simple_chat(request: Request) -> Response:
        return HTMLResponse(_page("chat.html", settings))

    async def widget_script(request: Request) -> Response:
        return Response(
            (WEB / "widget.js").read_text(encoding="utf-8"),
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    async def widget_socket(socket: WebSocket) -> None:
        services: Services = socket.app.state.services
        await services.widget(socket)

    async def telegram_webhook(request: Request) -> Response:
        services: Services = request.app.state.services
        if services.telegram is None:
            return JSONResponse({"error": "Telegram is not configured"}, status_code=404)
        return await services.telegram.webhook(request)

    async def slack_events(request: Request) -> Response:
        services: Services = request.app.state.services
        handler = services.handoff.slack_handler
        if handler is None:
            return JSONResponse({"error": "Slack is not configured"}, status_code=404)
        return await handler.handle(request)

    async def health(request: Request) -> Response:
        services: Services = request.app.state.services
        status = services.knowledge.status()
        return JSONResponse(
            {
                "status": "ok" if services.knowledge.ready else "starting",
                "knowledge_base": status,
                "widget_connections": services.hub.connections,
                "telegram": None if services.telegram is None else settings.telegram_mode,
            }
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
            ref=ConversationRef(Channel.API, conversation),
            customer=CustomerIdentity(f"api:{conversation}"),
            text=text,
            received_at=datetime.now(UTC),
            vendor_message_id=None,
            button_payload=button,
        )
        turn = await services.engine.handle(message)
        replies = [r.to_payload() for r in turn.replies] if turn else []
        decision = turn.decision.value if turn else None
        return JSONResponse({"conversation": conversation, "decision": decision, "replies": replies})

    return Starlette(
        routes=[
            Route("/", demo_store),
            Route("/chat", simple_chat),
            Route("/widget.js", widget_script),
            WebSocketRoute("/widget/ws", widget_socket),
            Route("/telegram/webhook", telegram_webhook, methods=["POST"]),
            Route("/health", health),
            Route("/api/chat", chat, methods=["POST"]),
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/desk", DeskGate()),
            Route("/desk/{rest:path}", DeskGate()),
        ],
        lifespan=lifespan,
    )
