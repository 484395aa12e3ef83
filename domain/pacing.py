"""Pacing: is a rep ahead of, on, or behind the share of their goal that time so far implies.

Pace = actual / expected-to-date, where expected-to-date is the goal's share of the working
time elapsed in the rep's zone. A band around 1.0 (10 % by default) counts as on track so a
rep is not flagged behind for one call early in the morning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.calendar import Elapsed
from domain.goals import Target

DEFAULT_BAND = 0.10


class Status(StrEnum):
    """Where a rep stands against the expected-to-date figure."""

    AHEAD = "ahead"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    NO_GOAL = "no_goal"


@dataclass(frozen=True, slots=True)
class Pace:
    """One KPI's pacing for one rep over one period."""

    actual: float
    goal: float | None
    expected_to_date: float | None
    status: Status
    needed_per_day: float | None
    percent_of_goal: float | None
    percent_of_expected: float | None
    remaining_working_days: int


def status_for(actual: float, expected: float, band: float = DEFAULT_BAND) -> Status:
    """Classify ``actual`` against ``expected`` with a relative ``band`` either side."""
    if expected <= 0:
        return Status.AHEAD if actual > 0 else Status.ON_TRACK
    ratio = actual / expected
    if ratio > 1 + band:
        return Status.AHEAD
    if ratio < 1 - band:
        return Status.BEHIND
    return Status.ON_TRACK


def percent(actual: float, of: float | None) -> float | None:
    """Return ``actual`` as a percent of ``of``, or None when there is nothing to divide by."""
    if of is None or of <= 0:
        return None
    return 100.0 * actual / of


def pace(
    actual: float,
    target: Target | None,
    time: Elapsed,
    *,
    band: float = DEFAULT_BAND,
    expected: float | None = None,
) -> Pace:
    """Pace ``actual`` against ``target`` given the elapsed working time of the period.

    ``needed_per_day`` spreads what is left of the goal over the working days still open;
    it is None when no goal applies or no working day remains. ``expected`` may be passed
    when the caller has already computed it for a target shared by many reps.
    """
    if target is None:
        return Pace(actual, None, None, Status.NO_GOAL, None, None, None, time.remaining_days)
    if expected is None:
        expected = expected_to_date(target, time)
    left = max(0.0, target.total - actual)
    needed = left / time.remaining_days if time.remaining_days > 0 else None
    return Pace(
        actual=actual,
        goal=target.total,
        expected_to_date=expected,
        status=status_for(actual, expected, band),
        needed_per_day=needed,
        percent_of_goal=percent(actual, target.total),
        percent_of_expected=percent(actual, expected),
        remaining_working_days=time.remaining_days,
    )


def expected_to_date(target: Target, time: Elapsed) -> float:
    """Return the share of ``target`` that the elapsed working time implies."""
    return target.expected(time.elapsed_days, time.today, time.today_fraction)
