"""The Directory port on SQLite and PostgreSQL: lookups, hierarchy, linking, re-dating days."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from storage.db import session_scope
from storage.directory import SqlDirectory
from storage.models import Activity, DirtyDay, Opportunity, Rep, StageChange

LATE_EVENING_UTC = datetime(2026, 11, 18, 23, 30, tzinfo=UTC)  # 18:30 New York, 08:30 Tokyo


def seed(engine: Engine) -> dict[str, int]:
    """A director over a manager over two reps, plus one dated fact of each kind for Ann."""
    with session_scope(engine) as session:
        director = Rep(
            source="t", crm_user_id="D", name="Dee Director", email="dee@x.com", role="manager"
        )
        session.add(director)
        session.flush()
        manager = Rep(
            source="t", crm_user_id="M", name="Max Manager", email="max@x.com",
            manager_id=director.id, role="manager", slack_user_id="UMAX",
        )  # fmt: skip
        session.add(manager)
        session.flush()
        ann = Rep(
            source="t", crm_user_id="A", name="Ann Able", email="Ann@X.com", team="East",
            manager_id=manager.id, timezone="America/New_York",
        )  # fmt: skip
        bob = Rep(
            source="t", crm_user_id="B", name="Bob Bell", email="bob@x.com", manager_id=manager.id
        )
        gone = Rep(
            source="t", crm_user_id="G", name="Gus Gone", email="gus@x.com",
            manager_id=manager.id, active=False,
        )  # fmt: skip
        session.add_all([ann, bob, gone])
        session.flush()
        session.add_all(
            [
                Activity(
                    source="t", crm_id="a1", rep_id=ann.id, kind="call",
                    occurred_at=LATE_EVENING_UTC, day=date(2026, 11, 18),
                ),
                Activity(
                    source="t", crm_id="a2", rep_id=ann.id, kind="task", day=date(2026, 11, 2)
                ),
                Opportunity(
                    source="t", crm_id="o1", rep_id=ann.id, name="Deal", stage="Discovery",
                    created_at=LATE_EVENING_UTC, created_day=date(2026, 11, 18),
                ),
                StageChange(
                    source="t", crm_id="s1", opportunity_crm_id="o1", to_stage="Proposal",
                    changed_at=datetime(2026, 11, 10, 23, 0, tzinfo=UTC),
                ),
            ]
        )  # fmt: skip
        ids = {"dee": director.id, "max": manager.id, "ann": ann.id, "bob": bob.id}
    return {k: v for k, v in ids.items() if v is not None}


def test_lookups_and_the_hierarchy(engine: Engine) -> None:
    ids = seed(engine)
    with session_scope(engine) as session:
        d = SqlDirectory(session, org_timezone="UTC")
        assert d.by_email(" ann@x.COM ").name == "Ann Able"  # type: ignore[union-attr]
        assert d.by_slack_id("UMAX").id == ids["max"]  # type: ignore[union-attr]
        assert d.by_slack_id("UNKNOWN") is None
        assert d.managers_of(ids["ann"]) == [ids["max"], ids["dee"]]
        assert [r.name for r in d.reports_of(ids["dee"])] == ["Ann Able", "Bob Bell", "Max Manager"]
        assert [r.name for r in d.reports_of(ids["max"])] == ["Ann Able", "Bob Bell"]
        assert {r.name for r in d.unmatched()} == {"Dee Director", "Ann Able", "Bob Bell"}
        assert d.slack_ids([ids["max"], ids["ann"]]) == {ids["max"]: "UMAX"}
        d.set_public_opt_out(ids["bob"], True)
    with session_scope(engine) as session:
        assert SqlDirectory(session).by_id(ids["bob"]).public_opt_out  # type: ignore[union-attr]


def test_a_hierarchy_cycle_does_not_loop(engine: Engine) -> None:
    ids = seed(engine)
    with session_scope(engine) as session:
        dee = session.get(Rep, ids["dee"])
        assert dee is not None
        dee.manager_id = ids["ann"]
        session.add(dee)
    with session_scope(engine) as session:
        d = SqlDirectory(session)
        assert d.managers_of(ids["ann"]) == [ids["max"], ids["dee"]]
        assert ids["ann"] in {r.id for r in d.reports_of(ids["dee"])}


def test_linking_with_a_new_zone_redates_timed_facts_and_marks_both_days_dirty(
    engine: Engine,
) -> None:
    ids = seed(engine)
    with session_scope(engine) as session:
        change = SqlDirectory(session, org_timezone="UTC").link(ids["ann"], "UANN", "Asia/Tokyo")
    assert change.timezone_changed
    with Session(engine) as session:
        ann = session.get(Rep, ids["ann"])
        assert ann is not None and (ann.slack_user_id, ann.timezone) == ("UANN", "Asia/Tokyo")
        days = dict(session.execute(select(col(Activity.crm_id), col(Activity.day))).all())
        assert days == {"a1": date(2026, 11, 19), "a2": date(2026, 11, 2)}  # date-only kept
        opp = session.execute(select(col(Opportunity.created_day))).scalar_one()
        assert opp == date(2026, 11, 19)
        dirty = set(
            session.execute(
                select(col(DirtyDay.day)).where(col(DirtyDay.rep_id) == ids["ann"])
            ).scalars()
        )
    # the call and the opportunity moved from the 18th to the 19th; the stage move is the
    # 10th in New York and the 11th in Tokyo
    assert dirty == {date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 10), date(2026, 11, 11)}
    assert change.days_marked == len(dirty)


def test_relinking_with_the_same_zone_changes_no_days_and_moves_the_slack_id(
    engine: Engine,
) -> None:
    ids = seed(engine)
    with session_scope(engine) as session:
        change = SqlDirectory(session).link(ids["ann"], "UMAX", "America/New_York")
    assert not change.timezone_changed and change.days_marked == 0
    with Session(engine) as session:
        holders = session.execute(select(col(Rep.id)).where(col(Rep.slack_user_id) == "UMAX"))
        assert list(holders.scalars()) == [ids["ann"]]
        assert session.execute(select(DirtyDay)).first() is None
