"""Composite scores: one honest number per rep that can be explained KPI by KPI.

The activity score weighs leading KPIs against their daily and weekly goals; the results
score weighs lagging KPIs against monthly and quarterly goals. Each KPI contributes its
percent of the expected-to-date figure, capped (150 % by default) so one runaway KPI cannot
hide a neglected one; the score is the weighted mean, 0-100+ (100 = exactly on pace).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.pacing import Pace

DEFAULT_CAP = 150.0


@dataclass(frozen=True, slots=True)
class ScorePart:
    """One KPI's contribution: its capped percent of pace and its weight."""

    kpi: str
    percent: float
    weight: float


@dataclass(frozen=True, slots=True)
class CompositeScore:
    """A weighted score and the parts that explain it (None when no KPI has a goal)."""

    value: float | None
    parts: list[ScorePart] = field(default_factory=list)

    def explain(self) -> str:
        """Say how the score was made, one KPI at a time."""
        if self.value is None:
            return "no goals set for these KPIs"
        bits = [f"{p.kpi} {p.percent:.0f}% x{p.weight:g}" for p in self.parts]
        return f"{self.value:.0f} = weighted mean of " + ", ".join(bits)


def composite(
    paces: Mapping[str, Pace], weights: Mapping[str, float], *, cap: float = DEFAULT_CAP
) -> CompositeScore:
    """Weigh the percent-of-pace of each KPI named in ``weights`` that has a goal.

    A KPI whose expected-to-date is still zero (first minutes of a period) is left out
    rather than scored as infinitely ahead.
    """
    parts: list[ScorePart] = []
    for kpi, weight in weights.items():
        paced = paces.get(kpi)
        if paced is None or weight <= 0 or paced.percent_of_expected is None:
            continue
        parts.append(ScorePart(kpi, min(cap, paced.percent_of_expected), weight))
    value = _weighted_mean([(p.percent, p.weight) for p in parts])
    return CompositeScore(value, parts) if value is not None else CompositeScore(None, [])


def composite_value(
    percents: Mapping[str, float | None], weights: Mapping[str, float], *, cap: float = DEFAULT_CAP
) -> float | None:
    """Return ``composite``'s value from each KPI's percent of expected, without its parts.

    For boards, which rank thousands of reps on the number alone; same arithmetic, same
    order, so the same float as ``composite(...).value``.
    """
    return _weighted_mean(
        [
            (min(cap, value), weight)
            for kpi, weight in weights.items()
            if weight > 0 and (value := percents.get(kpi)) is not None
        ]
    )


def _weighted_mean(parts: list[tuple[float, float]]) -> float | None:
    total = sum(weight for _, weight in parts)
    if not parts or total <= 0:
        return None
    return sum(value * weight for value, weight in parts) / total


def blend(scores: list[CompositeScore]) -> CompositeScore:
    """Average several scores (e.g. month and quarter results), keeping every part."""
    present = [s for s in scores if s.value is not None]
    value = blended_value([s.value for s in present])
    if value is None:
        return CompositeScore(None, [])
    return CompositeScore(value, [p for s in present for p in s.parts])


def blended_value(values: list[float | None]) -> float | None:
    """Return ``blend``'s value from the scores' values alone (None ones left out)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return sum(present) / len(present)
