"""Consistency: streaks of days with the daily goal met, and how even activity is.

A streak counts working days in a row, ending at the latest day considered, on which the
daily goal was met; non-working days neither break nor extend it. Evenness is 100 minus the
coefficient of variation of daily values (in percent, floored at 0), so steady work scores
near 100 and a burst on one day after silent days scores low. Peaks and valleys are the
working days more than one standard deviation above or below the mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from statistics import fmean, pstdev


@dataclass(frozen=True, slots=True)
class Consistency:
    """How even a rep's daily activity was over some working days."""

    evenness: float | None
    mean: float
    peaks: list[date] = field(default_factory=list)
    valleys: list[date] = field(default_factory=list)


def streak(
    days: Sequence[date], values: Mapping[date, float], daily_goal: Mapping[date, float]
) -> int:
    """Count working ``days`` in a row, newest first, whose value met that day's goal.

    A day without a goal ends the streak; today's open day does not break it (pass only the
    days that should count).
    """
    count = 0
    for day in sorted(days, reverse=True):
        goal = daily_goal.get(day)
        if goal is None or goal <= 0 or values.get(day, 0.0) < goal:
            break
        count += 1
    return count


def consistency(days: Sequence[date], values: Mapping[date, float]) -> Consistency:
    """Measure how evenly ``values`` spread over the working ``days``."""
    series = [values.get(d, 0.0) for d in days]
    if not series:
        return Consistency(None, 0.0)
    mean = fmean(series)
    if mean <= 0:
        return Consistency(None, 0.0)
    spread = pstdev(series)
    evenness = max(0.0, 100.0 - 100.0 * spread / mean)
    peaks = [d for d, v in zip(days, series, strict=True) if spread and v > mean + spread]
    valleys = [d for d, v in zip(days, series, strict=True) if spread and v < mean - spread]
    return Consistency(evenness, mean, peaks, valleys)
