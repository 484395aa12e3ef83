"""Ramp: a new-hire class's cumulative KPIs by week since start, against earlier hires.

Week ``w`` of a hire covers their first ``7 * w`` days. The typical curve at week ``w`` is
the median, over earlier hires who have completed ``w`` weeks, of their cumulative value.
The class is compared at the last week all its members have completed; "weeks ahead" is
how many weeks earlier (or later) a typical hire reached the class's figure, read off the
typical curve by linear interpolation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from statistics import median

DAYS_PER_WEEK = 7


@dataclass(frozen=True, slots=True)
class Hire:
    """One hire's daily values of a KPI since they started."""

    rep_id: int
    name: str
    start_date: date
    daily: Mapping[date, float]


@dataclass(frozen=True, slots=True)
class RampPoint:
    """The class and the typical hire at one week since start."""

    week: int
    class_value: float | None
    typical_value: float | None


@dataclass(frozen=True, slots=True)
class RampReport:
    """How far ahead of (or behind) a typical onboarding class the class is."""

    kpi: str
    week: int
    class_value: float | None
    typical_value: float | None
    weeks_ahead: float | None
    curve: list[RampPoint] = field(default_factory=list)
    message: str = ""
    earlier_hires: int = 0


def weeks_completed(start: date, as_of: date) -> int:
    """Return the whole weeks from ``start`` through ``as_of`` inclusive."""
    return max(0, ((as_of - start).days + 1) // DAYS_PER_WEEK)


def cumulative_by_week(hire: Hire, weeks: int) -> list[float]:
    """Return the hire's cumulative value at the end of each of their first ``weeks`` weeks."""
    out: list[float] = []
    total = 0.0
    for week in range(weeks):
        first = hire.start_date + timedelta(days=week * DAYS_PER_WEEK)
        total += sum(hire.daily.get(first + timedelta(days=n), 0.0) for n in range(DAYS_PER_WEEK))
        out.append(total)
    return out


def typical_curve(earlier: Sequence[Hire], as_of: date, weeks: int) -> list[float | None]:
    """Return the median cumulative value of ``earlier`` hires at weeks 1..``weeks``."""
    series = [
        cumulative_by_week(h, min(weeks, weeks_completed(h.start_date, as_of))) for h in earlier
    ]
    curve: list[float | None] = []
    for week in range(weeks):
        values = [s[week] for s in series if len(s) > week]
        curve.append(median(values) if values else None)
    return curve


def weeks_ahead(value: float, week: int, curve: Sequence[float | None]) -> float | None:
    """Return where on the typical ``curve`` ``value`` falls, minus ``week`` (None off-curve)."""
    points = [(0, 0.0)] + [(w + 1, v) for w, v in enumerate(curve) if v is not None]
    for (w0, v0), (w1, v1) in pairwise(points):
        if v0 <= value <= v1 and v1 > v0:
            return w0 + (value - v0) / (v1 - v0) * (w1 - w0) - week
    if len(points) > 1 and value > points[-1][1]:
        return float(points[-1][0] - week)
    return None


def ramp(
    kpi: str, cohort: Sequence[Hire], earlier: Sequence[Hire], as_of: date, *, horizon: int = 26
) -> RampReport:
    """Compare ``cohort`` with ``earlier`` hires at the last week every member has completed.

    Past the typical curve's last week the class is at least that far ahead (a lower bound).
    """
    if not cohort:
        return RampReport(kpi, 0, None, None, None, [], "no hires in this class")
    week = min(weeks_completed(h.start_date, as_of) for h in cohort)
    span = min(horizon, max(week, 1))
    typical = typical_curve(earlier, as_of, horizon)
    mine = [cumulative_by_week(h, week) for h in cohort]
    points = [
        RampPoint(
            w + 1,
            median(s[w] for s in mine) if week > w else None,
            typical[w] if w < len(typical) else None,
        )
        for w in range(span)
    ]
    if week == 0:
        return RampReport(kpi, 0, None, None, None, points, "the class has not finished a week yet")
    value = median(s[week - 1] for s in mine)
    typ = typical[week - 1] if week <= len(typical) else None
    ahead = weeks_ahead(value, week, typical)
    return RampReport(kpi, week, value, typ, ahead, points, _message(ahead), len(earlier))


def _message(ahead: float | None) -> str:
    if ahead is None:
        return "not enough data yet: no earlier hires to compare with"
    if abs(ahead) < 0.5:
        return "on pace for a typical onboarding class"
    side = "ahead of" if ahead > 0 else "behind"
    return f"{abs(ahead):.0f} weeks {side} pace for a typical onboarding class"
