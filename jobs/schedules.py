"""When jobs fire: each schedule gives its APScheduler trigger and its last slot before now.

The slot (the instant a run was due) names the run in the `JobRun` table, so a slot runs once
across all instances, and after downtime the runner can tell a catch-up from a skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from domain.nudges import local_instant
from domain.timeutil import zone

EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday at midnight UTC: slots align to it
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Schedule(Protocol):
    """A recurring time a job is due."""

    def trigger(self) -> BaseTrigger:
        """Return the APScheduler trigger."""
        ...

    def last_slot(self, now: datetime) -> datetime:
        """Return the latest due instant at or before ``now``."""
        ...

    def describe(self) -> str:
        """Say when it fires, for `pacesetter jobs list`."""
        ...


@dataclass(frozen=True, slots=True)
class Every:
    """Every ``minutes``, aligned to the clock (``offset`` minutes past each boundary)."""

    minutes: int
    offset: int = 0

    def trigger(self) -> BaseTrigger:
        """Return an interval trigger aligned like ``last_slot``."""
        return IntervalTrigger(
            minutes=self.minutes, start_date=EPOCH + timedelta(minutes=self.offset), timezone=UTC
        )

    def last_slot(self, now: datetime) -> datetime:
        """Return the latest aligned instant at or before ``now``."""
        anchor = EPOCH + timedelta(minutes=self.offset)
        step = timedelta(minutes=self.minutes)
        return anchor + ((now.astimezone(UTC) - anchor) // step) * step

    def describe(self) -> str:
        """Say when it fires."""
        past = f" at +{self.offset} min" if self.offset else ""
        return f"every {self.minutes} min{past}"


@dataclass(frozen=True, slots=True)
class Weekly:
    """Once a week on ``weekday`` at local ``at`` in ``timezone``."""

    weekday: str
    at: time
    timezone: str

    def trigger(self) -> BaseTrigger:
        """Return a cron trigger in the zone (APScheduler >=3.11.2 handles DST)."""
        return CronTrigger(
            day_of_week=self.weekday,
            hour=self.at.hour,
            minute=self.at.minute,
            timezone=zone(self.timezone),
        )

    def last_slot(self, now: datetime) -> datetime:
        """Return the latest such local instant at or before ``now`` (DST-safe)."""
        tz = zone(self.timezone)
        local_today = now.astimezone(tz).date()
        back = (local_today.weekday() - WEEKDAYS.index(self.weekday)) % 7
        candidate = local_instant(local_today - timedelta(days=back), self.at, tz)
        if candidate > now:
            candidate = local_instant(local_today - timedelta(days=back + 7), self.at, tz)
        return candidate

    def describe(self) -> str:
        """Say when it fires."""
        return f"weekly {self.weekday} {self.at:%H:%M} {self.timezone}"


def slot_name(instant: datetime) -> str:
    """Return the `JobRun.slot` text for a due instant (UTC, minute precision)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
