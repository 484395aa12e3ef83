"""Diagnosis for coaching: which funnel step most holds a rep back, and whom to shadow.

Wins are the product of prospecting volume and the conversion of each step after it, so a
step's *gap* is how much the rep's wins would multiply if that one step matched the median
of their peers (peer median / rep value). The weak step is the step with the largest gap,
named by the KPI it produces. Many opportunities and few wins point to closing (``wins``);
few opportunities from many senior conversations and a high win rate point to qualifying or
prospecting (``opportunities_created``); many calls and few meaningful conversations point
to targeting (``meaningful_conversations``); low volume with normal rates points to
``prospecting``. A step is judged only when the rep and at least ``min_peers`` peers have
``min_sample`` events feeding it; otherwise it says "not enough data yet".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """A step of the funnel: the KPI it produces, and the KPI it converts from (None: volume)."""

    kpi: str
    source: str | None
    problem: str


DEFAULT_STEPS: tuple[FunnelStep, ...] = (
    FunnelStep("prospecting", None, "prospecting volume"),
    FunnelStep("conversations", "prospecting", "connecting"),
    FunnelStep("meaningful_conversations", "conversations", "targeting"),
    FunnelStep("opportunities_created", "meaningful_conversations", "qualifying or prospecting"),
    FunnelStep("wins", "opportunities_created", "closing"),
)


@dataclass(frozen=True, slots=True)
class RepFunnel:
    """A rep's KPI totals over the diagnosis window and the working days they worked in it."""

    rep_id: int
    name: str
    totals: Mapping[str, float]
    working_days: float


@dataclass(frozen=True, slots=True)
class DiagnosisRules:
    """How much data makes a comparison meaningful, and how big a gap matters."""

    min_sample: float = 5
    min_working_days: float = 5
    min_peers: int = 2
    min_gap: float = 1.15
    steps: tuple[FunnelStep, ...] = DEFAULT_STEPS


@dataclass(frozen=True, slots=True)
class StepComparison:
    """The rep against the peer median at one step."""

    kpi: str
    problem: str
    rep_value: float | None
    team_median: float | None
    gap: float | None
    peers: int
    enough_data: bool


@dataclass(frozen=True, slots=True)
class Shadow:
    """The peer strongest at the weak step."""

    rep_id: int
    name: str
    value: float


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The coaching brief's core: the weak step, the problem it names, and whom to shadow."""

    rep_id: int
    status: str
    weak_step: str | None
    problem: str | None
    shadow: Shadow | None
    steps: list[StepComparison] = field(default_factory=list)
    message: str = ""


def step_value(funnel: RepFunnel, step: FunnelStep, rules: DiagnosisRules) -> float | None:
    """Return the rep's value at ``step`` (volume per working day, or a conversion rate),
    or None when there is too little data to judge it."""
    if step.source is None:
        if funnel.working_days < rules.min_working_days:
            return None
        return funnel.totals.get(step.kpi, 0.0) / funnel.working_days
    base = funnel.totals.get(step.source, 0.0)
    if base < rules.min_sample:
        return None
    return funnel.totals.get(step.kpi, 0.0) / base


def compare_step(
    rep: RepFunnel, peers: Sequence[RepFunnel], step: FunnelStep, rules: DiagnosisRules
) -> tuple[StepComparison, list[tuple[RepFunnel, float]]]:
    """Compare ``rep`` with the median of ``peers`` at ``step``."""
    mine = step_value(rep, step, rules)
    theirs = [(p, v) for p in peers if (v := step_value(p, step, rules)) is not None]
    enough = mine is not None and len(theirs) >= rules.min_peers
    mid = median(v for _, v in theirs) if theirs else None
    gap: float | None = None
    if enough and mid is not None and mine is not None:
        gap = (mid / mine if mine > 0 else math.inf) if mid > 0 else 1.0
    comparison = StepComparison(step.kpi, step.problem, mine, mid, gap, len(theirs), enough)
    return comparison, theirs


def diagnose(
    rep: RepFunnel, team: Sequence[RepFunnel], rules: DiagnosisRules | None = None
) -> Diagnosis:
    """Name the funnel step that most holds ``rep`` back against their team's median."""
    rules = rules or DiagnosisRules()
    peers = [p for p in team if p.rep_id != rep.rep_id]
    comparisons: list[StepComparison] = []
    best: tuple[float, FunnelStep, list[tuple[RepFunnel, float]]] | None = None
    for step in rules.steps:
        comparison, theirs = compare_step(rep, peers, step, rules)
        comparisons.append(comparison)
        if comparison.gap is not None and (best is None or comparison.gap > best[0]):
            best = (comparison.gap, step, theirs)
    if not any(c.enough_data for c in comparisons):
        return Diagnosis(
            rep.rep_id, "not_enough_data", None, None, None, comparisons,
            "not enough data yet: the rep or the team has too few events to compare",
        )  # fmt: skip
    if best is None or best[0] < rules.min_gap:
        return Diagnosis(
            rep.rep_id, "no_weak_step", None, None, None, comparisons,
            "at or near the team median on every step with enough data",
        )  # fmt: skip
    gap, step, theirs = best
    top = max(theirs, key=lambda item: (item[1], item[0].name))
    shadow = Shadow(top[0].rep_id, top[0].name, top[1])
    return Diagnosis(
        rep.rep_id, "weak_step", step.kpi, step.problem, shadow, comparisons,
        _message(step, gap, shadow),
    )  # fmt: skip


def _message(step: FunnelStep, gap: float, shadow: Shadow) -> str:
    versus = (
        "the rep has none yet" if math.isinf(gap) else f"the team median is {gap:.1f}x the rep's"
    )
    return (
        f"{step.problem} problem: {step.kpi} is the step that most holds results back "
        f"({versus}); shadow {shadow.name}, the strongest at it"
    )
