"""The tactical prescription: work a revenue goal backwards through the team's own funnel.

From a revenue goal and the average deal size come the wins needed; dividing by each
historical conversion rate in turn gives the opportunities, meaningful conversations,
conversations and prospecting touches needed, per week. Each is then set against what the
rep actually does per week, so the plan says which number to raise and by how much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.diagnosis import DEFAULT_STEPS, FunnelStep
from domain.funnel import ratio

WORKING_DAYS_PER_WEEK = 5


@dataclass(frozen=True, slots=True)
class PrescribedStep:
    """What one KPI must be per week to hit the goal, and what the rep does now."""

    kpi: str
    needed_per_week: float | None
    actual_per_week: float | None
    gap_per_week: float | None
    conversion_used: float | None


@dataclass(frozen=True, slots=True)
class Prescription:
    """The plan: wins needed, and each funnel step's weekly number, wins first."""

    revenue_goal: float
    average_deal_size: float | None
    weeks: float
    wins_needed: float | None
    steps: list[PrescribedStep] = field(default_factory=list)
    note: str = ""


def team_rates(
    totals: Mapping[str, float], steps: tuple[FunnelStep, ...] = DEFAULT_STEPS
) -> dict[str, float | None]:
    """Return each step's historical conversion (kpi / source) from team totals."""
    return {
        s.kpi: ratio(totals.get(s.kpi, 0.0), totals.get(s.source, 0.0))
        for s in steps
        if s.source is not None
    }


def prescribe(
    *,
    revenue_goal: float,
    average_deal_size: float | None,
    working_days: float,
    rates: Mapping[str, float | None],
    actual_per_week: Mapping[str, float] | None = None,
    steps: tuple[FunnelStep, ...] = DEFAULT_STEPS,
) -> Prescription:
    """Work ``revenue_goal`` over ``working_days`` back through ``rates`` to weekly numbers.

    A missing or zero rate stops the chain there: the steps before it are reported without a
    need, because no honest number can be derived.
    """
    weeks = working_days / WORKING_DAYS_PER_WEEK if working_days > 0 else 0.0
    if not average_deal_size or average_deal_size <= 0 or weeks <= 0:
        return Prescription(
            revenue_goal, average_deal_size, weeks, None, [],
            "no average deal size or no working days left: nothing to work back from",
        )  # fmt: skip
    actual = actual_per_week or {}
    wins_needed = revenue_goal / average_deal_size
    needed: float | None = wins_needed / weeks
    out: list[PrescribedStep] = []
    for step in reversed(steps):
        rate = rates.get(step.kpi) if step.source is not None else None
        mine = actual.get(step.kpi)
        gap = needed - mine if needed is not None and mine is not None else None
        out.append(PrescribedStep(step.kpi, needed, mine, gap, rate))
        if step.source is None:
            break
        needed = needed / rate if needed is not None and rate else None
    note = (
        ""
        if all(s.needed_per_week is not None for s in out)
        else ("some steps have no historical conversion yet, so their need is unknown")
    )
    return Prescription(revenue_goal, average_deal_size, weeks, wins_needed, out, note)
