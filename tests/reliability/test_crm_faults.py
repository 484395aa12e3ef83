"""CRM faults injected at the HTTP level of the fakes, for both real connectors.

For every fault the sync either completes (a transient fault is retried) or stops cleanly with a
message that says what happened and what to do, keeps the cursor behind the stored data, and a
later run resumes to exactly the state the fake org says is right (ids and KPI totals counted
from the org's own rows, not by the product's code).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from domain.ports import SourceError
from storage.db import make_engine
from tests.conftest import truncate_all
from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.salesforce import FakeSalesforce
from tests.reliability.faults_support import (
    Harness,
    duplicates,
    inconsistent_days,
)
from tests.reliability.sync_kill_support import (
    Connector,
    hubspot_connector,
    salesforce_connector,
    verify_complete,
)


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """CRM faults do not depend on the database: one real SQLite file is enough here."""
    path = tmp_path / "faults.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@dataclass
class Outcome:
    """How a sync under a fault ended."""

    how: str  # "completed" | "stopped" (SyncAborted) | "error" (a SourceError)
    message: str = ""


def run(harness: Harness, engine: Engine) -> Outcome:
    """Run one sync; a stop or a SourceError is an outcome, anything else fails the test."""
    try:
        summary = harness.run(engine)
    except SourceError as exc:
        return Outcome("error", str(exc))
    return Outcome("stopped", summary.stopped) if summary.stopped else Outcome("completed")


def assert_stopped_cleanly(engine: Engine, connector: Connector) -> None:
    assert connector.cursor_gaps(engine) == []
    assert sum(duplicates(engine).values()) == 0
    assert inconsistent_days(engine, connector.harness.org_timezone, connector.now) == []


# Salesforce ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SfCase:
    name: str
    inject: Callable[[FakeSalesforce, int], None]
    how: str
    words: tuple[str, ...]  # what happened and what to do, all in the message
    options: tuple[tuple[str, Any], ...] = ()


def _sf(kind: str, times: int) -> Callable[[FakeSalesforce, int], None]:
    return lambda fake, after: fake.inject(kind, after=after, times=times)


def _sf_allowance(fake: FakeSalesforce, after: int) -> None:
    # Sforce-Limit-Info reports 90% of the day's allowance used a few calls from now.
    fake.daily_limit = 1000
    fake.api_used = 900 - after - 1


FAST = (("backoff_s", 0.0),)
SF_CASES = [
    SfCase("a few 503s", _sf("503", 2), "completed", (), FAST),
    SfCase("503s outlasting the retries", _sf("503", 50), "error", ("503", "resumes"), FAST),
    SfCase(
        "a stall past the timeout", _sf("stall", 1), "completed", (), (*FAST, ("timeout_s", 0.3))
    ),
    SfCase(
        "stalls outlasting the retries",
        _sf("stall", 50),
        "error",
        ("Timeout", "resumes"),
        (*FAST, ("timeout_s", 0.3), ("max_retries", 1)),
    ),
    SfCase("a truncated JSON body", _sf("malformed", 1), "completed", (), FAST),
    SfCase("truncated JSON bodies", _sf("malformed", 50), "error", ("JSON", "resumes"), FAST),
    SfCase("a 429 storm", _sf("429", 3), "completed", (), FAST),
    SfCase("an endless 429 storm", _sf("429", 50), "error", ("429", "resumes"), FAST),
    SfCase(
        "the session expiring mid-page",
        _sf("session", 1),
        "error",
        ("expired", "SALESFORCE_ACCESS_TOKEN", "new access token"),
    ),
    SfCase(
        "REQUEST_LIMIT_EXCEEDED", _sf("limit", 1), "stopped", ("REQUEST_LIMIT_EXCEEDED", "resumes")
    ),
    SfCase(
        "the daily allowance in Sforce-Limit-Info",
        _sf_allowance,
        "stopped",
        ("allowance", "900/1000", "resumes"),
    ),
]


@pytest.mark.parametrize("where", ["mid-way", pytest.param("first call", marks=pytest.mark.heavy)])
@pytest.mark.parametrize("case", SF_CASES, ids=lambda c: c.name)
def test_salesforce_fault_completes_or_stops_cleanly_then_resumes(
    sqlite_engine: Engine, case: SfCase, where: str
) -> None:
    with salesforce_connector(reps=3, days=3, max_batch=7) as connector:
        fake = connector.fake
        start = fake.api_calls
        connector.harness.run(sqlite_engine)
        total = fake.api_calls - start
        assert total > 8
        for after in [total // 2 if where == "mid-way" else 1]:
            truncate_all(sqlite_engine)
            harness = connector.with_options(**dict(case.options))
            case.inject(fake, after)
            outcome = run(harness, sqlite_engine)
            fake.clear_faults()
            fake.daily_limit, fake.api_used = 15000, 0  # a new day
            assert outcome.how == case.how, outcome.message
            for word in case.words:
                assert word in outcome.message, outcome.message
            if outcome.how != "completed":
                assert_stopped_cleanly(sqlite_engine, connector)
                resumed = run(connector.harness, sqlite_engine)
                assert resumed.how == "completed", resumed.message
            verify_complete(sqlite_engine, connector)


# HubSpot ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HsCase:
    name: str
    inject: Callable[[FakeHubSpot, str], None]
    how: str
    words: tuple[str, ...]
    options: tuple[tuple[str, Any], ...] = ()


def _hs(status: int, count: int, **extra: Any) -> Callable[[FakeHubSpot, str], None]:
    return lambda fake, kind: fake.inject(status, count=count, kind=kind, after=3, **extra)


SHORT = (("timeout", (2.0, 0.3)), ("max_retries", 2))
HS_CASES = [
    HsCase("a few 503s", _hs(503, 2), "completed", ()),
    HsCase("503s outlasting the retries", _hs(503, 50), "error", ("503", "resumes")),
    HsCase("a stall past the timeout", _hs(200, 1, stall_s=1.0), "completed", (), SHORT),
    HsCase(
        "stalls outlasting the retries",
        _hs(200, 50, stall_s=1.0),
        "error",
        ("timed out", "resumes"),
        SHORT,
    ),
    HsCase("a truncated JSON body", _hs(200, 1), "completed", ()),
    HsCase("truncated JSON bodies", _hs(200, 50), "error", ("JSON", "resumes")),
    HsCase("a 429 storm", _hs(429, 5, retry_after="0"), "completed", ()),
    HsCase("an endless 429 storm", _hs(429, 500, retry_after="0"), "error", ("429", "resumes")),
    HsCase(
        "the token expiring mid-run",
        _hs(401, 1),
        "error",
        ("401", "expired", "HUBSPOT_ACCESS_TOKEN"),
    ),
    HsCase(
        "the daily limit",
        _hs(429, 1, policy="DAILY"),
        "stopped",
        ("daily", "limit", "resumes after the limit resets"),
    ),
]


@pytest.mark.parametrize("case", HS_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("kind", ["search", pytest.param("batch_read", marks=pytest.mark.heavy)])
def test_hubspot_fault_completes_or_stops_cleanly_then_resumes(
    sqlite_engine: Engine, case: HsCase, kind: str
) -> None:
    with hubspot_connector(calls=80, page=30) as connector:
        fake: FakeHubSpot = connector.fake
        harness = connector.with_options(**dict(case.options))
        case.inject(fake, kind)  # after 3 good requests of this kind: mid-way through a read
        outcome = run(harness, sqlite_engine)
        fake.heal()
        assert outcome.how == case.how, outcome.message
        for word in case.words:
            assert word in outcome.message, outcome.message
        if outcome.how != "completed":
            assert_stopped_cleanly(sqlite_engine, connector)
            resumed = run(connector.harness, sqlite_engine)
            assert resumed.how == "completed", resumed.message
        verify_complete(sqlite_engine, connector)
