"""The manager's team at a glance: who most needs attention, and why, in one line each.

Each rep collects *reasons*, each worth some attention points (0 to about 1):

- behind pace on a KPI with a goal: 1 - actual / expected-to-date (12 of 30 expected: 0.6);
- a weak funnel step: (gap - 1) / 2, capped at 1 (the team median is ``gap`` times the rep's);
- an overdue coaching follow-up: 1, plus 0.25 for each further one (the manager owes it);
- a new hire behind the typical ramp: weeks behind / 4, capped at 1.

A rep's attention is the sum of their points; the team is sorted by it, highest first (ties
by name), and the one-line "why" is the reason with the most points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from domain.diagnosis import Diagnosis
from domain.pacing import Pace, Status

FOLLOW_UP_POINTS = 1.0
EXTRA_FOLLOW_UP_POINTS = 0.25
RAMP_WEEKS_FOR_FULL = 4.0
GAP_SPAN = 2.0
ON_PACE = "on pace on every KPI with a goal; no weak step"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a rep needs attention, and how much."""

    kind: str
    points: float
    text: str


@dataclass(frozen=True, slots=True)
class FollowUpState:
    """A rep's open coaching follow-ups as of a day."""

    open: int = 0
    overdue: int = 0
    oldest_overdue: date | None = None


@dataclass(frozen=True, slots=True)
class RampLag:
    """How far a new hire is behind the typical ramp on their worst KPI."""

    kpi: str
    weeks_behind: float


@dataclass(frozen=True, slots=True)
class RepSignals:
    """Everything the glance knows about one rep."""

    rep_id: int
    name: str
    paces: Mapping[str, Pace]
    period_of: Mapping[str, str]
    diagnosis: Diagnosis | None
    open_amount: float = 0.0
    peer_open_median: float | None = None
    follow_ups: FollowUpState = field(default_factory=FollowUpState)
    ramp: RampLag | None = None
    span_of: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TeamRow:
    """One rep in the glance: their attention, the reason shown first, and every reason."""

    signals: RepSignals
    attention: float
    why: str
    reasons: list[Reason]


def _label(kpi: str, labels: Mapping[str, str]) -> str:
    return labels.get(kpi, kpi.replace("_", " ")).lower()


def _count(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or float(value).is_integer() else f"{value:,.1f}"


def pace_reasons(signals: RepSignals, labels: Mapping[str, str]) -> list[Reason]:
    """Return one reason per KPI behind pace: "behind on conversations: 12 of 30 expected"."""
    out = []
    for kpi, p in signals.paces.items():
        expected = p.expected_to_date
        if p.status is not Status.BEHIND or not expected:
            continue
        points = max(0.0, 1.0 - p.actual / expected)
        period = signals.period_of.get(kpi)
        named = signals.span_of.get(kpi) or (f"this {period}" if period else "")
        span = f" {named}" if named else ""
        text = (
            f"behind on {_label(kpi, labels)}: {_count(p.actual)} of "
            f"{_count(expected)} expected{span}"
        )
        out.append(Reason("behind", points, text))
    return out


def step_reason(signals: RepSignals, labels: Mapping[str, str]) -> Reason | None:
    """Return the weak funnel step as a reason ("plenty of pipeline, few wins: closing")."""
    d = signals.diagnosis
    if d is None or d.weak_step is None:
        return None
    step = next((s for s in d.steps if s.kpi == d.weak_step), None)
    gap = step.gap if step is not None and step.gap is not None else 1.0
    points = 1.0 if math.isinf(gap) else min(1.0, max(0.0, (gap - 1.0) / GAP_SPAN))
    if d.weak_step == "wins":
        plenty = signals.peer_open_median is not None and (
            signals.open_amount >= signals.peer_open_median and signals.open_amount > 0
        )
        lead = "plenty of pipeline, few wins" if plenty else "few wins from opportunities"
        return Reason("weak_step", points, f"{lead}: {d.problem}")
    versus = "none yet" if math.isinf(gap) else f"team median {gap:.1f}x theirs"
    return Reason(
        "weak_step", points, f"weak step {_label(d.weak_step, labels)} ({versus}): {d.problem}"
    )


def follow_up_reason(signals: RepSignals) -> Reason | None:
    """Return the overdue follow-ups as a reason."""
    state = signals.follow_ups
    if state.overdue <= 0:
        return None
    points = FOLLOW_UP_POINTS + EXTRA_FOLLOW_UP_POINTS * (state.overdue - 1)
    since = (
        f" since {state.oldest_overdue:%b} {state.oldest_overdue.day}"
        if state.oldest_overdue
        else ""
    )
    what = "overdue follow-up" if state.overdue == 1 else f"{state.overdue} overdue follow-ups"
    return Reason("follow_up", points, f"{what}{since}")


def ramp_reason(signals: RepSignals, labels: Mapping[str, str]) -> Reason | None:
    """Return a new hire's lag behind the typical ramp as a reason."""
    lag = signals.ramp
    if lag is None or lag.weeks_behind < 1:
        return None
    points = min(1.0, lag.weeks_behind / RAMP_WEEKS_FOR_FULL)
    return Reason(
        "ramp",
        points,
        f"new hire ramping behind curve: {lag.weeks_behind:.0f} weeks behind on "
        f"{_label(lag.kpi, labels)}",
    )


def assess(signals: RepSignals, labels: Mapping[str, str] | None = None) -> TeamRow:
    """Return the rep's reasons, attention (their sum) and the top reason's text."""
    labels = labels or {}
    reasons = [
        *pace_reasons(signals, labels),
        *(r for r in (step_reason(signals, labels), follow_up_reason(signals),
                      ramp_reason(signals, labels)) if r is not None),
    ]  # fmt: skip
    reasons.sort(key=lambda r: -r.points)
    attention = sum(r.points for r in reasons)
    why = reasons[0].text if reasons else ON_PACE
    return TeamRow(signals, attention, why, reasons)


def attention_order(
    signals: Sequence[RepSignals], labels: Mapping[str, str] | None = None
) -> list[TeamRow]:
    """Return the team sorted by who most needs attention (ties by name)."""
    rows = [assess(s, labels) for s in signals]
    return sorted(rows, key=lambda row: (-row.attention, row.signals.name.casefold()))
