"""The TV board shows public data only: no opted-out reps, no managers, nothing private."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from bot.tv import snapshot_json
from domain.ports import RepProfile
from domain.timeutil import DateRange
from domain.tv import (
    ContestView,
    ContestWin,
    SplashKind,
    TvSettings,
    WonDeal,
    snapshot,
)

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
REPS = [
    RepProfile(1, "ava@x.com", "Ava Stone", team="East"),
    RepProfile(2, "ben@x.com", "Ben Hidden", team="East", public_opt_out=True),
    RepProfile(3, "cy@x.com", "Cy Park", team="West"),
    RepProfile(4, "mo@x.com", "Mo Manager", team="East", role="manager"),
]
TOTALS = {
    1: {"wins": 2.0, "conversations": 10.0},
    2: {"wins": 9.0, "conversations": 40.0},
    3: {"wins": 3.0, "conversations": 5.0},
    4: {"wins": 50.0},
}


class Metrics:
    def __init__(self) -> None:
        self.ranges: list[DateRange] = []

    def reps(self, *, active_only: bool = True) -> list[RepProfile]:
        return REPS

    def totals(
        self,
        rng: DateRange,
        *,
        kpis: Sequence[str] | None = None,
        rep_ids: Sequence[int] | None = None,
    ) -> dict[int, dict[str, float]]:
        self.ranges.append(rng)
        return {r: t for r, t in TOTALS.items() if rep_ids is None or r in rep_ids}


class Events:
    def contests(self, day: date) -> list[ContestView]:
        window = DateRange(date(2026, 11, 16), date(2026, 11, 20))
        return [ContestView(7, "Call blitz", "conversations", window, frozenset({1, 2}), "Lunch")]

    def contest_wins(self, since: datetime) -> list[ContestWin]:
        return [
            ContestWin(7, "Call blitz", 2, NOW - timedelta(hours=1), "Lunch"),
            ContestWin(8, "Demo dash", 1, NOW - timedelta(hours=2), None),
        ]

    def won_deals(self, since: datetime, *, min_amount: float) -> list[WonDeal]:
        assert min_amount == 50_000
        return [WonDeal(5, 3, 80_000.0, NOW - timedelta(minutes=5)), WonDeal(6, 2, 90_000, NOW)]


def test_boards_rank_public_sellers_only() -> None:
    snap = snapshot(Metrics(), Events(), TvSettings(kpis=("wins",)), now=NOW)
    wins = snap.boards[0]
    assert [(line.rank, line.name, line.value) for line in wins.lines] == [
        (1, "Cy Park", 3.0),
        (2, "Ava Stone", 2.0),
    ]
    assert "Month to date" in wins.subtitle


def test_contest_board_keeps_entrants_over_its_window() -> None:
    metrics = Metrics()
    snap = snapshot(metrics, Events(), TvSettings(kpis=()), now=NOW)
    (contest,) = snap.boards
    assert contest.key == "contest:7"
    assert [line.name for line in contest.lines] == ["Ava Stone"]
    assert metrics.ranges[-1] == DateRange(date(2026, 11, 16), date(2026, 11, 19))
    assert "Lunch" in contest.subtitle


def test_splashes_skip_opted_out_reps_and_come_oldest_first() -> None:
    snap = snapshot(Metrics(), Events(), TvSettings(kpis=()), now=NOW)
    assert [(s.kind, s.headline) for s in snap.splashes] == [
        (SplashKind.CONTEST_WON, "Ava Stone wins Demo dash!"),
        (SplashKind.BIG_DEAL, "Cy Park closed a big deal!"),
    ]
    assert snap.splashes[1].detail == "$80,000 won"


def test_json_never_mentions_hidden_people() -> None:
    snap = snapshot(Metrics(), Events(), TvSettings(), now=NOW)
    text = str(snapshot_json(snap))
    assert "Ben Hidden" not in text and "Mo Manager" not in text
    assert snapshot_json(snap)["generated_at"] == NOW.isoformat()


def test_boards_where_nobody_scored_are_left_out() -> None:
    snap = snapshot(Metrics(), Events(), TvSettings(kpis=("won_amount", "wins")), now=NOW)
    assert [b.key for b in snap.boards] == ["month:wins", "contest:7"]
