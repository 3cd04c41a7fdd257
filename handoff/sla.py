"""Business hours and SLA due times: pure functions of the clock, no I/O.

Times are computed in the store's local wall time (opening at 09:00 means 09:00 on the local clock,
before and after a DST switch) and returned as aware UTC datetimes. Durations between instants are
always measured in UTC, because Python subtracts two datetimes sharing one tzinfo by wall time,
which is wrong across a DST switch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BusinessHours",
    "SlaConfigError",
    "SlaDue",
    "SlaPolicy",
    "SlaTarget",
    "human_duration",
    "parse_business_hours",
    "parse_sla_overrides",
]

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHORT = tuple(name[:3].capitalize() for name in DAY_NAMES)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip

# Holidays cannot close every day forever, but a long list could close a year; beyond this the
# configuration is treated as broken rather than looping.
_MAX_CLOSED_DAYS = 400

_SPEC = re.compile(r"^(?P<days>.+?)\s+(?P<opens>\S+?)\s*[-–]\s*(?P<closes>\S+)$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OVERRIDE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([mh])$")


class SlaConfigError(ValueError):
    """A business-hours, holiday or SLA setting that cannot be used; the message quotes the bad part."""


@dataclass(frozen=True)
class BusinessHours:
    """When agents answer: the same opening hours on each open day, minus holidays (local dates)."""

    timezone: ZoneInfo
    days: frozenset[int]  # 0 = Monday, as date.weekday()
    opens: time
    closes: time
    holidays: frozenset[date] = frozenset()
    always_open: bool = False

    def __post_init__(self) -> None:
        if self.always_open:
            return
        if not self.days or not self.days <= set(range(7)):
            raise SlaConfigError(
                f"open days must be weekday numbers 0-6 (0 = Monday), got {sorted(self.days)}"
            )
        if self.closes <= self.opens:
            raise SlaConfigError(
                f"closing time '{_clock(self.closes)}' is not after opening time '{_clock(self.opens)}'"
            )

    def is_open(self, at: datetime) -> bool:
        """Whether agents are working at `at` (any zone; naive datetimes are refused)."""
        instant = _utc(at)
        if self.always_open:
            return True
        local_day = instant.astimezone(self.timezone).date()
        window = self._window(local_day)
        return window is not None and window[0] <= instant < window[1]

    def next_open(self, at: datetime) -> datetime:
        """`at` itself (in UTC) when open, else the next opening time."""
        return self.add(at, 0)

    def add(self, start: datetime, minutes: float) -> datetime:
        """The instant `minutes` of open time after `start`, skipping nights, closed days and holidays."""
        if minutes < 0:
            raise ValueError(f"cannot add a negative number of business minutes ({minutes})")
        begin = _utc(start)
        remaining = timedelta(minutes=minutes)
        if self.always_open:
            return begin + remaining
        for opens, closes in self._windows_from(begin.astimezone(self.timezone).date()):
            cursor = max(opens, begin)
            if cursor >= closes:
                continue  # this day's hours are already over
            if remaining <= closes - cursor:
                return cursor + remaining
            remaining -= closes - cursor
        raise AssertionError("unreachable: _windows_from never ends")  # pragma: no cover

    def describe(self, at: datetime) -> str:
        """'Mon–Fri 9:00–18:00 CET', with the zone abbreviation in force at `at` (CEST in summer)."""
        if self.always_open:
            return "around the clock"
        zone = _utc(at).astimezone(self.timezone).tzname() or str(self.timezone)
        return f"{_describe_days(self.days)} {_clock(self.opens)}–{_clock(self.closes)} {zone}"

    def business_day_minutes(self) -> float:
        """Length of one open day in minutes (the unit behind 'about 1 business day')."""
        if self.always_open:
            return 24 * 60.0
        opens = datetime.combine(date.min, self.opens)
        return (datetime.combine(date.min, self.closes) - opens).total_seconds() / 60

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """That local day's open interval as UTC instants, or None when closed all day."""
        if day.weekday() not in self.days or day in self.holidays:
            return None
        # A wall time inside a spring-forward gap resolves (fold=0) to the pre-switch offset, which
        # lands just after the gap: opening "02:30" on that night opens at 03:30 local.
        opens = datetime.combine(day, self.opens, tzinfo=self.timezone).astimezone(UTC)
        closes = datetime.combine(day, self.closes, tzinfo=self.timezone).astimezone(UTC)
        return opens, closes

    def _windows_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        closed_in_a_row = 0
        while True:
            window = self._window(day)
            if window is None:
                closed_in_a_row += 1
                if closed_in_a_row > _MAX_CLOSED_DAYS:
                    raise SlaConfigError(
                        f"no open day within {_MAX_CLOSED_DAYS} days of {day}: check holidays"
                    )
            else:
                closed_in_a_row = 0
                yield window
            day += timedelta(days=1)


def parse_business_hours(spec: str, timezone: str, holidays: str = "") -> BusinessHours:
    """Read 'Mon-Fri 09:00-18:00', 'Mon,Wed,Fri 10:00-16:00' or '24/7', plus 'YYYY-MM-DD,...' holidays."""
    zone = _zone(timezone)
    holiday_dates = _holidays(holidays)
    text = spec.strip()
    if text.replace(" ", "") == "24/7":
        return BusinessHours(zone, frozenset(range(7)), time(0), time(0), holiday_dates, always_open=True)
    match = _SPEC.match(text)
    if match is None:
        raise SlaConfigError(f"business hours {spec!r} must look like 'Mon-Fri 09:00-18:00' or '24/7'")
    days = _days(match["days"], spec)
    opens, closes = _time(match["opens"], spec), _time(match["closes"], spec)
    if closes <= opens:
        raise SlaConfigError(
            f"closing time {match['closes']!r} is not after opening time {match['opens']!r} in {spec!r}"
        )
    return BusinessHours(zone, days, opens, closes, holiday_dates)


@dataclass(frozen=True)
class SlaTarget:
    """How long, in business minutes, until the first agent reply and until the case is resolved."""

    first_response_minutes: float
    resolution_minutes: float

    def __post_init__(self) -> None:
        if self.first_response_minutes <= 0 or self.resolution_minutes <= 0:
            raise SlaConfigError("SLA targets must be longer than zero minutes")
        if self.resolution_minutes < self.first_response_minutes:
            raise SlaConfigError(
                f"resolution target ({self.resolution_minutes:g} min) is shorter than the "
                f"first-response target ({self.first_response_minutes:g} min)"
            )


@dataclass(frozen=True)
class SlaDue:
    """When a ticket's deadlines fall (aware UTC); same fields as handoff.tickets.SlaTimes."""

    first_response: datetime
    resolution: datetime
    reminder: datetime  # nudge the agents before the first-response deadline is missed


@dataclass(frozen=True)
class SlaPolicy:
    """Business hours plus a target per escalation reason (the default for reasons not listed)."""

    hours: BusinessHours
    default: SlaTarget
    by_reason: Mapping[str, SlaTarget] = field(default_factory=dict)
    reminder_share: float = 0.75

    def __post_init__(self) -> None:
        if not 0 < self.reminder_share < 1:
            raise SlaConfigError(
                f"reminder share must be between 0 and 1 (exclusive), got {self.reminder_share}"
            )
        # A read-only copy, so a caller mutating its dict cannot change a policy already in use.
        object.__setattr__(self, "by_reason", MappingProxyType(dict(self.by_reason)))

    def target(self, reason: str) -> SlaTarget:
        return self.by_reason.get(reason, self.default)

    def due(self, created: datetime, reason: str) -> SlaDue:
        target = self.target(reason)
        return SlaDue(
            first_response=self.hours.add(created, target.first_response_minutes),
            resolution=self.hours.add(created, target.resolution_minutes),
            reminder=self.hours.add(created, target.first_response_minutes * self.reminder_share),
        )

    def customer_expectation(self, now: datetime, reason: str, anyone_online: bool | None = None) -> str:
        """The sentence the customer reads at handoff: when to expect a person, and our hours.

        `anyone_online` False (open, but no agent around) says so and gives the due time instead
        of a promise of minutes; None (not known) is treated as someone being there."""
        minutes = self.target(reason).first_response_minutes
        if self.hours.always_open:
            if anyone_online is False:
                due = self.hours.add(now, minutes).astimezone(self.hours.timezone)
                when = _when(due, _utc(now).astimezone(self.hours.timezone).date())
                return f"Nobody from our team is online right now, but a teammate will reply by {when}."
            return f"A teammate will reply within {human_duration(minutes)}."
        hours = self.hours.describe(now)
        zone = self.hours.timezone
        local_now = _utc(now).astimezone(zone)
        due = self.hours.add(now, minutes).astimezone(zone)
        is_open = self.hours.is_open(now)
        if is_open and anyone_online is False:
            when = _when(due, local_now.date())
            return f"Nobody from our team is online right now, but a teammate will reply by {when} ({hours})."
        if is_open and due.date() == local_now.date():
            duration = human_duration(minutes, self.hours.business_day_minutes())
            return f"A teammate will reply within {duration} ({hours})."
        when = _when(due, local_now.date())
        if is_open:
            return f"A teammate will reply by {when} ({hours})."
        return f"We're closed right now, so a teammate will reply by {when} (our hours: {hours})."


def human_duration(minutes: float, business_day_minutes: float | None = None) -> str:
    """'about 15 minutes', 'about 2 hours', 'about 1 business day' (rounded half up, never zero).

    Without `business_day_minutes` (24/7 service) long spans are counted in calendar days.
    """
    if minutes < 45:
        return f"about {max(5, _half_up(minutes / 5) * 5)} minutes"
    hours = minutes / 60
    day_hours = business_day_minutes / 60 if business_day_minutes else 24.0
    if hours < day_hours or (business_day_minutes is None and hours < 48):
        return _plural(max(1, _half_up(hours)), "hour")
    unit = "business day" if business_day_minutes else "day"
    return _plural(max(1, _half_up(hours / day_hours)), unit)


def parse_sla_overrides(spec: str) -> dict[str, SlaTarget]:
    """Read 'chargeback=30m/8h, refund_request=1h/24h' (first response / resolution, units m or h)."""
    targets: dict[str, SlaTarget] = {}
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals:
            raise SlaConfigError(f"SLA override {item!r} must look like 'reason=30m/8h'")
        if not _OVERRIDE_NAME.match(name):
            raise SlaConfigError(
                f"reason {name!r} in SLA override {item!r} must be a code like 'refund_request'"
            )
        if name in targets:
            raise SlaConfigError(f"reason {name!r} appears twice in SLA overrides")
        first, slash, resolution = value.partition("/")
        if not slash:
            raise SlaConfigError(
                f"SLA override {item!r} needs first-response/resolution, like 'reason=30m/8h'"
            )
        first_minutes, resolution_minutes = _minutes(first, item), _minutes(resolution, item)
        try:
            targets[name] = SlaTarget(first_minutes, resolution_minutes)
        except SlaConfigError as exc:
            raise SlaConfigError(f"{exc} in SLA override {item!r}") from None
    return targets


def _minutes(text: str, item: str) -> float:
    match = _DURATION.match(text.strip())
    if match is None:
        # Days are refused on purpose: "1d" is ambiguous between 24 hours and one business day.
        raise SlaConfigError(
            f"duration {text.strip()!r} in SLA override {item!r} must be minutes or hours, like 30m or 4h"
        )
    number = float(match[1])
    return number * 60 if match[2] == "h" else number


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError: keys that are not even path-like ("", "../x"); both mean the same to a store owner.
        raise SlaConfigError(f"unknown timezone {name!r}: use an IANA name such as 'Europe/Berlin'") from None


def _holidays(spec: str) -> frozenset[date]:
    found: set[date] = set()
    for raw in spec.split(","):
        text = raw.strip()
        if not text:
            continue
        try:
            if not _ISO_DATE.match(text):
                raise ValueError
            found.add(date.fromisoformat(text))
        except ValueError:
            raise SlaConfigError(f"holiday {text!r} is not a date like 2026-12-25") from None
    return frozenset(found)


def _days(text: str, spec: str) -> frozenset[int]:
    days: set[int] = set()
    for raw in text.split(","):
        part = raw.strip()
        first, dash, last = _split_range(part)
        start = _day(first, spec)
        end = _day(last, spec) if dash else start
        # A range may wrap over the weekend ("Fri-Mon"): walk forward from the first day.
        day = start
        days.add(day)
        while day != end:
            day = (day + 1) % 7
            days.add(day)
    return frozenset(days)


def _split_range(part: str) -> tuple[str, str, str]:
    for dash in ("-", "–"):
        if dash in part:
            first, _, last = part.partition(dash)
            return first.strip(), dash, last.strip()
    return part, "", ""


def _day(token: str, spec: str) -> int:
    word = token.lower()
    # "Mon", "Tues", "Thursday" all name a day; "Mo" or "T" are too short to be sure.
    if len(word) >= 3:
        for number, name in enumerate(DAY_NAMES):
            if name.startswith(word):
                return number
    raise SlaConfigError(
        f"unknown day {token!r} in business hours {spec!r}: use Mon, Tue, Wed, Thu, Fri, Sat, Sun"
    )


def _time(text: str, spec: str) -> time:
    match = _TIME.match(text)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise SlaConfigError(
            f"time {text!r} in business hours {spec!r} is not a time like 09:00 (00:00-23:59)"
        )
    return time(int(match[1]), int(match[2]))


def _describe_days(days: frozenset[int]) -> str:
    # Start after a closed day so a run over the weekend ("Fri–Mon") stays one run.
    start = next((d for d in range(7) if (d - 1) % 7 not in days), 0)
    runs: list[list[int]] = []
    for offset in range(7):
        day = (start + offset) % 7
        if day not in days:
            continue
        if runs and (runs[-1][-1] + 1) % 7 == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_SHORT[run[0]]}–{_SHORT[run[-1]]}")
        else:
            parts.extend(_SHORT[d] for d in run)
    return ", ".join(parts)


def _when(due: datetime, today: date) -> str:
    """'tomorrow 11:00 CET', 'Tuesday 10:00 CET', '10:00 CET today'; a date once a week or more away."""
    clock = f"{_clock(due.time())} {due.tzname()}"
    ahead = (due.date() - today).days
    if ahead <= 0:
        return f"{clock} today"
    if ahead == 1:
        return f"tomorrow {clock}"
    weekday = DAY_NAMES[due.weekday()].capitalize()
    if ahead <= 6:
        return f"{weekday} {clock}"
    return f"{weekday} {due.day} {_MONTHS[due.month - 1]} {clock}"


def _clock(value: time) -> str:
    return f"{value.hour}:{value.minute:02d}"


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} has no timezone: pass an aware datetime")
    return at.astimezone(UTC)


def _half_up(value: float) -> int:
    # round() rounds halves to even (2.5 -> 2); people expect 2.5 hours to read as "about 3 hours".
    return int(value + 0.5)


def _plural(count: int, unit: str) -> str:
    return f"about {count} {unit}" if count == 1 else f"about {count} {unit}s"
