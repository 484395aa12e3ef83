"""The TV board shows public data only: no opted-out reps, no managers, nothing private."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from bot.tv import snapshot_json
from domain.contests import Contest, ContestRules, Participant, Rule, Status
from domain.ports import ContestEventRecord, RepProfile
from domain.recognition import WonDeal
from domain.timeutil import DateRange
from domain.tv import SplashKind, TvSettings, snapshot

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
PEOPLE = tuple(
    Participant(r.id, r.name, r.email, r.team, public_opt_out=r.public_opt_out) for r in REPS[:3]
)


def contest(cid: int, name: str, *, team: bool = False, status: Status = Status.ACTIVE) -> Contest:
    rules = ContestRules(
        name=name,
        kpi="conversations",
        rule=Rule.MOST,
        start=date(2026, 11, 16),
        end=date(2026, 11, 20),
        channel="#blitz",
        team_contest=team,
        prizes=("Lunch",),
    )
    return Contest(rules, PEOPLE, id=cid, status=status)


CONTESTS = [
    contest(7, "Call blitz"),
    contest(8, "Team race", team=True, status=Status.FINISHED),
    Contest(
        ContestRules("Old", "wins", Rule.MOST, date(2026, 10, 1), date(2026, 10, 31), "#old"),
        PEOPLE,
        id=9,
        status=Status.FINISHED,
    ),
]
EVENTS = {
    7: [
        ContestEventRecord(
            7, "won", "won", NOW - timedelta(hours=1), {"awards": {"2": "1|Lunch", "1": "2|"}}
        )
    ],
    8: [ContestEventRecord(8, "won", "won", NOW - timedelta(hours=2), {"winners": [1, 2]})],
    9: [ContestEventRecord(9, "won", "won", NOW - timedelta(days=18), {"winners": [1]})],
}


class Metrics:
    def reps(self, *, active_only: bool = True) -> list[RepProfile]:
        return REPS

    def totals(
        self,
        rng: DateRange,
        *,
        kpis: Sequence[str] | None = None,
        rep_ids: Sequence[int] | None = None,
    ) -> dict[int, dict[str, float]]:
        return {r: t for r, t in TOTALS.items() if rep_ids is None or r in rep_ids}


class Contests:
    def __init__(self) -> None:
        self.ranges: list[DateRange] = []

    def contests(self, *, statuses: Sequence[Status] | None = None) -> list[Contest]:
        return [c for c in CONTESTS if statuses is None or c.status in statuses]

    def daily_values(
        self, rep_ids: Sequence[int], rng: DateRange, *, kpi: str
    ) -> dict[int, dict[date, float]]:
        self.ranges.append(rng)
        return {r: {date(2026, 11, 17): TOTALS[r].get(kpi, 0.0)} for r in rep_ids}

    def events(self, contest_id: int, *, kind: str | None = None) -> list[ContestEventRecord]:
        return [e for e in EVENTS.get(contest_id, []) if kind in (None, e.kind)]

    def won_deals(self, *, since: date, min_amount: float) -> list[WonDeal]:
        assert since == date(2026, 11, 17) and min_amount == 50_000
        return [
            WonDeal("s", "O5", "Acme renewal", 80_000.0, 3, date(2026, 11, 19)),
            WonDeal("s", "O6", "Secret deal", 90_000.0, 2, date(2026, 11, 19)),
        ]

    def data_as_of(self) -> datetime | None:
        return NOW


def test_boards_rank_public_sellers_only() -> None:
    snap = snapshot(Metrics(), Contests(), TvSettings(kpis=("wins",)), now=NOW)
    wins = snap.boards[0]
    assert [(line.rank, line.name, line.value) for line in wins.lines] == [
        (1, "Cy Park", 3.0),
        (2, "Ava Stone", 2.0),
    ]
    assert "Month to date" in wins.subtitle


def test_contest_boards_use_the_contest_scoring_and_hide_opted_out_people() -> None:
    store = Contests()
    snap = snapshot(Metrics(), store, TvSettings(kpis=()), now=NOW)
    by_key = {b.key: b for b in snap.boards}
    assert set(by_key) == {"contest:7", "contest:8"}, "the October contest is over"
    assert [(line.rank, line.name) for line in by_key["contest:7"].lines] == [
        (2, "Ava Stone"),
        (3, "Cy Park"),
    ]
    assert [line.name for line in by_key["contest:8"].lines] == ["East", "West"]
    assert store.ranges[0] == DateRange(date(2026, 11, 16), date(2026, 11, 19))
    assert "Lunch" in by_key["contest:7"].subtitle


def test_splashes_name_only_public_people_and_come_oldest_first() -> None:
    snap = snapshot(Metrics(), Contests(), TvSettings(kpis=()), now=NOW)
    assert [(s.kind, s.headline) for s in snap.splashes] == [
        (SplashKind.BIG_DEAL, "Cy Park closed a big deal!"),
        (SplashKind.CONTEST_WON, "Team East wins Team race!"),
    ]
    assert snap.splashes[0].detail == "$80,000 won"


def test_json_never_mentions_hidden_people_or_accounts() -> None:
    snap = snapshot(Metrics(), Contests(), TvSettings(), now=NOW)
    text = str(snapshot_json(snap))
    for secret in ("Ben Hidden", "Mo Manager", "Acme renewal", "Secret deal"):
        assert secret not in text
    assert snapshot_json(snap)["generated_at"] == NOW.isoformat()


def test_boards_where_nobody_scored_are_left_out() -> None:
    snap = snapshot(Metrics(), Contests(), TvSettings(kpis=("won_amount", "wins")), now=NOW)
    assert [b.key for b in snap.boards][:1] == ["month:wins"]
