"""KPI definitions and the per-rep, per-day roll-up of raw CRM facts into KPI values.

A KPI is either a filter over activities (OR of rules) or one of the opportunity measures.
The defaults follow DESIGN.md; the YAML config can override any field or add KPIs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple

from domain.records import ActivityKind, Direction, MeetingOutcome

SENIOR_TITLE_PATTERN = (
    r"\b(VP|SVP|EVP|AVP|Vice[- ]President|Director|Head of|Chief|C[A-Z]O|President|Founder|"
    r"Co-?founder|Owner)\b"
)
# A meeting still "scheduled" has not happened yet; only completed (or unmarked) ones are held.
NOT_HELD = frozenset(
    {
        MeetingOutcome.SCHEDULED,
        MeetingOutcome.NO_SHOW,
        MeetingOutcome.CANCELED,
        MeetingOutcome.RESCHEDULED,
    }
)


class KpiSource(StrEnum):
    """Where a KPI's value comes from."""

    ACTIVITIES = "activities"
    OPPORTUNITIES_CREATED = "opportunities_created"
    OPPORTUNITIES_ADVANCED = "opportunities_advanced"
    WINS = "wins"
    WON_AMOUNT = "won_amount"


class KpiKind(StrEnum):
    """Leading KPIs feed the activity score; lagging ones the results score."""

    LEADING = "leading"
    LAGGING = "lagging"


@dataclass(frozen=True, slots=True)
class ActivityRule:
    """One way an activity can count: all set conditions must hold."""

    kinds: frozenset[str]
    min_duration_s: int | None = None
    exclude_directions: frozenset[str] = frozenset()
    include_outcomes: frozenset[str] | None = None
    exclude_outcomes: frozenset[str] = frozenset()
    title_pattern: str | None = None

    def matches(self, fact: ActivityFact) -> bool:
        """Say whether ``fact`` satisfies every condition of this rule."""
        if fact.kind not in self.kinds:
            return False
        if self.min_duration_s is not None and (fact.duration_s or 0) < self.min_duration_s:
            return False
        if fact.direction is not None and fact.direction in self.exclude_directions:
            return False
        if self.include_outcomes is not None and fact.outcome not in self.include_outcomes:
            return False
        if fact.outcome is not None and fact.outcome in self.exclude_outcomes:
            return False
        return not (
            self.title_pattern is not None
            and not _compiled(self.title_pattern).search(fact.contact_title or "")
        )


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    """A named KPI, how it is computed, and how it is shown."""

    name: str
    label: str
    source: KpiSource
    rules: tuple[ActivityRule, ...] = ()
    kind: KpiKind = KpiKind.LEADING
    unit: str = ""
    description: str = ""

    def counts(self, fact: ActivityFact) -> bool:
        """Say whether an activity counts toward this KPI (any rule matches)."""
        return self.source is KpiSource.ACTIVITIES and any(r.matches(fact) for r in self.rules)


class ActivityFact(NamedTuple):
    """An activity as the roll-up sees it: owner rep, local day and the fields rules read.

    A named tuple (immutable): the roll-up of a full sync reads one per stored activity.
    """

    rep_id: int
    day: date
    kind: str
    duration_s: int | None = None
    direction: str | None = None
    outcome: str | None = None
    contact_title: str | None = None


@dataclass(frozen=True, slots=True)
class OpportunityFact:
    """An opportunity as the roll-up sees it, with its owner's local creation day."""

    opportunity_id: int
    rep_id: int
    created_day: date
    amount: float | None
    is_won: bool
    close_date: date | None


@dataclass(frozen=True, slots=True)
class StageMoveFact:
    """A stage change with the positions resolved against the pipeline's stage order."""

    opportunity_id: int
    rep_id: int
    day: date
    at_epoch: float
    from_order: int | None
    to_order: int | None
    to_is_won: bool
    to_is_lost: bool


def default_kpis() -> tuple[KpiDefinition, ...]:
    """Return the default KPI definitions of DESIGN.md, in funnel order."""
    held = frozenset(NOT_HELD)
    return (
        KpiDefinition(
            name="prospecting",
            label="Prospecting",
            source=KpiSource.ACTIVITIES,
            rules=(
                ActivityRule(
                    kinds=frozenset({ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.LINKEDIN}),
                    exclude_directions=frozenset({Direction.INBOUND}),
                ),
            ),
            unit="touches",
            description="Calls, emails and LinkedIn touches, except inbound calls",
        ),
        KpiDefinition(
            name="conversations",
            label="Conversations",
            source=KpiSource.ACTIVITIES,
            rules=(
                ActivityRule(kinds=frozenset({ActivityKind.CALL}), min_duration_s=60),
                ActivityRule(kinds=frozenset({ActivityKind.MEETING}), exclude_outcomes=held),
            ),
            description="Calls of 60 s or more, and meetings held",
        ),
        KpiDefinition(
            name="meaningful_conversations",
            label="Meaningful conversations",
            source=KpiSource.ACTIVITIES,
            rules=(
                ActivityRule(
                    kinds=frozenset({ActivityKind.CALL}),
                    min_duration_s=300,
                    title_pattern=SENIOR_TITLE_PATTERN,
                ),
                ActivityRule(
                    kinds=frozenset({ActivityKind.MEETING}),
                    exclude_outcomes=held,
                    title_pattern=SENIOR_TITLE_PATTERN,
                ),
            ),
            description="Calls of 5 min or more, or meetings, with a VP-level contact",
        ),
        KpiDefinition(
            name="opportunities_created",
            label="Opportunities created",
            source=KpiSource.OPPORTUNITIES_CREATED,
            description="Opportunities by creation date",
        ),
        KpiDefinition(
            name="opportunities_advanced",
            label="Opportunities advanced",
            source=KpiSource.OPPORTUNITIES_ADVANCED,
            description="Opportunities moved to a later stage that day (Closed Won counts)",
        ),
        KpiDefinition(
            name="wins",
            label="Wins",
            source=KpiSource.WINS,
            kind=KpiKind.LAGGING,
            description="Opportunities closed won that day",
        ),
        KpiDefinition(
            name="won_amount",
            label="Won amount",
            source=KpiSource.WON_AMOUNT,
            kind=KpiKind.LAGGING,
            unit="$",
            description="Amount of the opportunities closed won that day",
        ),
    )


RepDayKpi = tuple[int, date, str]


class ActivityClassifier:
    """Says which activity KPIs an activity counts toward, deciding each shape once.

    Rules read only kind, duration, direction, outcome and contact title, and few
    combinations of them recur: a full sync meets millions of activities, and each one's
    answer is a dictionary lookup after the first of its shape. The memo is bounded.
    """

    MEMO_LIMIT = 100_000

    def __init__(self, definitions: Sequence[KpiDefinition]) -> None:
        self._activity_kpis = [d for d in definitions if d.source is KpiSource.ACTIVITIES]
        self._decided: dict[tuple[Any, ...], tuple[str, ...]] = {}

    def names(self, fact: ActivityFact) -> tuple[str, ...]:
        """Return the names of the activity KPIs ``fact`` counts toward, in funnel order."""
        return self.names_for(fact[2:])

    def names_for(self, shape: tuple[Any, ...]) -> tuple[str, ...]:
        """Return the KPI names for an activity of this shape: (kind, duration_s, direction,
        outcome, contact_title), the fields after rep and day of an ``ActivityFact``."""
        names = self._decided.get(shape)
        if names is None:
            fact = ActivityFact(0, date.min, *shape)
            names = tuple(d.name for d in self._activity_kpis if d.counts(fact))
            if len(self._decided) < self.MEMO_LIMIT:
                self._decided[shape] = names
        return names


def rollup(
    definitions: Sequence[KpiDefinition],
    *,
    activities: Iterable[ActivityFact] = (),
    opportunities: Iterable[OpportunityFact] = (),
    stage_moves: Iterable[StageMoveFact] = (),
    keep: Mapping[int, Iterable[date]] | None = None,
) -> dict[RepDayKpi, float]:
    """Roll raw facts up into KPI values per (rep, local day, kpi).

    Only non-zero values are returned. When ``keep`` is given, only those (rep, day) pairs are
    returned, so a caller recomputing a few days can pass wider fact sets safely.
    """
    totals: dict[RepDayKpi, float] = defaultdict(float)
    counts_toward = ActivityClassifier(definitions).names
    for fact in activities:
        for name in counts_toward(fact):
            totals[(fact.rep_id, fact.day, name)] += 1
    opps = list(opportunities)
    moves = list(stage_moves)
    by_source = {d.source: d.name for d in definitions}
    if KpiSource.OPPORTUNITIES_CREATED in by_source:
        name = by_source[KpiSource.OPPORTUNITIES_CREATED]
        for opp in opps:
            totals[(opp.rep_id, opp.created_day, name)] += 1
    if KpiSource.OPPORTUNITIES_ADVANCED in by_source:
        name = by_source[KpiSource.OPPORTUNITIES_ADVANCED]
        for rep_id, day in advanced_opportunities(moves):
            totals[(rep_id, day, name)] += 1
    win_names = [by_source.get(KpiSource.WINS), by_source.get(KpiSource.WON_AMOUNT)]
    if any(win_names):
        for opp, day in win_days(opps, moves):
            if win_names[0]:
                totals[(opp.rep_id, day, win_names[0])] += 1
            if win_names[1]:
                totals[(opp.rep_id, day, win_names[1])] += opp.amount or 0.0
    wanted = {rep: set(days) for rep, days in keep.items()} if keep is not None else None
    return {
        key: value
        for key, value in totals.items()
        if value and (wanted is None or key[1] in wanted.get(key[0], ()))
    }


def advanced_opportunities(moves: Iterable[StageMoveFact]) -> list[tuple[int, date]]:
    """Return (rep, day) once per opportunity that ended a day at a later stage than it began.

    A move back and forth within one day is not an advance; a move into Closed Won is, and a
    move into Closed Lost never is. Moves whose stages are not in the pipeline's order count
    only when they close won.
    """
    per_opp_day: dict[tuple[int, date], list[StageMoveFact]] = defaultdict(list)
    for move in moves:
        per_opp_day[(move.opportunity_id, move.day)].append(move)
    result: list[tuple[int, date]] = []
    for (_, day), day_moves in per_opp_day.items():
        day_moves.sort(key=lambda m: m.at_epoch)
        first, last = day_moves[0], day_moves[-1]
        if last.to_is_lost:
            continue
        if last.to_is_won:
            result.append((last.rep_id, day))
            continue
        start, end = first.from_order, last.to_order
        if start is not None and end is not None and end > start:
            result.append((last.rep_id, day))
    return result


def win_days(
    opportunities: Iterable[OpportunityFact], moves: Iterable[StageMoveFact]
) -> list[tuple[OpportunityFact, date]]:
    """Return each currently won opportunity with the local day it last became won.

    The day comes from stage history; an opportunity with no move into a won stage falls
    back to its close date.
    """
    last_win: dict[int, StageMoveFact] = {}
    for move in moves:
        if move.to_is_won:
            previous = last_win.get(move.opportunity_id)
            if previous is None or move.at_epoch > previous.at_epoch:
                last_win[move.opportunity_id] = move
    result: list[tuple[OpportunityFact, date]] = []
    for opp in opportunities:
        if not opp.is_won:
            continue
        won = last_win.get(opp.opportunity_id)
        if won is not None:
            result.append((opp, won.day))
        elif opp.close_date is not None:
            result.append((opp, opp.close_date))
    return result


@dataclass(frozen=True, slots=True)
class KpiCatalog:
    """The KPIs in force, looked up by name, in funnel order."""

    definitions: tuple[KpiDefinition, ...] = field(default_factory=default_kpis)

    def names(self) -> list[str]:
        """Return the KPI names in funnel order."""
        return [d.name for d in self.definitions]

    def get(self, name: str) -> KpiDefinition:
        """Return the KPI called ``name`` or raise UnknownKpi listing the valid names."""
        for definition in self.definitions:
            if definition.name == name:
                return definition
        raise UnknownKpi(name, self.names())


class UnknownKpi(ValueError):
    """A KPI name that is not defined; the message lists the valid names."""

    def __init__(self, name: str, valid: Sequence[str]) -> None:
        super().__init__(f"Unknown KPI '{name}'. Valid KPIs: {', '.join(valid)}.")
        self.name = name


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern, re.IGNORECASE)
    return compiled
