"""What nudges and digests say, from the scorecard domain (goals, pacing, streaks, diagnosis).

No pacing math lives here: the previous working day against goal and the week's pace come
from ``domain.scorecard.Scorecards``; the suggestion comes from ``domain.diagnosis``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from domain.calendar import previous_working_day
from domain.diagnosis import Diagnosis, RepFunnel, diagnose
from domain.funnel import OpportunityPath, StageInfo
from domain.nudges import DueNudge, KpiResult, NudgeContent, NudgeKind
from domain.pacing import Status
from domain.ports import ManagerTarget, MetricsStore, NudgeStore, NudgeTarget, RepProfile
from domain.scorecard import RankCache, Scorecard, Scorecards
from domain.timeutil import DateRange, Period, local_day, period_range, zone
from jobs.messages import DigestContent, TeamKpi

DIAGNOSIS_WINDOW_DAYS = 28
DAILY_MARGIN = timedelta(days=8)
# A scorecard reads its period with its streaks, so a week card of a Monday reads to Sunday.
DAILY_AHEAD = timedelta(days=14)
TeamFunnels = tuple[list[RepFunnel], dict[int, RepFunnel], dict[str, list[RepFunnel]]]
SUGGESTIONS = {
    "prospecting": "Block your first hour for prospecting before anything else: volume is "
    "the step that most holds your results back.",
    "conversations": "Call in the windows people pick up (8–10 am and 4–6 pm their time): "
    "connecting is the step that most holds your results back.",
    "meaningful_conversations": "Aim today's calls at directors and VPs and plan a "
    "5-minute opener: senior conversations are the step that most holds your results back.",
    "opportunities_created": "End each good conversation by booking a concrete next "
    "meeting: turning conversations into opportunities is your weakest step.",
    "wins": "Pick your two most advanced deals and agree a close plan with each buyer "
    "today: closing is the step that most holds your results back.",
}


class ChunkMetrics:
    """A MetricsStore that answers a known set of reps' reads from one query per date range.

    A nudge builds two scorecards per rep, each reading several period totals and the daily
    series for streaks; reps due in the same tick share their ranges, so the queries are made
    once for the whole chunk and sliced per rep here.
    """

    def __init__(self, inner: MetricsStore, rep_ids: Sequence[int]) -> None:
        self.inner = inner
        self.rep_ids = sorted(set(rep_ids))
        self._ids = frozenset(self.rep_ids)
        self._totals: dict[tuple[date, date], dict[int, dict[str, float]]] = {}
        self._daily: dict[tuple[date, date], dict[int, dict[str, dict[date, float]]]] = {}
        self._reps: dict[bool, list[RepProfile]] = {}
        self._as_of: list[datetime | None] = []

    def _covers(self, rep_ids: Sequence[int] | None, kpis: Sequence[str] | None) -> bool:
        return rep_ids is not None and kpis is None and self._ids.issuperset(rep_ids)

    def reps(self, *, active_only: bool = True) -> list[RepProfile]:
        """Return the reps (read once)."""
        if active_only not in self._reps:
            self._reps[active_only] = self.inner.reps(active_only=active_only)
        return self._reps[active_only]

    def rep_by_email(self, email: str) -> RepProfile | None:
        """Return the rep with ``email``."""
        return self.inner.rep_by_email(email)

    def totals(
        self,
        rng: DateRange,
        *,
        kpis: Sequence[str] | None = None,
        rep_ids: Sequence[int] | None = None,
    ) -> dict[int, dict[str, float]]:
        """Return rep -> kpi -> sum over ``rng``, from the chunk's cached query when it can."""
        if not self._covers(rep_ids, kpis):
            return self.inner.totals(rng, kpis=kpis, rep_ids=rep_ids)
        key = (rng.start, rng.end)
        if key not in self._totals:
            self._totals[key] = self.inner.totals(rng, rep_ids=self.rep_ids)
        cached = self._totals[key]
        return {r: dict(cached[r]) for r in rep_ids or () if r in cached}

    def daily(
        self, rep_ids: Sequence[int], rng: DateRange, *, kpis: Sequence[str] | None = None
    ) -> dict[int, dict[str, dict[date, float]]]:
        """Return rep -> kpi -> day -> value, from the chunk's cached query when it can."""
        if not self._covers(rep_ids, kpis):
            return self.inner.daily(rep_ids, rng, kpis=kpis)
        # A nudge reads two streak windows a day or a week apart (each with its period, up to
        # a week ahead): read one wider than asked and slice both from it, rather than 92
        # days of the chunk twice.
        key = next(((s, e) for s, e in self._daily if s <= rng.start and rng.end <= e), None)
        if key is None:
            key = (rng.start - DAILY_MARGIN, rng.end + DAILY_AHEAD)
            self._daily[key] = self.inner.daily(self.rep_ids, DateRange(*key))
        cached = self._daily[key]
        if key == (rng.start, rng.end):
            return {r: cached[r] for r in rep_ids if r in cached}
        out: dict[int, dict[str, dict[date, float]]] = {}
        for r in rep_ids:
            if r not in cached:
                continue
            series = {
                kpi: {d: v for d, v in values.items() if rng.start <= d <= rng.end}
                for kpi, values in cached[r].items()
            }
            if any(series.values()):
                out[r] = {kpi: values for kpi, values in series.items() if values}
        return out

    def stages(self) -> list[StageInfo]:
        """Return every pipeline stage."""
        return self.inner.stages()

    def opportunity_paths(self) -> list[OpportunityPath]:
        """Return each live opportunity's path."""
        return self.inner.opportunity_paths()

    def data_as_of(self) -> datetime | None:
        """Return when the last successful sync finished (read once per chunk)."""
        if not self._as_of:
            self._as_of.append(self.inner.data_as_of())
        return self._as_of[0]


class ScorecardWriter:
    """Implements jobs.runner.ContentWriter over a Scorecards service on one session."""

    def __init__(
        self,
        cards: Callable[[MetricsStore], Scorecards],
        metrics: MetricsStore,
        store: NudgeStore,
        *,
        shared: RankCache | None = None,
        version: object | None = None,
    ) -> None:
        """``shared`` (with the data ``version``) lets chunks of a run share team funnels."""
        self.cards = cards
        self.scorecards = cards(metrics)
        self.metrics = metrics
        self.store = store
        self._reps: dict[int, RepProfile] | None = None
        self.shared, self.version = shared, version
        self._funnels: dict[date, TeamFunnels] = {}

    def prepare(self, rep_ids: Sequence[int]) -> None:
        """Read the metrics of ``rep_ids`` in bulk for the nudges about to be written."""
        self.scorecards = self.cards(ChunkMetrics(self.metrics, rep_ids))

    # nudges --------------------------------------------------------------------------------

    def nudge(
        self, target: NudgeTarget, due: DueNudge, *, now: datetime, has_history: bool
    ) -> NudgeContent:
        """Return a rep's nudge: previous working day vs goal, today's pace target, streak."""
        if not has_history:
            return NudgeContent(target.rep_id, target.name, due.local_date, due.kind, welcome=True)
        rep = self._rep(target)
        calendar = self.scorecards.rules.calendar
        previous = previous_working_day(calendar, due.local_date)
        if due.kind is NudgeKind.WEEKLY:
            last_week_end = period_range(Period.WEEK, due.local_date).start - timedelta(days=1)
            looked_back: Scorecard | None = self.scorecards.scorecard(
                rep, Period.WEEK, last_week_end, with_ranks=False
            )
        else:
            looked_back = (
                self.scorecards.scorecard(rep, Period.DAY, previous, with_ranks=False)
                if previous is not None
                else None
            )
        week = self.scorecards.scorecard(rep, Period.WEEK, now, with_ranks=False)
        results = []
        for name, line in week.lines.items():
            back = looked_back.lines.get(name) if looked_back else None
            if line.pace.goal is None and (back is None or back.pace.goal is None):
                continue
            results.append(
                KpiResult(
                    kpi=name,
                    label=line.label,
                    actual=back.pace.actual if back else 0.0,
                    goal=back.pace.goal if back else None,
                    needed_today=line.pace.needed_per_day,
                    status=str(line.pace.status),
                    streak=line.streak,
                )
            )
        best = max(results, key=lambda r: r.streak or 0, default=None)
        return NudgeContent(
            rep_id=target.rep_id,
            rep_name=target.name,
            local_date=due.local_date,
            kind=due.kind,
            previous_day=previous,
            results=tuple(results),
            streak=best.streak if best and best.streak else None,
            suggestion=self._suggestion(rep, due.local_date, results),
        )

    def _suggestion(self, rep: RepProfile, day: date, results: list[KpiResult]) -> str | None:
        diagnosis = self.diagnosis(rep, day)
        if diagnosis is not None and diagnosis.weak_step in SUGGESTIONS:
            text = SUGGESTIONS[diagnosis.weak_step]
            if diagnosis.shadow is not None and diagnosis.shadow.rep_id != rep.id:
                text += f" Ask {diagnosis.shadow.name}, the strongest on the team at it, how."
            return text
        behind = [r for r in results if r.status == Status.BEHIND and r.needed_today]
        if behind:
            first = behind[0]
            return f"Start with {first.label.lower()}: the rest of your week builds on it."
        return None

    def diagnosis(self, rep: RepProfile, day: date) -> Diagnosis | None:
        """Diagnose ``rep`` against the team over the four weeks before ``day``."""
        funnels, by_rep, by_team = self._team_funnels(day)
        mine = by_rep.get(rep.id)
        if mine is None:
            return None
        peers = funnels if rep.team is None else by_team.get(rep.team, [])
        return diagnose(mine, peers if len(peers) > 2 else funnels)

    def _team_funnels(self, day: date) -> TeamFunnels:
        """Return every rep's funnel over the window before ``day``, by rep and by team.

        The same for every chunk of a run on the same data: shared through ``shared`` when
        the writer has one (keyed by the data version), else kept for this writer.
        """
        if day not in self._funnels:
            key = ("team_funnels", self.version, day)
            if self.shared is not None and self.version is not None:
                self._funnels[day] = self.shared.shared(key, lambda: self._build_funnels(day))
            else:
                self._funnels[day] = self._build_funnels(day)
        return self._funnels[day]

    def _build_funnels(self, day: date) -> TeamFunnels:
        window = DateRange(day - timedelta(days=DIAGNOSIS_WINDOW_DAYS), day - timedelta(days=1))
        reps = self._rep_map()
        totals = self.metrics.totals(window, rep_ids=list(reps))
        days = float(self.scorecards.rules.calendar.count(window))
        funnels = [
            RepFunnel(rep_id, r.name, totals.get(rep_id, {}), days)
            for rep_id, r in reps.items()
            if r.role == "rep"
        ]
        by_team: dict[str, list[RepFunnel]] = {}
        for funnel in funnels:
            team = reps[funnel.rep_id].team
            if team is not None:
                by_team.setdefault(team, []).append(funnel)
        return funnels, {f.rep_id: f for f in funnels}, by_team

    def _rep_map(self) -> dict[int, RepProfile]:
        """Return every active rep by id: read once per run (per data version when shared),
        not once per chunk of nudges."""
        if self._reps is None:
            if self.shared is not None and self.version is not None:
                self._reps = self.shared.shared(
                    ("rep_map", self.version), lambda: {r.id: r for r in self.metrics.reps()}
                )
            else:
                self._reps = {r.id: r for r in self.metrics.reps()}
        return self._reps

    def _rep(self, target: NudgeTarget) -> RepProfile:
        return self._rep_map().get(target.rep_id) or RepProfile(
            id=target.rep_id,
            email=target.email,
            name=target.name,
            team=target.team,
            manager_id=target.manager_id,
            timezone=target.timezone,
        )

    # digests -------------------------------------------------------------------------------

    def digest(self, manager: ManagerTarget, *, now: datetime) -> DigestContent:
        """Return a manager's digest: the week up to the last working day, and follow-ups."""
        tz = zone(manager.timezone, self.scorecards.rules.org_timezone)
        today = local_day(now, tz)
        calendar = self.scorecards.rules.calendar
        as_of = previous_working_day(calendar, today) or today - timedelta(days=1)
        week = period_range(Period.WEEK, as_of)
        reps = [r for i in manager.report_ids if (r := self._rep_map().get(i)) is not None]
        totals = self.metrics.totals(DateRange(week.start, as_of), rep_ids=[r.id for r in reps])
        sums: dict[str, list[float]] = {}
        behind: dict[str, list[str]] = {}
        labels: dict[str, str] = {}
        has_goal: set[str] = set()
        for rep in reps:
            _, _, paces = self.scorecards.paces(
                rep, Period.WEEK, self.scorecards.progress(rep, as_of), totals.get(rep.id, {})
            )
            for name, pace in paces.items():
                acc = sums.setdefault(name, [0.0, 0.0, 0.0])
                acc[0] += pace.actual
                acc[1] += pace.expected_to_date or 0.0
                acc[2] += pace.goal or 0.0
                if pace.goal is not None:
                    has_goal.add(name)
                if pace.status is Status.BEHIND:
                    behind.setdefault(name, []).append(rep.name)
        for name in sums:
            labels[name] = self.scorecards.kpis.get(name).label
        kpis = tuple(
            TeamKpi(
                kpi=name,
                label=labels[name],
                actual=acc[0],
                expected=acc[1] if name in has_goal else None,
                goal=acc[2] if name in has_goal else None,
                behind=tuple(sorted(behind.get(name, []))),
            )
            for name, acc in sums.items()
        )
        follow_ups = self.store.follow_ups_due(
            manager.rep_id, until=period_range(Period.WEEK, today).end
        )
        return DigestContent(
            manager_name=manager.name,
            week_start=week.start,
            as_of=as_of,
            team_size=len(reps),
            kpis=kpis,
            follow_ups=tuple(follow_ups),
        )
