"""The scorecard: per KPI actual, goal, expected-to-date, status, need per day, rank, streak
and trend for one rep and period, with the activity and results scores; and leaderboards.

This is the application service over the ``MetricsStore`` port: storage sums the snapshots
in SQL, and everything here is arithmetic on those sums. Time comes in as an argument: an
instant (live, paced by the share of today's working hours passed in the rep's zone) or a
date (``--as-of``: that day counts as complete).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from threading import Lock
from typing import TypeVar, cast

from domain.calendar import Elapsed, Progress, WorkCalendar, elapsed
from domain.consistency import streak
from domain.goals import Goal, GoalSubject, Target, TargetResolver
from domain.kpis import KpiCatalog, KpiKind
from domain.leaderboard import RankBy, Ranked, Standing, competition_ranks, rank
from domain.pacing import DEFAULT_BAND, Pace, expected_to_date, pace, percent
from domain.ports import MetricsStore, RepProfile
from domain.scoring import (
    DEFAULT_CAP,
    CompositeScore,
    blend,
    blended_value,
    composite,
    composite_value,
)
from domain.timeutil import DateRange, Period, period_range, period_to_date, zone

ACTIVITY_SCORE = "activity_score"
RESULTS_SCORE = "results_score"
STREAK_LOOKBACK_DAYS = 92


@dataclass(frozen=True, slots=True)
class ScorecardRules:
    """The knobs of pacing and scoring, as plain values (built from the YAML config)."""

    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    org_timezone: str = "UTC"
    band: float = DEFAULT_BAND
    cap: float = DEFAULT_CAP
    activity_weights: Mapping[str, float] | None = None
    results_weights: Mapping[str, float] | None = None
    board_roles: frozenset[str] = frozenset({"rep"})

    def weights(self, kpis: KpiCatalog, kind: KpiKind) -> Mapping[str, float]:
        """Return the configured weights of ``kind``, or weight 1 for each KPI of that kind."""
        configured = self.activity_weights if kind is KpiKind.LEADING else self.results_weights
        if configured is not None:
            return configured
        return {d.name: 1.0 for d in kpis.definitions if d.kind is kind}


@dataclass(frozen=True, slots=True)
class KpiLine:
    """One KPI on a scorecard."""

    kpi: str
    label: str
    pace: Pace
    rank: int | None = None
    streak: int | None = None
    previous: float | None = None


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A rep's scorecard for a period, as of a moment."""

    rep: RepProfile
    period: Period
    range: DateRange
    as_of: date
    time: Elapsed
    lines: dict[str, KpiLine]
    activity: CompositeScore
    results: CompositeScore
    ranks: dict[str, int | None] = field(default_factory=dict)
    ranked_reps: int = 0
    rank_by: RankBy = RankBy.PERCENT
    count_ranked: frozenset[str] = frozenset()
    data_as_of: datetime | None = None
    # The rep's KPI -> day -> value over ``range`` (days without data absent), read with the
    # streaks' window so a trend chart of the card needs no read of its own.
    daily: dict[str, dict[date, float]] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, object]:
        """Return DESIGN.md's `pacesetter stats --json` shape (extra keys only added)."""
        return {
            "rep": self.rep.email,
            "name": self.rep.name,
            "period": {
                "name": str(self.period),
                "start": self.range.start.isoformat(),
                "end": self.range.end.isoformat(),
                "as_of": self.as_of.isoformat(),
                "working_days": self.time.total,
                "elapsed_working_days": round(self.time.elapsed, 2),
                "remaining_working_days": self.time.remaining_days,
            },
            "kpis": {name: _line_json(line) for name, line in self.lines.items()},
            "rank": {
                name: {"position": position, "of": self.ranked_reps, "by": self._rank_by(name)}
                for name, position in self.ranks.items()
            },
            "scores": {
                ACTIVITY_SCORE: _score_json(self.activity),
                RESULTS_SCORE: _score_json(self.results),
            },
            "data_as_of": self.data_as_of.isoformat() if self.data_as_of else None,
        }

    def _rank_by(self, name: str) -> str:
        if name in (ACTIVITY_SCORE, RESULTS_SCORE):
            return "score"
        return str(RankBy.COUNT) if name in self.count_ranked else str(self.rank_by)


def _num(value: float | None) -> float | int | None:
    if value is None:
        return None
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def _line_json(line: KpiLine) -> dict[str, object]:
    p = line.pace
    return {
        "actual": _num(p.actual),
        "goal": _num(p.goal),
        "expected_to_date": _num(p.expected_to_date),
        "status": str(p.status),
        "needed_per_day": _num(p.needed_per_day),
        "percent_of_goal": _num(p.percent_of_goal),
        "rank": line.rank,
        "streak": line.streak,
        "previous_period_to_date": _num(line.previous),
    }


def _score_json(score: CompositeScore) -> dict[str, object]:
    return {
        "value": _num(score.value),
        "parts": {p.kpi: {"percent": _num(p.percent), "weight": p.weight} for p in score.parts},
        "explain": score.explain(),
    }


def subject_of(rep: RepProfile) -> GoalSubject:
    """Return the goal subject of ``rep``."""
    return GoalSubject(rep.email, rep.team, rep.start_date)


SCORE_PERIODS = {
    KpiKind.LEADING: (Period.DAY, Period.WEEK),
    KpiKind.LAGGING: (Period.MONTH, Period.QUARTER),
}


RankKey = tuple[object, DateRange, date, RankBy, bool]
T = TypeVar("T")


def streak_window(progress: Progress) -> DateRange:
    """Return the days a streak is counted over, up to ``progress``'s day."""
    return DateRange(progress.day - timedelta(days=STREAK_LOOKBACK_DAYS), progress.day)


def span(ranges: Sequence[DateRange]) -> DateRange:
    """Return the smallest range holding every one of ``ranges``."""
    return DateRange(min(r.start for r in ranges), max(r.end for r in ranges))


class SeriesSums:
    """Sums of a rep's KPI -> day -> value series over ranges, as ``MetricsStore.totals`` does.

    A KPI without a value in a range is left out; one with only zeros is there as 0.0. Days
    are added in date order, the order the database sums a rep's rows in. The days are
    sorted once, so each range costs two bisections and the sum of its own values.
    """

    def __init__(self, series: Mapping[str, Mapping[date, float]]) -> None:
        self._columns: dict[str, tuple[list[date], list[float]]] = {}
        for kpi, values in series.items():
            days = sorted(values)
            self._columns[kpi] = (days, [values[d] for d in days])

    def over(self, rng: DateRange) -> dict[str, float]:
        """Return KPI -> sum of the values within ``rng``."""
        out: dict[str, float] = {}
        for kpi, (days, values) in self._columns.items():
            first, last = bisect_left(days, rng.start), bisect_right(days, rng.end)
            if first < last:
                out[kpi] = float(sum(values[first:last]))
        return out


def slice_series(
    series: Mapping[str, Mapping[date, float]], rng: DateRange
) -> dict[str, dict[date, float]]:
    """Return the part of a KPI -> day -> value series within ``rng`` (empty KPIs dropped)."""
    days = rng.days()
    sliced = {kpi: {d: values[d] for d in days if d in values} for kpi, values in series.items()}
    return {kpi: values for kpi, values in sliced.items() if values}


@dataclass(frozen=True, slots=True)
class RankTable:
    """Every board rep's rank on every KPI (and score) for one period and day."""

    ranks: dict[str, dict[int, int | None]]
    ranked_reps: int
    by_count: frozenset[str]


class RankCache:
    """Rank tables shared between requests while the data they came from is unchanged.

    Ranking a rep sums and ranks every rep on every KPI; a bot answering /mystats would do
    that for each command. Keys carry the store's data version (moved by every write to
    snapshots, reps or goals), so a table is only reused for exactly the same inputs.
    """

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._tables: OrderedDict[RankKey, RankTable] = OrderedDict()
        self._shared: OrderedDict[tuple[object, ...], object] = OrderedDict()
        self._lock = Lock()

    def resolver(
        self, version: object, goals: tuple[Goal, ...], calendar: WorkCalendar
    ) -> TargetResolver:
        """Return one target resolver (and its memo) for every request on the same data."""
        return self.shared(
            ("resolver", version, goals, calendar), lambda: TargetResolver(goals, calendar)
        )

    def shared(self, key: tuple[object, ...], build: Callable[[], T]) -> T:
        """Return the value kept under ``key`` (which must carry the data version), or build it."""
        with self._lock:
            if key in self._shared:
                self._shared.move_to_end(key)
                return cast(T, self._shared[key])
        value = build()
        with self._lock:
            self._shared[key] = value
            while len(self._shared) > self.size:
                self._shared.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every table and shared value (what a new data version does to them)."""
        with self._lock:
            self._tables.clear()
            self._shared.clear()

    def __len__(self) -> int:
        """Return how many rank tables are kept."""
        with self._lock:
            return len(self._tables)

    def get(self, key: RankKey) -> RankTable | None:
        """Return the table for ``key``, if computed while the data was the same."""
        with self._lock:
            table = self._tables.get(key)
            if table is not None:
                self._tables.move_to_end(key)
            return table

    def put(self, key: RankKey, table: RankTable) -> None:
        """Keep ``table`` under ``key``, forgetting the least recently used beyond ``size``."""
        with self._lock:
            self._tables[key] = table
            self._tables.move_to_end(key)
            while len(self._tables) > self.size:
                self._tables.popitem(last=False)


class Scorecards:
    """Scorecards and leaderboards over a metrics store, goals, KPI catalog and rules."""

    def __init__(
        self,
        store: MetricsStore,
        goals: Sequence[Goal],
        kpis: KpiCatalog | None = None,
        rules: ScorecardRules | None = None,
        *,
        rank_cache: RankCache | None = None,
        data_version: object | None = None,
    ) -> None:
        """``rank_cache`` is used only with a ``data_version`` (see ``RankCache``)."""
        self.store = store
        self.rank_cache = rank_cache if data_version is not None else None
        self.data_version = data_version
        self.kpis = kpis or KpiCatalog()
        self.rules = rules or ScorecardRules()
        self.goals = tuple(goals)
        if self.rank_cache is not None:
            self.resolver = self.rank_cache.resolver(data_version, self.goals, self.rules.calendar)
        else:
            self.resolver = TargetResolver(goals, self.rules.calendar)
        # Reps share periods and (mostly) targets: compute elapsed time and expected-to-date
        # once per distinct (period, moment) and (target, period, moment), not once per rep.
        self._elapsed: dict[tuple[DateRange, Progress], Elapsed] = {}
        self._expected: dict[tuple[int, DateRange, Progress], float] = {}
        self._days: dict[DateRange, list[date]] = {}

    def resolver_goals(self) -> list[Goal]:
        """Return the goals this service resolves against."""
        return list(self.goals)

    def progress(self, rep: RepProfile, when: datetime | date) -> Progress:
        """Return where ``rep`` stands in time at ``when`` (their zone, their working hours)."""
        if isinstance(when, datetime):
            tz = zone(rep.timezone, self.rules.org_timezone)
            return Progress.at(when, tz, self.rules.calendar)
        return Progress.end_of(when)

    def paces(
        self,
        rep: RepProfile,
        period: Period,
        progress: Progress,
        totals: Mapping[str, float],
        names: Sequence[str] | None = None,
    ) -> tuple[DateRange, Elapsed, dict[str, Pace]]:
        """Pace every KPI (or those in ``names``) of ``rep`` over ``period`` from ``totals``."""
        rng = period_range(period, progress.day)
        key = (rng, progress)
        time = self._elapsed.get(key)
        if time is None:
            time = self._elapsed[key] = elapsed(self.rules.calendar, rng, progress)
        subject = subject_of(rep)
        result = {}
        for name in self.kpis.names() if names is None else names:
            target = self.resolver.target(name, subject, rng, period)
            expected = self._expected_of(target, rng, progress, time)
            result[name] = pace(
                totals.get(name, 0.0), target, time, band=self.rules.band, expected=expected
            )
        return rng, time, result

    def _expected_of(
        self, target: Target | None, rng: DateRange, progress: Progress, time: Elapsed
    ) -> float | None:
        if target is None:
            return None
        key = (id(target), rng, progress)
        if key not in self._expected:
            self._expected[key] = expected_to_date(target, time)
        return self._expected[key]

    def scores(
        self, rep: RepProfile, progress: Progress, totals: Mapping[Period, Mapping[str, float]]
    ) -> tuple[CompositeScore, CompositeScore]:
        """Return the activity and results scores from per-period to-date totals."""
        out: list[CompositeScore] = []
        for kind in (KpiKind.LEADING, KpiKind.LAGGING):
            weights = self.rules.weights(self.kpis, kind)
            per_period = [
                composite(
                    self.paces(rep, p, progress, totals.get(p, {}), list(weights))[2],
                    weights,
                    cap=self.rules.cap,
                )
                for p in SCORE_PERIODS[kind]
            ]
            out.append(blend(per_period))
        return out[0], out[1]

    def board_reps(self, team: str | None = None) -> list[RepProfile]:
        """Return the reps who appear on boards (by role), optionally of one team."""
        return [
            r
            for r in self._active_reps()
            if r.role in self.rules.board_roles
            and (team is None or (r.team or "").casefold() == team.casefold())
        ]

    def _active_reps(self) -> Sequence[RepProfile]:
        """Return the active reps; read once per data version when requests share a cache.

        Every board and rank table starts from all reps (11,000 rows at L, a third of a
        board's time); writes to reps move the version, so the list is never stale.
        """
        if self.rank_cache is None:
            return self.store.reps()
        return self.rank_cache.shared(("reps", self.data_version), lambda: tuple(self.store.reps()))

    def _period_totals(
        self, period: Period, as_of: date, kpis: Sequence[str] | None = None
    ) -> dict[int, dict[str, float]]:
        # Boards cover (nearly) everyone: one GROUP BY over all reps beats IN-lists of ids.
        return self.store.totals(period_to_date(period, as_of), kpis=kpis)

    def leaderboard(
        self,
        metric: str,
        period: Period,
        as_of: date,
        *,
        by: RankBy = RankBy.PERCENT,
        team: str | None = None,
        reps: Sequence[RepProfile] | None = None,
        totals: Mapping[int, Mapping[str, float]] | None = None,
    ) -> list[Ranked]:
        """Rank reps on a KPI (percent of the whole period's goal, or raw) or on a score.

        Scores rank by their value whatever ``by`` says: they are already relative to goals.
        """
        reps = list(reps) if reps is not None else self.board_reps(team)
        if metric in (ACTIVITY_SCORE, RESULTS_SCORE):
            return self._score_board(metric, as_of, reps)
        self.kpis.get(metric)
        rng = period_range(period, as_of)
        sums = totals if totals is not None else self._period_totals(period, as_of, [metric])
        standings = []
        for rep in reps:
            target = self.resolver.target(metric, subject_of(rep), rng, period)
            standings.append(
                Standing(
                    rep.id,
                    rep.name,
                    sums.get(rep.id, {}).get(metric, 0.0),
                    target.total if target else None,
                    rep.public_opt_out,
                    rep.manager_id,
                )
            )
        return rank(standings, by)

    def _score_board(self, metric: str, as_of: date, reps: Sequence[RepProfile]) -> list[Ranked]:
        kind = KpiKind.LEADING if metric == ACTIVITY_SCORE else KpiKind.LAGGING
        periods = SCORE_PERIODS[kind]
        weights = self.rules.weights(self.kpis, kind)
        names = [n for n in weights if n in set(self.kpis.names())]
        sums = {p: self._period_totals(p, as_of, names) for p in periods}
        progress = Progress.end_of(as_of)
        # The score needs each KPI's percent of expected-to-date. Reps with the same goals
        # (the resolver's signature) share every expected figure: work those out once per
        # group and period, then it is a division per rep and KPI (what ``paces`` and
        # ``composite`` would compute, without building a Pace per rep, KPI and period).
        expected_by: dict[tuple[object, Period], dict[str, float | None]] = {}
        standings = []
        for rep in reps:
            subject = subject_of(rep)
            signature = self.resolver.signature(subject)
            values: list[float | None] = []
            for p in periods:
                expected = expected_by.get((signature, p))
                if expected is None:
                    expected = expected_by[(signature, p)] = self._expected_all(
                        subject, p, progress, names
                    )
                actuals = sums[p].get(rep.id, {})
                percents = {n: percent(actuals.get(n, 0.0), expected[n]) for n in names}
                values.append(composite_value(percents, weights, cap=self.rules.cap))
            value = blended_value(values)
            # A score is already a percent of pace; rank it as the actual against a goal of 100.
            standings.append(
                Standing(
                    rep.id,
                    rep.name,
                    value or 0.0,
                    100.0 if value is not None else None,
                    rep.public_opt_out,
                    rep.manager_id,
                )
            )
        return rank(standings, RankBy.PERCENT)

    def _expected_all(
        self, subject: GoalSubject, period: Period, progress: Progress, names: Sequence[str]
    ) -> dict[str, float | None]:
        """Return each KPI's expected-to-date for ``subject`` (None without a goal)."""
        rng = period_range(period, progress.day)
        key = (rng, progress)
        time = self._elapsed.get(key)
        if time is None:
            time = self._elapsed[key] = elapsed(self.rules.calendar, rng, progress)
        return {
            name: self._expected_of(
                self.resolver.target(name, subject, rng, period), rng, progress, time
            )
            for name in names
        }

    def scorecard(
        self,
        rep: RepProfile,
        period: Period,
        when: datetime | date,
        *,
        with_ranks: bool = True,
        score_ranks: bool = False,
        by: RankBy = RankBy.PERCENT,
    ) -> Scorecard:
        """Assemble ``rep``'s scorecard for ``period`` at ``when``.

        ``with_ranks`` ranks every KPI among all board reps (one SQL sum); ``score_ranks``
        also ranks the activity and results scores, which sums four periods for everyone.
        """
        progress = self.progress(rep, when)
        needed = {period, *SCORE_PERIODS[KpiKind.LEADING], *SCORE_PERIODS[KpiKind.LAGGING]}
        ranges = {p: period_to_date(p, progress.day) for p in needed}
        before = self._previous_range(period, progress.day)
        rng = period_range(period, progress.day)
        # One read of the rep's daily values covers everything the card shows: the period
        # sums and the previous period's are added up from it, the streaks count back through
        # it and the trend chart keeps the period's part.
        window = span([*ranges.values(), before, rng, streak_window(progress)])
        series = self.store.daily([rep.id], window).get(rep.id, {})
        sums = SeriesSums(series)
        totals = {p: sums.over(r) for p, r in ranges.items()}
        rng, time, paces = self.paces(rep, period, progress, totals[period])
        activity, results = self.scores(rep, progress, totals)
        previous = sums.over(before)
        streaks = self._streaks(rep, progress, series)
        ranks: dict[str, int | None] = {}
        ranked, by_count = 0, frozenset[str]()
        if with_ranks:
            ranks, ranked, by_count = self._ranks(rep, period, progress.day, by, score_ranks)
        lines = {
            name: KpiLine(
                name,
                self.kpis.get(name).label,
                p,
                ranks.get(name),
                streaks.get(name),
                previous.get(name, 0.0),
            )
            for name, p in paces.items()
        }
        return Scorecard(
            rep, period, rng, progress.day, time, lines, activity, results, ranks, ranked, by,
            by_count, self.store.data_as_of(), slice_series(series, rng),
        )  # fmt: skip

    @staticmethod
    def _previous_range(period: Period, day: date) -> DateRange:
        """Return the previous period over the same number of days into it as ``day``."""
        current = period_range(period, day)
        before = period_range(period, current.start - timedelta(days=1))
        offset = (day - current.start).days
        return DateRange(before.start, min(before.end, before.start + timedelta(days=offset)))

    def _streaks(
        self, rep: RepProfile, progress: Progress, series: dict[str, dict[date, float]]
    ) -> dict[str, int]:
        """Return, per KPI with a daily goal, the working days in a row the goal was met."""
        rng = streak_window(progress)  # ``series`` may be wider: only these days are looked up
        days = self._days.get(rng)
        if days is None:  # a run's reps share their windows
            days = self._days[rng] = self.rules.calendar.working_days(rng)
        subject = subject_of(rep)
        out: dict[str, int] = {}
        for name in self.kpis.names():
            goal = self.resolver.target(name, subject, rng, Period.DAY)
            if goal is None:
                continue
            values = series.get(name, {})
            counted = list(days)
            today_met = values.get(progress.day, 0.0) >= goal.shares.get(progress.day, 0.0)
            open_today = bool(counted) and counted[-1] == progress.day and progress.day_fraction < 1
            if open_today and not today_met:
                counted.pop()
            out[name] = streak(counted, values, goal.shares)
        return out

    def warm_ranks(self, periods: Sequence[Period], when: datetime) -> int:
        """Compute the rank tables `/mystats` will ask for at ``when``; return how many.

        After a sync or roll-up the data version moves and every cached table is stale; the
        first rep to type `/mystats` would pay for ranking everyone (seconds at 10,000 reps).
        Building them right after the write, for each local day the reps are on, moves that
        cost off the person waiting. Without a cache there is nothing to keep: 0.
        """
        if self.rank_cache is None:
            return 0
        days = sorted({self.progress(rep, when).day for rep in self.board_reps()})
        for period in periods:
            for day in days:
                self._cached_rank_table(period, day, RankBy.PERCENT, scores=False)
        return len(periods) * len(days)

    def _ranks(
        self, rep: RepProfile, period: Period, as_of: date, by: RankBy, scores: bool
    ) -> tuple[dict[str, int | None], int, frozenset[str]]:
        table = self._cached_rank_table(period, as_of, by, scores=scores)
        ranks = {name: board.get(rep.id) for name, board in table.ranks.items()}
        return ranks, table.ranked_reps, table.by_count

    def _cached_rank_table(
        self, period: Period, as_of: date, by: RankBy, *, scores: bool
    ) -> RankTable:
        """Return the rank table from the cache (same data version), building it if absent."""
        key: RankKey = (self.data_version, period_range(period, as_of), as_of, by, scores)
        table = self.rank_cache.get(key) if self.rank_cache is not None else None
        if table is None:
            table = self._rank_table(period, as_of, by, scores)
            if self.rank_cache is not None:
                self.rank_cache.put(key, table)
        return table

    def _rank_table(self, period: Period, as_of: date, by: RankBy, scores: bool) -> RankTable:
        """Rank every board rep on every KPI (and, with ``scores``, on both scores).

        The ranks are what ``leaderboard`` gives each rep, worked out without its lines:
        targets once per goal signature, one score per rep, ``competition_ranks``.
        """
        reps = self.board_reps()
        totals = self._period_totals(period, as_of)
        rng = period_range(period, as_of)
        signatures = [(rep, self.resolver.signature(subject_of(rep))) for rep in reps]
        ranks: dict[str, dict[int, int | None]] = {}
        by_count: set[str] = set()
        for name in self.kpis.names():
            goals: dict[object, float | None] = {}
            actuals: dict[int, float] = {}
            percents: dict[int, float | None] = {}
            for rep, signature in signatures:
                if signature not in goals:
                    target = self.resolver.target(name, subject_of(rep), rng, period)
                    goals[signature] = target.total if target else None
                actual = actuals[rep.id] = totals.get(rep.id, {}).get(name, 0.0)
                percents[rep.id] = percent(actual, goals[signature])
            if by is RankBy.COUNT or all(value is None for value in percents.values()):
                # Nobody has a goal for this KPI: rank the raw counts rather than nobody.
                ranks[name] = competition_ranks(actuals)
                if by is RankBy.PERCENT:
                    by_count.add(name)
            else:
                ranks[name] = competition_ranks(percents)
        for metric in (ACTIVITY_SCORE, RESULTS_SCORE) if scores else ():
            board = self._score_board(metric, as_of, reps)
            ranks[metric] = {line.standing.rep_id: line.rank for line in board}
        return RankTable(ranks, len(reps), frozenset(by_count))
