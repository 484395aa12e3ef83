"""Working days: weekends, holidays, and how much of a period has elapsed for a rep.

Pacing compares actuals with the share of a goal that working time so far should have
produced, so everything here counts working days, never calendar days. The clock is always
passed in; nothing here reads the current time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.timeutil import DateRange, local_day

SATURDAY, SUNDAY = 5, 6


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days are working days, and the working hours that make up a day's progress."""

    holidays: frozenset[date] = frozenset()
    weekend: frozenset[int] = frozenset({SATURDAY, SUNDAY})
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)

    def is_working_day(self, day: date) -> bool:
        """Say whether ``day`` is neither a weekend day nor a holiday."""
        return day.weekday() not in self.weekend and day not in self.holidays

    def working_days(self, rng: DateRange) -> list[date]:
        """Return the working days of ``rng`` in order (a new list the caller may change)."""
        return list(_working_days(self, rng))

    def count(self, rng: DateRange) -> int:
        """Return how many working days ``rng`` holds."""
        if rng.end < rng.start:
            return 0
        return len(_working_days(self, rng))

    def day_fraction(self, moment: time) -> float:
        """Return how much of the working day has passed at local time ``moment`` (0 to 1)."""
        start = _seconds(self.day_start)
        end = _seconds(self.day_end)
        if end <= start:
            return 1.0
        return min(1.0, max(0.0, (_seconds(moment) - start) / (end - start)))


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a rep stands in time: their local day and how much of it is worked."""

    day: date
    day_fraction: float = 1.0

    @classmethod
    def at(cls, now: datetime, tz: ZoneInfo, calendar: WorkCalendar) -> Progress:
        """Return the progress at instant ``now`` in the rep's zone ``tz``."""
        local = now.astimezone(tz) if now.tzinfo is not None else now.replace(tzinfo=tz)
        return cls(local_day(local, tz), calendar.day_fraction(local.time()))

    @classmethod
    def end_of(cls, day: date) -> Progress:
        """Return the progress at the end of ``day`` (how `--as-of DATE` reads)."""
        return cls(day, 1.0)


@dataclass(frozen=True, slots=True)
class Elapsed:
    """Working time of a period: total, elapsed so far (fractional) and what remains."""

    total: int
    elapsed: float
    remaining_days: int
    elapsed_days: list[date] = field(default_factory=list)
    today: date | None = None
    today_fraction: float = 0.0


def elapsed(calendar: WorkCalendar, period: DateRange, progress: Progress) -> Elapsed:
    """Measure how much of ``period``'s working time has passed at ``progress``.

    Working days before the rep's local day count whole; the local day counts by the share of
    working hours passed. ``remaining_days`` counts the working days still open for work,
    including today while it is not over.
    """
    days = calendar.working_days(period)
    before = [d for d in days if d < progress.day]
    today_is_working = progress.day in period and calendar.is_working_day(progress.day)
    fraction = progress.day_fraction if today_is_working else 0.0
    if progress.day > period.end:
        return Elapsed(len(days), float(len(days)), 0, days)
    after = [d for d in days if d > progress.day]
    remaining = len(after) + (1 if today_is_working and fraction < 1.0 else 0)
    today = progress.day if today_is_working else None
    return Elapsed(len(days), len(before) + fraction, remaining, before, today, fraction)


@lru_cache(maxsize=4096)
def _working_days(calendar: WorkCalendar, rng: DateRange) -> tuple[date, ...]:
    """Return the working days of ``rng``: every scorecard asks for the same few ranges."""
    return tuple(d for d in rng.days() if calendar.is_working_day(d))


def previous_working_day(calendar: WorkCalendar, day: date, *, limit: int = 366) -> date | None:
    """Return the last working day strictly before ``day`` (None past ``limit`` days)."""
    for n in range(1, limit + 1):
        candidate = day - timedelta(days=n)
        if calendar.is_working_day(candidate):
            return candidate
    return None


def _seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second
