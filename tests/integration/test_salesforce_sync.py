"""Salesforce sync end to end: real simple-salesforce over HTTPS against the fake org, the real
sync job and storage (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from integrations.salesforce.client import SalesforceError
from tests.conftest import truncate_all
from tests.fakes.salesforce import FakeSalesforce, SeededOrg, running_fake, seed_org
from tests.integration.salesforce_support import (
    NOW,
    Clock,
    cursors,
    expected_kpis,
    session_source,
    snapshots,
    state,
    sync,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeSalesforce]:
    with running_fake(clock=clock, max_batch=7) as org:
        yield org


def test_a_full_sync_equals_an_independent_count_per_rep_and_kpi(
    engine: Engine, fake: FakeSalesforce, clock: Clock
) -> None:
    seed_org(fake, now=NOW, reps=6, days=8)
    summary = sync(engine, session_source(fake, clock), clock)
    assert summary.stopped is None
    expected = expected_kpis(fake)
    got = snapshots(engine)
    assert got == pytest.approx(expected)
    kpis = {k for _, _, k in expected}
    assert kpis == {
        "prospecting",
        "conversations",
        "meaningful_conversations",
        "opportunities_created",
        "opportunities_advanced",
        "wins",
        "won_amount",
    }
    assert sum(v for (_, _, k), v in expected.items() if k == "prospecting") > 50
    # The automated-process user is not a rep; the managers are.
    reps = {row[0]: row for row in state(engine)["reps"]}
    assert len(reps) == 1 + 2 + 6
    assert summary.api_calls == fake.api_calls


def test_incremental_run_picks_up_edit_delete_undelete_and_stage_change_only(
    engine: Engine, fake: FakeSalesforce, clock: Clock
) -> None:
    org = seed_org(fake, now=NOW, reps=5, days=6)
    sync(engine, session_source(fake, clock), clock)
    before = state(engine)
    deleted_before = next(t for t in org.tasks if fake.find(t)[1]["IsDeleted"])
    live = [t for t in org.tasks if not fake.find(t)[1]["IsDeleted"]]
    call = next(
        t for t in live if fake.find(t)[1]["TaskSubtype"] == "Call" and fake.find(t)[1]["IsClosed"]
    )
    gone = next(t for t in live if t != call and fake.find(t)[1]["IsClosed"])
    opp = next(o for o in org.opportunities if not fake.find(o)[1]["IsClosed"])

    clock.advance(hours=2)
    fake.update(call, CallDurationInSeconds=901)
    fake.delete(gone)
    fake.undelete(deleted_before)
    history_id = fake.change_stage(opp, "Negotiation")
    calls_before = fake.api_calls
    summary = sync(engine, session_source(fake, clock), clock)
    after = state(engine)

    assert fake.api_calls - calls_before == 6  # one page per object: users, stages, opps, ...
    assert summary.objects["activities"].upserted == 2
    assert summary.objects["activities"].deleted == 1

    def changed(table: str) -> set[str]:
        old = {row[0]: row for row in before[table]}
        new = {row[0]: row for row in after[table]}
        return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}

    assert changed("activities") == {call, gone, deleted_before}
    assert changed("opportunities") == {opp}
    assert changed("stage_changes") == {history_id}
    assert changed("reps") == set()
    assert snapshots(engine) == pytest.approx(expected_kpis(fake))


def test_deleting_and_undeleting_won_opportunities_moves_their_wins(
    engine: Engine, fake: FakeSalesforce, clock: Clock
) -> None:
    org = seed_org(fake, now=NOW, reps=4, days=6, seed=5)
    first, second = [o for o in org.opportunities if fake.find(o)[1]["IsWon"]][:2]
    fake.delete(first)  # in the recycle bin before Pacesetter ever saw it
    sync(engine, session_source(fake, clock), clock)
    assert snapshots(engine) == pytest.approx(expected_kpis(fake))

    clock.advance(hours=1)
    fake.delete(second)
    sync(engine, session_source(fake, clock), clock)
    assert snapshots(engine) == pytest.approx(expected_kpis(fake))

    clock.advance(hours=1)
    fake.undelete(first)
    fake.undelete(second)
    sync(engine, session_source(fake, clock), clock)
    expected = expected_kpis(fake)
    assert snapshots(engine) == pytest.approx(expected)
    assert any(k == "wins" and rep == fake.find(first)[1]["OwnerId"] for rep, _, k in expected)


@pytest.mark.parametrize("our_clock_ahead", [timedelta(0), timedelta(hours=1)])
def test_a_record_committed_late_inside_the_overlap_is_not_skipped(
    engine: Engine, fake: FakeSalesforce, clock: Clock, our_clock_ahead: timedelta
) -> None:
    org = seed_org(fake, now=NOW, reps=3, days=3)
    clock.advance(minutes=30)
    fake.update(org.tasks[0], CallDurationInSeconds=61)  # stamped now: the cursor is recent
    # Our host's clock may run ahead of Salesforce's; the server's Date header keeps the
    # overlap window honest.
    ours = Clock(clock.now + our_clock_ahead)
    sync(engine, session_source(fake, ours), ours)
    stored = json.loads(cursors(engine)["activities"] or "{}")
    assert stored["Task"]["ts"] is not None

    # A long transaction stamped its Task 3 minutes before the last sync read, and committed
    # only now: its SystemModstamp is below the stored cursor.
    late = fake.insert(
        "Task",
        stamp=clock.now - timedelta(minutes=3),
        OwnerId=org.reps[0],
        TaskSubtype="Email",
        Type="Email",
        Status="Completed",
        IsClosed=True,
        CompletedDateTime=clock.now - timedelta(minutes=3),
    )
    clock.advance(minutes=1)
    ours.advance(minutes=1)
    sync(engine, session_source(fake, ours), ours)
    assert late in {row[0] for row in state(engine)["activities"]}
    assert snapshots(engine) == pytest.approx(expected_kpis(fake))


@pytest.mark.parametrize("deleted_log", [True, False])
def test_the_deleted_record_log_catches_records_purged_between_syncs(
    engine: Engine, fake: FakeSalesforce, clock: Clock, deleted_log: bool
) -> None:
    org = seed_org(fake, now=NOW, reps=3, days=3)
    sync(engine, session_source(fake, clock, deleted_log=deleted_log), clock)
    purged = next(t for t in org.tasks if not fake.find(t)[1]["IsDeleted"])
    binned = next(e for e in org.events if not fake.find(e)[1]["IsDeleted"])
    clock.advance(hours=1)
    fake.hard_delete(purged)  # emptied from the recycle bin before the next sync
    fake.delete(binned)
    calls = fake.api_calls
    sync(engine, session_source(fake, clock, deleted_log=deleted_log), clock)
    flags = {row[0]: row[-1] for row in state(engine)["activities"]}
    assert flags[binned] is True
    assert flags[purged] is deleted_log  # queryAll alone cannot see a purged record
    assert fake.api_calls - calls == (9 if deleted_log else 6)
    if deleted_log:
        assert snapshots(engine) == pytest.approx(expected_kpis(fake))


def reset(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        truncate_all(engine)
        return
    with engine.begin() as conn:
        for table in (
            "dailysnapshot",
            "dirtyday",
            "pipelinesnapshot",
            "stagechange",
            "activity",
            "opportunity",
            "pipelinestage",
            "syncstate",
            "rep",
        ):
            conn.exec_driver_sql(f"DELETE FROM {table}")


def seeded(clock: Clock) -> tuple[FakeSalesforce, SeededOrg]:
    fake = FakeSalesforce(clock=clock, max_batch=7).start()
    return fake, seed_org(fake, now=NOW, reps=3, days=4, seed=3)


@pytest.mark.parametrize("fault", ["503", "limit"])
def test_a_run_interrupted_at_any_page_then_rerun_ends_in_the_same_state(
    engine: Engine, clock: Clock, fault: str
) -> None:
    fake, _ = seeded(clock)
    try:
        sync(engine, session_source(fake, clock), clock)
        expected = state(engine)
        total_calls = fake.api_calls
    finally:
        fake.stop()
    assert total_calls > 20
    for k in sorted({0, 1, 2, 5, total_calls // 2, total_calls - 2}):
        reset(engine)
        fake, _ = seeded(clock)
        try:
            # 503s outlast the retries (an error); REQUEST_LIMIT_EXCEEDED stops cleanly.
            fake.inject(fault, after=k, times=10)
            if fault == "503":
                with pytest.raises(SalesforceError, match="kept failing"):
                    sync(engine, session_source(fake, clock), clock)
            else:
                summary = sync(engine, session_source(fake, clock), clock)
                assert "REQUEST_LIMIT_EXCEEDED" in (summary.stopped or "")
            fake.clear_faults()
            sync(engine, session_source(fake, clock), clock)
        finally:
            fake.stop()
        assert state(engine) == expected, f"state differs after a {fault} after {k} calls"


@pytest.mark.heavy
def test_an_interruption_after_every_single_call_converges(engine: Engine, clock: Clock) -> None:
    fake, _ = seeded(clock)
    try:
        sync(engine, session_source(fake, clock), clock)
        expected = state(engine)
        total_calls = fake.api_calls
    finally:
        fake.stop()
    for k in range(total_calls):
        reset(engine)
        fake, _ = seeded(clock)
        try:
            fake.inject("limit", after=k, times=1)
            sync(engine, session_source(fake, clock), clock)
            sync(engine, session_source(fake, clock), clock)
        finally:
            fake.stop()
        assert state(engine) == expected, f"state differs after a stop after {k} calls"
