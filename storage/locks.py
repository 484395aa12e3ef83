"""Run locks across processes: a PostgreSQL advisory lock, or a file lock beside a SQLite file.

Each job run holds its lock, so two schedulers (or a scheduler and `pacesetter jobs run`) never
run the same job at once. The unique keys of `JobRun` and `Delivery` keep correctness even if
a lock were lost; the lock keeps the work from being done twice.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

POLL_SECONDS = 0.05


def lock_key(name: str) -> int:
    """Return a stable signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.sha256(f"pacesetter:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresRunLock:
    """Session-level advisory locks on a connection held for the run."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def hold(self, name: str, *, timeout: float) -> Iterator[bool]:
        """Hold the advisory lock ``name``; yield False if it stayed taken for ``timeout`` s."""
        key = lock_key(name)
        deadline = time.monotonic() + timeout
        with self.engine.connect() as conn:
            while True:
                got = bool(
                    conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
                )
                conn.commit()
                if got or time.monotonic() >= deadline:
                    break
                time.sleep(POLL_SECONDS)
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()


class FileRunLock:
    """File locks in a directory (beside the SQLite database, so every process finds them)."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self.directory = directory
        self.prefix = prefix

    @contextmanager
    def hold(self, name: str, *, timeout: float) -> Iterator[bool]:
        """Hold ``<prefix>.<name>.lock``; yield False if it stayed taken for ``timeout`` s."""
        lock = FileLock(str(self.directory / f"{self.prefix}.{name}.lock"))
        try:
            lock.acquire(timeout=timeout, poll_interval=POLL_SECONDS)
        except Timeout:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()


def run_lock_for(engine: Engine) -> PostgresRunLock | FileRunLock:
    """Return the run lock that suits ``engine``'s database."""
    if engine.dialect.name == "postgresql":
        return PostgresRunLock(engine)
    database = engine.url.database
    if database and database != ":memory:":
        path = Path(database).resolve()
        return FileRunLock(path.parent, path.name)
    return FileRunLock(Path(tempfile.gettempdir()), "pacesetter-memory")
