"""The bench mode of the Salesforce fake (generated activities, served from a child process)
stays a faithful org: deterministic, consistent with its counts, and synced in full."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from integrations.salesforce.client import SalesforceCredentials
from integrations.salesforce.source import SalesforceSource
from storage import migrate
from storage.db import make_engine
from storage.models import Activity
from tests.fakes.salesforce import FakeSalesforce, GeneratedTable, running_fake
from tests.fakes.salesforce_scale import NOW, seed_scale_org, serve_in_process
from tests.integration.salesforce_support import (
    Clock,
    expected_kpis,
    options,
    session_source,
    snapshots,
    sync,
)

ACTIVITIES = 2000


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'scale.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def activity_counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        live = session.execute(
            select(func.count()).where(Activity.is_deleted.is_(False))  # type: ignore[attr-defined]
        ).scalar_one()
        total = session.execute(select(func.count()).select_from(Activity)).scalar_one()
    return int(live), int(total)


def test_generated_org_is_deterministic_and_consistent_with_its_counts() -> None:
    first, second = FakeSalesforce(clock=lambda: NOW), FakeSalesforce(clock=lambda: NOW)
    org = seed_scale_org(first, activities=ACTIVITIES, reps=10)
    seed_scale_org(second, activities=ACTIVITIES, reps=10)
    tasks = first.tables["Task"]
    assert isinstance(tasks, GeneratedTable)
    assert (org.tasks, org.events) == (1800, 200)
    assert first.rows("Task", include_deleted=True) == second.rows("Task", include_deleted=True)
    assert len(first.rows("Task")) + len(first.rows("Event")) == org.live_activities
    stamps = [(r["SystemModstamp"], r["Id"]) for r in first.rows("Task", include_deleted=True)]
    assert stamps == sorted(stamps), "the natural order must be ORDER BY SystemModstamp, Id"
    assert len({s for s, _ in stamps}) < len(stamps), "whole-second ties exercise the keyset"
    some = tasks.id_of(1234)
    assert first.find(some)[1]["Id"] == some and tasks.index_of(some) == 1234
    assert tasks.index_of("00T000000009999GEN") is None  # past the count
    with pytest.raises(TypeError):  # generated rows are read-only, not silently lost edits
        first.update(some, Subject="edited")


def test_generated_org_answers_queries_like_a_stored_one() -> None:
    with running_fake(clock=lambda: NOW) as fake:
        seed_scale_org(fake, activities=ACTIVITIES, reps=10)
        lazy = fake.run_query(
            "SELECT Id, Who.Title, CallType FROM Task ORDER BY SystemModstamp ASC, Id ASC",
            include_deleted=True,
        )
        resorted = fake.run_query(  # another order takes the ordinary path: sort everything
            "SELECT Id, Who.Title, CallType FROM Task ORDER BY Id ASC", include_deleted=True
        )
        assert not isinstance(lazy, list) and isinstance(resorted, list)
        assert len(lazy) == len(resorted) == 1800
        assert list(lazy[0:1800]) == resorted
        assert lazy[1799] == resorted[1799] and lazy[200:400] == resorted[200:400]
        filtered = fake.run_query(
            "SELECT Id FROM Task WHERE CallType = 'Inbound' "
            "ORDER BY SystemModstamp ASC, Id ASC LIMIT 50",
            include_deleted=False,
        )
        inbound = [
            r["Id"] for r in fake.rows("Task") if r["CallType"] == "Inbound" and not r["IsArchived"]
        ]
        assert [r["Id"] for r in filtered[0:50]] == inbound[:50] and len(filtered) == 50


def test_a_real_sync_of_a_generated_org_stores_every_activity_and_its_kpis(engine: Engine) -> None:
    clock = Clock(now=NOW)
    with running_fake(clock=clock, max_batch=200) as fake:
        org = seed_scale_org(fake, activities=ACTIVITIES, reps=10)
        summary = sync(engine, session_source(fake, clock, batch_size=200), clock)
        assert fake.api_calls == org.minimum_pages(200)
        assert activity_counts(engine) == (org.live_activities, org.live_activities)
        assert summary.objects["activities"].deleted == org.deleted_tasks + org.deleted_events
        assert snapshots(engine) == expected_kpis(fake)
        calls = fake.api_calls
        again = sync(engine, session_source(fake, clock, batch_size=200), clock)
        assert again.upserted < 10 and fake.api_calls - calls == 6  # nothing new: one query each


def test_the_child_process_fake_serves_the_same_org_to_a_real_sync(engine: Engine) -> None:
    with serve_in_process(activities=ACTIVITIES, reps=10, page=200) as served:
        source = SalesforceSource(
            SalesforceCredentials(instance_url=served.url, access_token=served.token),
            options(batch_size=200),
            session=served.session(),
            clock=lambda: NOW,
        )
        summary = sync(engine, source, Clock(now=NOW))
        stats = served.stats()
        assert stats.api_calls == served.org.minimum_pages(200) == summary.api_calls
        assert len(stats.queries) == 6
        assert any(every and "FROM Task" in soql for every, soql in stats.queries)
        assert activity_counts(engine)[0] == served.org.live_activities
        served.reset()
        assert served.stats().api_calls == 0
