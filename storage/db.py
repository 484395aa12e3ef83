"""Engines and sessions: SQLite in WAL mode with a busy timeout by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseUnavailable(RuntimeError):
    """The database URL is malformed or the server cannot be reached."""


def make_engine(url: str, *, echo: bool = False, read_only: bool = False) -> Engine:
    """Build an engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys.

    ``read_only`` SQLite engines open deferred transactions: in WAL mode a reader then sees a
    consistent snapshot without queueing behind a writer (the bot's acknowledgement path reads
    while a sync writes). Writing through such an engine is a mistake the caller must avoid.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(
            f"DATABASE_URL '{url}' is not a database URL; use e.g. sqlite:///pacesetter.db "
            "or postgresql+psycopg://user@host:5432/dbname"
        ) from exc
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            "check_same_thread": False,
        }
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = NullPool
        elif parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(
            engine, "begin", _sqlite_begin_deferred if read_only else _sqlite_begin_immediate
        )
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions itself; let SQLAlchemy issue BEGIN so writers take the lock
    # up front (BEGIN IMMEDIATE) instead of failing on upgrade from a read lock.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def check_database(engine: Engine) -> None:
    """Connect once, raising DatabaseUnavailable with a sentence that says what to do."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(
            f"Cannot reach the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{reason}. Check DATABASE_URL and that the server is running."
        ) from exc


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session that commits when the block succeeds and rolls back when it raises.

    A lost connection or a database locked past the busy timeout becomes DatabaseUnavailable,
    a sentence that says what happened and what to do instead of a driver traceback.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise _unavailable(engine, exc) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _unavailable(engine: Engine, exc: OperationalError) -> Exception:
    """Word a lost connection or a held lock for the person running Pacesetter."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    where = engine.url.render_as_string(hide_password=True)
    kept = "the transaction in progress was rolled back, so nothing of it was kept"
    if "database is locked" in reason:
        return DatabaseUnavailable(
            f"The database {where} is locked by another writer (waited "
            f"{SQLITE_BUSY_TIMEOUT_MS / 1000:g} s); {kept}. Stop the other process writing to "
            "it (another `pacesetter sync` or `run`?) and run the command again: a sync "
            "resumes from its last committed page."
        )
    if exc.connection_invalidated:
        return DatabaseUnavailable(
            f"Lost the connection to the database at {where} ({reason}); {kept}. Check that "
            "the server is running and run the command again: a sync resumes from its last "
            "committed page."
        )
    return exc
