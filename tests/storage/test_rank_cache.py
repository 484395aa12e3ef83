"""Rank tables cached between bot requests are reused only while the data is unchanged.

The version the cache is keyed by is moved by database triggers (migration 0002) on every
write to snapshots, reps and goals, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, text

from domain.goals import Goal
from domain.scorecard import RankCache, Scorecards
from domain.timeutil import Period
from storage.db import session_scope
from storage.metrics import SqlMetricsStore
from storage.models import Delivery, Rep
from tests.storage.test_metrics import NOW, seed

GOALS = [Goal("prospecting", Period.WEEK, 200)]
SATURDAY = date(2026, 11, 21)


def version(engine: Engine) -> int | None:
    with session_scope(engine) as session:
        return SqlMetricsStore(session).data_version()


def test_every_write_to_board_inputs_moves_the_version(engine: Engine) -> None:
    ids = seed(engine)
    seen = [version(engine)]
    statements = [
        "UPDATE dailysnapshot SET value = value + 1 WHERE kpi = 'wins'",
        f"DELETE FROM dailysnapshot WHERE rep_id = {ids['cy']}",
        "UPDATE rep SET public_opt_out = true WHERE email = 'ann@x.com'",
        "INSERT INTO goal (kpi, period, target, scope, origin) "
        "VALUES ('wins', 'month', 3, 'everyone', 'cli')",
    ]
    for statement in statements:
        with engine.begin() as conn:
            conn.execute(text(statement))
        seen.append(version(engine))
    assert None not in seen
    assert len(set(seen)) == len(seen)
    with session_scope(engine) as session:  # other tables leave it alone
        session.add(Delivery(key="k", channel="C1", payload={}, created_at=NOW))
    assert version(engine) == seen[-1]


def test_cached_ranks_follow_new_snapshots(engine: Engine) -> None:
    ids = seed(engine)  # a week of prospecting: cy 50 a day, ann 40, bob 30
    cache = RankCache()

    def ann_rank() -> int | None:
        with session_scope(engine) as session:
            store = SqlMetricsStore(session)
            cards = Scorecards(store, GOALS, rank_cache=cache, data_version=store.data_version())
            ann = next(r for r in store.reps() if r.id == ids["ann"])
            return cards.scorecard(ann, Period.WEEK, SATURDAY).lines["prospecting"].rank

    assert ann_rank() == 2
    assert ann_rank() == 2  # answered from the cache
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE dailysnapshot SET value = 500 WHERE rep_id = :rep AND kpi = 'prospecting'"
            ),
            {"rep": ids["ann"]},
        )
    assert ann_rank() == 1


def test_postgres_writers_take_the_version_only_at_commit_once_each(
    engine: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: there is nothing to wait for")
    seed(engine)
    before = version(engine)
    assert before is not None
    with engine.connect() as sync, engine.connect() as bot:
        sync.execute(text("UPDATE dailysnapshot SET value = value + 1"))  # many rows
        # A second writer is not held up by the first one's uncommitted snapshot writes.
        bot.execute(text("SET LOCAL lock_timeout = '2s'"))
        bot.execute(text("UPDATE rep SET public_opt_out = true WHERE email = 'ann@x.com'"))
        bot.commit()
        assert version(engine) == before + 1  # once for the whole transaction
        # Readers never see a version for data that is not committed yet.
        sync_seen = version(engine)
        sync.commit()
        assert sync_seen == before + 1
    assert version(engine) == before + 2


def test_warmed_rank_tables_answer_the_next_scorecard_without_ranking(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    ids = seed(engine)
    cache = RankCache()
    built: list[Period] = []
    rank_table = Scorecards._rank_table

    def counting(self: Scorecards, period: Period, *args: object) -> object:
        built.append(period)
        return rank_table(self, period, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Scorecards, "_rank_table", counting)
    # Saturday afternoon in New York (Ann) and in UTC (the others): one local day for all.
    when = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        store = SqlMetricsStore(session)
        uncached = Scorecards(store, GOALS)
        assert uncached.warm_ranks([Period.WEEK], when) == 0  # no cache: nothing to keep
        cards = Scorecards(store, GOALS, rank_cache=cache, data_version=store.data_version())
        assert cards.warm_ranks([Period.WEEK, Period.MONTH], when) == 2
        assert built == [Period.WEEK, Period.MONTH]
        ann = next(r for r in store.reps() if r.id == ids["ann"])
        card = cards.scorecard(ann, Period.WEEK, when)
    assert built == [Period.WEEK, Period.MONTH]  # answered from the warmed table
    assert card.lines["prospecting"].rank == 2
    with session_scope(engine) as session:
        store = SqlMetricsStore(session)
        cards = Scorecards(store, GOALS, rank_cache=cache, data_version=store.data_version())
        assert cards.warm_ranks([Period.WEEK], when) == 1
    assert built == [Period.WEEK, Period.MONTH]  # same data version: nothing rebuilt


def test_boards_on_a_shared_cache_follow_rep_changes(engine: Engine) -> None:
    """The reps list is kept per data version: a new, renamed or departed rep shows at once."""
    seed(engine)
    cache = RankCache()

    def board() -> list[str]:
        with session_scope(engine) as session:
            store = SqlMetricsStore(session)
            cards = Scorecards(store, GOALS, rank_cache=cache, data_version=store.data_version())
            lines = cards.leaderboard("prospecting", Period.WEEK, SATURDAY)
            return [line.standing.name for line in lines]

    assert board() == ["Cy", "Ann", "Bob"]
    assert board() == ["Cy", "Ann", "Bob"]  # the second from the cached list
    with engine.begin() as conn:
        conn.execute(text("UPDATE rep SET name = 'Annabel' WHERE email = 'ann@x.com'"))
    assert board() == ["Cy", "Annabel", "Bob"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE rep SET active = false WHERE email = 'cy@x.com'"))
    assert board() == ["Annabel", "Bob"]
    with session_scope(engine) as session:
        session.add(Rep(source="t", crm_user_id="D", name="Dee", email="dee@x.com"))
    assert board() == ["Annabel", "Bob", "Dee"]
