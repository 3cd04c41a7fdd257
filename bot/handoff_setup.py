"""Wires the handoff: the ticket store, the service, and its faces (Slack when configured, the desk)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from starlette.routing import Router

from bot.errors import SettingsError
from bot.persistence.repository import Repository
from bot.persistence.tickets import TicketRepository
from bot.settings import Settings
from handoff.desk.routes import DeskPresence, desk_routes
from handoff.service import CustomerWords, HandoffService
from handoff.sla import SlaPolicy, SlaTarget, parse_business_hours, parse_sla_overrides
from handoff.slack.app import SlackDesk
from handoff.slack.sync import SlackSync
from handoff.templates import TemplateError, load_templates

log = logging.getLogger(__name__)


@dataclass
class Handoff:
    service: HandoffService
    tickets: TicketRepository
    desk: Router
    slack: SlackDesk | None = None
    slack_handler: AsyncSlackRequestHandler | None = None
    socket_mode: AsyncSocketModeHandler | None = None
    sync: SlackSync | None = None

    async def start(self) -> None:
        if self.sync is not None:
            self.sync.start()
        if self.socket_mode is not None:
            # Socket Mode: Slack's events come over a WebSocket we open, no public endpoint needed.
            await self.socket_mode.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        if self.socket_mode is not None:
            await self.socket_mode.close_async()  # type: ignore[no-untyped-call]
        if self.sync is not None:
            await self.sync.stop()
        if self.slack is not None and self.slack.client.session is not None:
            await self.slack.client.session.close()


def sla_policy(settings: Settings) -> SlaPolicy:
    return SlaPolicy(
        hours=parse_business_hours(settings.business_hours, settings.timezone, settings.holidays),
        default=SlaTarget(settings.sla_first_response_minutes, settings.sla_resolution_minutes),
        by_reason=parse_sla_overrides(settings.sla_overrides),
        reminder_share=settings.sla_reminder_share,
    )


def desk_password(settings: Settings) -> str:
    """The desk's password: from settings, or generated once and kept beside the database."""
    if settings.desk_password:
        return settings.desk_password
    path = Path(settings.data_dir) / "desk-password"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    return password


def slack_client(settings: Settings) -> AsyncWebClient:
    base = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    # One session for all calls: without it every call opens a new connection.
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=base, session=aiohttp.ClientSession())
    # The default handlers retry only connection errors; 429 must wait for Retry-After too.
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


def build_handoff(settings: Settings, repository: Repository, wake_outbox: object, secret: bytes) -> Handoff:
    try:
        templates = load_templates(settings.templates_path)
    except TemplateError as exc:
        raise SettingsError(f"SUPPORTBOT_TEMPLATES_PATH: {exc}") from None
    tickets = TicketRepository(repository)
    service = HandoffService(
        tickets,
        tickets,
        sla_policy(settings),
        CustomerWords(settings.store_name),
        on_enqueued=wake_outbox,  # type: ignore[arg-type]
        hold_unchecked_replies=settings.reply_check == "hold",
    )
    presence = DeskPresence()
    service.watch_presence(presence.anyone_online)
    routes = desk_routes(
        service,
        tickets,
        desk_password(settings),
        templates,
        tickets,
        secret,
        store_name=settings.store_name,
        presence=presence,
    )
    handoff = Handoff(service, tickets, Router(routes))
    if settings.slack_bot_token and settings.slack_channel:
        client = slack_client(settings)
        main_channel = settings.slack_channel
        routes_by_reason = settings.routes
        sync = SlackSync(
            tickets,
            client,
            tickets,
            lambda reason: routes_by_reason.get(reason, main_channel),
            oncall_group=settings.slack_oncall_group,
        )
        handoff.sync = sync
        handoff.slack = SlackDesk(
            service,
            client,
            signing_secret=settings.slack_signing_secret,
            templates=templates,
            store_name=settings.store_name,
            contact=settings.support_contact,
            first_time=tickets.first_time,
            # Through the sync: it knows messages posted moments ago and not yet recorded.
            ticket_at=sync.ticket_at,
            desk_location=sync.desk_location,
            socket_mode=bool(settings.slack_app_token),
        )
        slack_desk = handoff.slack
        service.watch_presence(lambda: slack_desk.anyone_online(main_channel))
        service.attach(handoff.sync)
        if settings.slack_app_token:
            # Socket Mode has no signatures to check, so the HTTP endpoint stays closed: an
            # unsigned request to /slack/events must never be taken for Slack.
            handoff.socket_mode = AsyncSocketModeHandler(handoff.slack.bolt, settings.slack_app_token)
        else:
            handoff.slack_handler = AsyncSlackRequestHandler(handoff.slack.bolt)
    return handoff
