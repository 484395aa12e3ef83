"""The Slack request ledger: a key is claimed once, stored as the ORM reads it, pruned by age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from storage.db import session_scope
from storage.job_store import SqlJobStore
from storage.models import ProcessedRequest
from storage.requests import KEEP_FOR, SqlRequestLedger

NOW = datetime(2026, 11, 19, 14, 5, 9, 123456, tzinfo=UTC)


def claim(engine: Engine, key: str, now: datetime = NOW) -> bool:
    with session_scope(engine) as session:
        return SqlRequestLedger(session).claim(key, now=now)


def test_only_the_first_claim_of_a_key_succeeds(engine: Engine) -> None:
    assert claim(engine, "command:T1") is True
    assert claim(engine, "command:T1") is False
    assert claim(engine, "command:T1", NOW + timedelta(minutes=5)) is False
    assert claim(engine, "command:T2") is True


def test_a_claim_reads_back_through_the_orm_as_the_instant_it_was_made(engine: Engine) -> None:
    claim(engine, "event:Ev1")
    with session_scope(engine) as session:
        row = session.exec(select(ProcessedRequest)).one()
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    assert (row.key, at) == ("event:Ev1", NOW)


def test_a_claim_left_uncommitted_is_not_kept(engine: Engine) -> None:
    try:
        with session_scope(engine) as session:
            assert SqlRequestLedger(session).claim("action:A1", now=NOW)
            raise RuntimeError("the handler failed before its transaction committed")
    except RuntimeError:
        pass
    assert claim(engine, "action:A1") is True


def test_the_snapshot_jobs_prune_forgets_only_claims_past_the_resend_window(
    engine: Engine,
) -> None:
    claim(engine, "old", NOW - KEEP_FOR - timedelta(seconds=1))
    claim(engine, "edge", NOW - KEEP_FOR)
    claim(engine, "recent", NOW - timedelta(minutes=1))
    with session_scope(engine) as session:
        assert SqlJobStore(session).prune_request_claims(now=NOW) == 1
    with session_scope(engine) as session:
        kept = sorted(session.exec(select(ProcessedRequest.key)).all())
    assert kept == ["edge", "recent"]
    assert claim(engine, "old") is True  # forgotten, so a (very) late copy would run again
    assert claim(engine, "recent") is False


def test_on_postgresql_only_the_claims_transaction_skips_the_flush(
    engine: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite in WAL mode with synchronous=NORMAL never waits for a flush")
    with session_scope(engine) as session:
        assert SqlRequestLedger(session).claim("command:T9", now=NOW)
        setting = session.connection().exec_driver_sql("SHOW synchronous_commit").scalar()
        assert setting == "off"
    for _ in range(3):  # pooled connections come back with the server's own setting
        with session_scope(engine) as session:
            setting = session.connection().exec_driver_sql("SHOW synchronous_commit").scalar()
            assert setting == "on"
    assert claim(engine, "command:T9") is False  # and the claim itself was kept


def test_claims_made_at_an_instant_in_any_zone_are_stored_and_pruned_in_utc(
    engine: Engine,
) -> None:
    new_york = NOW.astimezone(ZoneInfo("America/New_York"))  # the same instant, 09:05 local
    claim(engine, "command:NY", new_york)
    with session_scope(engine) as session:
        row = session.exec(select(ProcessedRequest)).one()
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    assert at == NOW
    later = new_york + KEEP_FOR + timedelta(seconds=1)
    with session_scope(engine) as session:
        assert SqlJobStore(session).prune_request_claims(now=later) == 1
