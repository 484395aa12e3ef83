"""Scorecard reads on SQLite and PostgreSQL: sums in SQL, pipeline paths, goals, scorecards."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import col

from domain.funnel import stage_win_rates
from domain.goals import Goal, Scope
from domain.leaderboard import RankBy, visible_to
from domain.scorecard import ACTIVITY_SCORE, ScorecardRules, Scorecards
from domain.timeutil import DateRange, Period
from storage.db import session_scope
from storage.goals import SqlGoalStore
from storage.metrics import SqlMetricsStore
from storage.models import (
    DailySnapshot,
    Opportunity,
    PipelineSnapshot,
    PipelineStage,
    Rep,
    StageChange,
)

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
MONDAY = date(2026, 11, 16)


def seed(engine: Engine) -> dict[str, int]:
    """Three reps, one manager; a week of prospecting snapshots."""
    with session_scope(engine) as session:
        boss = Rep(source="t", crm_user_id="B", name="Boss", email="boss@x.com", role="manager")
        session.add(boss)
        session.flush()
        reps = {
            "ann": Rep(source="t", crm_user_id="A", name="Ann", email="ann@x.com", team="East",
                       manager_id=boss.id, timezone="America/New_York"),
            "bob": Rep(source="t", crm_user_id="B2", name="Bob", email="Bob@X.com", team="East",
                       manager_id=boss.id, public_opt_out=True),
            "cy": Rep(source="t", crm_user_id="C", name="Cy", email="cy@x.com", team="West"),
        }  # fmt: skip
        session.add_all(reps.values())
        session.flush()
        per_day = {"ann": 40.0, "bob": 30.0, "cy": 50.0}
        for key, rep in reps.items():
            for n in range(7):
                day = MONDAY + timedelta(days=n)
                session.add(
                    DailySnapshot(rep_id=rep.id, day=day, kpi="prospecting", value=per_day[key])
                )
            session.add(DailySnapshot(rep_id=rep.id, day=MONDAY, kpi="wins", value=1))
        ids = {k: r.id for k, r in reps.items() if r.id is not None}
        assert boss.id is not None
        ids["boss"] = boss.id
        return ids


def test_totals_and_daily_series_are_summed_in_sql(engine: Engine) -> None:
    ids = seed(engine)
    with session_scope(engine) as session:
        store = SqlMetricsStore(session)
        week = DateRange(MONDAY, MONDAY + timedelta(days=4))
        totals = store.totals(week)
        assert totals[ids["ann"]]["prospecting"] == 200
        assert totals[ids["cy"]]["wins"] == 1
        only = store.totals(week, kpis=["wins"], rep_ids=[ids["bob"]])
        assert only == {ids["bob"]: {"wins": 1.0}}
        series = store.daily([ids["ann"]], DateRange(MONDAY, MONDAY + timedelta(days=1)))
        assert series[ids["ann"]]["prospecting"] == {MONDAY: 40.0, MONDAY + timedelta(1): 40.0}
        bob = store.rep_by_email("bob@x.com")
        assert bob is not None and bob.public_opt_out
        assert {r.name for r in store.reps()} == {"Ann", "Bob", "Cy", "Boss"}


def test_goal_store_round_trip_and_config_replacement(engine: Engine) -> None:
    with session_scope(engine) as session:
        goals = SqlGoalStore(session)
        mine = goals.add_goal(
            Goal("wins", Period.MONTH, 4, Scope.REP, "Ann@X.com"),
            origin="cli",
            created_by="boss@x.com",
            now=NOW,
        )
        assert mine.id is not None and mine.scope_value == "ann@x.com"
        config = [Goal("prospecting", Period.DAY, 40), Goal("wins", Period.QUARTER, 9)]
        assert goals.replace_config_goals(config, now=NOW) == 2
        assert goals.replace_config_goals(config, now=NOW) == 0  # unchanged: nothing rewritten
        assert goals.replace_config_goals(config[:1], now=NOW) == 1
    with session_scope(engine) as session:
        goals = SqlGoalStore(session)
        assert [(g.kpi, g.period) for g in goals.goals()] == [
            ("wins", Period.MONTH),
            ("prospecting", Period.DAY),
        ]
        assert [g.kpi for g in goals.goals(kpi="wins")] == ["wins"]
        assert goals.delete_goal(mine.id or 0)
        assert not goals.delete_goal(mine.id or 0)


def test_opportunity_paths_from_history_snapshots_and_current_stage(engine: Engine) -> None:
    ids = seed(engine)
    created = datetime(2026, 10, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        for order, (name, closed, won) in enumerate(
            [
                ("Discovery", 0, 0),
                ("Demo", 0, 0),
                ("Proposal", 0, 0),
                ("Won", 1, 1),
                ("Lost", 1, 0),
            ],
            start=1,
        ):
            session.add(PipelineStage(source="t", pipeline="default", stage=name, order=order,
                                      is_closed=bool(closed), is_won=bool(won)))  # fmt: skip

        def opp(crm: str, stage: str, order: int, closed: bool, won: bool) -> Opportunity:
            row = Opportunity(source="t", crm_id=crm, rep_id=ids["ann"], name=crm, amount=100,
                              stage=stage, stage_order=order, created_at=created,
                              is_closed=closed, is_won=won)  # fmt: skip
            session.add(row)
            return row

        won = opp("O1", "Won", 4, True, True)
        lost_after_proposal = opp("O2", "Lost", 5, True, False)
        lost_no_history = opp("O3", "Lost", 5, True, False)
        open_demo = opp("O4", "Demo", 2, False, False)
        session.flush()
        for crm_id, opp_id, before, after in [
            ("c1", "O1", "Discovery", "Proposal"),
            ("c2", "O1", "Proposal", "Won"),
            ("c3", "O2", "Proposal", "Lost"),
        ]:
            session.add(
                StageChange(
                    source="t",
                    crm_id=crm_id,
                    opportunity_crm_id=opp_id,
                    from_stage=before,
                    to_stage=after,
                    changed_at=created,
                )
            )
        # O3 has no history; its daily snapshots saw it in Demo before it was lost.
        session.add(PipelineSnapshot(day=date(2026, 10, 5), opportunity_id=lost_no_history.id,
                                     rep_id=ids["ann"], stage="Demo", stage_order=2))  # fmt: skip
    with session_scope(engine) as session:
        store = SqlMetricsStore(session)
        paths = {p.opportunity_id: p for p in store.opportunity_paths()}
        assert paths[won.id or 0].furthest_open_order == 3  # Demo skipped, Lost/Won not open
        assert paths[lost_after_proposal.id or 0].furthest_open_order == 3
        assert paths[lost_no_history.id or 0].furthest_open_order == 2
        assert paths[open_demo.id or 0].furthest_open_order == 2
        rates = {r.stage: r.win_rate for r in stage_win_rates(store.stages(), list(paths.values()))}
        assert rates == pytest.approx({"Discovery": 1 / 3, "Demo": 1 / 3, "Proposal": 1 / 2})


def test_scorecard_and_leaderboard_over_the_database(engine: Engine) -> None:
    ids = seed(engine)
    goals = [
        Goal("prospecting", Period.DAY, 40),
        Goal("prospecting", Period.WEEK, 150, Scope.TEAM, "East"),
        Goal("wins", Period.MONTH, 4),
    ]
    with session_scope(engine) as session:
        store = SqlMetricsStore(session)
        cards = Scorecards(store, goals, rules=ScorecardRules(org_timezone="UTC"))
        ann = store.rep_by_email("ann@x.com")
        assert ann is not None
        friday = MONDAY + timedelta(days=4)
        card = cards.scorecard(ann, Period.WEEK, friday).to_json()
        prospecting = card["kpis"]["prospecting"]  # type: ignore[index]
        assert prospecting["actual"] == 200
        assert prospecting["goal"] == 150  # the team's weekly goal beats everyone's daily one
        assert prospecting["expected_to_date"] == 150
        assert prospecting["status"] == "ahead"
        wins = card["kpis"]["wins"]  # type: ignore[index]
        assert wins["goal"] == pytest.approx(4 * 5 / 21, abs=0.01)  # the month's goal, per week
        assert wins["status"] == "on_track"
        assert card["kpis"]["conversations"]["status"] == "no_goal"  # type: ignore[index]
        assert card["rank"]["prospecting"] == {"position": 1, "of": 3, "by": "percent"}  # type: ignore[index]
        assert card["period"]["working_days"] == 5  # type: ignore[index]
        board = cards.leaderboard("prospecting", Period.WEEK, friday)
        assert [(line.standing.name, line.rank) for line in board] == [
            ("Ann", 1),
            ("Cy", 2),
            ("Bob", 3),
        ]
        raw = cards.leaderboard("prospecting", Period.WEEK, friday, by=RankBy.COUNT)
        assert [line.standing.name for line in raw] == ["Cy", "Ann", "Bob"]
        public = visible_to(board, viewer_id=ids["cy"])
        assert [line.standing.name for line in public] == ["Ann", "Cy"]
        manager = visible_to(board, viewer_id=ids["boss"], managed={ids["ann"], ids["bob"]})
        assert len(manager) == 3
        scores = cards.leaderboard(ACTIVITY_SCORE, Period.WEEK, friday)
        assert {line.standing.name for line in scores} == {"Ann", "Bob", "Cy"}
        east = cards.leaderboard("prospecting", Period.WEEK, friday, team="east")
        assert [line.standing.name for line in east] == ["Ann", "Bob"]


def test_streak_on_the_database(engine: Engine) -> None:
    seed(engine)
    with session_scope(engine) as session:
        store = SqlMetricsStore(session)
        cards = Scorecards(store, [Goal("prospecting", Period.DAY, 40)])
        ann, bob = store.rep_by_email("ann@x.com"), store.rep_by_email("bob@x.com")
        assert ann is not None and bob is not None
        friday = MONDAY + timedelta(days=4)
        ann_card = cards.scorecard(ann, Period.WEEK, friday, with_ranks=False)
        assert ann_card.lines["prospecting"].streak == 5
        assert (
            cards.scorecard(bob, Period.WEEK, friday, with_ranks=False).lines["prospecting"].streak
            == 0
        )
        # Live at 10:00 on Friday in New York: today's goal is not met yet, but the day is open.
        live = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
        session.execute(delete(DailySnapshot).where(col(DailySnapshot.day) == friday))
        assert (
            cards.scorecard(ann, Period.WEEK, live, with_ranks=False).lines["prospecting"].streak
            == 4
        )
