"""Database faults under a real sync: PostgreSQL connections terminated mid-run and SQLite locked
by another writer. Each ends in a retry or a clear error, never in a half-written day, and a later
run reaches exactly the state of an uninterrupted one.

PostgreSQL: the sync's own backend is terminated with ``pg_terminate_backend`` from another
connection just before a randomly chosen statement (the client sees exactly what a server restart
shows it). The shared server itself is never restarted.
SQLite: a second connection takes the write lock (BEGIN EXCLUSIVE) just before a randomly chosen
transaction of the sync and holds it shorter, or longer, than the busy timeout.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event

import storage.db
from storage.db import DatabaseUnavailable, make_engine, session_scope
from tests.conftest import PG_ADMIN_URL, truncate_all
from tests.reliability.faults_support import duplicates, inconsistent_days
from tests.reliability.sync_kill_support import Connector, salesforce_connector, verify_complete


@pytest.fixture
def connector() -> Iterator[Connector]:
    with salesforce_connector(reps=3, days=3, max_batch=20) as connector:
        yield connector


def count_statements(engine: Engine, connector: Connector) -> int:
    """Return how many statements an uninterrupted sync executes (and leave its state)."""
    seen = [0]

    def count(*_args: Any) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        connector.harness.run(engine)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen[0]


def assert_nothing_half_written(engine: Engine, connector: Connector) -> None:
    assert connector.cursor_gaps(engine) == []
    assert sum(duplicates(engine).values()) == 0
    assert inconsistent_days(engine, connector.harness.org_timezone, connector.now) == []


# PostgreSQL ---------------------------------------------------------------------------------------


class BackendTerminator:
    """Terminates the backend of the sync's connection right before its n-th statement."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.countdown: int | None = None
        self.terminated = 0
        self.admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
        event.listen(engine, "before_cursor_execute", self._before)

    def arm(self, statements: int) -> None:
        self.countdown = statements

    def disarm(self) -> None:
        self.countdown = None

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        self.admin.close()

    def _before(self, conn: Any, cursor: Any, *_args: Any) -> None:
        if self.countdown is None:
            return
        self.countdown -= 1
        if self.countdown > 0:
            return
        self.countdown = None
        pid = cursor.connection.info.backend_pid
        self.admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # Wait until the backend is gone, so the statement meets a dead connection every time.
        for _ in range(200):
            row = self.admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            if row is None:
                break
            threading.Event().wait(0.01)
        self.terminated += 1


@pytest.mark.postgres
def test_postgres_backend_terminated_mid_sync_is_a_clear_error_and_resumes(
    postgres_url: str, connector: Connector, record_property: pytest.RecordProperty
) -> None:
    engine = make_engine(postgres_url)
    try:
        truncate_all(engine)
        statements = count_statements(engine, connector)
        clean = connector.state(engine)
        verify_complete(engine, connector)
        terminator = BackendTerminator(engine)
        rng = random.Random(7)
        errors = resumed = 0
        try:
            for _ in range(6):
                truncate_all(engine)
                terminator.arm(rng.randint(1, statements))
                with pytest.raises(DatabaseUnavailable) as failure:
                    connector.harness.run(engine)
                errors += 1
                message = str(failure.value)
                assert "Lost the connection to the database" in message
                assert "nothing of it was kept" in message
                assert "run the command again" in message
                assert_nothing_half_written(engine, connector)
                connector.harness.run(engine)
                resumed += 1
                assert connector.state(engine) == clean
            verify_complete(engine, connector)
        finally:
            terminator.close()
    finally:
        engine.dispose()
    line = (
        f"postgresql: {terminator.terminated} backends terminated at random statements of "
        f"{statements}; {errors} clear errors, {resumed} resumed runs equal to a clean run, "
        "0 half-written days"
    )
    print(line)
    record_property("figures", line)
    assert terminator.terminated == 6


# SQLite -------------------------------------------------------------------------------------------


class OtherWriter:
    """Another process's connection that takes the write lock before the sync's n-th
    transaction and holds it for ``hold_s`` seconds."""

    def __init__(self, engine: Engine, path: Path, hold_s: float) -> None:
        self.engine = engine
        self.path = path
        self.hold_s = hold_s
        self.countdown: int | None = None
        self.locks = 0
        self.released = threading.Event()
        # Checked out from the pool = about to BEGIN: the sync holds no lock at that moment.
        event.listen(engine, "checkout", self._before_begin)

    def arm(self, transactions: int) -> None:
        self.countdown = transactions
        self.released.clear()

    def close(self) -> None:
        event.remove(self.engine, "checkout", self._before_begin)

    def _before_begin(self, *_args: Any) -> None:
        if self.countdown is None:
            return
        self.countdown -= 1
        if self.countdown > 0:
            return
        self.countdown = None
        other = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN EXCLUSIVE")
        other.execute("DELETE FROM dirtyday WHERE 0")  # a write, so the lock is really held
        self.locks += 1

        def release() -> None:
            other.execute("ROLLBACK")
            other.close()
            self.released.set()

        threading.Timer(self.hold_s, release).start()


def count_transactions(engine: Engine, connector: Connector) -> int:
    seen = [0]

    def count(*_args: Any) -> None:
        seen[0] += 1

    event.listen(engine, "checkout", count)
    try:
        connector.harness.run(engine)
    finally:
        event.remove(engine, "checkout", count)
    return seen[0]


@pytest.fixture
def sqlite_file(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Engine, Path]]:
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 300)  # keep the test short
    path = tmp_path / "locked.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine, path
    engine.dispose()


@pytest.mark.parametrize(
    ("hold_s", "outcome"), [(0.05, "waits and completes"), (0.8, "clear error")]
)
def test_sqlite_locked_by_another_writer_waits_or_fails_clearly(
    sqlite_file: tuple[Engine, Path],
    connector: Connector,
    hold_s: float,
    outcome: str,
    record_property: pytest.RecordProperty,
) -> None:
    engine, path = sqlite_file
    transactions = count_transactions(engine, connector)
    clean = connector.state(engine)
    writer = OtherWriter(engine, path, hold_s)
    rng = random.Random(3)
    errors = completed = 0
    try:
        for _ in range(5):
            truncate_all(engine)
            writer.arm(rng.randint(1, transactions))
            run: Callable[[], Any] = lambda: connector.harness.run(engine)  # noqa: E731
            if outcome == "clear error":
                with pytest.raises(DatabaseUnavailable) as failure:
                    run()
                errors += 1
                message = str(failure.value)
                assert "is locked by another writer" in message
                assert "nothing of it was kept" in message
                assert "run the command again" in message
                writer.released.wait(5)
                assert_nothing_half_written(engine, connector)
                run()
            else:
                run()
                completed += 1
            writer.released.wait(5)
            assert connector.state(engine) == clean
        verify_complete(engine, connector)
    finally:
        writer.close()
    line = (
        f"sqlite, lock held {hold_s} s against a 0.3 s busy timeout: {writer.locks} locks at "
        f"random transactions of {transactions}; {completed} runs waited and completed, "
        f"{errors} clear errors then resumed; every end state equal to a clean run"
    )
    print(line)
    record_property("figures", line)
    assert writer.locks == 5


# the snapshot job ---------------------------------------------------------------------------------


def _force_rollup(engine: Engine) -> None:
    """Forget every snapshot and mark every day for a roll-up: the snapshot job's whole work."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO dirtyday (rep_id, day) SELECT DISTINCT rep_id, day FROM dailysnapshot"
        )
        conn.exec_driver_sql("DELETE FROM dailysnapshot")


@pytest.mark.postgres
def test_snapshot_job_with_its_backend_terminated_records_a_clear_error_and_reruns(
    postgres_url: str,
    connector: Connector,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record_property: pytest.RecordProperty,
) -> None:
    import yaml

    import app

    config = tmp_path / "pacesetter.yml"
    config.write_text(yaml.safe_dump({"org": {"timezone": connector.harness.org_timezone}}))
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("PACESETTER_CONFIG", str(config))
    monkeypatch.setenv("PACESETTER_NOW", connector.now.isoformat())
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    rt = app.runtime()
    engine = rt.engine
    truncate_all(engine)
    connector.harness.run(engine)
    clean = connector.state(engine)["snapshots"]
    runner = rt.job_runner()
    assert runner.run("snapshot", manual=True).status == "ok"  # yesterday's pipeline: once
    _force_rollup(engine)
    seen = [0]

    def count(*_args: Any) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    assert runner.run("snapshot", manual=True).status == "ok"
    event.remove(engine, "before_cursor_execute", count)
    statements = seen[0]
    assert connector.state(engine)["snapshots"] == clean

    terminator = BackendTerminator(engine)
    rng = random.Random(13)
    try:
        for _ in range(4):
            _force_rollup(engine)
            terminator.arm(rng.randint(1, statements))
            try:
                result = runner.run("snapshot", manual=True)
                assert result.status == "error", result.detail
                message = result.detail or ""
            except DatabaseUnavailable as exc:  # it hit the runner's own bookkeeping
                message = str(exc)
            assert "Lost the connection to the database" in message
            assert inconsistent_days(engine, connector.harness.org_timezone, connector.now) == []
            assert runner.run("snapshot", manual=True).status == "ok"
            assert connector.state(engine)["snapshots"] == clean
    finally:
        terminator.close()
        engine.dispose()
    line = (
        f"snapshot job on postgresql: {terminator.terminated} backends terminated at random "
        f"statements of {statements}; each run ended in a clear error, the rerun equals a clean run"
    )
    print(line)
    record_property("figures", line)
    assert terminator.terminated == 4


# the outbox dispatcher ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_dispatcher_with_its_backend_terminated_posts_each_message_exactly_once(
    postgres_url: str, record_property: pytest.RecordProperty
) -> None:
    from collections import Counter

    from integrations.slack_poster import WebClientPoster, make_client
    from jobs.dispatcher import Dispatcher, DispatchPolicy
    from storage.outbox import SqlOutboxStore
    from tests.fakes.clock import FakeClock
    from tests.fakes.slack_outbox import FakeSlackOutbox, running
    from tests.integration.test_dispatcher import START, enqueue, outbox_unit

    engine = make_engine(postgres_url)
    truncate_all(engine)
    count = 120
    keys = enqueue(engine, count)
    clock = FakeClock(START)
    fake = FakeSlackOutbox(rate_limit_rate=0.05, drop_rate=0.0, seed=3, clock=clock.timestamp)
    terminator = BackendTerminator(engine)
    rng = random.Random(17)
    messages: list[str] = []
    try:
        with running(fake):
            poster = WebClientPoster(make_client("xoxb-test", fake.url))
            dispatcher = Dispatcher(
                outbox_unit(engine),
                poster,
                now=clock.now,
                sleep=clock.sleep,
                policy=DispatchPolicy(per_second=50, burst=50),
            )
            while True:
                terminator.arm(rng.randint(1, 60))
                try:
                    dispatcher.drain(max_wait_s=3600)
                except DatabaseUnavailable as exc:
                    messages.append(str(exc))
                    continue
                with session_scope(engine) as session:
                    if SqlOutboxStore(session).counts() == {"sent": count}:
                        break
        terminator.disarm()
    finally:
        terminator.close()
        engine.dispose()
    posted = Counter(fake.sent_keys())
    assert [k for k, n in posted.items() if n > 1] == [], "a message was posted twice"
    assert set(posted) == set(keys), "a message was lost"
    assert all("Lost the connection to the database" in m for m in messages), messages
    errors = len(messages)
    line = (
        f"dispatcher on postgresql: {terminator.terminated} backends terminated mid-drain, "
        f"{errors} clear errors; {len(posted)} of {count} messages posted, 0 twice, 0 lost"
    )
    print(line)
    record_property("figures", line)
    assert terminator.terminated >= 3
