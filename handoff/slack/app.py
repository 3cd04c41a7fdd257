"""The Slack app (slack-bolt AsyncApp): buttons, thread replies, the template modal, /supportbot.

Requests arrive at POST /slack/events (HTTP mode, signatures always verified by Bolt, stale
requests refused) or over Socket Mode. Only members of the ticket's channel may act on it, and
only the claiming agent's thread replies reach the customer; everything else stays internal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handoff.service import HandoffError, HandoffService, is_note
from handoff.slack.blocks import held_reply_blocks, reason_label
from handoff.slack.sync import SLACK_LINE_PREFIX
from handoff.slack.text import from_slack
from handoff.templates import ReplyTemplate, check_reply, fill, suggest
from handoff.tickets import Agent, Closure, Ticket

log = logging.getLogger(__name__)

MEMBERS_TTL = 60.0
PRESENCE_CHECKS = 20  # members asked about at most, so a big channel does not cost many calls
PRESENCE_TIMEOUT = 2.0  # seconds
TEMPLATE_CALLBACK = "template_reply"
TEMPLATE_SHORTCUT = "reply_with_template"


class SlackDesk:
    def __init__(
        self,
        service: HandoffService,
        client: AsyncWebClient,
        *,
        signing_secret: str | None,
        templates: Mapping[str, ReplyTemplate],
        store_name: str,
        contact: str,
        first_time: Callable[[str], Awaitable[bool]],
        ticket_at: Callable[[str, str], Awaitable[Ticket | None]],
        desk_location: Callable[[int], Awaitable[tuple[str, str] | None]],
        socket_mode: bool = False,
    ) -> None:
        self._service = service
        self._client = client
        self.client = client
        self._templates = templates
        self._store_name = store_name
        self._contact = contact
        self._first_time = first_time
        self._ticket_at = ticket_at
        self._desk_location = desk_location
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._names: dict[str, str] = {}
        self._online: tuple[float, bool | None] | None = None
        self._presence_lock = asyncio.Lock()
        # Signatures are always checked over HTTP; Socket Mode has no signatures to check.
        self.bolt = AsyncApp(
            client=client,
            signing_secret=signing_secret or "",
            request_verification_enabled=not socket_mode,
            process_before_response=False,
        )
        self._register()

    # -- who is acting -----------------------------------------------------------------------

    async def _agent(self, user_id: str) -> Agent:
        name = self._names.get(user_id)
        if name is None:
            try:
                info = await self._client.users_info(user=user_id)
                user = info["user"]
                profile = user.get("profile") or {}
                name = profile.get("display_name") or user.get("real_name") or user.get("name") or user_id
            except SlackApiError:
                name = user_id
            self._names[user_id] = str(name)
        return Agent(user_id, self._names[user_id])

    async def is_member(self, channel: str, user_id: str) -> bool:
        return user_id in await self._channel_members(channel)

    async def _channel_members(self, channel: str) -> frozenset[str]:
        cached = self._members.get(channel)
        if cached is None or time.monotonic() - cached[0] > MEMBERS_TTL:
            members: set[str] = set()
            cursor: str | None = None
            while True:
                page = await self._client.conversations_members(channel=channel, cursor=cursor, limit=200)
                members.update(page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
            cached = (time.monotonic(), frozenset(members))
            self._members[channel] = cached
        return cached[1]

    async def anyone_online(self, channel: str) -> bool | None:
        """Whether a member of the handoff channel is active in Slack (asked once a minute)."""
        cached = self._online
        if cached is not None and time.monotonic() - cached[0] < MEMBERS_TTL:
            return cached[1]
        async with self._presence_lock:  # fifty handoffs at once ask Slack once, not fifty times
            cached = self._online
            if cached is not None and time.monotonic() - cached[0] < MEMBERS_TTL:
                return cached[1]
            # A slow or unreachable Slack must not hold up the customer's answer: give up soon and
            # remember "unknown" for a while too.
            online: bool | None
            try:
                online = await asyncio.wait_for(self._ask_presence(channel), PRESENCE_TIMEOUT)
            except Exception as exc:
                log.warning("agent presence unknown: %s", type(exc).__name__)
                online = None
            self._online = (time.monotonic(), online)
            return online

    async def _ask_presence(self, channel: str) -> bool:
        for member in sorted(await self._channel_members(channel))[:PRESENCE_CHECKS]:
            answer = await self._client.users_getPresence(user=member)
            if answer.get("presence") == "active":
                return True
        return False

    async def _whisper(
        self, channel: str, user: str, text: str, thread_ts: str | None = None, **extra: Any
    ) -> None:
        """A message only this agent sees."""
        try:
            await self._client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts, **extra
            )
        except SlackApiError as exc:
            log.warning("could not warn the agent privately: %s", exc.response.get("error"))

    async def _ticket_channel(self, ticket_id: int) -> str | None:
        where = await self._desk_location(ticket_id)
        return where[0] if where else None

    # -- listeners ---------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.bolt
        app.event("message")(self._on_message)
        for action_id in ("claim", "resolve", "return_to_bot", "close_spam"):
            app.action(action_id)(self._on_ticket_button)
        app.action("send_held")(self._on_held_button)
        app.action("discard_held")(self._on_held_button)
        app.shortcut(TEMPLATE_SHORTCUT)(self._on_template_shortcut)
        app.action("template_pick")(self._on_template_pick)
        app.view(TEMPLATE_CALLBACK)(self._on_template_submit)
        app.command("/supportbot")(self._on_command)

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        event_id = body.get("event_id")
        if event_id and not await self._first_time(f"slack-event:{event_id}"):
            return  # a retry of an event already handled
        if event.get("subtype") or event.get("bot_id") or not event.get("thread_ts"):
            return  # edits, joins, bots (ourselves included) and top-level chatter are not replies
        channel, user, ts = str(event.get("channel")), str(event.get("user") or ""), str(event.get("ts"))
        ticket = await self._ticket_at(channel, str(event["thread_ts"]))
        if ticket is None or not user:
            return
        text = from_slack(str(event.get("text") or ""))
        if not text:
            return
        agent = await self._agent(user)
        vendor_id = f"{SLACK_LINE_PREFIX}{channel}:{ts}"
        if not is_note(text) and not await self.is_member(channel, user):
            await self._service.note(ticket.id, agent, text)
            return
        outcome = await self._service.reply(ticket.id, agent, text, vendor_id=vendor_id)
        if outcome.warnings and not outcome.sent and outcome.line is not None:
            fallback, blocks = held_reply_blocks(outcome.line.id, outcome.warnings)
            await self._whisper(channel, user, fallback, str(event["thread_ts"]), blocks=blocks)
        elif outcome.internal_reason and outcome.internal_reason not in (
            "marked as a note",
            "already handled",
        ):
            await self._whisper(
                channel,
                user,
                f"Kept internal (not sent to the customer): {outcome.internal_reason}.",
                str(event["thread_ts"]),
            )

    async def _on_ticket_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user = str(body["user"]["id"])
        channel = str((body.get("channel") or {}).get("id") or "")
        try:
            ticket_id = int(action["value"])
        except (KeyError, ValueError):
            return
        if not await self.is_member(channel, user) or await self._ticket_channel(ticket_id) != channel:
            # Through the response URL: it reaches whoever clicked, member of the channel or not.
            await respond(
                text="Only members of this handoff channel can act on its tickets.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        agent = await self._agent(user)
        try:
            match action["action_id"]:
                case "claim":
                    await self._service.claim(ticket_id, agent)
                case "resolve":
                    await self._service.resolve(ticket_id, agent)
                case "close_spam":
                    await self._service.resolve(ticket_id, agent, Closure.SPAM)
                case "return_to_bot":
                    await self._service.return_to_bot(ticket_id, agent)
        except HandoffError as exc:
            await respond(text=str(exc), response_type="ephemeral", replace_original=False)

    async def _on_held_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        agent = await self._agent(str(body["user"]["id"]))
        try:
            line_id = int(action["value"])
            if action["action_id"] == "send_held":
                await self._service.send_held(line_id, agent)
                await respond(text="Sent to the customer.", replace_original=True)
            else:
                await self._service.discard_held(line_id, agent)
                await respond(text="Discarded: the customer did not get it.", replace_original=True)
        except (HandoffError, ValueError) as exc:
            await respond(text=str(exc), replace_original=True)

    # -- templates -----------------------------------------------------------------------------

    def _template_values(self, ticket: Ticket, agent: Agent) -> dict[str, str | None]:
        order = ticket.order or {}
        return {
            "customer_name": (ticket.customer.display_name or "").split(" ")[0] or None,
            "agent_name": agent.name,
            "store_name": self._store_name,
            "contact_email": self._contact,
            "order_number": str(order["number"]) if order.get("number") else None,
            "carrier": str(order["carrier"]) if order.get("carrier") else None,
            "tracking_link": str(order["tracking_link"]) if order.get("tracking_link") else None,
        }

    def _template_view(self, ticket: Ticket, agent: Agent, chosen: ReplyTemplate | None) -> dict[str, Any]:
        ordered = suggest(self._templates, ticket.reason)
        chosen = chosen or (ordered[0] if ordered else None)
        text = fill(chosen, self._template_values(ticket, agent)) if chosen else ""
        options = [{"text": {"type": "plain_text", "text": t.title[:75]}, "value": t.id} for t in ordered]
        select: dict[str, Any] = {"type": "static_select", "action_id": "template_pick", "options": options}
        if chosen is not None:
            select["initial_option"] = {
                "text": {"type": "plain_text", "text": chosen.title[:75]},
                "value": chosen.id,
            }
        return {
            "type": "modal",
            "callback_id": TEMPLATE_CALLBACK,
            "private_metadata": str(ticket.id),
            "title": {"type": "plain_text", "text": "Reply with a template"},
            "submit": {"type": "plain_text", "text": "Send to customer"},
            "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"Ticket #{ticket.id}: {reason_label(ticket.reason)}"},
                },
                {"type": "actions", "block_id": "pick", "elements": [select]},
                {
                    # A new block id per template, so Slack shows the new text instead of the old edit.
                    "type": "input",
                    "block_id": f"text-{chosen.id if chosen else 'free'}",
                    "label": {"type": "plain_text", "text": "Message (edit before sending)"},
                    "element": {
                        "type": "plain_text_input",
                        "action_id": "text",
                        "multiline": True,
                        "initial_value": text,
                        "max_length": 3000,
                    },
                },
                {
                    "type": "input",
                    "block_id": "confirm",
                    "optional": True,
                    "label": {"type": "plain_text", "text": "Check"},
                    "element": {
                        "type": "checkboxes",
                        "action_id": "confirm",
                        "options": [
                            {
                                "text": {
                                    "type": "plain_text",
                                    "text": "Send even without a next step or timing",
                                },
                                "value": "yes",
                            }
                        ],
                    },
                },
            ],
        }

    async def _open_template_modal(self, trigger_id: str, ticket: Ticket, user: str) -> None:
        agent = await self._agent(user)
        await self._client.views_open(trigger_id=trigger_id, view=self._template_view(ticket, agent, None))

    async def _on_template_shortcut(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        channel = str(body["channel"]["id"])
        user = str(body["user"]["id"])
        message = body.get("message") or {}
        ticket = await self._ticket_at(channel, str(message.get("thread_ts") or message.get("ts")))
        if ticket is None:
            await self._whisper(channel, user, "Use this on a handoff message or a reply in its thread.")
            return
        await self._open_template_modal(str(body["trigger_id"]), ticket, user)

    async def _on_template_pick(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        view = body["view"]
        ticket = await self._service.ticket(int(view["private_metadata"]))
        chosen = self._templates.get(str(action["selected_option"]["value"]))
        agent = await self._agent(str(body["user"]["id"]))
        await self._client.views_update(
            view_id=view["id"], hash=view.get("hash"), view=self._template_view(ticket, agent, chosen)
        )

    async def _on_template_submit(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        block_id, text = next(
            ((b, str(v["text"].get("value") or "")) for b, v in values.items() if b.startswith("text-")),
            ("", ""),
        )
        confirmed = bool((values.get("confirm", {}).get("confirm") or {}).get("selected_options"))
        warnings = check_reply(text)
        if not text.strip():
            await ack(response_action="errors", errors={block_id: "Write a message first."})
            return
        if warnings and not confirmed:
            await ack(response_action="errors", errors={block_id: " ".join(warnings)})
            return
        agent = await self._agent(str(body["user"]["id"]))
        try:
            outcome = await self._service.reply(int(view["private_metadata"]), agent, text, confirmed=True)
        except HandoffError as exc:
            await ack(response_action="errors", errors={block_id: str(exc)})
            return
        if not outcome.sent:
            await ack(response_action="errors", errors={block_id: f"Not sent: {outcome.internal_reason}."})
            return
        await ack()

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any], command: dict[str, Any]) -> None:
        words = str(command.get("text") or "").split()
        channel, user = str(command["channel_id"]), str(command["user_id"])
        if words[:1] == ["template"] and len(words) == 2 and words[1].lstrip("#").isdigit():
            try:
                ticket = await self._service.ticket(int(words[1].lstrip("#")))
            except HandoffError as exc:
                await ack(str(exc))
                return
            if not await self.is_member(channel, user) or await self._ticket_channel(ticket.id) != channel:
                await ack("Only members of this ticket's handoff channel can reply to it.")
                return
            await ack()
            await self._open_template_modal(str(command["trigger_id"]), ticket, user)
            return
        if words[:1] == ["templates"]:
            listed = "\n".join(f"• `{t.id}`: {t.title}" for t in self._templates.values())
            await ack(f"Reply templates:\n{listed}")
            return
        await ack(
            "Usage: `/supportbot template <ticket number>` opens a reply template for that ticket; "
            "`/supportbot templates` lists them. In a handoff thread: reply to talk to the customer "
            "(after Claim); start with `note:` to keep a message internal."
        )
