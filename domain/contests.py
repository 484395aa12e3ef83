"""Contests (spiffs): rules frozen at launch, scoring, standings, lead changes and winners.

Everything here is pure: daily KPI values come in as mappings, the clock comes in as an
argument. Fairness is built in three ways a manager can choose: raw count, percent of each
person's own goal over the window, or improvement over their own recent baseline (so a new
hire or the middle of the pack can win). The tie rules are stated in ``TIE_RULES`` and shown
with every announcement.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.timeutil import DateRange

MAX_WINDOW_DAYS = 366
DEFAULT_BASELINE_WINDOWS = 3


class ContestError(ValueError):
    """A contest that cannot be created or changed; the message says what to do."""


class Rule(StrEnum):
    """How a contest is won."""

    MOST = "most"
    FIRST_TO = "first-to"
    THRESHOLD = "threshold"


class Scoring(StrEnum):
    """What a participant's score is."""

    COUNT = "count"
    PERCENT = "percent"
    IMPROVEMENT = "improvement"


class Status(StrEnum):
    """Where a contest is in its life; only ``ACTIVE`` contests are scored by the job."""

    ACTIVE = "active"
    FINISHED = "finished"
    CANCELED = "canceled"


TIE_RULES = {
    Rule.MOST: "Ties share the place; the prizes of the places they cover are pooled and split "
    "equally.",
    Rule.FIRST_TO: "The earlier day wins; on the same day the higher total wins; still equal, "
    "they share first place and split the prize.",
    Rule.THRESHOLD: "Everyone who reaches the target wins the prize.",
}

_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class ParticipantSpec:
    """Who takes part: everyone, one team, or named people (by email)."""

    kind: str = "all"
    team: str | None = None
    emails: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> ParticipantSpec:
        """Read ``all``, ``team:NAME`` or ``a@x.com,b@y.com``."""
        value = (text or "all").strip()
        if value.lower() in ("", "all", "everyone"):
            return cls()
        if value.lower().startswith("team:"):
            team = value[5:].strip()
            if not team:
                raise ContestError("Say which team after `team:`, e.g. `team:East`.")
            return cls(kind="team", team=team)
        emails = tuple(e.strip().lower() for e in value.split(",") if e.strip())
        bad = [e for e in emails if "@" not in e]
        if bad or not emails:
            raise ContestError(
                f"Participants must be `all`, `team:NAME` or emails separated by commas "
                f"(not {', '.join(bad) or 'nothing'})."
            )
        return cls(kind="people", emails=emails)

    def text(self) -> str:
        """Return the form ``parse`` reads."""
        if self.kind == "team":
            return f"team:{self.team}"
        if self.kind == "people":
            return ",".join(self.emails)
        return "all"


@dataclass(frozen=True, slots=True)
class ContestRules:
    """What a manager chose; frozen at launch (a change means a new contest)."""

    name: str
    kpi: str
    rule: Rule
    start: date
    end: date
    channel: str
    target: float | None = None
    participants: ParticipantSpec = ParticipantSpec()
    scoring: Scoring = Scoring.COUNT
    team_contest: bool = False
    prizes: tuple[str, ...] = ()
    baseline_windows: int = DEFAULT_BASELINE_WINDOWS

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ContestError("Give the contest a name.")
        if self.end < self.start:
            raise ContestError(f"The contest ends ({self.end}) before it starts ({self.start}).")
        if (self.end - self.start).days + 1 > MAX_WINDOW_DAYS:
            raise ContestError(f"A contest runs at most {MAX_WINDOW_DAYS} days.")
        if self.rule is not Rule.MOST and (self.target is None or self.target <= 0):
            raise ContestError(f"A `{self.rule}` contest needs a target above 0 (--target N).")
        if not self.channel.strip():
            raise ContestError("Say which channel the contest is announced in, e.g. '#sales'.")
        if self.baseline_windows < 1:
            raise ContestError("The improvement baseline needs at least one earlier window.")

    @property
    def window(self) -> DateRange:
        """Return the contest's days, first to last inclusive."""
        return DateRange(self.start, self.end)

    def opens_at(self, tz: ZoneInfo) -> datetime:
        """Return the start of the first day in the org's zone."""
        return datetime.combine(self.start, time(0), tz)

    def closes_at(self, tz: ZoneInfo) -> datetime:
        """Return the end of the last day (midnight after it) in the org's zone."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tz)

    def baseline_range(self) -> DateRange:
        """Return the ``baseline_windows`` equivalent windows just before the contest."""
        length = (self.end - self.start).days + 1
        return DateRange(
            self.start - timedelta(days=length * self.baseline_windows),
            self.start - timedelta(days=1),
        )

    def describe(self) -> str:
        """Return the rule in one sentence, e.g. 'First to 50 prospecting (count)'."""
        target = f"{self.target:g}" if self.target is not None else ""
        unit = {
            Scoring.COUNT: "",
            Scoring.PERCENT: "% of goal",
            Scoring.IMPROVEMENT: "% of baseline",
        }
        goal = f"{target}{unit[self.scoring]}"
        what = self.kpi.replace("_", " ")
        sentence = {
            Rule.MOST: f"Most {what} by {self.end:%b %-d}",
            Rule.FIRST_TO: f"First to {goal} {what}",
            Rule.THRESHOLD: f"Everyone who reaches {goal} {what} by {self.end:%b %-d}",
        }[self.rule]
        scored = {
            Scoring.COUNT: "",
            Scoring.PERCENT: ", scored as percent of each person's goal",
            Scoring.IMPROVEMENT: ", scored as improvement over each person's recent baseline",
        }[self.scoring]
        teams = ", team totals compete" if self.team_contest else ""
        return f"{sentence}{scored}{teams}"


@dataclass(frozen=True, slots=True)
class Participant:
    """A person who can take part, as the contest needs them."""

    id: int
    name: str
    email: str
    team: str | None = None
    slack_user_id: str | None = None
    public_opt_out: bool = False
    start_date: date | None = None

    def mention(self) -> str:
        """Return a Slack mention when linked, else the name."""
        return f"<@{self.slack_user_id}>" if self.slack_user_id else self.name


def resolve_participants(
    spec: ParticipantSpec, people: Sequence[Participant]
) -> tuple[Participant, ...]:
    """Return who takes part, or raise ContestError naming unknown emails or an empty team."""
    if spec.kind == "team":
        wanted = (spec.team or "").casefold()
        chosen = [p for p in people if (p.team or "").casefold() == wanted]
        if not chosen:
            teams = sorted({p.team for p in people if p.team})
            raise ContestError(
                f"No active seller is on team '{spec.team}'. Teams: {', '.join(teams) or 'none'}."
            )
        return tuple(chosen)
    if spec.kind == "people":
        by_email = {p.email.casefold(): p for p in people}
        missing = [e for e in spec.emails if e.casefold() not in by_email]
        if missing:
            raise ContestError(f"Not an active seller: {', '.join(missing)}.")
        return tuple(by_email[e.casefold()] for e in dict.fromkeys(spec.emails))
    if not people:
        raise ContestError("There are no active sellers yet: run `pacesetter sync` first.")
    return tuple(people)


def baseline(
    person: Participant, history: Mapping[date, float], rules: ContestRules
) -> float | None:
    """Return the person's mean over the earlier windows they fully worked, or None.

    A window that started before the person did is not held against them.
    """
    length = (rules.end - rules.start).days + 1
    totals = []
    for n in range(1, rules.baseline_windows + 1):
        first = rules.start - timedelta(days=length * n)
        if person.start_date is not None and person.start_date > first:
            continue
        days = DateRange(first, first + timedelta(days=length - 1)).days()
        totals.append(sum(history.get(d, 0.0) for d in days))
    return statistics.fmean(totals) if totals else None


def improvement_denominators(
    people: Sequence[Participant],
    history: Mapping[int, Mapping[date, float]],
    rules: ContestRules,
) -> dict[int, float]:
    """Return each person's baseline; someone with none (or zero) gets the median baseline.

    The median stands in so a new hire competes against a typical week, not against zero.
    """
    own = {p.id: baseline(p, history.get(p.id, {}), rules) for p in people}
    known = [v for v in own.values() if v]
    fallback = statistics.median(known) if known else 1.0
    return {pid: (v if v else fallback) for pid, v in own.items()}


@dataclass(frozen=True, slots=True)
class Competitor:
    """One line of the standings: a person, or a team whose members' totals compete."""

    key: str
    label: str
    members: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Contest:
    """A launched contest: its rules plus what was frozen at launch.

    ``denominators`` is each participant's goal over the window (percent scoring) or baseline
    (improvement scoring); a participant without one under percent scoring is not ranked.
    """

    rules: ContestRules
    participants: tuple[Participant, ...]
    denominators: Mapping[int, float] = field(default_factory=dict)
    id: int | None = None
    status: Status = Status.ACTIVE
    created_by: str | None = None
    created_at: datetime | None = None

    def competitors(self) -> list[Competitor]:
        """Return people, or teams (in order of first appearance) in a team contest."""
        if not self.rules.team_contest:
            return [Competitor(f"rep:{p.id}", p.name, (p.id,)) for p in self.participants]
        teams: dict[str, list[int]] = {}
        for p in self.participants:
            teams.setdefault(p.team or "No team", []).append(p.id)
        return [Competitor(f"team:{name}", name, tuple(ids)) for name, ids in teams.items()]

    def person(self, rep_id: int) -> Participant | None:
        """Return the participant with ``rep_id``."""
        return next((p for p in self.participants if p.id == rep_id), None)

    def score(self, members: Sequence[int], actuals: Mapping[int, float]) -> float | None:
        """Return the score of these members' actuals under the contest's scoring."""
        if self.rules.scoring is Scoring.COUNT:
            return sum(actuals.get(m, 0.0) for m in members)
        scored = [m for m in members if self.denominators.get(m)]
        if not scored:
            return None
        total = sum(self.denominators[m] for m in scored)
        return 100.0 * sum(actuals.get(m, 0.0) for m in scored) / total


Daily = Mapping[int, Mapping[date, float]]


def actuals_through(daily: Daily, rules: ContestRules, through: date) -> dict[int, float]:
    """Return each rep's total from the contest's first day through ``through``."""
    last = min(through, rules.end)
    return {
        rep: sum(v for d, v in days.items() if rules.start <= d <= last)
        for rep, days in daily.items()
    }


@dataclass(frozen=True, slots=True)
class Entry:
    """A competitor's place: score, rank (shared on ties), and distance to the next place."""

    competitor: Competitor
    actual: float
    score: float
    rank: int
    gap_above: float | None
    lead: float | None


@dataclass(frozen=True, slots=True)
class Standings:
    """The ranked table, who is unranked (no goal), and how fresh the data is."""

    entries: tuple[Entry, ...]
    unranked: tuple[Competitor, ...]
    as_of_day: date
    data_as_of: datetime | None

    def leaders(self) -> frozenset[str]:
        """Return the keys in first place; nobody leads while every score is zero."""
        return frozenset(e.competitor.key for e in self.entries if e.rank == 1 and e.score > 0)


def standings(
    contest: Contest, daily: Daily, *, as_of_day: date, data_as_of: datetime | None
) -> Standings:
    """Rank competitors by score with competition ranking (1, 2, 2, 4)."""
    actuals = actuals_through(daily, contest.rules, as_of_day)
    scored: list[tuple[Competitor, float, float]] = []
    unranked: list[Competitor] = []
    for comp in contest.competitors():
        value = contest.score(comp.members, actuals)
        if value is None:
            unranked.append(comp)
        else:
            scored.append((comp, sum(actuals.get(m, 0.0) for m in comp.members), value))
    scored.sort(key=lambda item: (-item[2], item[0].label.casefold()))
    entries = _ranked(scored)
    return Standings(tuple(entries), tuple(unranked), as_of_day, data_as_of)


def _ranked(scored: Sequence[tuple[Competitor, float, float]]) -> list[Entry]:
    entries: list[Entry] = []
    distinct = sorted({round(s, 9) for _, _, s in scored}, reverse=True)
    level_of = {value: n for n, value in enumerate(distinct)}
    for index, (comp, actual, score) in enumerate(scored):
        rank = index + 1
        if entries and round(entries[-1].score, 9) == round(score, 9):
            rank = entries[-1].rank
        level = level_of[round(score, 9)]
        above = distinct[level - 1] - score if level > 0 else None
        lead = score - distinct[1] if level == 0 and len(distinct) > 1 else None
        entries.append(Entry(comp, actual, score, rank, above, lead))
    return entries


def lead_changed(previous: frozenset[str] | None, current: frozenset[str]) -> bool:
    """Say whether first place changed hands (a first leader counts; losing one does not)."""
    if not current:
        return False
    return previous is None or current != previous


@dataclass(frozen=True, slots=True)
class Placement:
    """A place in the final result and what it wins, with the split stated."""

    place: int
    competitors: tuple[Competitor, ...]
    score: float
    prize: str | None
    reached_on: date | None = None

    def rep_ids(self) -> tuple[int, ...]:
        """Return every person in this place (team members included)."""
        return tuple(m for c in self.competitors for m in c.members)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a contest ended: the placements (empty when nobody won) and when it was decided."""

    placements: tuple[Placement, ...]
    decided_on: date
    tie_rule: str

    def winners(self) -> tuple[Competitor, ...]:
        """Return every competitor who won a place."""
        return tuple(c for p in self.placements for c in p.competitors)

    def signature(self) -> list[list[str]]:
        """Return the placements as sorted keys per place, to compare two outcomes."""
        return [sorted(c.key for c in p.competitors) for p in self.placements]


def prize_for(place: int, tied: int, prizes: Sequence[str]) -> str | None:
    """Return the prize text for ``tied`` competitors sharing ``place``, split stated."""
    covered = [p for p in prizes[place - 1 : place - 1 + tied] if p]
    if not covered:
        return None
    if tied == 1:
        return covered[0]
    pooled = " + ".join(covered)
    return f"{pooled}, split equally {tied} ways"


def cumulative_scores(
    contest: Contest, daily: Daily, through: date
) -> dict[str, list[tuple[date, float]]]:
    """Return each competitor's running score at the end of each day up to ``through``."""
    last = min(through, contest.rules.end)
    days = DateRange(contest.rules.start, last).days() if last >= contest.rules.start else []
    running: dict[int, float] = {}
    series: dict[str, list[tuple[date, float]]] = {}
    comps = contest.competitors()
    for day in days:
        for p in contest.participants:
            running[p.id] = running.get(p.id, 0.0) + daily.get(p.id, {}).get(day, 0.0)
        for comp in comps:
            value = contest.score(comp.members, running)
            if value is not None:
                series.setdefault(comp.key, []).append((day, value))
    return series


def reached_on(series: Sequence[tuple[date, float]], target: float) -> tuple[date, float] | None:
    """Return the first day the running score reached ``target``, with that day's score."""
    for day, value in series:
        if value >= target - 1e-9:
            return day, value
    return None


def decide(contest: Contest, daily: Daily, *, today: date, closed: bool) -> Outcome | None:
    """Return the outcome once the rule is met (first to N) or the window has closed.

    ``today`` is the org's current day; ``closed`` says the window has ended and the data
    covers it (the caller checks that a sync finished after the close).
    """
    rules = contest.rules
    if rules.rule is Rule.FIRST_TO:
        return _first_to(contest, daily, today=today, closed=closed)
    if not closed:
        return None
    if rules.rule is Rule.THRESHOLD:
        return _threshold(contest, daily)
    return _most(contest, daily)


def _by_key(contest: Contest) -> dict[str, Competitor]:
    return {c.key: c for c in contest.competitors()}


def _first_to(contest: Contest, daily: Daily, *, today: date, closed: bool) -> Outcome | None:
    rules = contest.rules
    assert rules.target is not None
    series = cumulative_scores(contest, daily, rules.end if closed else today)
    hits = {k: hit for k, s in series.items() if (hit := reached_on(s, rules.target))}
    comps = _by_key(contest)
    if not hits:
        return Outcome((), min(today, rules.end), TIE_RULES[rules.rule]) if closed else None
    first_day = min(day for day, _ in hits.values())
    same_day = {k: v for k, (d, v) in hits.items() if d == first_day}
    best = max(same_day.values())
    keys = sorted(k for k, v in same_day.items() if abs(v - best) < 1e-9)
    winners = tuple(comps[k] for k in keys)
    placement = Placement(1, winners, best, prize_for(1, len(winners), rules.prizes), first_day)
    return Outcome((placement,), first_day, TIE_RULES[rules.rule])


def _threshold(contest: Contest, daily: Daily) -> Outcome:
    rules = contest.rules
    assert rules.target is not None
    series = cumulative_scores(contest, daily, rules.end)
    comps = _by_key(contest)
    hits = sorted(
        ((hit[0], -hit[1], k) for k, s in series.items() if (hit := reached_on(s, rules.target))),
    )
    prize = rules.prizes[0] if rules.prizes else None
    final = {k: s[-1][1] for k, s in series.items() if s}
    placements = tuple(Placement(1, (comps[k],), final[k], prize, day) for day, _, k in hits)
    return Outcome(placements, rules.end, TIE_RULES[rules.rule])


def _most(contest: Contest, daily: Daily) -> Outcome:
    rules = contest.rules
    table = standings(contest, daily, as_of_day=rules.end, data_as_of=None)
    places = max(1, len(rules.prizes))
    groups: dict[int, list[Entry]] = {}
    for entry in table.entries:
        if entry.score > 0 and entry.rank <= places:
            groups.setdefault(entry.rank, []).append(entry)
    placements = tuple(
        Placement(
            rank,
            tuple(e.competitor for e in group),
            group[0].score,
            prize_for(rank, len(group), rules.prizes),
        )
        for rank, group in sorted(groups.items())
    )
    return Outcome(placements, rules.end, TIE_RULES[rules.rule])


def ready_to_close(
    rules: ContestRules,
    *,
    now: datetime,
    tz: ZoneInfo,
    data_as_of: datetime | None,
    grace: timedelta,
) -> bool:
    """Say whether a window that has ended may be judged: data synced after the close,
    or the grace period is over (a CRM that stays down must not hold the winners forever)."""
    close = rules.closes_at(tz)
    if now < close:
        return False
    return (data_as_of is not None and data_as_of >= close) or now >= close + grace


def contest_slug(name: str) -> str:
    """Return a lower-case, dash-separated form of ``name`` for matching `/contest show`."""
    return _SLUG.sub("-", name.casefold()).strip("-")


def format_score(value: float, scoring: Scoring) -> str:
    """Return a score as people read it: a count, or a whole percent."""
    if scoring is Scoring.COUNT:
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{value:.0f}%"


def standings_lines(contest: Contest, table: Standings, limit: int = 10) -> list[str]:
    """Return the standings as mrkdwn lines: place, name, score and the gap to the next place."""
    scoring = contest.rules.scoring
    lines = []
    for entry in table.entries[:limit]:
        score = format_score(entry.score, scoring)
        if entry.gap_above is not None:
            gap = f" ({format_score(entry.gap_above, scoring)} behind the next place)"
        elif entry.lead is not None:
            gap = f" (leads by {format_score(entry.lead, scoring)})"
        else:
            gap = ""
        lines.append(f"{entry.rank}. {entry.competitor.label}: *{score}*{gap}")
    hidden = len(table.entries) - limit
    if hidden > 0:
        lines.append(f"… and {hidden} more")
    if table.unranked:
        names = ", ".join(c.label for c in table.unranked)
        lines.append(f"_Not ranked (no goal set for the window): {names}_")
    return lines


def placement_lines(contest: Contest, outcome: Outcome, *, mention: bool) -> list[str]:
    """Return one line per placement, tagging people when ``mention``."""
    lines = []
    for p in outcome.placements:
        names = ", ".join(_names(contest, c, mention) for c in p.competitors)
        score = format_score(p.score, contest.rules.scoring)
        prize = f" wins {p.prize}" if p.prize else ""
        when = f" (reached on {p.reached_on:%b %-d})" if p.reached_on else ""
        place = "Winner" if contest.rules.rule is Rule.THRESHOLD else _ordinal(p.place)
        lines.append(f"{place}: {names} with {score}{when}{prize}")
    return lines


def _names(contest: Contest, comp: Competitor, mention: bool) -> str:
    if not contest.rules.team_contest:
        person = contest.person(comp.members[0])
        return person.mention() if (person and mention) else comp.label
    members = [contest.person(m) for m in comp.members]
    tags = ", ".join((p.mention() if mention else p.name) for p in members if p)
    return f"Team {comp.label} ({tags})"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
