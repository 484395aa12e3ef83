"""Gathering a team's signals for `/coach` with no argument, in bulk.

A manager with 50 reps costs a fixed handful of aggregate reads (period totals for the team,
diagnosis-window totals for every seller, open pipeline, follow-ups, and one daily series for
new hires and the earlier hires they are compared with), never one query per rep.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from domain.attention import FollowUpState, RampLag, RepSignals, TeamRow, attention_order
from domain.brief import FUNNEL_KPIS, BriefRules, peer_group, worked_days
from domain.calendar import Progress, WorkCalendar, previous_working_day
from domain.diagnosis import Diagnosis, RepFunnel, diagnose
from domain.kpis import KpiKind
from domain.outlook import median_or_none
from domain.pacing import Pace, Status
from domain.ports import CoachReads, RepProfile
from domain.ramp import Hire, ramp
from domain.scorecard import Scorecards
from domain.timeutil import DateRange, Period, period_range, period_to_date

MAIN_PERIOD = {KpiKind.LEADING: Period.WEEK, KpiKind.LAGGING: Period.MONTH}
EARLIER_HIRES_DAYS = 730
TEAM_REFUSAL = (
    "The team view of `/coach` is for managers and Pacesetter admins. For your own numbers "
    "use `/mystats` (or `/mystats month`), and `/leaderboard` to see where you stand."
)


@dataclass(frozen=True, slots=True)
class Glance:
    """The team at a glance: rows in attention order and the KPIs paced, with their period."""

    rows: list[TeamRow]
    as_of: date
    kpis: dict[str, str]


def main_kpis(cards: Scorecards) -> dict[str, Period]:
    """Return each KPI and the period it is paced over here: activity weekly, results monthly."""
    return {d.name: MAIN_PERIOD[d.kind] for d in cards.kpis.definitions}


def team_glance(
    cards: Scorecards,
    reads: CoachReads,
    team: Sequence[RepProfile],
    when: datetime,
    rules: BriefRules | None = None,
) -> Glance:
    """Return ``team``'s sellers sorted by who most needs attention, each with why."""
    rules = rules or BriefRules()
    sellers = cards.board_reps()
    roles = cards.rules.board_roles
    members = [r for r in team if r.role in roles]
    progress = {r.id: cards.progress(r, when) for r in members}
    kpis = main_kpis(cards)
    settled = {r.id: settled_progress(cards.rules.calendar, progress[r.id]) for r in members}
    paces = _paces(cards, members, settled, kpis)
    as_of = max((p.day for p in progress.values()), default=when.date())
    peers = {r.id: peer_group(cards, r, rules, sellers) for r in members}
    diagnoses = _diagnoses(cards, members, peers, progress, rules)
    pipeline = reads.open_pipeline(sorted({p.id for r in members for p in [r, *peers[r.id]]}))
    follow_ups = reads.follow_ups([r.id for r in members], as_of=as_of)
    lags = _ramp_lags(cards, members, sellers, progress, rules)
    signals = []
    for rep in members:
        peer_open = [pipeline[p.id].amount if p.id in pipeline else 0.0 for p in peers[rep.id]]
        mine = pipeline.get(rep.id)
        signals.append(
            RepSignals(
                rep.id,
                rep.name,
                paces[rep.id],
                {k: str(kpis[k]) for k in paces[rep.id]},
                diagnoses.get(rep.id),
                mine.amount if mine else 0.0,
                median_or_none(peer_open),
                follow_ups.get(rep.id, FollowUpState()),
                lags.get(rep.id),
                {
                    k: span_name(kpis[k], settled[rep.id].day, progress[rep.id].day)
                    for k in paces[rep.id]
                },
            )
        )
    labels = {d.name: d.label for d in cards.kpis.definitions}
    return Glance(attention_order(signals, labels), as_of, {k: str(p) for k, p in kpis.items()})


def settled_progress(calendar: WorkCalendar, progress: Progress) -> Progress:
    """Return the end of the last finished working day: a manager judges whole days.

    At 9 a.m. on a Monday nobody has done this week's work yet, so pacing the day in progress
    would put the whole team "behind"; the glance paces to yesterday evening instead (on a
    Monday that is last week, said so in the reason).
    """
    if progress.day_fraction >= 1.0:
        return progress
    before = previous_working_day(calendar, progress.day)
    return Progress.end_of(before) if before is not None else progress


def span_name(period: Period, paced_day: date, today: date) -> str:
    """Say which period a pace covers: "this week", or "last week" when paced to last week."""
    same = period_range(period, paced_day) == period_range(period, today)
    return f"{'this' if same else 'last'} {period}"


def _paces(
    cards: Scorecards,
    members: Sequence[RepProfile],
    progress: Mapping[int, Progress],
    kpis: Mapping[str, Period],
) -> dict[int, dict[str, Pace]]:
    """Pace each member on the KPIs that have a goal, from one totals read per period and day."""
    by_day: dict[date, list[RepProfile]] = defaultdict(list)
    for rep in members:
        by_day[progress[rep.id].day].append(rep)
    periods = sorted(set(kpis.values()))
    out: dict[int, dict[str, Pace]] = {}
    for day, reps in by_day.items():
        ids = [r.id for r in reps]
        sums = {p: cards.store.totals(period_to_date(p, day), rep_ids=ids) for p in periods}
        for rep in reps:
            lines: dict[str, Pace] = {}
            for period in periods:
                names = [k for k, p in kpis.items() if p is period]
                totals = sums[period].get(rep.id, {})
                _, _, paced = cards.paces(rep, period, progress[rep.id], totals, names)
                lines.update({k: v for k, v in paced.items() if v.status is not Status.NO_GOAL})
            out[rep.id] = {k: lines[k] for k in kpis if k in lines}
    return out


def _diagnoses(
    cards: Scorecards,
    members: Sequence[RepProfile],
    peers: Mapping[int, Sequence[RepProfile]],
    progress: Mapping[int, Progress],
    rules: BriefRules,
) -> dict[int, Diagnosis]:
    """Diagnose each member against their peers, from one window-totals read per day.

    Only the members and their peers are summed, and the working days of a window are
    counted once per distinct start date (most reps share the window's first day).
    """
    out: dict[int, Diagnosis] = {}
    by_day: dict[date, list[RepProfile]] = defaultdict(list)
    for rep in members:
        by_day[progress[rep.id].day].append(rep)
    for day, reps in by_day.items():
        window = DateRange(day - timedelta(days=rules.window_days - 1), day)
        needed = {r.id: r for r in reps} | {p.id: p for r in reps for p in peers[r.id]}
        totals = cards.store.totals(window, kpis=list(FUNNEL_KPIS), rep_ids=sorted(needed))
        days: dict[date, float] = {}
        funnel = {}
        for rep_id, rep in needed.items():
            start = max(window.start, rep.start_date) if rep.start_date else window.start
            if start not in days:
                days[start] = worked_days(cards, rep, window)
            funnel[rep_id] = RepFunnel(rep_id, rep.name, totals.get(rep_id, {}), days[start])
        for rep in reps:
            theirs = [funnel[p.id] for p in peers[rep.id]]
            out[rep.id] = diagnose(funnel[rep.id], theirs, rules.diagnosis)
    return out


def _ramp_lags(
    cards: Scorecards,
    members: Sequence[RepProfile],
    sellers: Sequence[RepProfile],
    progress: Mapping[int, Progress],
    rules: BriefRules,
) -> dict[int, RampLag]:
    """Return each new hire's worst lag behind earlier hires' typical ramp (one daily read)."""
    hires = [
        r
        for r in members
        if r.start_date is not None
        and 0 <= (progress[r.id].day - r.start_date).days <= rules.ramp_days
    ]
    if not hires:
        return {}
    first = min(r.start_date for r in hires if r.start_date)
    earlier = [
        r
        for r in sellers
        if r.start_date and first - timedelta(days=EARLIER_HIRES_DAYS) <= r.start_date
    ]
    as_of = max(progress[r.id].day for r in hires)
    start = min(r.start_date for r in earlier + hires if r.start_date)
    ids = sorted({r.id for r in [*hires, *earlier]})
    series = cards.store.daily(ids, DateRange(start, as_of), kpis=list(rules.ramp_kpis))
    out: dict[int, RampLag] = {}
    for rep in hires:
        assert rep.start_date is not None
        worst: RampLag | None = None
        for kpi in rules.ramp_kpis:
            mine = Hire(rep.id, rep.name, rep.start_date, series.get(rep.id, {}).get(kpi, {}))
            before = [
                Hire(r.id, r.name, r.start_date, series.get(r.id, {}).get(kpi, {}))
                for r in earlier
                if r.start_date and r.start_date < rep.start_date - timedelta(days=rules.class_days)
            ]
            on_record = [h for h in before if _on_record(h)]
            report = ramp(kpi, [mine], on_record, progress[rep.id].day)
            if report.weeks_ahead is not None and report.weeks_ahead < 0:
                lag = RampLag(kpi, -report.weeks_ahead)
                if worst is None or lag.weeks_behind > worst.weeks_behind:
                    worst = lag
        if worst is not None:
            out[rep.id] = worst
    return out


def _on_record(hire: Hire) -> bool:
    """Keep earlier hires whose first week is in the snapshots (else they count as zeros)."""
    return any(hire.start_date <= d < hire.start_date + timedelta(days=7) for d in hire.daily)


def glance_json(glance: Glance) -> dict[str, Any]:
    """Return the team glance as `pacesetter coach --team --json` prints it."""
    return {
        "as_of": glance.as_of.isoformat(),
        "paced_to": "the end of each rep's last finished working day",
        "kpi_periods": glance.kpis,
        "reps": [
            {
                "rank": n,
                "rep_id": row.signals.rep_id,
                "name": row.signals.name,
                "attention": round(row.attention, 3),
                "why": row.why,
                "reasons": [
                    {"kind": r.kind, "points": round(r.points, 3), "text": r.text}
                    for r in row.reasons
                ],
                "weak_step": row.signals.diagnosis.weak_step if row.signals.diagnosis else None,
                "problem": row.signals.diagnosis.problem if row.signals.diagnosis else None,
                "pace": {
                    kpi: {
                        "actual": round(p.actual, 2),
                        "expected_to_date": None
                        if p.expected_to_date is None
                        else round(p.expected_to_date, 2),
                        "goal": p.goal,
                        "status": str(p.status),
                        "period": row.signals.period_of.get(kpi),
                        "span": row.signals.span_of.get(kpi),
                    }
                    for kpi, p in row.signals.paces.items()
                },
                "open_pipeline_amount": round(row.signals.open_amount, 2),
                "overdue_follow_ups": row.signals.follow_ups.overdue,
            }
            for n, row in enumerate(glance.rows, start=1)
        ],
    }
