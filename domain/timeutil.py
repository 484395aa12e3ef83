"""Time helpers: local days in a rep's zone and the periods (day, ISO week, month, quarter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Period(StrEnum):
    """A reporting period; weeks are ISO weeks, Monday first."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True, slots=True)
class DateRange:
    """An inclusive range of calendar days."""

    start: date
    end: date

    def days(self) -> list[date]:
        """Return every day of the range in order."""
        return [self.start + timedelta(n) for n in range((self.end - self.start).days + 1)]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """Return the IANA zone ``name``, or ``fallback`` when it is empty or unknown."""
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    """Return the calendar day of ``instant`` in ``tz`` (naive instants are taken as UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(tz).date()


def period_range(period: Period, as_of: date) -> DateRange:
    """Return the whole period containing ``as_of`` (start to last day)."""
    if period is Period.DAY:
        return DateRange(as_of, as_of)
    if period is Period.WEEK:
        start = as_of - timedelta(days=as_of.weekday())
        return DateRange(start, start + timedelta(days=6))
    if period is Period.MONTH:
        start = as_of.replace(day=1)
        nxt = (start + timedelta(days=32)).replace(day=1)
        return DateRange(start, nxt - timedelta(days=1))
    quarter_first_month = 3 * ((as_of.month - 1) // 3) + 1
    start = date(as_of.year, quarter_first_month, 1)
    end_month = quarter_first_month + 2
    nxt = date(as_of.year + (end_month // 12), end_month % 12 + 1, 1)
    return DateRange(start, nxt - timedelta(days=1))


def period_to_date(period: Period, as_of: date) -> DateRange:
    """Return the period containing ``as_of`` from its start to ``as_of`` inclusive."""
    return DateRange(period_range(period, as_of).start, as_of)
