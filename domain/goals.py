"""Goals: a target per KPI and period, for a rep, a team or everyone, in force over dates.

A goal is turned into a share per working day (its target divided by the working days of its
own period), so a weekly goal can be read over a month, a goal that changes mid-period is
prorated by working days, and a rep who starts mid-period is asked only for the days they
were there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from domain.calendar import WorkCalendar
from domain.timeutil import DateRange, Period, period_range


class Scope(StrEnum):
    """Who a goal is for; a rep's own goal beats their team's, which beats everyone's."""

    REP = "rep"
    TEAM = "team"
    EVERYONE = "everyone"


SPECIFICITY = {Scope.REP: 2, Scope.TEAM: 1, Scope.EVERYONE: 0}


class InvalidGoal(ValueError):
    """A goal that cannot be stored; the message says what to change."""


@dataclass(frozen=True, slots=True)
class Goal:
    """A target for one KPI over one period, for a scope, in force from/to (inclusive)."""

    kpi: str
    period: Period
    target: float
    scope: Scope = Scope.EVERYONE
    scope_value: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        if self.target < 0:
            raise InvalidGoal(f"Goal target for {self.kpi} must be 0 or more, not {self.target}.")
        if self.scope is not Scope.EVERYONE and not self.scope_value:
            raise InvalidGoal(f"A {self.scope} goal needs the {self.scope} it is for.")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise InvalidGoal(f"Goal for {self.kpi} ends ({self.valid_to}) before it starts.")

    def in_force(self, day: date) -> bool:
        """Say whether the goal applies on ``day``."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def applies_to(self, subject: GoalSubject) -> bool:
        """Say whether the goal's scope covers ``subject``."""
        if self.scope is Scope.EVERYONE:
            return True
        value = (self.scope_value or "").casefold()
        if self.scope is Scope.REP:
            return value == subject.email.casefold()
        return subject.team is not None and value == subject.team.casefold()


@dataclass(frozen=True, slots=True)
class GoalSubject:
    """The rep a goal is resolved for: who they are, their team, and when they started."""

    email: str
    team: str | None = None
    start_date: date | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved goal over a range: the total and each working day's share of it."""

    total: float
    shares: dict[date, float] = field(default_factory=dict)

    def expected(self, elapsed_days: Iterable[date], today: date | None, fraction: float) -> float:
        """Return the target share of the whole days elapsed plus ``fraction`` of today."""
        done = sum(self.shares.get(d, 0.0) for d in elapsed_days)
        if today is not None:
            done += self.shares.get(today, 0.0) * fraction
        return done


def winning_goal(goals: Sequence[Goal], day: date, prefer: Period | None = None) -> Goal | None:
    """Return the goal in force on ``day``: most specific scope, then ``prefer``'s period,
    then the latest start, then the latest id."""
    live = [g for g in goals if g.in_force(day)]
    if not live:
        return None
    return max(
        live,
        key=lambda g: (
            SPECIFICITY[g.scope],
            g.period == prefer,
            g.valid_from or date.min,
            g.id or 0,
        ),
    )


class TargetResolver:
    """Resolve targets for many reps, reusing work for reps that share the same goals."""

    def __init__(self, goals: Sequence[Goal], calendar: WorkCalendar) -> None:
        self._by_kpi: dict[str, list[Goal]] = {}
        for goal in goals:
            self._by_kpi.setdefault(goal.kpi, []).append(goal)
        self.calendar = calendar
        self._period_days: dict[tuple[Period, date], int] = {}
        self._cache: dict[tuple[object, ...], Target | None] = {}
        # Keyed by signature, not by rep: a resolver shared by the bot's requests must not
        # hold an entry per rep, KPI and range (210,000 at 10,000 reps), which the garbage
        # collector would walk on every full collection.
        self._by_signature: dict[tuple[object, ...], Target | None] = {}
        # Which goals apply depends only on scope: everyone's, the team's, the rep's own.
        self._everyone = tuple(id(g) for g in goals if g.scope is Scope.EVERYONE)
        self._teams: dict[str, tuple[int, ...]] = {}
        self._reps: dict[str, tuple[int, ...]] = {}
        for goal in goals:
            if goal.scope is not Scope.EVERYONE:
                by = self._teams if goal.scope is Scope.TEAM else self._reps
                value = (goal.scope_value or "").casefold()
                by[value] = (*by.get(value, ()), id(goal))

    def signature(self, subject: GoalSubject) -> tuple[object, ...]:
        """Return all that ``subject``'s targets depend on besides the range and KPI.

        That is the goals that apply to them and their start date: two reps with the same
        signature get the same target for every KPI and range, so boards resolve per group.
        """
        team = self._teams.get(subject.team.casefold(), ()) if subject.team is not None else ()
        own = self._reps.get(subject.email.casefold(), ()) if self._reps else ()
        return (self._everyone, team, own, subject.start_date)

    def target(
        self, kpi: str, subject: GoalSubject, rng: DateRange, prefer: Period | None = None
    ) -> Target | None:
        """Return ``subject``'s target for ``kpi`` over ``rng``, or None with no goal in force.

        Days before the rep's start date carry no share. A range whose working days carry no
        goal at all has no target (not a target of zero).
        """
        direct = (kpi, self.signature(subject), rng.start, rng.end, prefer)
        if direct in self._by_signature:
            return self._by_signature[direct]
        found = self._target(kpi, subject, rng, prefer)
        self._by_signature[direct] = found
        return found

    def _target(
        self, kpi: str, subject: GoalSubject, rng: DateRange, prefer: Period | None
    ) -> Target | None:
        mine = tuple(g for g in self._by_kpi.get(kpi, ()) if g.applies_to(subject))
        if not mine:
            return None
        start = rng.start
        if subject.start_date is not None and subject.start_date > start:
            start = subject.start_date
        key = (tuple(id(g) for g in mine), start, rng.end, prefer)
        if key not in self._cache:
            self._cache[key] = self._resolve(mine, DateRange(start, rng.end), prefer)
        return self._cache[key]

    def _resolve(
        self, goals: Sequence[Goal], rng: DateRange, prefer: Period | None
    ) -> Target | None:
        if rng.end < rng.start:
            return None
        shares: dict[date, float] = {}
        for day in self.calendar.working_days(rng):
            goal = winning_goal(goals, day, prefer)
            if goal is not None:
                shares[day] = goal.target / self._days_in(goal.period, day)
        if not shares:
            return None
        return Target(sum(shares.values()), shares)

    def _days_in(self, period: Period, day: date) -> int:
        rng = period_range(period, day)
        key = (period, rng.start)
        if key not in self._period_days:
            self._period_days[key] = max(1, self.calendar.count(rng))
        return self._period_days[key]
