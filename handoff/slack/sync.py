"""Keeps Slack current with the tickets: posts new handoffs, updates them, relays lines, reminds.

The database is the source of truth and Slack a view of it: a ticket not yet posted, a line not
yet shown, a delivery not yet marked are all visible as rows. When Slack is down or rate-limits
us, nothing is lost; the next pass picks up where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handoff.ports import Delivery, Line, TranscriptSource
from handoff.slack.blocks import line_message, reason_label, slack_date, ticket_message
from handoff.tickets import Ticket

log = logging.getLogger(__name__)

DELIVERED_REACTION = "white_check_mark"
POSTS_IN_FLIGHT = 8
SLACK_LINE_PREFIX = "slack:"  # ticket lines written in Slack carry "slack:<channel>:<ts>"


class SlackStore(Protocol):
    async def desk_views(self, limit: int = 100) -> Sequence[DeskViewLike]: ...
    async def mark_shown(self, shown: Sequence[tuple[int, int, str, str]]) -> None: ...
    async def desk_location(self, ticket_id: int) -> tuple[str, str] | None: ...
    async def ticket(self, ticket_id: int) -> Ticket | None: ...
    async def ticket_at(self, channel: str, ts: str) -> Ticket | None: ...
    async def lines_to_post(self, limit: int = 200) -> list[Line]: ...
    async def mark_line_posted(self, line_id: int) -> None: ...
    async def deliveries_to_mark(self, limit: int = 200) -> list[Line]: ...
    async def mark_line_marked(self, line_id: int) -> None: ...
    async def due_reminders(self, now: datetime) -> list[Ticket]: ...
    async def mark_reminded(
        self, ticket_id: int, *, reminded: datetime | None, breached: datetime | None
    ) -> None: ...


class DeskViewLike(Protocol):
    @property
    def ticket(self) -> Ticket: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def ts(self) -> str | None: ...
    @property
    def version(self) -> int: ...


def slack_location(line: Line) -> tuple[str, str] | None:
    """(channel, ts) of an agent's Slack message, from the line's vendor id."""
    if not line.vendor_id or not line.vendor_id.startswith(SLACK_LINE_PREFIX):
        return None
    channel, _, ts = line.vendor_id.removeprefix(SLACK_LINE_PREFIX).partition(":")
    return (channel, ts) if channel and ts else None


class SlackSync:
    def __init__(
        self,
        store: SlackStore,
        client: AsyncWebClient,
        transcript: TranscriptSource,
        route: Callable[[str], str],
        *,
        oncall_group: str | None = None,
        tick: float = 15.0,
        max_backoff: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._client = client
        self._transcript = transcript
        self._route = route
        self._oncall = oncall_group
        self._tick = tick  # reminders are checked at least this often
        self._max_backoff = max_backoff
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Tickets posted or updated whose record (ts, version shown) is still on its way to the database.
        self._unrecorded: dict[int, tuple[int, str, str]] = {}
        self._recording: asyncio.Future[None] | None = None

    # DeskNotifier
    def changed(self, ticket_id: int) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._recording is not None and not self._recording.done():
            await self._recording
        await self._record_shown()  # so a restart does not post them again

    async def desk_location(self, ticket_id: int) -> tuple[str, str] | None:
        """Where the ticket's message is, including one posted moments ago and not yet recorded."""
        pending = self._unrecorded.get(ticket_id)
        if pending is not None:
            return pending[1], pending[2]
        return await self._store.desk_location(ticket_id)

    async def ticket_at(self, channel: str, ts: str) -> Ticket | None:
        for ticket_id, (_, where, at) in list(self._unrecorded.items()):
            if (where, at) == (channel, ts):
                return await self._store.ticket(ticket_id)
        return await self._store.ticket_at(channel, ts)

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                await self.sync_once()
                failures = 0
                delay = self._tick
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Slack or the database is down: everything waits in the tables
                failures += 1
                delay = min(self._max_backoff, 0.5 * 2 ** (failures - 1))
                log.warning("Slack sync failed (%s); retrying in %.1fs", _describe(exc), delay)
                await asyncio.sleep(delay)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def sync_once(self) -> None:
        await self._show_tickets()
        await self._post_lines()
        await self._mark_deliveries()
        await self._remind()

    async def _show_tickets(self) -> None:
        now = self._clock()
        self._start_recording()  # what an earlier pass could not write yet
        views = [v for v in await self._store.desk_views() if not self._already_shown(v)]
        # Several at once: fifty handoffs opening together must not queue behind each other's
        # round trips.
        limit = asyncio.Semaphore(POSTS_IN_FLIGHT)
        shown: list[tuple[int, int, str, str]] = []

        async def show(view: DeskViewLike) -> None:
            async with limit:
                try:
                    shown.append(await self._show(view, now))
                except Exception as exc:
                    _skip_unless_transient(exc, f"ticket {view.ticket.id}")

        try:
            await asyncio.gather(*(show(view) for view in views))
        finally:
            # What was shown is remembered at once and written in the background: under load the
            # database's writer is busy with conversations, and the next pass must not wait for it.
            for ticket_id, version, channel, ts in shown:
                self._unrecorded[ticket_id] = (version, channel, ts)
            self._start_recording()

    def _start_recording(self) -> None:
        if self._unrecorded and (self._recording is None or self._recording.done()):
            self._recording = asyncio.ensure_future(self._record_shown())

    def _already_shown(self, view: DeskViewLike) -> bool:
        """Shown in this process, with the record of it not yet in the database."""
        pending = self._unrecorded.get(view.ticket.id)
        return pending is not None and pending[0] >= view.version

    async def _record_shown(self) -> None:
        if not self._unrecorded:
            return
        batch = dict(self._unrecorded)
        try:
            await self._store.mark_shown([(t, v, c, ts) for t, (v, c, ts) in batch.items()])
        except Exception:  # kept in memory and written by the next pass
            log.exception("could not record what Slack shows; retrying")
            return
        for ticket_id, state in batch.items():
            if self._unrecorded.get(ticket_id) == state:
                del self._unrecorded[ticket_id]

    async def _show(self, view: DeskViewLike, now: datetime) -> tuple[int, int, str, str]:
        """Post or update one ticket's message; (ticket id, version shown, channel, ts)."""
        ticket = view.ticket
        transcript = await self._transcript.transcript(ticket.ref, 8, ticket.created_at)
        text, blocks = ticket_message(ticket, transcript, now)
        if view.ts is None or view.channel is None:
            posted = await self._client.chat_postMessage(
                channel=self._route(ticket.reason),
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
            log.info("handoff posted to Slack", extra={"ticket": ticket.id})
            return ticket.id, view.version, str(posted["channel"]), str(posted["ts"])
        await self._client.chat_update(channel=view.channel, ts=view.ts, text=text, blocks=blocks)
        return ticket.id, view.version, view.channel, view.ts

    async def _post_lines(self) -> None:
        for line in await self._store.lines_to_post():
            where = await self.desk_location(line.ticket_id)
            if where is None:
                continue
            channel, ts = where
            try:
                await self._client.chat_postMessage(
                    channel=channel,
                    thread_ts=ts,
                    text=line_message(line),
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except Exception as exc:
                _skip_unless_transient(exc, f"line {line.id}")
                continue
            await self._store.mark_line_posted(line.id)

    async def _mark_deliveries(self) -> None:
        for line in await self._store.deliveries_to_mark():
            where = slack_location(line)
            thread = await self._store.desk_location(line.ticket_id)
            if line.delivery is Delivery.SENT and where is not None:
                try:
                    await self._client.reactions_add(
                        channel=where[0], timestamp=where[1], name=DELIVERED_REACTION
                    )
                except SlackApiError as exc:
                    if exc.response.get("error") != "already_reacted":
                        raise
            elif line.delivery is Delivery.FAILED and thread is not None:
                reason = line.delivery_error or "unknown reason"
                await self._client.chat_postMessage(
                    channel=thread[0],
                    thread_ts=thread[1],
                    text=f":warning: Not delivered to the customer: {reason}",
                )
            await self._store.mark_line_marked(line.id)

    async def _remind(self) -> None:
        now = self._clock()
        for ticket in await self._store.due_reminders(now):
            where = await self._store.desk_location(ticket.id)
            if where is None:
                continue
            breach = ticket.breached_at is None and now >= ticket.due.first_response
            if breach:
                who = f"<!subteam^{self._oncall}> " if self._oncall else ""
                text = (
                    f":rotating_light: {who}First-response target missed for this "
                    f"{reason_label(ticket.reason).lower()}: it was due {slack_date(ticket.due.first_response)}. "
                    "Please claim it."
                )
            else:
                text = (
                    f":alarm_clock: Nobody has claimed this yet; the first reply is due "
                    f"{slack_date(ticket.due.first_response)}."
                )
            await self._client.chat_postMessage(channel=where[0], thread_ts=where[1], text=text)
            await self._store.mark_reminded(ticket.id, reminded=now, breached=now if breach else None)


def _skip_unless_transient(exc: Exception, what: str) -> None:
    """Slack down, rate limiting or the network: raise, so the whole pass waits and retries.
    Anything else (a channel that does not exist, blocks Slack refuses) concerns this one item:
    log it for the store owner and go on with the others instead of stalling every handoff."""
    if isinstance(exc, SlackApiError) and exc.response.status_code < 500 and exc.response.status_code != 429:
        log.error("Slack refused %s: %s", what, exc.response.get("error"))
        return
    raise exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack answered {exc.response.status_code}: {exc.response.get('error')}"
    return f"{type(exc).__name__}: {exc}"
