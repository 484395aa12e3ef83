"""Nudge planning on a frozen clock: date line, DST, working days, snooze, modes, quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.nudges import (
    NudgeAction,
    NudgeKind,
    NudgeMode,
    NudgePolicy,
    NudgeRecipient,
    QuietHours,
    WeekdayCalendar,
    local_instant,
    nudge_for,
    parse_nudge_time,
    plan_nudges,
    preference_change,
)

CALENDAR = WeekdayCalendar()
POLICY = NudgePolicy(calendar=CALENDAR)
ZONES = (
    "Pacific/Auckland",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/St_Johns",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "America/New_York",
    "Europe/London",
    "Australia/Adelaide",
    "UTC",
)


def simulate(
    recipients: list[NudgeRecipient],
    start: datetime,
    days: int,
    *,
    step: timedelta = timedelta(minutes=5),
    policy: NudgePolicy = POLICY,
    skip: tuple[datetime, datetime] | None = None,
) -> list[tuple[int, date, datetime, datetime]]:
    """Run the planner every ``step`` (except during ``skip``) and record what it sends."""
    last: dict[int, date] = {}
    for r in recipients:  # the day the simulation starts in was already nudged if due
        local = start.astimezone(ZoneInfo(r.timezone or "UTC"))
        if local.time().replace(tzinfo=None) >= time(8, 30):
            last[r.rep_id] = local.date()
    sent = []
    now = start
    while now < start + timedelta(days=days):
        if skip is None or not skip[0] <= now < skip[1]:
            current = [
                NudgeRecipient(
                    r.rep_id, r.timezone, r.nudge_time, r.mode, r.snoozed_until, last.get(r.rep_id)
                )
                for r in recipients
            ]
            for due in plan_nudges(current, now=now, policy=policy):
                last[due.rep_id] = due.local_date
                sent.append((due.rep_id, due.local_date, due.due_at, now))
        now += step
    return sent


def expected_days(tz: str, start: datetime, days: int) -> set[date]:
    """Return the local working days whose 08:30 falls inside the simulated window."""
    zone = ZoneInfo(tz)
    out = set()
    day = start.astimezone(zone).date() - timedelta(days=1)
    while day <= (start + timedelta(days=days)).astimezone(zone).date():
        instant = local_instant(day, time(8, 30), zone)
        if CALENDAR.is_working_day(day) and start <= instant < start + timedelta(days=days):
            out.add(day)
        day += timedelta(days=1)
    return out


@pytest.mark.parametrize(
    ("start", "label"),
    [
        (datetime(2026, 3, 5, tzinfo=UTC), "US/Canada spring forward, 8 Mar"),
        (datetime(2026, 3, 26, tzinfo=UTC), "EU spring forward, 29 Mar"),
        (datetime(2026, 10, 22, tzinfo=UTC), "EU fall back, 25 Oct"),
        (datetime(2026, 10, 29, tzinfo=UTC), "US/Canada fall back, 1 Nov"),
        (datetime(2026, 4, 2, tzinfo=UTC), "NZ and Adelaide fall back, 5 Apr"),
        (datetime(2026, 9, 24, tzinfo=UTC), "NZ spring forward, 27 Sep"),
        (datetime(2026, 10, 1, tzinfo=UTC), "Adelaide spring forward, 4 Oct"),
    ],
)
def test_exactly_one_nudge_per_local_working_day_within_five_minutes(
    start: datetime, label: str
) -> None:
    recipients = [NudgeRecipient(i, tz) for i, tz in enumerate(ZONES)]
    sent = simulate(recipients, start, 7)
    for rep_id, tz in enumerate(ZONES):
        mine = [s for s in sent if s[0] == rep_id]
        days = [s[1] for s in mine]
        assert len(days) == len(set(days)), f"{tz}: a day was nudged twice ({label})"
        assert set(days) == expected_days(tz, start, 7), f"{tz}: missed or extra days ({label})"
        for _, day, due_at, at in mine:
            local = at.astimezone(ZoneInfo(tz))
            assert local.date() == day
            assert due_at <= at < due_at + timedelta(minutes=5), f"{tz} {day}: sent at {local}"
            assert local.time().replace(tzinfo=None) >= time(8, 30)
            assert local.time().replace(tzinfo=None) < time(8, 35)


def test_date_line_zones_get_their_own_local_date() -> None:
    # 2026-11-23 19:00 UTC is Tuesday 08:00 in Kiritimati (+14) and Monday 08:00 in Pago Pago.
    now = datetime(2026, 11, 23, 19, 30, tzinfo=UTC)
    kiritimati = nudge_for(NudgeRecipient(1, "Pacific/Kiritimati"), now=now, policy=POLICY)
    pago = nudge_for(NudgeRecipient(2, "Pacific/Pago_Pago"), now=now, policy=POLICY)
    assert kiritimati is not None and kiritimati.local_date == date(2026, 11, 24)
    assert kiritimati.due_at == datetime(2026, 11, 23, 18, 30, tzinfo=UTC)
    assert pago is not None and pago.local_date == date(2026, 11, 23)
    assert pago.due_at == datetime(2026, 11, 23, 19, 30, tzinfo=UTC)
    assert kiritimati.key == "nudge:1:2026-11-24"


def test_late_run_catches_up_and_second_run_sends_nothing() -> None:
    rep = NudgeRecipient(7, "Asia/Kolkata")
    late = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 14:30 in Kolkata, nudge was 08:30
    first = nudge_for(rep, now=late, policy=POLICY)
    assert first is not None and first.local_date == date(2026, 11, 23)
    again = NudgeRecipient(7, "Asia/Kolkata", last_sent=first.local_date)
    assert nudge_for(again, now=late + timedelta(minutes=5), policy=POLICY) is None


def test_restart_across_the_nudge_time_catches_up_once() -> None:
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    down = (datetime(2026, 11, 23, 2, 50, tzinfo=UTC), datetime(2026, 11, 23, 4, 10, tzinfo=UTC))
    sent = simulate([NudgeRecipient(1, "Asia/Kolkata")], start, 1, skip=down)
    assert len(sent) == 1
    assert sent[0][3] == down[1]  # the first run after the restart sends it


def test_weekends_holidays_snooze_and_off() -> None:
    holiday = date(2026, 11, 26)
    policy = NudgePolicy(calendar=WeekdayCalendar(holidays=frozenset({holiday})))
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert nudge_for(NudgeRecipient(1, "UTC"), now=saturday, policy=policy) is None
    on_holiday = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert nudge_for(NudgeRecipient(1, "UTC"), now=on_holiday, policy=policy) is None
    monday = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    snoozed = NudgeRecipient(1, "UTC", snoozed_until=date(2026, 11, 23))
    assert nudge_for(snoozed, now=monday, policy=policy) is None
    assert nudge_for(snoozed, now=monday + timedelta(days=1), policy=policy) is not None
    off = NudgeRecipient(1, "UTC", mode=NudgeMode.OFF)
    assert nudge_for(off, now=monday, policy=policy) is None


def test_weekly_mode_nudges_on_the_first_working_day_of_the_week() -> None:
    weekly = NudgeRecipient(1, "UTC", mode=NudgeMode.WEEKLY)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    due = nudge_for(weekly, now=monday, policy=POLICY)
    assert due is not None and due.kind is NudgeKind.WEEKLY
    assert nudge_for(weekly, now=monday + timedelta(days=1), policy=POLICY) is None
    holiday_monday = NudgePolicy(calendar=WeekdayCalendar(holidays=frozenset({date(2026, 11, 23)})))
    tuesday = nudge_for(weekly, now=monday + timedelta(days=1), policy=holiday_monday)
    assert tuesday is not None and tuesday.local_date == date(2026, 11, 24)


def test_quiet_hours_and_own_nudge_time() -> None:
    evening = datetime(2026, 11, 23, 19, 30, tzinfo=UTC)
    assert nudge_for(NudgeRecipient(1, "UTC"), now=evening, policy=POLICY) is None
    early = NudgeRecipient(1, "UTC", nudge_time=time(6, 0))
    assert nudge_for(early, now=datetime(2026, 11, 23, 6, 30, tzinfo=UTC), policy=POLICY) is None
    at_seven = nudge_for(early, now=datetime(2026, 11, 23, 7, 0, tzinfo=UTC), policy=POLICY)
    assert at_seven is not None
    own = NudgeRecipient(1, "Europe/London", nudge_time=parse_nudge_time("10:15"))
    assert nudge_for(own, now=datetime(2026, 11, 23, 10, 10, tzinfo=UTC), policy=POLICY) is None
    assert nudge_for(own, now=datetime(2026, 11, 23, 10, 15, tzinfo=UTC), policy=POLICY)
    assert QuietHours(time(13, 0), time(14, 0)).contains(time(13, 30))
    assert not QuietHours(time(13, 0), time(13, 0)).contains(time(13, 0))


def test_local_instant_in_a_dst_gap_and_fold() -> None:
    ny = ZoneInfo("America/New_York")
    gap = local_instant(date(2026, 3, 8), time(2, 30), ny)
    assert gap == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT, moved past the gap
    fold = local_instant(date(2026, 11, 1), time(1, 30), ny)
    assert fold == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # the first 01:30 (EDT)


def test_parse_nudge_time_and_mode_are_forgiving() -> None:
    assert parse_nudge_time("07:45") == time(7, 45)
    assert parse_nudge_time("soon") is None
    assert parse_nudge_time(None) is None
    assert NudgeMode.parse("WEEKLY") is NudgeMode.WEEKLY
    assert NudgeMode.parse("bogus") is NudgeMode.DAILY


def test_button_effects() -> None:
    friday = date(2026, 11, 27)
    snooze = preference_change(NudgeAction.SNOOZE_DAY, nudge_date=friday, calendar=CALENDAR)
    assert snooze.snoozed_until == date(2026, 11, 30) and snooze.mode is None
    weekly = preference_change(NudgeAction.WEEKLY, nudge_date=friday, calendar=CALENDAR)
    assert weekly.mode is NudgeMode.WEEKLY
    assert (
        preference_change(NudgeAction.OFF, nudge_date=friday, calendar=CALENDAR).mode
        is NudgeMode.OFF
    )
