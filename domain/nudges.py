"""Who is due a nudge now: pure planning over each rep's zone, time, mode, snooze and calendar.

The nudge job runs every few minutes and asks this module which reps' local nudge time has
passed today without a nudge yet. A late run therefore catches up, a second run finds nothing,
and a rep is never nudged twice on one local date (the outbox key is the rep and local date).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from domain.timeutil import zone


class NudgeMode(StrEnum):
    """How a rep wants to hear from Pacesetter (``Rep.nudge_mode``)."""

    DAILY = "daily"
    WEEKLY = "weekly"
    OFF = "off"

    @classmethod
    def parse(cls, value: str | None) -> NudgeMode:
        """Return the mode for a stored value; unknown or empty values mean daily."""
        try:
            return cls((value or "daily").strip().lower())
        except ValueError:
            return cls.DAILY


class NudgeKind(StrEnum):
    """What a due nudge carries: today's pacing, or the week's summary for weekly-mode reps."""

    DAILY = "daily"
    WEEKLY = "weekly"


class WorkingDays(Protocol):
    """A calendar that knows the working days (domain.calendar.WorkCalendar fits)."""

    def is_working_day(self, day: date) -> bool:
        """Say whether ``day`` is a working day."""
        ...


@dataclass(frozen=True, slots=True)
class WeekdayCalendar:
    """Working weekdays (0 = Monday) minus holidays; the config's `org` section in domain terms."""

    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        """Say whether ``day`` is a working weekday and not a holiday."""
        return day.weekday() in self.weekdays and day not in self.holidays


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours when no nudge is sent; ``start`` after ``end`` wraps over midnight."""

    start: time = time(19, 0)
    end: time = time(7, 0)

    def contains(self, moment: time) -> bool:
        """Say whether local time ``moment`` falls in the quiet hours."""
        moment = moment.replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True, slots=True)
class NudgePolicy:
    """The org-wide rules: default local time, fallback zone, calendar and quiet hours."""

    calendar: WorkingDays
    default_time: time = time(8, 30)
    org_timezone: str = "UTC"
    quiet: QuietHours = QuietHours()


@dataclass(frozen=True, slots=True)
class NudgeRecipient:
    """What planning needs of one rep; ``last_sent`` is the local date of the last nudge."""

    rep_id: int
    timezone: str | None = None
    nudge_time: time | None = None
    mode: NudgeMode = NudgeMode.DAILY
    snoozed_until: date | None = None
    last_sent: date | None = None


@dataclass(frozen=True, slots=True)
class DueNudge:
    """A nudge to queue now: for ``local_date`` of the rep, scheduled for ``due_at`` (UTC)."""

    rep_id: int
    local_date: date
    kind: NudgeKind
    due_at: datetime

    @property
    def key(self) -> str:
        """Return the outbox key that makes this nudge unique."""
        return nudge_key(self.rep_id, self.local_date)


def nudge_key(rep_id: int, local_date: date) -> str:
    """Return the outbox key of a rep's nudge for a local date (one per rep per local day)."""
    return f"nudge:{rep_id}:{local_date.isoformat()}"


def welcome_key(rep_id: int) -> str:
    """Return the outbox key of a rep's one welcome (sent instead of nudges until data exists)."""
    return f"welcome:{rep_id}"


def parse_nudge_time(value: str | None) -> time | None:
    """Parse a stored "HH:MM" (``Rep.nudge_time``); None or garbage means the default."""
    if not value:
        return None
    try:
        hours, minutes = value.strip().split(":", 1)
        return time(int(hours), int(minutes))
    except ValueError:
        return None


def local_instant(day: date, moment: time, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of local ``day`` at ``moment`` in ``tz``, safe across DST.

    A time skipped by a spring-forward change is moved forward by the gap (02:30 becomes
    03:30); a time repeated by a fall-back change means its first occurrence.
    """
    # zoneinfo with fold=0 reads a skipped time with the offset before the change, which
    # lands after the gap, and a repeated time as its first occurrence: both what we want.
    naive = datetime.combine(day, moment.replace(tzinfo=None))
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def plan_nudges(
    recipients: Iterable[NudgeRecipient], *, now: datetime, policy: NudgePolicy
) -> list[DueNudge]:
    """Return the nudges due at ``now``: local time passed today, not yet sent, not muted."""
    due = []
    for recipient in recipients:
        nudge = nudge_for(recipient, now=now, policy=policy)
        if nudge is not None:
            due.append(nudge)
    return due


def nudge_for(recipient: NudgeRecipient, *, now: datetime, policy: NudgePolicy) -> DueNudge | None:
    """Return the rep's nudge if it is due at ``now``, else None."""
    tz = _zone(recipient.timezone, policy.org_timezone)
    local = now.astimezone(tz)
    today = local.date()
    if not _may_nudge(recipient, today, policy.calendar):
        return None
    kind = NudgeKind.DAILY
    if recipient.mode is NudgeMode.WEEKLY:
        if not _first_working_day_of_week(policy.calendar, today):
            return None
        kind = NudgeKind.WEEKLY
    due_at = local_instant(today, recipient.nudge_time or policy.default_time, tz)
    if now < due_at or policy.quiet.contains(local.time()):
        return None
    return DueNudge(rep_id=recipient.rep_id, local_date=today, kind=kind, due_at=due_at)


@lru_cache(maxsize=1024)
def _zone(name: str | None, fallback: str) -> ZoneInfo:
    # ZoneInfo keeps only 8 zones strongly cached; planning thousands of reps across many
    # zones would otherwise reread the zone files for nearly every rep.
    return zone(name, fallback)


def _may_nudge(recipient: NudgeRecipient, today: date, calendar: WorkingDays) -> bool:
    """Say whether the rep may get a nudge on local ``today`` at all (mode, sent, snooze)."""
    return (
        recipient.mode is not NudgeMode.OFF
        and (recipient.last_sent is None or recipient.last_sent < today)
        and (recipient.snoozed_until is None or recipient.snoozed_until < today)
        and calendar.is_working_day(today)
    )


def _first_working_day_of_week(calendar: WorkingDays, day: date) -> bool:
    monday = day - timedelta(days=day.weekday())
    for offset in range(day.weekday()):
        if calendar.is_working_day(monday + timedelta(days=offset)):
            return False
    return True


class NudgeAction(StrEnum):
    """The nudge's buttons (the bot handles them; the values are the Slack action ids)."""

    SNOOZE_DAY = "nudge_snooze_day"
    WEEKLY = "nudge_switch_weekly"
    DAILY = "nudge_switch_daily"
    OFF = "nudge_turn_off"


@dataclass(frozen=True, slots=True)
class PreferenceChange:
    """What a button changes on the rep: ``Rep.nudge_mode`` and/or ``Rep.snoozed_until``."""

    mode: NudgeMode | None = None
    snoozed_until: date | None = None


def preference_change(
    action: NudgeAction, *, nudge_date: date, calendar: WorkingDays
) -> PreferenceChange:
    """Return the storage effect of a nudge button pressed on the nudge of ``nudge_date``.

    Snoozing skips the next working day's nudge; the mode buttons switch for good.
    """
    if action is NudgeAction.SNOOZE_DAY:
        return PreferenceChange(snoozed_until=next_working_day(calendar, nudge_date))
    if action is NudgeAction.WEEKLY:
        return PreferenceChange(mode=NudgeMode.WEEKLY)
    if action is NudgeAction.DAILY:
        return PreferenceChange(mode=NudgeMode.DAILY)
    return PreferenceChange(mode=NudgeMode.OFF)


def next_working_day(calendar: WorkingDays, day: date, *, limit: int = 366) -> date:
    """Return the first working day after ``day`` (``day`` + 1 if none within ``limit``)."""
    for n in range(1, limit + 1):
        candidate = day + timedelta(days=n)
        if calendar.is_working_day(candidate):
            return candidate
    return day + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class KpiResult:
    """One KPI in a nudge: yesterday's result against its goal, and today's pace target."""

    kpi: str
    label: str
    actual: float
    goal: float | None
    needed_today: float | None = None
    status: str = "no_goal"
    streak: int | None = None


@dataclass(frozen=True, slots=True)
class NudgeContent:
    """Everything a nudge says, as values; jobs/messages.py renders it."""

    rep_id: int
    rep_name: str
    local_date: date
    kind: NudgeKind
    previous_day: date | None = None
    results: tuple[KpiResult, ...] = ()
    streak: int | None = None
    suggestion: str | None = None
    welcome: bool = False
    period_label: str = "this week"

    @property
    def behind(self) -> tuple[KpiResult, ...]:
        """Return the KPIs that need more than usual today to get back on pace."""
        return tuple(r for r in self.results if r.status == "behind" and r.needed_today)
