"""The sync's storage: upserts by natural key, deletions and roll-ups, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError
from sqlmodel import Session

from domain.kpis import default_kpis
from domain.ports import SyncPage
from domain.records import (
    ActivityKind,
    ActivityRecord,
    CrmObject,
    CrmUser,
    OpportunityRecord,
    PipelineStageRecord,
    StageChangeRecord,
)
from storage.db import session_scope
from storage.models import Activity, DailySnapshot, DirtyDay, Rep, SnapshotIncrement
from storage.sync_store import ACTIVITY_COLUMNS, SqlSyncStore
from tests.reliability.faults_support import inconsistent_days

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
DAY = date(2026, 11, 23)
USERS = [
    CrmUser("M1", "Maria Manager", "Maria@Example.com", team="East"),
    CrmUser("R1", "Rob Rep", "rob@example.com", manager_crm_id="M1", team="East"),
]
STAGES = [
    PipelineStageRecord("default", "Qualify", 1),
    PipelineStageRecord("default", "Propose", 2),
    PipelineStageRecord("default", "Won", 3, is_closed=True, is_won=True),
    PipelineStageRecord("default", "Lost", 4, is_closed=True),
]


def at(hour: int) -> datetime:
    return datetime(2026, 11, 23, hour, 0, tzinfo=UTC)


def apply(engine: Engine, page: SyncPage, *, timezone: str = "UTC") -> None:
    with session_scope(engine) as session:
        SqlSyncStore(session, org_timezone=timezone).apply_page(
            "test", page, default_kpis(), now=NOW
        )


def rollup(engine: Engine) -> None:
    with session_scope(engine) as session:
        store = SqlSyncStore(session)
        while store.rollup_dirty(default_kpis(), now=NOW):
            pass


def snapshot(engine: Engine) -> dict[tuple[str, date, str], float]:
    with Session(engine) as session:
        rows = session.execute(
            select(Rep.email, DailySnapshot.day, DailySnapshot.kpi, DailySnapshot.value).join(
                Rep,
                Rep.id == DailySnapshot.rep_id,  # type: ignore[arg-type]
            )
        )
        return {(r[0], r[1], r[2]): r[3] for r in rows}


def seed(engine: Engine) -> None:
    apply(engine, SyncPage(CrmObject.USERS, records=USERS))
    apply(engine, SyncPage(CrmObject.STAGES, records=STAGES))


def test_users_get_managers_roles_and_lowercase_emails(engine: Engine) -> None:
    seed(engine)
    with Session(engine) as session:
        reps = {r.crm_user_id: r for r in session.execute(select(Rep)).scalars()}
    assert reps["M1"].email == "maria@example.com"
    assert reps["M1"].role == "manager"
    assert reps["R1"].role == "rep"
    assert reps["R1"].manager_id == reps["M1"].id


def test_replaying_a_page_changes_nothing(engine: Engine) -> None:
    seed(engine)
    page = SyncPage(
        CrmObject.ACTIVITIES,
        records=[
            ActivityRecord("a1", "R1", ActivityKind.CALL, occurred_at=at(10), duration_s=60),
            ActivityRecord("a2", "R1", ActivityKind.EMAIL, occurred_at=at(11)),
        ],
        cursor="c1",
    )
    apply(engine, page)
    apply(engine, page)
    rollup(engine)
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Activity)).scalar_one() == 2
        assert SqlSyncStore(session).cursor("test", CrmObject.ACTIVITIES) == "c1"
    assert snapshot(engine) == {
        ("rob@example.com", DAY, "prospecting"): 2,
        ("rob@example.com", DAY, "conversations"): 1,
    }


def test_a_deleted_activity_leaves_the_counts(engine: Engine) -> None:
    seed(engine)
    apply(
        engine,
        SyncPage(
            CrmObject.ACTIVITIES,
            records=[
                ActivityRecord("a1", "R1", ActivityKind.CALL, occurred_at=at(10), duration_s=120),
                ActivityRecord("a2", "R1", ActivityKind.CALL, occurred_at=at(11), duration_s=120),
            ],
        ),
    )
    rollup(engine)
    apply(engine, SyncPage(CrmObject.ACTIVITIES, deleted_ids=["a2"]))
    rollup(engine)
    assert snapshot(engine)[("rob@example.com", DAY, "conversations")] == 1


def test_an_edit_that_moves_an_activity_to_another_day_fixes_both_days(engine: Engine) -> None:
    seed(engine)
    apply(
        engine,
        SyncPage(
            CrmObject.ACTIVITIES,
            records=[
                ActivityRecord("a1", "R1", ActivityKind.EMAIL, occurred_at=at(10)),
            ],
        ),
    )
    rollup(engine)
    moved = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    apply(
        engine,
        SyncPage(
            CrmObject.ACTIVITIES,
            records=[
                ActivityRecord("a1", "R1", ActivityKind.EMAIL, occurred_at=moved),
            ],
        ),
    )
    rollup(engine)
    assert snapshot(engine) == {("rob@example.com", date(2026, 11, 20), "prospecting"): 1}


def test_days_are_the_reps_local_days(engine: Engine) -> None:
    seed(engine)
    late_evening_utc = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 21:00 on the 23rd in New York
    apply(
        engine,
        SyncPage(
            CrmObject.ACTIVITIES,
            records=[
                ActivityRecord("a1", "R1", ActivityKind.EMAIL, occurred_at=late_evening_utc),
                ActivityRecord("a2", "R1", ActivityKind.EMAIL, activity_date=date(2026, 11, 22)),
            ],
        ),
        timezone="America/New_York",
    )
    rollup(engine)
    assert snapshot(engine) == {
        ("rob@example.com", DAY, "prospecting"): 1,
        ("rob@example.com", date(2026, 11, 22), "prospecting"): 1,
    }


def test_stage_history_drives_advances_and_wins(engine: Engine) -> None:
    seed(engine)
    apply(
        engine,
        SyncPage(
            CrmObject.OPPORTUNITIES,
            records=[
                OpportunityRecord(
                    "o1",
                    "R1",
                    "Big deal",
                    created_at=at(8),
                    stage="Won",
                    amount=9000,
                    is_closed=True,
                    is_won=True,
                    close_date=DAY,
                ),
                OpportunityRecord("o2", "R1", "Slipping", created_at=at(8), stage="Qualify"),
            ],
        ),
    )
    apply(
        engine,
        SyncPage(
            CrmObject.STAGE_CHANGES,
            records=[
                StageChangeRecord("h1", "o1", "Won", at(12), from_stage="Propose"),
                StageChangeRecord("h2", "o2", "Qualify", at(13), from_stage="Propose"),
            ],
        ),
    )
    rollup(engine)
    got = snapshot(engine)
    assert got[("rob@example.com", DAY, "opportunities_created")] == 2
    assert got[("rob@example.com", DAY, "opportunities_advanced")] == 1
    assert got[("rob@example.com", DAY, "wins")] == 1
    assert got[("rob@example.com", DAY, "won_amount")] == 9000


def test_past_days_are_frozen_and_today_stays_live(engine: Engine) -> None:
    seed(engine)
    apply(
        engine,
        SyncPage(
            CrmObject.ACTIVITIES,
            records=[
                ActivityRecord("a1", "R1", ActivityKind.EMAIL, occurred_at=at(10)),
                ActivityRecord(
                    "a2", "R1", ActivityKind.EMAIL, occurred_at=datetime(2026, 11, 2, tzinfo=UTC)
                ),
            ],
        ),
    )
    rollup(engine)
    with Session(engine) as session:
        frozen = dict(session.execute(select(DailySnapshot.day, DailySnapshot.frozen)).all())
    assert frozen == {DAY: False, date(2026, 11, 2): True}


# The rows the sync writes per record go to the driver as plain tuples: they must be stored
# exactly as SQLAlchemy's Core, binding the same values through the models' types, stores them.


def _core_upsert(session: Session, model: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    table = model.__table__
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    columns = [c for c in rows[0] if c not in keys]
    session.execute(
        insert.on_conflict_do_update(
            index_elements=keys, set_={c: insert.excluded[c] for c in columns}
        ),
        rows,
    )


def _raw(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    """Read rows as the driver returns them (SQLite: the stored text), bypassing the types."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(sql)]


def test_plain_rows_are_stored_exactly_as_core_stores_them(engine: Engine) -> None:
    seed(engine)
    new_york = ZoneInfo("America/New_York")
    with_micros = datetime(2026, 11, 23, 10, 0, 5, 123456, tzinfo=UTC)
    offset = datetime(2026, 11, 23, 9, 30, tzinfo=new_york)  # 14:30 UTC
    naive = datetime(2026, 11, 23, 11, 0)  # taken as UTC, as ever
    records = [
        ActivityRecord(
            "p1",
            "R1",
            ActivityKind.CALL,
            occurred_at=with_micros,
            duration_s=61,
            direction="inbound",
            contact_title="VP " + "x" * 300,
            opportunity_crm_id="006AAA",
            modified_at=offset,
        ),
        ActivityRecord(
            "p2",
            "R1",
            ActivityKind.MEETING,
            activity_date=date(2026, 11, 22),
            outcome="no_show",
            contact_title="",
            is_deleted=True,
            modified_at=naive,
        ),
        ActivityRecord("p3", None, ActivityKind.EMAIL, occurred_at=offset),
    ]
    apply(engine, SyncPage(CrmObject.ACTIVITIES, records=records))
    with session_scope(engine) as session:
        rep_id = session.execute(select(Rep.id).where(Rep.crm_user_id == "R1")).scalar_one()
        base = {"source": "test", "is_deleted": False, "duration_s": None, "direction": None}
        base |= {"outcome": None, "contact_title": None, "opportunity_crm_id": None}
        _core_upsert(
            session,
            Activity,
            [
                base
                | {
                    "crm_id": "c1",
                    "owner_crm_id": "R1",
                    "rep_id": rep_id,
                    "kind": "call",
                    "occurred_at": with_micros,
                    "day": DAY,
                    "duration_s": 61,
                    "direction": "inbound",
                    "contact_title": ("VP " + "x" * 300)[:255],
                    "opportunity_crm_id": "006AAA",
                    "modified_at": offset,
                },
                base
                | {
                    "crm_id": "c2",
                    "owner_crm_id": "R1",
                    "rep_id": rep_id,
                    "kind": "meeting",
                    "occurred_at": None,
                    "day": date(2026, 11, 22),
                    "outcome": "no_show",
                    "is_deleted": True,
                    "modified_at": naive.replace(tzinfo=UTC),
                },
                base
                | {
                    "crm_id": "c3",
                    "owner_crm_id": None,
                    "rep_id": None,
                    "kind": "email",
                    "occurred_at": offset,
                    "day": DAY,
                    "modified_at": None,
                },
            ],
            ["source", "crm_id"],
        )
    columns = ", ".join(c for c in ACTIVITY_COLUMNS if c != "crm_id")
    rows = {r[0]: r[1:] for r in _raw(engine, f"SELECT crm_id, {columns} FROM activity")}
    assert rows["p1"] == rows["c1"]
    assert rows["p2"] == rows["c2"]
    assert rows["p3"] == rows["c3"]
    # The counts the page added up for its one new live activity with a rep (p1, a call of
    # 61 s on DAY: a conversation; not frozen, DAY being today), likewise.
    counted = "SELECT rep_id, day, kpi, value, frozen FROM snapshotincrement"
    increments = _raw(engine, counted)
    with session_scope(engine) as session:
        session.execute(SnapshotIncrement.__table__.delete())  # type: ignore[attr-defined]
        session.execute(
            SnapshotIncrement.__table__.insert(),  # type: ignore[attr-defined]
            [{"rep_id": rep_id, "day": DAY, "kpi": "conversations", "value": 1.0, "frozen": False}],
        )
    assert increments == _raw(engine, counted)
    # The days a page marks dirty when it changes stored activities, and the snapshots a
    # roll-up writes, likewise.
    apply(engine, SyncPage(CrmObject.ACTIVITIES, records=records[:2]))
    dirty = _raw(engine, "SELECT rep_id, day FROM dirtyday ORDER BY day")
    with session_scope(engine) as session:
        session.execute(DirtyDay.__table__.delete())  # type: ignore[attr-defined]
        session.execute(
            DirtyDay.__table__.insert(),  # type: ignore[attr-defined]
            [{"rep_id": rep_id, "day": date(2026, 11, 22)}, {"rep_id": rep_id, "day": DAY}],
        )
    assert dirty == _raw(engine, "SELECT rep_id, day FROM dirtyday ORDER BY day")
    rollup(engine)
    with session_scope(engine) as session:
        session.execute(
            DailySnapshot.__table__.insert(),  # type: ignore[attr-defined]
            [{"rep_id": rep_id, "day": DAY, "kpi": "core", "value": 2.0, "frozen": False}],
        )
    snapshots = _raw(engine, "SELECT kpi, rep_id, day, value, frozen FROM dailysnapshot")
    by_kpi = {kpi: rest for kpi, *rest in snapshots}
    # The calls of p1 and c1, on DAY (today: not frozen).
    assert by_kpi["conversations"] == by_kpi["core"]


def test_a_page_of_stored_and_new_records_updates_the_one_and_inserts_the_other(
    engine: Engine,
) -> None:
    seed(engine)
    first = ActivityRecord("a1", "R1", ActivityKind.EMAIL, occurred_at=at(10))
    apply(engine, SyncPage(CrmObject.ACTIVITIES, records=[first]))
    rollup(engine)
    edited = ActivityRecord("a1", "R1", ActivityKind.CALL, occurred_at=at(10), duration_s=70)
    new = ActivityRecord("a2", "R1", ActivityKind.EMAIL, occurred_at=at(12))
    apply(engine, SyncPage(CrmObject.ACTIVITIES, records=[new, edited]))
    rollup(engine)
    with Session(engine) as session:
        stored = session.execute(select(Activity.crm_id, Activity.kind).order_by("crm_id")).all()
    assert [tuple(r) for r in stored] == [("a1", "call"), ("a2", "email")]
    assert snapshot(engine) == {
        ("rob@example.com", DAY, "prospecting"): 2,
        ("rob@example.com", DAY, "conversations"): 1,
    }


def test_the_last_version_of_a_record_in_a_page_wins(engine: Engine) -> None:
    seed(engine)
    apply(
        engine,
        SyncPage(
            CrmObject.ACTIVITIES,
            records=[
                ActivityRecord("a1", "R1", ActivityKind.EMAIL, occurred_at=at(10)),
                ActivityRecord("a1", "R1", ActivityKind.CALL, occurred_at=at(11), duration_s=90),
            ],
        ),
    )
    rollup(engine)
    with Session(engine) as session:
        stored = session.execute(select(Activity.kind, Activity.duration_s)).all()
    assert [tuple(r) for r in stored] == [("call", 90)]
    assert snapshot(engine) == {
        ("rob@example.com", DAY, "prospecting"): 1,
        ("rob@example.com", DAY, "conversations"): 1,
    }


def test_a_page_larger_than_a_statement_is_stored_whole(engine: Engine) -> None:
    # On PostgreSQL plain rows go 1,000 to a statement; a page may hold 2,000 and more.
    seed(engine)
    records = [
        ActivityRecord(f"a{i}", "R1", ActivityKind.EMAIL, occurred_at=at(i % 20))
        for i in range(2500)
    ]
    apply(engine, SyncPage(CrmObject.ACTIVITIES, records=records))
    apply(engine, SyncPage(CrmObject.ACTIVITIES, records=records[:1500]))  # replayed: upserts
    rollup(engine)
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Activity)).scalar_one() == 2500
    assert snapshot(engine) == {("rob@example.com", DAY, "prospecting"): 2500}


def test_a_value_too_long_for_its_column_is_refused_not_cut(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    seed(engine)
    too_long = ActivityRecord("a1", "R1", ActivityKind.CALL, occurred_at=at(10), outcome="x" * 65)
    with pytest.raises(DataError):
        apply(engine, SyncPage(CrmObject.ACTIVITIES, records=[too_long]))


def test_counts_of_new_activities_equal_a_roll_up_from_scratch(engine: Engine) -> None:
    """New activities are counted in their page (increments), changed ones recomputed: after
    pages of new, re-sent, edited, deleted, binned and ownerless activities, with roll-ups
    between some of them, every snapshot equals a roll-up of the stored facts from scratch."""
    import random

    seed(engine)
    rnd = random.Random(7)
    kinds = [ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING, ActivityKind.LINKEDIN]
    titles = [None, "VP Sales", "Engineer", "Chief of Staff"]

    def activity(crm_id: str) -> ActivityRecord:
        kind = rnd.choice(kinds)
        return ActivityRecord(
            crm_id,
            rnd.choice(["R1", "M1", None]),
            kind,
            occurred_at=NOW - timedelta(days=rnd.randint(0, 120), hours=rnd.randint(0, 23)),
            duration_s=rnd.choice([None, 30, 60, 300]),
            direction=rnd.choice([None, "inbound", "outbound"]),
            outcome=rnd.choice([None, "no_show", "completed"]) if kind == "meeting" else None,
            contact_title=rnd.choice(titles),
            is_deleted=rnd.random() < 0.05,
        )

    ids = [f"a{i}" for i in range(1000)]  # mostly new records, some sent again
    for page_no in range(12):
        records = [activity(rnd.choice(ids)) for _ in range(40)]  # new ones and re-sent ones
        deleted = rnd.sample(ids, 3) if page_no % 4 == 3 else []
        apply(engine, SyncPage(CrmObject.ACTIVITIES, records=records, deleted_ids=deleted))
        if page_no % 5 == 2:
            rollup(engine)
    rollup(engine)
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(SnapshotIncrement)).scalar() == 0
        assert session.execute(select(func.count()).select_from(DirtyDay)).scalar() == 0
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(DailySnapshot)).scalar() > 0
    assert inconsistent_days(engine, "UTC", NOW) == []


def test_a_roll_up_adds_waiting_counts_before_it_recomputes_a_day(engine: Engine) -> None:
    """A day with waiting counts that is also dirty is recomputed after they are added in,
    so it is counted once: the recompute already sees the activities the counts came from."""
    seed(engine)
    apply(
        engine,
        SyncPage(
            CrmObject.ACTIVITIES,
            records=[ActivityRecord("e1", "R1", ActivityKind.EMAIL, occurred_at=at(9))],
        ),
    )
    # Another email that day, then an edit of the first: the day is dirty and has a count.
    apply(
        engine,
        SyncPage(
            CrmObject.ACTIVITIES,
            records=[
                ActivityRecord("e2", "R1", ActivityKind.EMAIL, occurred_at=at(10)),
                ActivityRecord("e1", "R1", ActivityKind.EMAIL, occurred_at=at(11)),
            ],
        ),
    )
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(DirtyDay)).scalar() == 1
        waiting = session.execute(select(func.sum(SnapshotIncrement.value))).scalar()
    assert waiting == 2  # e1 and e2, one prospecting touch each, counted when new
    rollup(engine)
    assert snapshot(engine) == {("rob@example.com", DAY, "prospecting"): 2}


def test_a_row_another_writer_inserted_first_is_recomputed_not_counted(
    engine: Engine,
) -> None:
    """On PostgreSQL a row found absent may be inserted by another writer before the page's
    insert: the page learns it from RETURNING, marks its days and does not count it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's page holds the write lock from BEGIN IMMEDIATE: no such race")
    seed(engine)
    apply(
        engine,
        SyncPage(
            CrmObject.ACTIVITIES,
            records=[ActivityRecord("r1", "R1", ActivityKind.EMAIL, occurred_at=at(9))],
        ),
    )
    rollup(engine)
    with session_scope(engine) as session:
        store = SqlSyncStore(session)
        rows = {
            "r1": (
                "test",
                "r1",
                "R1",
                None,
                "call",
                at(10),
                DAY,
                90,
                None,
                None,
                None,
                None,
                False,
                at(10),
            )
        }
        # As if r1 had been absent when the page looked: it goes the insert's way.
        inserted = store._write(Activity, "test", ACTIVITY_COLUMNS, rows, stored=set())
        assert inserted == set()
        marked = session.execute(select(DirtyDay.day)).scalars().all()
    assert marked == [DAY]  # the stored version's day, marked before it was overwritten
    with Session(engine) as session:
        kind = session.execute(select(Activity.kind).where(Activity.crm_id == "r1")).scalar()
    assert kind == "call"  # and the row was upserted


def test_a_new_activity_deleted_in_its_own_page_or_binned_is_not_counted(engine: Engine) -> None:
    seed(engine)
    page = SyncPage(
        CrmObject.ACTIVITIES,
        records=[
            ActivityRecord("n1", "R1", ActivityKind.EMAIL, occurred_at=at(9)),
            ActivityRecord("n2", "R1", ActivityKind.EMAIL, occurred_at=at(9), is_deleted=True),
            ActivityRecord("n3", "R1", ActivityKind.EMAIL, occurred_at=at(9)),
        ],
        deleted_ids=["n1"],
    )
    apply(engine, page)
    rollup(engine)
    assert snapshot(engine) == {("rob@example.com", DAY, "prospecting"): 1}  # n3 alone


def test_postgres_analyses_an_activity_table_a_load_has_doubled(engine: Engine) -> None:
    """Without statistics PostgreSQL's planner scans every stored row to find a page's ids
    (a first full load then grows quadratic): the page analyses a table it has doubled."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's planner probes the key index without statistics")
    seed(engine)

    def reltuples() -> float:
        return float(
            _raw(engine, "SELECT reltuples FROM pg_class WHERE relname = 'activity'")[0][0]
        )

    assert reltuples() <= 0  # a fresh table: never analysed
    records = [
        ActivityRecord(f"s{i}", "R1", ActivityKind.EMAIL, occurred_at=at(9), contact_title="VP")
        for i in range(6000)
    ]
    apply(engine, SyncPage(CrmObject.ACTIVITIES, records=records))
    assert reltuples() >= 5000  # analysed with the page's own rows
    apply(engine, SyncPage(CrmObject.ACTIVITIES, records=records[:10]))
    assert reltuples() >= 5000


def test_two_roll_ups_at_once_add_waiting_counts_once(engine: Engine) -> None:
    """A sync's roll-up and the hourly job's may overlap: the counts are added in once."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time (BEGIN IMMEDIATE)")
    import threading
    import time

    seed(engine)
    apply(
        engine,
        SyncPage(
            CrmObject.ACTIVITIES,
            records=[ActivityRecord("t1", "R1", ActivityKind.EMAIL, occurred_at=at(9))],
        ),
    )
    second: list[int] = []
    with session_scope(engine) as first:
        assert SqlSyncStore(first).rollup_dirty(default_kpis(), now=NOW) > 0

        def roll_up() -> None:
            with session_scope(engine) as session:
                second.append(SqlSyncStore(session).rollup_dirty(default_kpis(), now=NOW))

        other = threading.Thread(target=roll_up)
        other.start()
        time.sleep(0.5)  # the other roll-up is under way, waiting for this one
        assert other.is_alive()
    other.join(timeout=10)
    assert second == [0]  # it found nothing left to add
    assert snapshot(engine) == {("rob@example.com", DAY, "prospecting"): 1}
