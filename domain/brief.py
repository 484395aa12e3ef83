"""The coaching brief `/coach` and `pacesetter coach` show: diagnosis, funnel, plan, rhythm.

Everything is computed from the metrics store through ``Scorecards``: the rep's and peers'
totals over a diagnosis window, stage-reached win rates of the rep against the team, the
tactical prescription from the rep's revenue goal, and how even the rep's prospecting is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from domain.consistency import consistency
from domain.diagnosis import Diagnosis, DiagnosisRules, RepFunnel, diagnose
from domain.funnel import conversion, open_pipeline, stage_win_rates
from domain.outlook import (
    KpiTrend,
    PipelineOutlook,
    QuarterResult,
    expected_value_method,
    pipeline_outlook,
    previous_quarter,
    quarter_name,
    quarter_results,
    trend,
    trend_weeks,
)
from domain.ports import CoachReads, RepProfile
from domain.prescription import WORKING_DAYS_PER_WEEK, Prescription, prescribe, team_rates
from domain.ramp import Hire, ramp
from domain.scorecard import Scorecards, subject_of
from domain.timeutil import DateRange, Period, period_range, period_to_date

FUNNEL_KPIS = ("prospecting", "conversations", "meaningful_conversations",
               "opportunities_created", "wins", "won_amount")  # fmt: skip


RAMP_KPIS = ("prospecting", "meaningful_conversations", "opportunities_created")


@dataclass(frozen=True, slots=True)
class BriefRules:
    """The diagnosis window and who counts as a peer."""

    window_days: int = 90
    peers: str = "team"
    ramp_days: int = 180
    class_days: int = 14
    ramp_kpis: tuple[str, ...] = (
        "prospecting",
        "meaningful_conversations",
        "opportunities_created",
    )
    diagnosis: DiagnosisRules = field(default_factory=DiagnosisRules)


def worked_days(cards: Scorecards, rep: RepProfile, window: DateRange) -> float:
    """Return the working days ``rep`` was employed in ``window`` (from their start date)."""
    start = max(window.start, rep.start_date) if rep.start_date else window.start
    return float(cards.rules.calendar.count(DateRange(start, window.end)))


def peer_group(
    cards: Scorecards,
    rep: RepProfile,
    rules: BriefRules,
    sellers: Sequence[RepProfile] | None = None,
) -> list[RepProfile]:
    """Return the rep's peers: their team when it has enough people, else every seller.

    Pass ``sellers`` (the board reps) when grouping many reps, to read them once.
    """
    sellers = cards.board_reps() if sellers is None else sellers
    if rules.peers == "team" and rep.team:
        team = [r for r in sellers if r.team == rep.team and r.id != rep.id]
        if len(team) >= rules.diagnosis.min_peers:
            return team
    return [r for r in sellers if r.id != rep.id]


def funnels(cards: Scorecards, reps: Sequence[RepProfile], window: DateRange) -> list[RepFunnel]:
    """Return each rep's funnel totals over ``window`` (one SQL aggregate for all)."""
    totals = cards.store.totals(window, kpis=list(FUNNEL_KPIS), rep_ids=[r.id for r in reps])
    return [
        RepFunnel(r.id, r.name, totals.get(r.id, {}), worked_days(cards, r, window)) for r in reps
    ]


def coaching_brief(
    cards: Scorecards,
    rep: RepProfile,
    as_of: date,
    rules: BriefRules | None = None,
    reads: CoachReads | None = None,
) -> dict[str, Any]:
    """Assemble the brief for ``rep`` as of the end of ``as_of``.

    With ``reads`` it also has the past quarter, the open pipeline's expected value and each
    KPI's weekly direction (``past``, ``pipeline``, ``direction``).
    """
    rules = rules or BriefRules()
    window = DateRange(as_of - timedelta(days=rules.window_days - 1), as_of)
    peers = peer_group(cards, rep, rules)
    everyone = funnels(cards, [rep, *peers], window)
    mine, theirs = everyone[0], everyone[1:]
    result = diagnose(mine, theirs, rules.diagnosis)
    names = {r.id: r for r in peers}
    plan = _prescription(cards, rep, mine, theirs, as_of)
    return {
        "rep": rep.email,
        "name": rep.name,
        "as_of": as_of.isoformat(),
        "window": _window_json(window, mine.working_days),
        "status": result.status,
        "weak_step": result.weak_step,
        "problem": result.problem,
        "message": result.message,
        "shadow": _shadow(result, names),
        "peers": len(peers),
        "steps": [asdict(step) for step in result.steps],
        "funnel": _funnel(cards, rep, mine.totals, _sum(theirs)),
        "prescription": _plan_json(plan),
        "consistency": _rhythm(cards, rep, as_of),
        "ramp": _ramp(cards, rep, as_of, rules),
        "scorecard": cards.scorecard(rep, Period.MONTH, as_of, with_ranks=False).to_json(),
        **(outlook_json(brief_outlook(cards, reads, rep, peers, as_of)) if reads else {}),
    }


@dataclass(frozen=True, slots=True)
class PastQuarter:
    """Last quarter's results against goal, ranked among the rep and their peers."""

    range: DateRange
    results: list[QuarterResult]


@dataclass(frozen=True, slots=True)
class Outlook:
    """The brief's past, current and direction sections."""

    past: PastQuarter
    pipeline: PipelineOutlook
    direction: list[KpiTrend]
    trend_weeks: list[DateRange]


def brief_outlook(
    cards: Scorecards,
    reads: CoachReads,
    rep: RepProfile,
    peers: Sequence[RepProfile],
    as_of: date,
) -> Outlook:
    """Return the rep's last quarter, open pipeline with expected value, and weekly trends.

    Three aggregate reads: quarter totals for the rep and peers, weekly totals for the rep,
    and the opportunity paths the stage win rates come from.
    """
    names = cards.kpis.names()
    quarter = previous_quarter(as_of)
    group = [rep.id, *(p.id for p in peers)]
    totals = cards.store.totals(quarter, kpis=names, rep_ids=group)
    subject = subject_of(rep)
    goals = {}
    for kpi in names:
        target = cards.resolver.target(kpi, subject, quarter, Period.QUARTER)
        goals[kpi] = target.total if target else None
    past = PastQuarter(quarter, quarter_results(rep.id, names, totals, group, goals))

    stages = cards.store.stages()
    paths = cards.store.opportunity_paths()
    peer_ids = {p.id for p in peers}
    pipeline = pipeline_outlook(
        stages,
        [p for p in paths if p.rep_id == rep.id and not p.is_closed],
        stage_win_rates(stages, paths, rep_id=rep.id),
        stage_win_rates(stages, [p for p in paths if p.rep_id in peer_ids]),
    )

    weeks = trend_weeks(as_of, since=rep.start_date)
    series = reads.bucket_totals([rep.id], weeks, kpis=names).get(rep.id, {})
    direction = [trend(k, weeks, series.get(k, [0.0] * len(weeks))) for k in names]
    return Outlook(past, pipeline, direction, weeks)


def outlook_json(outlook: Outlook) -> dict[str, Any]:
    """Return the ``past``, ``pipeline`` and ``direction`` keys of `coach --json`."""
    past, pipeline = outlook.past, outlook.pipeline
    return {
        "past": {
            "quarter": quarter_name(past.range),
            "start": past.range.start.isoformat(),
            "end": past.range.end.isoformat(),
            "kpis": {
                r.kpi: {
                    "actual": _round(r.actual),
                    "goal": _round(r.goal),
                    "percent_of_goal": _round(r.percent_of_goal),
                    "rank": r.rank,
                    "of": r.of,
                }
                for r in past.results
            },
        },
        "pipeline": {
            "open_count": pipeline.open_count,
            "open_amount": _round(pipeline.open_amount),
            "expected_value": _round(pipeline.expected_value),
            "amount_without_rate": _round(pipeline.unweighted_amount),
            "rates_from": pipeline.bases,
            "method": expected_value_method(pipeline),
            "stages": [
                {
                    **asdict(s),
                    "open_amount": _round(s.open_amount),
                    "expected_value": _round(s.expected_value),
                    "win_rate": None if s.win_rate is None else round(s.win_rate, 4),
                }
                for s in pipeline.stages
            ],
        },
        "direction": {
            "weeks": [w.start.isoformat() for w in outlook.trend_weeks],
            "kpis": {
                t.kpi: {
                    "values": [_round(v) for v in t.values],
                    "slope_per_week": _round(t.slope_per_week),
                    "change": None if t.change is None else round(t.change, 3),
                    "direction": t.direction,
                    "arrow": t.arrow,
                }
                for t in outlook.direction
            },
        },
    }


def _round(value: float | None) -> float | int | None:
    if value is None:
        return None
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def _window_json(window: DateRange, working_days: float) -> dict[str, Any]:
    return {
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "working_days": working_days,
    }


def _shadow(result: Diagnosis, names: Mapping[int, RepProfile]) -> dict[str, Any] | None:
    if result.shadow is None:
        return None
    peer = names.get(result.shadow.rep_id)
    return {"name": result.shadow.name, "email": peer.email if peer else None,
            "value": round(result.shadow.value, 4)}  # fmt: skip


def _sum(funnels_: Sequence[RepFunnel]) -> dict[str, float]:
    out: dict[str, float] = {}
    for funnel in funnels_:
        for kpi, value in funnel.totals.items():
            out[kpi] = out.get(kpi, 0.0) + value
    return out


def _funnel(
    cards: Scorecards, rep: RepProfile, mine: Mapping[str, float], team: Mapping[str, float]
) -> dict[str, Any]:
    stages = cards.store.stages()
    paths = cards.store.opportunity_paths()
    team_rates_ = stage_win_rates(stages, paths)
    my_rates = {(r.pipeline, r.stage): r for r in stage_win_rates(stages, paths, rep_id=rep.id)}
    my_open = [p for p in paths if p.rep_id == rep.id]
    return {
        "rep": asdict(conversion(mine)),
        "team": asdict(conversion(team)),
        "stages": [
            {
                "pipeline": r.pipeline,
                "stage": r.stage,
                "team_win_rate": r.win_rate,
                "team_reached_closed": r.reached_closed,
                "rep_win_rate": my_rates[(r.pipeline, r.stage)].win_rate,
                "lift": r.lift(),
            }
            for r in team_rates_
        ],
        "open_pipeline": [asdict(s) for s in open_pipeline(stages, my_open, team_rates_)],
    }


def _prescription(
    cards: Scorecards,
    rep: RepProfile,
    mine: RepFunnel,
    theirs: Sequence[RepFunnel],
    as_of: date,
) -> Prescription:
    """Work the quarter's won-amount goal back through the team's conversion rates."""
    team = _sum([mine, *theirs])
    quarter = period_range(Period.QUARTER, as_of)
    target = cards.resolver.target("won_amount", subject_of(rep), quarter, Period.QUARTER)
    deal = team.get("won_amount", 0.0) / team["wins"] if team.get("wins") else None
    weeks = mine.working_days / WORKING_DAYS_PER_WEEK
    actual = {k: v / weeks for k, v in mine.totals.items()} if weeks > 0 else {}
    return prescribe(
        revenue_goal=target.total if target else 0.0,
        average_deal_size=deal,
        working_days=float(cards.rules.calendar.count(quarter)),
        rates=team_rates(team),
        actual_per_week=actual,
    )


def _plan_json(plan: Prescription) -> dict[str, Any]:
    data = asdict(plan)
    if not plan.revenue_goal:
        data["note"] = "no won_amount goal for the quarter: set one to get a weekly plan"
    return data


def _rhythm(cards: Scorecards, rep: RepProfile, as_of: date) -> dict[str, Any]:
    month = period_to_date(Period.MONTH, as_of)
    days = cards.rules.calendar.working_days(month)
    series = cards.store.daily([rep.id], month, kpis=["prospecting"]).get(rep.id, {})
    result = consistency(days, series.get("prospecting", {}))
    return {
        "kpi": "prospecting",
        "evenness": None if result.evenness is None else round(result.evenness, 1),
        "mean_per_day": round(result.mean, 2),
        "peaks": [d.isoformat() for d in result.peaks],
        "valleys": [d.isoformat() for d in result.valleys],
    }


def _ramp(
    cards: Scorecards, rep: RepProfile, as_of: date, rules: BriefRules
) -> list[dict[str, Any]] | None:
    """Compare a new hire's class with earlier hires at the same week since start.

    The class is every seller who started within ``class_days`` of the rep; earlier hires
    are those who started before the class, within the last two years (their first weeks
    must be in the snapshots to count).
    """
    start = rep.start_date
    if start is None or (as_of - start).days > rules.ramp_days or start > as_of:
        return None
    sellers = [r for r in cards.board_reps() if r.start_date is not None]
    cohort = [r for r in sellers if abs((r.start_date - start).days) <= rules.class_days]  # type: ignore[operator]
    first = min(r.start_date for r in cohort if r.start_date)
    earlier = [
        r for r in sellers if r.start_date and first - timedelta(days=730) <= r.start_date < first
    ]
    if rep not in cohort:
        cohort.append(rep)
    horizon = DateRange(min([first, *(r.start_date for r in earlier if r.start_date)]), as_of)
    ids = [r.id for r in [*cohort, *earlier]]
    series = cards.store.daily(ids, horizon, kpis=list(rules.ramp_kpis))

    def hires(group: Sequence[RepProfile], kpi: str) -> list[Hire]:
        return [
            Hire(r.id, r.name, r.start_date, series.get(r.id, {}).get(kpi, {}))
            for r in group
            if r.start_date
        ]

    def on_record(hire: Hire) -> bool:
        # Hires from before the snapshots began would count as zeros; keep those whose first
        # week is on record.
        return any(hire.start_date <= d < hire.start_date + timedelta(days=7) for d in hire.daily)

    reports = [
        ramp(kpi, hires(cohort, kpi), [h for h in hires(earlier, kpi) if on_record(h)], as_of)
        for kpi in rules.ramp_kpis
    ]
    return [
        {
            "kpi": r.kpi,
            "class_size": len(cohort),
            "earlier_hires": r.earlier_hires,
            "week": r.week,
            "class_value": r.class_value,
            "typical_value": r.typical_value,
            "weeks_ahead": None if r.weeks_ahead is None else round(r.weeks_ahead, 1),
            "message": r.message,
        }
        for r in reports
    ]
