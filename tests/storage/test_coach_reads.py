"""Coaching reads on SQLite and PostgreSQL: weekly sums, open pipeline and follow-ups per rep."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from domain.attention import FollowUpState
from domain.ports import OpenPipelineTotal
from domain.timeutil import DateRange
from storage.coach_reads import SqlCoachReads
from storage.db import session_scope
from storage.models import CoachingNote, DailySnapshot, Opportunity, Rep

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
MONDAY = date(2026, 11, 2)
WEEKS = [
    DateRange(MONDAY + timedelta(weeks=n), MONDAY + timedelta(weeks=n, days=6)) for n in range(2)
]


def seed(engine: Engine) -> dict[str, int]:
    """A manager and two reps: daily snapshots over three weeks, deals, and notes."""
    with session_scope(engine) as session:
        boss = Rep(source="t", crm_user_id="B", name="Boss", email="boss@x.com", role="manager")
        session.add(boss)
        session.flush()
        ann = Rep(source="t", crm_user_id="A", name="Ann", email="ann@x.com", manager_id=boss.id)
        bob = Rep(source="t", crm_user_id="C", name="Bob", email="bob@x.com", manager_id=boss.id)
        session.add_all([ann, bob])
        session.flush()
        assert ann.id and bob.id and boss.id
        # Ann: prospecting = day-of-month every day, from the Sunday before to the Monday after.
        day = MONDAY - timedelta(days=1)
        while day <= MONDAY + timedelta(days=14):
            session.add(DailySnapshot(rep_id=ann.id, day=day, kpi="prospecting", value=day.day))
            day += timedelta(days=1)
        session.add(DailySnapshot(rep_id=bob.id, day=MONDAY + timedelta(8), kpi="wins", value=2))
        deals = [
            (ann.id, "o1", 1000.0, False, False),
            (ann.id, "o2", None, False, False),
            (ann.id, "o3", 5000.0, True, False),  # closed: not open pipeline
            (ann.id, "o4", 7000.0, False, True),  # deleted in the CRM
            (bob.id, "o5", 2500.0, False, False),
        ]
        for rep_id, crm_id, amount, closed, deleted in deals:
            session.add(
                Opportunity(source="t", crm_id=crm_id, rep_id=rep_id, name=crm_id, amount=amount,
                            stage="Closed Won" if closed else "Proposal", is_closed=closed,
                            is_won=closed, is_deleted=deleted, created_at=NOW)
            )  # fmt: skip
        notes = [
            (ann.id, date(2026, 11, 10), False),
            (ann.id, date(2026, 11, 12), False),
            (ann.id, date(2026, 11, 25), False),  # not due yet
            (ann.id, date(2026, 11, 1), True),  # done
            (bob.id, None, False),  # no follow-up
            (bob.id, date(2026, 11, 19), False),  # due today: not overdue
        ]
        for rep_id, due, done in notes:
            session.add(
                CoachingNote(manager_id=boss.id, rep_id=rep_id, template="blank", text="t",
                             follow_up_on=due, done=done, created_at=NOW)
            )  # fmt: skip
        return {"ann": ann.id, "bob": bob.id, "boss": boss.id}


def test_bucket_totals_sum_each_week_in_sql(engine: Engine) -> None:
    ids = seed(engine)
    with session_scope(engine) as session:
        reads = SqlCoachReads(session)
        weekly = reads.bucket_totals([ids["ann"], ids["bob"], ids["boss"]], WEEKS)
        first = sum(range(2, 9))  # Nov 2..8
        second = sum(range(9, 16))  # Nov 9..15; Nov 1 and Nov 16 fall outside the buckets
        assert weekly[ids["ann"]] == {"prospecting": [first, second]}
        assert weekly[ids["bob"]] == {"wins": [0.0, 2.0]}
        assert ids["boss"] not in weekly
        only = reads.bucket_totals([ids["ann"], ids["bob"]], WEEKS, kpis=["wins"])
        assert only == {ids["bob"]: {"wins": [0.0, 2.0]}}
        assert reads.bucket_totals([], WEEKS) == {}


def test_open_pipeline_counts_open_live_deals_per_rep(engine: Engine) -> None:
    ids = seed(engine)
    with session_scope(engine) as session:
        pipeline = SqlCoachReads(session).open_pipeline([ids["ann"], ids["bob"], ids["boss"]])
    assert pipeline == {
        ids["ann"]: OpenPipelineTotal(2, 1000.0),
        ids["bob"]: OpenPipelineTotal(1, 2500.0),
    }


def test_follow_ups_count_open_ones_and_those_past_due(engine: Engine) -> None:
    ids = seed(engine)
    with session_scope(engine) as session:
        state = SqlCoachReads(session).follow_ups(
            [ids["ann"], ids["bob"]], as_of=date(2026, 11, 19)
        )
    assert state == {
        ids["ann"]: FollowUpState(open=3, overdue=2, oldest_overdue=date(2026, 11, 10)),
        ids["bob"]: FollowUpState(open=1, overdue=0, oldest_overdue=None),
    }
