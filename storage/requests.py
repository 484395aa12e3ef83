"""The ledger of Slack requests already handled (`ProcessedRequest`): claim a key once.

Slack resends a request it thinks was lost (``X-Slack-Retry-Num``), two app instances can
receive the same event, and a person can submit the same payload twice. Each handler claims the
request's key here before its side effects; only the first claim of a key succeeds, on SQLite
and PostgreSQL alike, because the key is the table's primary key.

Every command pays for its claim before its reply, so the claim is one statement handed to the
driver as it stands (no statement building, no ORM) and old claims are pruned by the hourly
`snapshot` job, not by each command.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage.models import ProcessedRequest
from storage.sync_store import sqlite_instant

KEEP_FOR = timedelta(days=2)  # Slack retries within minutes; a day of margin on either side

# Named parameters in each driver's own style (sqlite3 ":name", psycopg "%(name)s").
_CLAIM_SQL = {
    "sqlite": "INSERT INTO processedrequest (key, at) VALUES (:key, :at) ON CONFLICT DO NOTHING",
    "postgresql": (
        "INSERT INTO processedrequest (key, at) VALUES (%(key)s, %(at)s) ON CONFLICT DO NOTHING"
    ),
}


def claim_key(connection: Connection, key: str, *, now: datetime) -> bool:
    """Record ``key`` on ``connection`` (the caller commits); True only for its first claim.

    On PostgreSQL the claim's commit does not wait for its WAL to reach disk (the reply waits
    for the claim, and under load that flush took tens of milliseconds). A claim is then as
    durable as on SQLite in WAL mode with synchronous=NORMAL: a server crash may forget the
    last instant's claims, never half of one, and a later commit that must be durable (a goal
    saved for the same request) flushes the claim before it, as the WAL is written in order.
    """
    dialect = connection.dialect.name
    at: object = sqlite_instant(now) if dialect == "sqlite" else now.astimezone(UTC)
    if dialect == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
    result = connection.exec_driver_sql(_CLAIM_SQL[dialect], {"key": key, "at": at})
    return result.rowcount == 1


class SqlRequestLedger:
    """Claims request keys on a session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, key: str, *, now: datetime) -> bool:
        """Record ``key``; return True only for the first claim of it."""
        return claim_key(self.session.connection(), key, now=now)

    def prune(self, *, now: datetime) -> int:
        """Forget claims older than ``KEEP_FOR`` (no resend is that late); return how many."""
        table = ProcessedRequest.__table__  # type: ignore[attr-defined]
        before = now.astimezone(UTC) - KEEP_FOR  # claims are stored in UTC
        result = self.session.execute(delete(table).where(table.c.at < before))
        return int(getattr(result, "rowcount", 0) or 0)
