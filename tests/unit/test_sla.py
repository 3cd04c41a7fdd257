"""Business hours and SLA due times, on fixed dates in 2026 (Europe/Berlin switches on 29 March, 25 October)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from handoff.sla import (
    BusinessHours,
    SlaConfigError,
    SlaDue,
    SlaPolicy,
    SlaTarget,
    human_duration,
    parse_business_hours,
    parse_sla_overrides,
)

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = "Mon-Fri 09:00-18:00"


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def hours() -> BusinessHours:
    return parse_business_hours(HOURS, "Europe/Berlin", "2026-12-24, 2026-12-25,,2026-12-31")


@pytest.fixture
def policy(hours: BusinessHours) -> SlaPolicy:
    return SlaPolicy(
        hours=hours,
        default=SlaTarget(first_response_minutes=120, resolution_minutes=24 * 60),
        by_reason=parse_sla_overrides("chargeback=30m/8h, vip_customer=15m/4h"),
        reminder_share=0.75,
    )


# --- parsing ---------------------------------------------------------------------------------------


def test_parses_the_documented_forms() -> None:
    weekdays = parse_business_hours("Mon-Fri 09:00-18:00", "Europe/Berlin")
    assert weekdays.days == frozenset(range(5))
    assert (weekdays.opens, weekdays.closes) == (time(9), time(18))
    assert not weekdays.always_open

    saturdays = parse_business_hours("Mon-Sat 8:30-17:00", "Europe/Berlin")
    assert saturdays.days == frozenset(range(6))
    assert saturdays.opens == time(8, 30)

    listed = parse_business_hours("Mon,Wed,Fri 10:00-16:00", "Europe/Berlin")
    assert listed.days == frozenset({0, 2, 4})

    assert parse_business_hours("24/7", "Europe/Berlin").always_open


def test_day_names_are_case_insensitive_and_ranges_may_wrap_over_the_weekend() -> None:
    assert parse_business_hours("fri-MON 10:00-14:00", "UTC").days == frozenset({4, 5, 6, 0})
    assert parse_business_hours("Tues, Thursday 10:00–14:00", "UTC").days == frozenset({1, 3})


def test_holidays_ignore_blanks() -> None:
    hours = parse_business_hours(HOURS, "UTC", " 2026-12-25 , ,2026-12-26,")
    assert {d.isoformat() for d in hours.holidays} == {"2026-12-25", "2026-12-26"}


@pytest.mark.parametrize(
    ("spec", "zone", "holidays", "quoted"),
    [
        ("Mon-Fry 09:00-18:00", "Europe/Berlin", "", "'Fry'"),
        ("Mo-Fr 09:00-18:00", "Europe/Berlin", "", "'Mo'"),
        ("Mon-Fri 18:00-09:00", "Europe/Berlin", "", "'09:00'"),
        ("Mon-Fri 09:00-09:00", "Europe/Berlin", "", "'09:00'"),
        ("Mon-Fri 9-18", "Europe/Berlin", "", "'9'"),
        ("Mon-Fri 09:00-24:00", "Europe/Berlin", "", "'24:00'"),
        ("whenever", "Europe/Berlin", "", "'whenever'"),
        (HOURS, "Europe/Berlinn", "", "'Europe/Berlinn'"),
        (HOURS, "", "", "''"),
        (HOURS, "Europe/Berlin", "2026-12-25,2026-13-01", "'2026-13-01'"),
        (HOURS, "Europe/Berlin", "25.12.2026", "'25.12.2026'"),
    ],
)
def test_parse_errors_quote_the_bad_part(spec: str, zone: str, holidays: str, quoted: str) -> None:
    with pytest.raises(SlaConfigError) as caught:
        parse_business_hours(spec, zone, holidays)
    assert quoted in str(caught.value)


def test_the_closing_time_error_names_both_times() -> None:
    with pytest.raises(SlaConfigError, match=r"closing time '09:00' is not after opening time '18:00'"):
        parse_business_hours("Mon-Fri 18:00-09:00", "UTC")


# --- is_open / next_open / add ----------------------------------------------------------------------


def test_is_open_accepts_any_zone(hours: BusinessHours) -> None:
    assert hours.is_open(berlin(2026, 1, 14, 9))  # Wednesday, opening minute
    assert not hours.is_open(berlin(2026, 1, 14, 18))  # closing minute is closed
    assert hours.is_open(datetime(2026, 1, 14, 16, 59, tzinfo=UTC))  # 17:59 in Berlin
    assert not hours.is_open(berlin(2026, 1, 17, 12))  # Saturday
    assert not hours.is_open(berlin(2026, 12, 24, 12))  # holiday


def test_naive_datetimes_are_refused(hours: BusinessHours) -> None:
    with pytest.raises(ValueError, match="no timezone"):
        hours.is_open(datetime(2026, 1, 14, 10))


def test_next_open_is_now_when_open_and_returns_utc(hours: BusinessHours) -> None:
    now = berlin(2026, 1, 14, 10, 30)
    assert hours.next_open(now) == now
    assert hours.next_open(now).tzinfo is UTC
    assert hours.next_open(berlin(2026, 1, 14, 19)) == berlin(2026, 1, 15, 9)
    assert hours.next_open(berlin(2026, 1, 16, 18)) == berlin(2026, 1, 19, 9)  # Friday close -> Monday


def test_add_within_one_day(hours: BusinessHours) -> None:
    assert hours.add(berlin(2026, 1, 14, 10), 90) == berlin(2026, 1, 14, 11, 30)


def test_add_across_the_night(hours: BusinessHours) -> None:
    # 17:00 + 2h: one hour today, one tomorrow morning.
    assert hours.add(berlin(2026, 1, 14, 17), 120) == berlin(2026, 1, 15, 10)


def test_add_starting_at_night_counts_from_opening(hours: BusinessHours) -> None:
    assert hours.add(berlin(2026, 1, 14, 3), 30) == berlin(2026, 1, 14, 9, 30)


def test_add_across_the_weekend(hours: BusinessHours) -> None:
    assert hours.add(berlin(2026, 1, 16, 17), 120) == berlin(2026, 1, 19, 10)
    assert hours.add(berlin(2026, 1, 17, 11), 60) == berlin(2026, 1, 19, 10)  # from Saturday


def test_add_skips_holidays(hours: BusinessHours) -> None:
    # Wed 23 Dec 17:30 + 1h: 30 min left that day, Thu 24 + Fri 25 are holidays, then the weekend.
    assert hours.add(berlin(2026, 12, 23, 17, 30), 60) == berlin(2026, 12, 28, 9, 30)


def test_add_several_business_days(hours: BusinessHours) -> None:
    assert hours.add(berlin(2026, 1, 14, 9), 3 * 9 * 60) == berlin(2026, 1, 16, 18)


def test_adding_zero_is_next_open(hours: BusinessHours) -> None:
    assert hours.add(berlin(2026, 1, 16, 20), 0) == berlin(2026, 1, 19, 9)


def test_add_refuses_negative_minutes(hours: BusinessHours) -> None:
    with pytest.raises(ValueError, match="negative"):
        hours.add(berlin(2026, 1, 14, 10), -1)


def test_spring_forward_keeps_local_opening_time(hours: BusinessHours) -> None:
    # Friday 27 March is CET (UTC+1); Monday 30 March is CEST (UTC+2). Opening stays 09:00 local.
    due = hours.add(berlin(2026, 3, 27, 17), 120)
    assert due == berlin(2026, 3, 30, 10)
    assert due == datetime(2026, 3, 30, 8, tzinfo=UTC)


def test_fall_back_keeps_local_opening_time(hours: BusinessHours) -> None:
    due = hours.add(berlin(2026, 10, 23, 17), 120)
    assert due == datetime(2026, 10, 26, 9, tzinfo=UTC)  # 10:00 CET


def test_hours_spanning_the_switch_count_real_minutes() -> None:
    # Sunday 29 March 01:00-05:00 local is only three real hours: 02:00-03:00 does not exist.
    night = parse_business_hours("Sun 01:00-05:00", "Europe/Berlin")
    assert night.add(berlin(2026, 3, 29, 1), 180) == berlin(2026, 3, 29, 5)
    assert night.add(berlin(2026, 3, 29, 1), 181) == berlin(2026, 4, 5, 1, 1)


def test_always_open_is_plain_addition_even_across_the_switch() -> None:
    always = parse_business_hours("24/7", "Europe/Berlin", "2026-03-29")
    start = berlin(2026, 3, 29, 1)
    assert always.is_open(start)
    assert always.add(start, 120) == start.astimezone(UTC) + timedelta(hours=2)
    assert always.add(start, 120) == berlin(2026, 3, 29, 4)


def test_holidays_covering_every_day_are_a_config_error() -> None:
    hours = BusinessHours(BERLIN, frozenset({0}), time(9), time(17), frozenset())
    with_holidays = BusinessHours(
        BERLIN,
        frozenset({0}),
        time(9),
        time(17),
        frozenset(berlin(2026, 1, 5, 12).date() + timedelta(weeks=w) for w in range(80)),
    )
    assert hours.add(berlin(2026, 1, 5, 9), 60) == berlin(2026, 1, 5, 10)
    with pytest.raises(SlaConfigError, match="no open day"):
        with_holidays.add(berlin(2026, 1, 5, 9), 60)


# --- describe --------------------------------------------------------------------------------------


def test_describe_uses_the_abbreviation_in_force(hours: BusinessHours) -> None:
    assert hours.describe(berlin(2026, 1, 14, 10)) == "Mon–Fri 9:00–18:00 CET"
    assert hours.describe(berlin(2026, 7, 14, 10)) == "Mon–Fri 9:00–18:00 CEST"


def test_describe_other_shapes() -> None:
    at = berlin(2026, 1, 14, 10)
    assert parse_business_hours("Mon,Wed,Fri 10:00-16:00", "Europe/Berlin").describe(at) == (
        "Mon, Wed, Fri 10:00–16:00 CET"
    )
    assert (
        parse_business_hours("Mon-Sat 8:30-17:00", "Europe/Berlin").describe(at) == "Mon–Sat 8:30–17:00 CET"
    )
    assert (
        parse_business_hours("Fri-Mon 10:00-14:00", "Europe/London").describe(at) == "Fri–Mon 10:00–14:00 GMT"
    )
    assert parse_business_hours("24/7", "Europe/Berlin").describe(at) == "around the clock"


# --- policy -----------------------------------------------------------------------------------------


def test_target_falls_back_to_the_default(policy: SlaPolicy) -> None:
    assert policy.target("chargeback") == SlaTarget(30, 480)
    assert policy.target("something_new") == policy.default


def test_due_times_in_business_time(policy: SlaPolicy) -> None:
    due = policy.due(berlin(2026, 1, 16, 17), "refund_request")  # Friday, one hour before closing
    assert due == SlaDue(
        first_response=berlin(2026, 1, 19, 10),  # 1h Friday + 1h Monday
        resolution=berlin(2026, 1, 21, 14),  # 24 business hours: Fri 1h, Mon 9h, Tue 9h, Wed 5h
        reminder=berlin(2026, 1, 19, 9, 30),  # 0.75 x 2h = 90 business minutes
    )
    assert due.first_response.tzinfo is UTC


def test_policy_rejects_a_bad_reminder_share(hours: BusinessHours) -> None:
    for share in (0, 1, 1.5):
        with pytest.raises(SlaConfigError, match="reminder share"):
            SlaPolicy(hours, SlaTarget(60, 120), {}, share)


def test_policy_keeps_its_own_copy_of_the_overrides(hours: BusinessHours) -> None:
    overrides = {"chargeback": SlaTarget(30, 60)}
    policy = SlaPolicy(hours, SlaTarget(60, 120), overrides)
    overrides["chargeback"] = SlaTarget(600, 600)
    assert policy.target("chargeback") == SlaTarget(30, 60)


def test_expectation_inside_hours(policy: SlaPolicy) -> None:
    assert policy.customer_expectation(berlin(2026, 1, 14, 10), "refund_request") == (
        "A teammate will reply within about 2 hours (Mon–Fri 9:00–18:00 CET)."
    )
    assert policy.customer_expectation(berlin(2026, 7, 14, 10), "vip_customer") == (
        "A teammate will reply within about 15 minutes (Mon–Fri 9:00–18:00 CEST)."
    )


def test_expectation_when_open_but_due_tomorrow(policy: SlaPolicy) -> None:
    assert policy.customer_expectation(berlin(2026, 1, 14, 17), "refund_request") == (
        "A teammate will reply by tomorrow 10:00 CET (Mon–Fri 9:00–18:00 CET)."
    )


def test_expectation_friday_evening_names_monday(policy: SlaPolicy) -> None:
    assert policy.customer_expectation(berlin(2026, 1, 16, 19), "chargeback") == (
        "We're closed right now, so a teammate will reply by Monday 9:30 CET "
        "(our hours: Mon–Fri 9:00–18:00 CET)."
    )


def test_expectation_before_opening_names_today(policy: SlaPolicy) -> None:
    assert policy.customer_expectation(berlin(2026, 1, 14, 7), "refund_request") == (
        "We're closed right now, so a teammate will reply by 11:00 CET today "
        "(our hours: Mon–Fri 9:00–18:00 CET)."
    )


def test_expectation_late_evening_says_tomorrow(policy: SlaPolicy) -> None:
    assert policy.customer_expectation(berlin(2026, 1, 13, 22), "vip_customer") == (
        "We're closed right now, so a teammate will reply by tomorrow 9:15 CET "
        "(our hours: Mon–Fri 9:00–18:00 CET)."
    )


def test_expectation_on_a_holiday(policy: SlaPolicy) -> None:
    # Thursday 24 December is a holiday, Friday too, then the weekend.
    assert policy.customer_expectation(berlin(2026, 12, 24, 11), "refund_request") == (
        "We're closed right now, so a teammate will reply by Monday 11:00 CET "
        "(our hours: Mon–Fri 9:00–18:00 CET)."
    )


def test_expectation_a_week_or_more_away_gives_the_date() -> None:
    monthly = SlaPolicy(parse_business_hours("Mon 09:00-10:00", "Europe/Berlin"), SlaTarget(90, 90), {}, 0.5)
    assert monthly.customer_expectation(berlin(2026, 1, 12, 9), "x") == (
        "A teammate will reply by Monday 19 January 9:30 CET (Mon 9:00–10:00 CET)."
    )


def test_expectation_around_the_clock() -> None:
    always = SlaPolicy(parse_business_hours("24/7", "Europe/Berlin"), SlaTarget(120, 600), {}, 0.75)
    assert (
        always.customer_expectation(berlin(2026, 1, 16, 23), "x")
        == "A teammate will reply within about 2 hours."
    )


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (3, "about 5 minutes"),
        (15, "about 15 minutes"),
        (42, "about 40 minutes"),
        (45, "about 1 hour"),
        (60, "about 1 hour"),
        (90, "about 2 hours"),
        (150, "about 3 hours"),
        (540, "about 1 business day"),
        (1080, "about 2 business days"),
    ],
)
def test_human_duration(minutes: float, expected: str) -> None:
    assert human_duration(minutes, business_day_minutes=540) == expected


def test_human_duration_without_business_days() -> None:
    assert human_duration(20 * 60) == "about 20 hours"
    assert human_duration(72 * 60) == "about 3 days"


# --- overrides --------------------------------------------------------------------------------------


def test_overrides_parse() -> None:
    assert parse_sla_overrides("chargeback=30m/8h, refund_request=1h/24h, vip_customer=15m/4h") == {
        "chargeback": SlaTarget(30, 480),
        "refund_request": SlaTarget(60, 1440),
        "vip_customer": SlaTarget(15, 240),
    }
    assert parse_sla_overrides("bulk_order = 1.5h / 2h ,") == {"bulk_order": SlaTarget(90, 120)}


def test_empty_overrides() -> None:
    assert parse_sla_overrides("") == {}
    assert parse_sla_overrides(" , ") == {}


@pytest.mark.parametrize(
    ("spec", "quoted"),
    [
        ("chargeback=1d/8h", "'1d'"),
        ("chargeback=30/8h", "'30'"),
        ("chargeback", "'chargeback'"),
        ("chargeback=30m", "'chargeback=30m'"),
        ("Charge Back=30m/8h", "'Charge Back'"),
        ("chargeback=2h/1h", "'chargeback=2h/1h'"),
        ("chargeback=0m/1h", "'chargeback=0m/1h'"),
        ("chargeback=30m/8h, chargeback=1h/8h", "'chargeback'"),
    ],
)
def test_override_errors_quote_the_bad_part(spec: str, quoted: str) -> None:
    with pytest.raises(SlaConfigError) as caught:
        parse_sla_overrides(spec)
    assert quoted in str(caught.value)
