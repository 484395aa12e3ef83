"""Kill the sync at random points and resume: nothing lost, nothing duplicated, and the cursor
never ahead of the stored data.

The real connectors talk to their fakes over real HTTP (Salesforce over HTTPS with
simple-salesforce, HubSpot over HTTP with hubspot-api-client) and write through the real sync
job into SQLite and PostgreSQL. A kill lands at a random tick: before any SQL statement
(mid-transaction), right after a commit, or between fetching a page and storing it. After every
kill the stored cursors are checked against the fake org (every record at or before a cursor
must be stored) and every stored day against a from-scratch roll-up; each chain of kills is
resumed to completion and must end in exactly the state of an uninterrupted run, which in turn
must equal the fake org's own count (ids and KPI totals computed without the product's code).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine

from domain.kpis import default_kpis
from domain.ports import CrmSource, SourceCheck, SyncPage
from domain.records import CrmObject
from jobs.sync import rollup, run_sync
from tests.reliability.faults_support import Killed, uow_for
from tests.reliability.sync_kill_support import (
    CampaignResult,
    Connector,
    hubspot_connector,
    kill_campaign,
    salesforce_connector,
    sigkill_campaign,
    verify_complete,
)


def assert_clean(result: CampaignResult, kills: int) -> None:
    assert result.total_kills >= kills
    assert set(result.kills) == {"mid-transaction", "after commit", "between pages"}
    assert result.cursor_gaps == []
    assert result.half_written_days == []
    assert result.duplicate_rows == 0


def report(label: str, result: CampaignResult, record_property: pytest.RecordProperty) -> None:
    line = result.line(label)
    print(line)
    record_property("figures", line)


@pytest.mark.parametrize("connector_name", ["salesforce", "hubspot"])
def test_random_kills_then_resume_lose_and_duplicate_nothing(
    engine: Engine, connector_name: str, record_property: pytest.RecordProperty
) -> None:
    if connector_name == "salesforce":
        kills, setup = 35, salesforce_connector(reps=3, days=3, max_batch=20)
    else:
        kills, setup = 15, hubspot_connector(calls=120, page=40)
    with setup as connector:
        connector_ok: Connector = connector
        result = kill_campaign(engine, connector_ok, kills=kills, seed=11)
    report(f"{connector_name} on {engine.dialect.name}", result, record_property)
    assert_clean(result, kills)


@pytest.mark.heavy
@pytest.mark.parametrize("connector_name", ["salesforce", "hubspot"])
def test_hundreds_of_random_kills_over_a_large_org(
    engine: Engine, connector_name: str, record_property: pytest.RecordProperty
) -> None:
    kills = int(os.environ.get("PACESETTER_HEAVY_KILLS", "300"))
    if connector_name == "salesforce":
        setup = salesforce_connector(reps=12, days=10, max_batch=50)
    else:
        kills //= 2  # a HubSpot run costs about four Salesforce ones here
        setup = hubspot_connector(calls=1_000, page=100)
    with setup as connector:
        result = kill_campaign(engine, connector, kills=kills, seed=29, check_days_every=10)
    report(f"{connector_name} on {engine.dialect.name} (heavy)", result, record_property)
    assert_clean(result, kills)


@pytest.mark.heavy
@pytest.mark.parametrize("connector_name", ["salesforce", "hubspot"])
def test_sigkill_of_pacesetter_sync_mid_run_then_resume(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    connector_name: str,
    record_property: pytest.RecordProperty,
) -> None:
    kills = int(os.environ.get("PACESETTER_SIGKILLS", "25"))
    if connector_name == "salesforce":
        setup = salesforce_connector(reps=8, days=8, max_batch=25)
    else:
        setup = hubspot_connector(calls=900, page=100)
    with setup as connector:
        target = connector.cli(tmp_path, database_url)
        result = sigkill_campaign(engine, connector, target, kills=kills, seed=5)
    report(f"{connector_name} on {engine.dialect.name} (SIGKILL)", result, record_property)
    assert result.total_kills >= kills
    assert result.cursor_gaps == []
    assert result.half_written_days == []
    assert result.duplicate_rows == 0


class _StopAtStageHistory:
    """A source that dies when it reaches stage history: opportunities stored, moves not yet."""

    def __init__(self, inner: CrmSource) -> None:
        self.inner = inner
        self.name = inner.name

    def objects(self) -> Sequence[CrmObject]:
        return self.inner.objects()

    def check(self) -> SourceCheck:
        return self.inner.check()

    def pages(
        self, obj: CrmObject, cursor: str | None, *, full: bool = False
    ) -> Iterator[SyncPage]:
        if obj is CrmObject.STAGE_CHANGES:
            raise Killed("between opportunities and their stage history")
        yield from self.inner.pages(obj, cursor, full=full)


def test_a_kill_between_opportunities_and_their_stage_history_leaves_no_stale_win(
    engine: Engine,
) -> None:
    # The resumed run first rolls up what the killed one stored: wins counted on their close
    # date, their Closed Won moves not stored yet. The moves must move those wins, not add.
    with salesforce_connector(reps=12, days=10, max_batch=200) as connector:
        harness = connector.harness
        with pytest.raises(Killed):
            run_sync(
                _StopAtStageHistory(harness.make_source()),
                uow_for(engine, harness.org_timezone),
                default_kpis(),
                now=harness.now,
            )
        rollup(uow_for(engine, harness.org_timezone), default_kpis(), now=harness.now)
        harness.run(engine)
        verify_complete(engine, connector)
