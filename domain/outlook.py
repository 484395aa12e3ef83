"""The brief's three time views: past (last quarter against goal), current (open pipeline and
its expected value), and direction (each KPI's weekly trend).

All of it is arithmetic on sums storage has already aggregated in SQL: quarter totals for the
rep and their peers, weekly totals for a few weeks, and opportunity paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

from domain.funnel import OpportunityPath, StageInfo, StageWinRate, open_by_stage, open_stages
from domain.timeutil import DateRange, Period, period_range

# The weekly trend: how many complete ISO weeks, how few make a direction, and how large the
# fitted change over the window must be (relative to the weekly mean) to count as a move.
TREND_WEEKS = 6
MIN_TREND_WEEKS = 3
FLAT_BAND = 0.15
ARROWS = {"up": "↗", "down": "↘", "flat": "→", "unknown": "·"}

# Expected value: a win rate counts once this many closed deals reached the stage.
MIN_CLOSED_FOR_RATE = 5


# past ------------------------------------------------------------------------------------------


def previous_quarter(as_of: date) -> DateRange:
    """Return the whole calendar quarter before the one containing ``as_of``."""
    current = period_range(Period.QUARTER, as_of)
    return period_range(Period.QUARTER, current.start - timedelta(days=1))


@dataclass(frozen=True, slots=True)
class QuarterResult:
    """One KPI's total over a past quarter, against its goal and the rep's peers."""

    kpi: str
    actual: float
    goal: float | None
    percent_of_goal: float | None
    rank: int | None
    of: int


def rank_among(rep_id: int, values: Mapping[int, float]) -> int | None:
    """Return ``rep_id``'s competition rank (1 = highest; ties share a rank) in ``values``."""
    if rep_id not in values:
        return None
    mine = values[rep_id]
    return 1 + sum(1 for other, value in values.items() if other != rep_id and value > mine)


def quarter_results(
    rep_id: int,
    kpis: Sequence[str],
    totals: Mapping[int, Mapping[str, float]],
    group: Sequence[int],
    goals: Mapping[str, float | None],
) -> list[QuarterResult]:
    """Return each KPI's quarter total for ``rep_id`` against ``goals`` and ranked in ``group``.

    ``group`` is the rep and their peers (reps missing from ``totals`` did nothing: zero).
    """
    out = []
    for kpi in kpis:
        values = {r: totals.get(r, {}).get(kpi, 0.0) for r in {rep_id, *group}}
        actual = values[rep_id]
        goal = goals.get(kpi)
        share = 100.0 * actual / goal if goal else None
        out.append(QuarterResult(kpi, actual, goal, share, rank_among(rep_id, values), len(values)))
    return out


# direction -------------------------------------------------------------------------------------


def trend_weeks(
    as_of: date, count: int = TREND_WEEKS, since: date | None = None
) -> list[DateRange]:
    """Return the last ``count`` complete ISO weeks before the week of ``as_of``, oldest first.

    Weeks that begin before ``since`` (a rep's start date) are dropped: a partial first week
    would read as a rise.
    """
    this_monday = as_of - timedelta(days=as_of.weekday())
    weeks = [
        DateRange(this_monday - timedelta(weeks=n), this_monday - timedelta(weeks=n, days=-6))
        for n in range(count, 0, -1)
    ]
    return [w for w in weeks if since is None or w.start >= since]


@dataclass(frozen=True, slots=True)
class KpiTrend:
    """A KPI's weekly values, the least-squares slope through them, and its direction."""

    kpi: str
    weeks: list[date]
    values: list[float]
    slope_per_week: float | None
    change: float | None
    direction: str

    @property
    def arrow(self) -> str:
        """Return the direction as an arrow."""
        return ARROWS[self.direction]


def slope(values: Sequence[float]) -> float:
    """Return the least-squares slope of ``values`` against 0, 1, 2, ... (per step)."""
    n = len(values)
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / spread


def trend(
    kpi: str,
    weeks: Sequence[DateRange],
    values: Sequence[float],
    *,
    band: float = FLAT_BAND,
    min_weeks: int = MIN_TREND_WEEKS,
) -> KpiTrend:
    """Return the direction of ``values`` (one per week of ``weeks``).

    ``change`` is the fitted line's rise over the whole window divided by the weekly mean:
    above ``band`` the KPI is going up, below ``-band`` down, otherwise flat. With fewer than
    ``min_weeks`` weeks, or nothing at all, the direction is unknown (or flat at zero).
    """
    starts = [w.start for w in weeks]
    if len(values) < min_weeks:
        return KpiTrend(kpi, starts, list(values), None, None, "unknown")
    fitted = slope(values)
    mean = sum(values) / len(values)
    if mean <= 0:
        return KpiTrend(kpi, starts, list(values), fitted, None, "flat")
    change = fitted * (len(values) - 1) / mean
    direction = "up" if change > band else "down" if change < -band else "flat"
    return KpiTrend(kpi, starts, list(values), fitted, change, direction)


# current ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StageOutlook:
    """The rep's open deals in one stage, and what they are expected to bring in."""

    pipeline: str
    stage: str
    order: int
    open_count: int
    open_amount: float
    win_rate: float | None
    basis: str | None
    closed_sample: int
    expected_value: float | None


@dataclass(frozen=True, slots=True)
class PipelineOutlook:
    """The rep's open pipeline by stage and its total expected value."""

    stages: list[StageOutlook]
    open_count: int
    open_amount: float
    expected_value: float
    unweighted_amount: float

    @property
    def bases(self) -> list[str]:
        """Return the sources of the win rates used, in a fixed order."""
        used = {s.basis for s in self.stages if s.basis and s.open_count}
        return [b for b in ("rep", "peers", "crm") if b in used]


def _rate(
    rates: Mapping[tuple[str, str], StageWinRate], key: tuple[str, str], min_closed: int
) -> StageWinRate | None:
    found = rates.get(key)
    if found is None or found.win_rate is None or found.reached_closed < min_closed:
        return None
    return found


def pipeline_outlook(
    stages: Sequence[StageInfo],
    open_paths: Sequence[OpportunityPath],
    rep_rates: Sequence[StageWinRate],
    peer_rates: Sequence[StageWinRate],
    *,
    min_closed: int = MIN_CLOSED_FOR_RATE,
) -> PipelineOutlook:
    """Weight each open stage's amount by the chance a deal that reached it is won.

    The rate is the rep's own stage-reached-to-win rate when at least ``min_closed`` of their
    closed deals reached the stage, else their peers' on the same terms, else the probability
    the CRM states for the stage; with none of these the stage has no expected value (and
    adds nothing to the total). Only stages holding open deals are listed.
    """
    mine = {(r.pipeline, r.stage): r for r in rep_rates}
    theirs = {(r.pipeline, r.stage): r for r in peer_rates}
    count, amount = open_by_stage(open_paths)
    rows: list[StageOutlook] = []
    for pipeline in sorted({s.pipeline for s in stages}):
        for stage in open_stages(stages, pipeline):
            key = (pipeline, stage.stage)
            if not count.get(key):
                continue
            rate: float | None = None
            basis: str | None = None
            sample = 0
            if (own := _rate(mine, key, min_closed)) is not None:
                rate, basis, sample = own.win_rate, "rep", own.reached_closed
            elif (peer := _rate(theirs, key, min_closed)) is not None:
                rate, basis, sample = peer.win_rate, "peers", peer.reached_closed
            elif stage.probability is not None:
                rate, basis = stage.probability, "crm"
            value = amount[key] * rate if rate is not None else None
            rows.append(
                StageOutlook(
                    pipeline, stage.stage, stage.order, count[key], amount[key], rate, basis,
                    sample, value,
                )
            )  # fmt: skip
    return PipelineOutlook(
        rows,
        sum(r.open_count for r in rows),
        sum(r.open_amount for r in rows),
        sum(r.expected_value or 0.0 for r in rows),
        sum(r.open_amount for r in rows if r.expected_value is None),
    )


def median_or_none(values: Sequence[float]) -> float | None:
    """Return the median of ``values``, or None when there are none."""
    return median(values) if values else None


BASIS_WORDS = {
    "rep": "the rep's own closed deals",
    "peers": "their peers' closed deals",
    "crm": "the stage probability stated in the CRM",
}


def expected_value_method(outlook: PipelineOutlook) -> str:
    """Say how the expected value was computed, naming the rate sources actually used."""
    if not outlook.stages:
        return "no open deals"
    used = " and ".join(BASIS_WORDS[b] for b in outlook.bases) or "no rate (too little history)"
    return (
        "open amount × the win rate of deals that reached the stage, from "
        f"{used} (a rate needs {MIN_CLOSED_FOR_RATE} closed deals that reached the stage)"
    )


def quarter_name(rng: DateRange) -> str:
    """Return a quarter as '2026-Q3'."""
    return f"{rng.start.year}-Q{(rng.start.month - 1) // 3 + 1}"
