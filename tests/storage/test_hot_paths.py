"""The batched reads and shortcuts of the hot paths give what the plain ones give.

/mystats reads the rep's daily series once and adds its period sums up from it; rank tables
rank without board lines; the score boards resolve targets per group of reps with the same
goals; the data version brings data-as-of along; nudges probe for history per rep. Each is
checked here against the slower path it replaced, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import col

from domain.goals import Goal, Scope
from domain.leaderboard import RankBy, rank_of
from domain.scorecard import ACTIVITY_SCORE, RESULTS_SCORE, RankCache, Scorecards
from domain.timeutil import Period, period_to_date
from storage.db import session_scope
from storage.job_store import SqlJobStore
from storage.metrics import SqlMetricsStore
from storage.models import DailySnapshot, Rep, SyncState
from storage.queries import data_as_of
from tests.storage.test_metrics import MONDAY, seed

FRIDAY = MONDAY + timedelta(days=4)
GOALS = [
    Goal("prospecting", Period.DAY, 40),
    Goal("prospecting", Period.WEEK, 300, Scope.REP, "cy@x.com"),
    Goal("conversations", Period.WEEK, 20, Scope.TEAM, "east"),
    Goal("wins", Period.MONTH, 4, Scope.TEAM, "west"),
    Goal("wins", Period.QUARTER, 9),
]


def test_score_boards_give_each_rep_their_scorecard_score(engine: Engine) -> None:
    ids = seed(engine)
    with session_scope(engine) as session:  # a late starter: no goal share before Wednesday
        session.execute(
            update(Rep).where(col(Rep.id) == ids["bob"]).values(start_date=MONDAY + timedelta(2))
        )
    with session_scope(engine) as session:
        cards = Scorecards(SqlMetricsStore(session), GOALS)
        reps = {r.id: r for r in cards.board_reps()}
        for metric in (ACTIVITY_SCORE, RESULTS_SCORE):
            board = cards.leaderboard(metric, Period.WEEK, FRIDAY)
            assert {line.standing.rep_id for line in board} == set(reps)
            for line in board:
                card = cards.scorecard(reps[line.standing.rep_id], Period.WEEK, FRIDAY)
                score = card.activity if metric == ACTIVITY_SCORE else card.results
                assert line.standing.actual == (score.value or 0.0)
                assert line.standing.goal == (100.0 if score.value is not None else None)
        values = {line.standing.name: line.standing.actual for line in board}
        assert len(set(values.values())) > 1  # the goals differ, and so do the scores


def test_scorecard_daily_series_and_data_as_of_come_with_fewer_reads(engine: Engine) -> None:
    ids = seed(engine)
    synced = [datetime(2026, 11, 20, 9, 0, tzinfo=UTC), datetime(2026, 11, 20, 7, 30, tzinfo=UTC)]
    with session_scope(engine) as session:
        session.add(SyncState(source="t", object="activity", last_success=synced[0]))
        session.add(SyncState(source="t", object="opportunity", last_success=synced[1]))
        session.add(SyncState(source="t", object="user"))
    with session_scope(engine) as session:
        store = SqlMetricsStore(session)
        assert store.data_version() is not None
        cards = Scorecards(store, GOALS)
        ann = next(r for r in store.reps() if r.id == ids["ann"])
        card = cards.scorecard(ann, Period.MONTH, FRIDAY, with_ranks=False)
        assert card.daily == store.daily([ann.id], card.range).get(ann.id, {})
        assert card.daily["prospecting"][MONDAY] == 40.0
        assert card.data_as_of == data_as_of(session)
        assert card.data_as_of is not None
        assert card.data_as_of.replace(tzinfo=UTC) == synced[1]


def test_scorecard_sums_from_its_one_series_read_equal_the_sums_in_sql(engine: Engine) -> None:
    """The card adds its period sums up from the rep's daily series; SQL must agree.

    Counts agree exactly; amounts to far below a cent (the database may add the same values
    in another order, and binary fractions then differ in the last bit).
    """
    ids = seed(engine)
    amounts = [1234.56, 0.1, 0.2, 999.99, 0.0, 17.35]  # cents do not add exactly in binary
    with session_scope(engine) as session:
        for n, amount in enumerate(amounts):
            day = MONDAY - timedelta(days=9 * n)  # back into the previous month and quarter
            session.add(DailySnapshot(rep_id=ids["ann"], day=day, kpi="won_amount", value=amount))
        session.add(DailySnapshot(rep_id=ids["ann"], day=FRIDAY, kpi="conversations", value=0))
    with session_scope(engine) as session:
        store = SqlMetricsStore(session)
        cards = Scorecards(store, GOALS)
        ann = next(r for r in store.reps() if r.id == ids["ann"])
        for period in Period:
            card = cards.scorecard(ann, period, FRIDAY, with_ranks=False)
            in_sql = store.totals(period_to_date(period, FRIDAY), rep_ids=[ann.id])[ann.id]
            before = Scorecards._previous_range(period, FRIDAY)
            previous = store.totals(before, rep_ids=[ann.id]).get(ann.id, {})
            for name, line in card.lines.items():
                exact = name != "won_amount"
                same = (lambda x: x) if exact else (lambda x: pytest.approx(x, rel=1e-12))
                assert line.pace.actual == same(in_sql.get(name, 0.0)), (period, name)
                assert line.previous == same(previous.get(name, 0.0)), (period, name)
        quarter = cards.scorecard(ann, Period.QUARTER, FRIDAY, with_ranks=False)
        assert quarter.lines["won_amount"].pace.actual > 0  # the amounts were in range


def test_has_history_finds_reps_with_any_snapshot_old_or_new(engine: Engine) -> None:
    ids = seed(engine)  # ann, bob and cy have a week of snapshots; the manager has none
    with session_scope(engine) as session:
        newcomer = Rep(source="t", crm_user_id="N", name="Nia", email="nia@x.com")
        veteran = Rep(source="t", crm_user_id="V", name="Vic", email="vic@x.com")
        session.add_all([newcomer, veteran])
        session.flush()
        assert newcomer.id is not None and veteran.id is not None
        old_day = MONDAY - timedelta(days=700)
        session.add(DailySnapshot(rep_id=veteran.id, day=old_day, kpi="wins", value=0))
        ids |= {"nia": newcomer.id, "vic": veteran.id}
    with session_scope(engine) as session:
        found = SqlJobStore(session).has_history([*ids.values(), 999_999])
    assert found == {ids["ann"], ids["bob"], ids["cy"], ids["vic"]}


def test_scorecard_ranks_from_the_rank_table_match_each_kpis_board(engine: Engine) -> None:
    """Rank tables rank without building boards; every rank must be the board's own."""
    ids = seed(engine)
    with session_scope(engine) as session:  # a tie and a zero goal's worth of variety
        session.add(DailySnapshot(rep_id=ids["bob"], day=FRIDAY, kpi="conversations", value=7))
        session.add(DailySnapshot(rep_id=ids["cy"], day=FRIDAY, kpi="conversations", value=7))
        session.add(DailySnapshot(rep_id=ids["ann"], day=FRIDAY, kpi="wins", value=2))
    with session_scope(engine) as session:
        store = SqlMetricsStore(session)
        cards = Scorecards(store, GOALS, rank_cache=RankCache(), data_version=store.data_version())
        reps = cards.board_reps()
        for period in Period:
            for by in RankBy:
                for rep in reps:
                    card = cards.scorecard(rep, period, FRIDAY, by=by)
                    for kpi in cards.kpis.names():
                        board = cards.leaderboard(kpi, period, FRIDAY, by=by)
                        fallback = by is RankBy.PERCENT and all(x.rank is None for x in board)
                        if fallback:
                            board = cards.leaderboard(kpi, period, FRIDAY, by=RankBy.COUNT)
                        line = rank_of(board, rep.id)
                        assert line is not None
                        assert card.ranks[kpi] == line.rank, (period, by, rep.name, kpi)
                        assert (kpi in card.count_ranked) is fallback
