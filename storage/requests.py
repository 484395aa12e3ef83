"""The ledger of Slack requests already handled (`ProcessedRequest`): claim a key once.

Slack resends a request it thinks was lost (``X-Slack-Retry-Num``), two app instances can
receive the same event, and a person can submit the same payload twice. Each handler claims the
request's key here before its side effects; only the first claim of a key succeeds, on SQLite
and PostgreSQL alike, because the key is the table's primary key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import ProcessedRequest

KEEP_FOR = timedelta(days=2)  # Slack retries within minutes; a day of margin on either side


def _table() -> Table:
    table: Table = ProcessedRequest.__table__  # type: ignore[attr-defined]
    return table


class SqlRequestLedger:
    """Claims request keys on a session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def claim(self, key: str, *, now: datetime) -> bool:
        """Record ``key``; return True only for the first claim of it."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        table = _table()
        statement = (
            insert(table).values(key=key, at=now).on_conflict_do_nothing().returning(table.c.key)
        )
        claimed = self.session.execute(statement).first() is not None
        if claimed:
            self.session.execute(delete(table).where(table.c.at < now - KEEP_FOR))
        return claimed
