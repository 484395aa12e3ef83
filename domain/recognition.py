"""Recognition triggers: a big deal closed, a personal best week, a streak milestone.

Each trigger has a key that names it for good (``recognition:deal:{opp}``), so the outbox
sends it at most once however often the job runs. Pure: values and the day come in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Trigger(StrEnum):
    """Why someone is recognized."""

    BIG_DEAL = "deal"
    BEST_WEEK = "best_week"
    STREAK = "streak"


@dataclass(frozen=True, slots=True)
class WonDeal:
    """A closed-won opportunity, as recognition needs it."""

    source: str
    crm_id: str
    name: str
    amount: float
    rep_id: int
    closed_on: date


@dataclass(frozen=True, slots=True)
class Recognition:
    """One thing worth celebrating, for one person."""

    key: str
    trigger: Trigger
    rep_id: int
    detail: str


def big_deals(deals: Sequence[WonDeal], *, min_amount: float) -> list[Recognition]:
    """Return a recognition for each won deal of at least ``min_amount``."""
    return [
        Recognition(
            f"recognition:deal:{d.source}:{d.crm_id}",
            Trigger.BIG_DEAL,
            d.rep_id,
            f"closed *{d.name}* for *{d.amount:,.0f}*",
        )
        for d in deals
        if d.amount >= min_amount
    ]


def week_start(day: date) -> date:
    """Return the Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def weekly_totals(daily: Mapping[date, float]) -> dict[date, float]:
    """Return the sum per ISO week, keyed by the week's Monday."""
    weeks: dict[date, float] = {}
    for day, value in daily.items():
        monday = week_start(day)
        weeks[monday] = weeks.get(monday, 0.0) + value
    return weeks


def personal_best_week(
    rep_id: int,
    kpi: str,
    daily: Mapping[date, float],
    *,
    week: date,
    min_history_weeks: int,
    first_day: date | None = None,
) -> Recognition | None:
    """Return a recognition when the (finished) week of ``week`` beats every earlier week.

    Only with ``min_history_weeks`` earlier weeks on record (counted from ``first_day``, or the
    first week with a value), so a second week is not a "personal best".
    """
    monday = week_start(week)
    totals = weekly_totals(daily)
    this = totals.get(monday, 0.0)
    earlier = [v for w, v in totals.items() if w < monday]
    start = week_start(first_day) if first_day else min(totals, default=monday)
    history = (monday - start).days // 7
    if this <= 0 or history < min_history_weeks or (earlier and this <= max(earlier)):
        return None
    iso = monday.isocalendar()
    return Recognition(
        f"recognition:best_week:{rep_id}:{kpi}:{iso.year}-W{iso.week:02d}",
        Trigger.BEST_WEEK,
        rep_id,
        f"had a personal best week: *{this:,.0f}* {kpi.replace('_', ' ')}",
    )


def streak(working_days: Sequence[date], daily: Mapping[date, float], minimum: float) -> int:
    """Return how many of the latest ``working_days`` in a row reached ``minimum``."""
    length = 0
    for day in reversed(working_days):
        if daily.get(day, 0.0) < minimum:
            break
        length += 1
    return length


def streak_milestone(
    rep_id: int,
    kpi: str,
    working_days: Sequence[date],
    daily: Mapping[date, float],
    *,
    minimum: float,
    milestones: Sequence[int],
) -> Recognition | None:
    """Return a recognition when the streak ending on the last working day is a milestone.

    The key holds the streak's first day, so the same streak is celebrated once per
    milestone and a new streak can reach the same milestone again.
    """
    length = streak(working_days, daily, minimum)
    if length not in milestones:
        return None
    began = working_days[len(working_days) - length]
    return Recognition(
        f"recognition:streak:{rep_id}:{kpi}:{began.isoformat()}:{length}",
        Trigger.STREAK,
        rep_id,
        f"hit a *{length}-day streak* of {minimum:g}+ {kpi.replace('_', ' ')}",
    )
