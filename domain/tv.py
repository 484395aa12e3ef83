"""The office-TV board: public leaderboards, contest standings and celebration splashes.

Everything here is what a wall screen may show to anyone walking past, so privacy is decided
here, once: reps who opted out of public boards never appear (not in a board, not in a splash),
and only names, teams and KPI totals leave this module; no goals, coaching or pipeline detail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

from domain.contests import Contest, Scoring, Status, standings
from domain.leaderboard import RankBy, Standing, rank
from domain.ports import ContestStore, MetricsStore, RepProfile
from domain.timeutil import DateRange, Period, local_day, period_to_date, zone

BOARD_SIZE = 10
SPLASH_WINDOW = timedelta(days=2)
RECENTLY_ENDED = timedelta(days=1)
BIG_DEAL = 50_000.0
SHOWN = (Status.ACTIVE, Status.FINISHED)


class SplashKind(StrEnum):
    """Why the TV celebrates."""

    CONTEST_WON = "contest_won"
    BIG_DEAL = "big_deal"


@dataclass(frozen=True, slots=True)
class BoardLine:
    """One public line of a board."""

    rank: int | None
    name: str
    team: str | None
    value: float


@dataclass(frozen=True, slots=True)
class Board:
    """A ranked board the TV cycles through."""

    key: str
    title: str
    subtitle: str
    unit: str
    lines: tuple[BoardLine, ...]


@dataclass(frozen=True, slots=True)
class Splash:
    """A full-screen celebration; ``key`` is stable so a screen shows it once."""

    key: str
    kind: SplashKind
    headline: str
    detail: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TvSnapshot:
    """Everything the TV shows at one instant."""

    title: str
    generated_at: datetime
    boards: tuple[Board, ...]
    splashes: tuple[Splash, ...]
    timezone: str = "UTC"


class TvFeed(Protocol):
    """The port the TV page reads: one snapshot per poll."""

    def snapshot(self) -> TvSnapshot:
        """Return what the TV shows now."""
        ...


@dataclass(frozen=True, slots=True)
class TvSettings:
    """Which KPIs the TV boards show, and what counts as a big deal."""

    kpis: tuple[str, ...] = ("won_amount", "wins", "meaningful_conversations", "conversations")
    labels: tuple[tuple[str, str], ...] = ()
    units: tuple[tuple[str, str], ...] = ()
    big_deal_amount: float = BIG_DEAL
    title: str = "Pacesetter"
    org_timezone: str = "UTC"


def public_reps(reps: Sequence[RepProfile]) -> dict[int, RepProfile]:
    """Return the active sellers who may appear on a public screen."""
    return {r.id: r for r in reps if r.active and r.role == "rep" and not r.public_opt_out}


def board(
    key: str,
    totals: dict[int, float],
    people: dict[int, RepProfile],
    *,
    title: str,
    subtitle: str,
    unit: str = "",
    size: int = BOARD_SIZE,
) -> Board:
    """Rank ``people`` by ``totals`` (count ranking) and keep the top ``size`` lines."""
    standings = [
        Standing(rep_id=rep.id, name=rep.name, actual=totals.get(rep.id, 0.0))
        for rep in people.values()
    ]
    ranked = rank(standings, RankBy.COUNT)[:size]
    lines = tuple(
        BoardLine(
            rank=line.rank,
            name=line.standing.name,
            team=people[line.standing.rep_id].team,
            value=line.standing.actual,
        )
        for line in ranked
    )
    return Board(key=key, title=title, subtitle=subtitle, unit=unit, lines=lines)


def snapshot(
    metrics: MetricsStore, contests: ContestStore, settings: TvSettings, *, now: datetime
) -> TvSnapshot:
    """Build the TV's boards and splashes at ``now`` from the ports, public data only."""
    today = local_day(now, zone(settings.org_timezone))
    people = public_reps(metrics.reps())
    labels = dict(settings.labels)
    units = dict(settings.units)
    month = period_to_date(Period.MONTH, today)
    totals = metrics.totals(month, kpis=list(settings.kpis), rep_ids=list(people))
    boards = [
        board(
            f"month:{kpi}",
            {rep: kpis.get(kpi, 0.0) for rep, kpis in totals.items()},
            people,
            title=labels.get(kpi, kpi.replace("_", " ").capitalize()),
            subtitle=f"Month to date · {month.start:%b %-d} – {today:%b %-d}",
            unit=units.get(kpi, ""),
        )
        for kpi in settings.kpis
    ]
    # A board where nobody has anything yet is noise on a wall screen; keep it only if all are.
    boards = [b for b in boards if any(line.value for line in b.lines)] or boards[:1]
    shown = [c for c in contests.contests(statuses=SHOWN) if _on_screen(c, today)]
    as_of = contests.data_as_of()
    for contest in shown:
        boards.append(
            contest_board(contests, contest, people, today=today, labels=labels, data_as_of=as_of)
        )
    return TvSnapshot(
        title=settings.title,
        generated_at=now,
        boards=tuple(boards),
        splashes=tuple(splashes(contests, shown, settings, people, now=now)),
        timezone=settings.org_timezone,
    )


def _on_screen(contest: Contest, today: date) -> bool:
    """Show running contests, and finished ones for a day after they end."""
    rules = contest.rules
    return contest.id is not None and rules.start <= today <= rules.end + RECENTLY_ENDED


def contest_board(
    store: ContestStore,
    contest: Contest,
    people: dict[int, RepProfile],
    *,
    today: date,
    labels: dict[str, str],
    data_as_of: datetime | None,
) -> Board:
    """Return a contest's standings as its own rules score them, public lines only."""
    rules = contest.rules
    ids = [p.id for p in contest.participants]
    daily = store.daily_values(ids, DateRange(rules.start, min(today, rules.end)), kpi=rules.kpi)
    table = standings(contest, daily, as_of_day=today, data_as_of=data_as_of)
    lines = tuple(
        BoardLine(
            rank=entry.rank,
            name=entry.competitor.label,
            team=None if rules.team_contest else people[entry.competitor.members[0]].team,
            value=round(entry.score, 1),
        )
        for entry in table.entries
        if rules.team_contest or entry.competitor.members[0] in people
    )[:BOARD_SIZE]
    target = f" · first to {rules.target:g}" if rules.target else ""
    prize = f" · prize: {rules.prizes[0]}" if rules.prizes else ""
    what = labels.get(rules.kpi, rules.kpi.replace("_", " ").capitalize())
    return Board(
        key=f"contest:{contest.id}",
        title=f"🏆 {rules.name}",
        subtitle=f"{what}{target}{prize} · ends {rules.end:%b %-d}",
        unit="" if rules.scoring is Scoring.COUNT else "%",
        lines=lines,
    )


def splashes(
    store: ContestStore,
    shown: Sequence[Contest],
    settings: TvSettings,
    people: dict[int, RepProfile],
    *,
    now: datetime,
) -> list[Splash]:
    """Return recent contest wins and big deals by people who may be shown, oldest first."""
    since = now - SPLASH_WINDOW
    result = [
        splash
        for contest in shown
        for event in store.events(contest.id or 0, kind="won")
        if event.at >= since
        for splash in [contest_splash(contest, event.data, event.at, people)]
        if splash is not None
    ]
    tz = zone(settings.org_timezone)
    for deal in store.won_deals(since=local_day(since, tz), min_amount=settings.big_deal_amount):
        if deal.rep_id in people:
            result.append(
                Splash(
                    key=f"deal:{deal.source}:{deal.crm_id}",
                    kind=SplashKind.BIG_DEAL,
                    headline=f"{people[deal.rep_id].name} closed a big deal!",
                    detail=f"${deal.amount:,.0f} won",
                    at=datetime.combine(deal.closed_on, time(0), tz),
                )
            )
    return sorted(result, key=lambda s: (s.at, s.key))


def first_place(data: Mapping[str, object]) -> list[int]:
    """Return the reps in first place from a `won` event (`awards`: rep id -> "place|prize")."""
    awards = data.get("awards")
    if isinstance(awards, Mapping):
        return sorted(int(rep) for rep, award in awards.items() if str(award).split("|")[0] == "1")
    raw = data.get("winners")
    return [int(str(w)) for w in raw] if isinstance(raw, list | tuple) else []


def contest_splash(
    contest: Contest, data: Mapping[str, object], at: datetime, people: dict[int, RepProfile]
) -> Splash | None:
    """Return the splash for a contest's `won` event, naming only who may be shown."""
    winners = first_place(data)
    if contest.rules.team_contest:
        teams = sorted({p.team or "No team" for p in contest.participants if p.id in winners})
        names = [f"Team {t}" for t in teams]
    else:
        names = [people[w].name for w in winners if w in people]
    if not names:
        return None
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "wins" if len(names) == 1 else "win"
    prize = contest.rules.prizes[0] if contest.rules.prizes else None
    return Splash(
        key=f"contest:{contest.id}:won",
        kind=SplashKind.CONTEST_WON,
        headline=f"{who} {verb} {contest.rules.name}!",
        detail=f"Prize: {prize}" if prize else "Congratulations!",
        at=at,
    )
