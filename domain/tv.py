"""The office-TV board: public leaderboards, contest standings and celebration splashes.

Everything here is what a wall screen may show to anyone walking past, so privacy is decided
here, once: reps who opted out of public boards never appear (not in a board, not in a splash),
and only names, teams and KPI totals leave this module; no goals, coaching or pipeline detail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from domain.leaderboard import RankBy, Standing, rank
from domain.ports import MetricsStore, RepProfile
from domain.timeutil import DateRange, Period, local_day, period_to_date, zone

BOARD_SIZE = 10
SPLASH_WINDOW = timedelta(days=2)


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


@dataclass(frozen=True, slots=True)
class ContestView:
    """A running or just-finished contest as the TV needs it."""

    id: int
    name: str
    kpi: str
    window: DateRange
    participant_ids: frozenset[int] | None
    prize: str | None = None
    target: float | None = None


@dataclass(frozen=True, slots=True)
class ContestWin:
    """A contest that was won: by whom, when."""

    contest_id: int
    contest_name: str
    rep_id: int
    at: datetime
    prize: str | None = None


@dataclass(frozen=True, slots=True)
class WonDeal:
    """A closed-won opportunity (amount only; the account stays off the wall)."""

    id: int
    rep_id: int | None
    amount: float
    at: datetime


class TvEvents(Protocol):
    """What the TV reads besides KPI totals: contests and recent wins."""

    def contests(self, day: date) -> list[ContestView]:
        """Return contests whose window contains ``day`` or ended within the last days."""
        ...

    def contest_wins(self, since: datetime) -> list[ContestWin]:
        """Return contests won since ``since``."""
        ...

    def won_deals(self, since: datetime, *, min_amount: float) -> list[WonDeal]:
        """Return opportunities won since ``since`` worth at least ``min_amount``."""
        ...


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
    big_deal_amount: float = 50_000.0
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
    metrics: MetricsStore, events: TvEvents, settings: TvSettings, *, now: datetime
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
    for contest in events.contests(today):
        boards.append(contest_board(metrics, contest, people, today, labels))
    return TvSnapshot(
        title=settings.title,
        generated_at=now,
        boards=tuple(boards),
        splashes=tuple(splashes(events, settings, people, now=now)),
        timezone=settings.org_timezone,
    )


def contest_board(
    metrics: MetricsStore,
    contest: ContestView,
    people: dict[int, RepProfile],
    today: date,
    labels: dict[str, str],
) -> Board:
    """Return a contest's public standings: its KPI summed over its window so far."""
    end = min(today, contest.window.end)
    entrants = {
        rid: rep
        for rid, rep in people.items()
        if contest.participant_ids is None or rid in contest.participant_ids
    }
    totals = metrics.totals(
        DateRange(contest.window.start, end), kpis=[contest.kpi], rep_ids=list(entrants)
    )
    target = f" · first to {contest.target:g}" if contest.target else ""
    prize = f" · prize: {contest.prize}" if contest.prize else ""
    return board(
        f"contest:{contest.id}",
        {rep: kpis.get(contest.kpi, 0.0) for rep, kpis in totals.items()},
        entrants,
        title=f"🏆 {contest.name}",
        subtitle=f"{labels.get(contest.kpi, contest.kpi.replace('_', ' '))}{target}{prize}"
        f" · ends {contest.window.end:%b %-d}",
    )


def splashes(
    events: TvEvents, settings: TvSettings, people: dict[int, RepProfile], *, now: datetime
) -> list[Splash]:
    """Return recent contest wins and big deals by reps who may be shown, oldest first."""
    since = now - SPLASH_WINDOW
    result = [
        Splash(
            key=f"contest:{win.contest_id}:won",
            kind=SplashKind.CONTEST_WON,
            headline=f"{people[win.rep_id].name} wins {win.contest_name}!",
            detail=f"Prize: {win.prize}" if win.prize else "Congratulations!",
            at=win.at,
        )
        for win in events.contest_wins(since)
        if win.rep_id in people
    ]
    result += [
        Splash(
            key=f"deal:{deal.id}",
            kind=SplashKind.BIG_DEAL,
            headline=f"{people[deal.rep_id].name} closed a big deal!",
            detail=f"${deal.amount:,.0f} won",
            at=deal.at,
        )
        for deal in events.won_deals(since, min_amount=settings.big_deal_amount)
        if deal.rep_id in people
    ]
    return sorted(result, key=lambda s: (s.at, s.key))
