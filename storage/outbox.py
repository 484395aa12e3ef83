"""The delivery outbox on the `Delivery` table: unique keys, atomic claims, send records.

Rows go `pending` -> `sending` (claimed, committed before the Slack call) -> `sent` or back to
`pending` (rate limited, transient error) or `failed` (refused for good). A row left `sending`
past its lease belonged to a sender that stopped mid-call; it is handed out again as in doubt
so the dispatcher looks for it in Slack before posting again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from domain.ports import ClaimedDelivery, OutboundMessage
from storage.models import Delivery

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
CHUNK = 500


def _table() -> Table:
    table: Table = Delivery.__table__  # type: ignore[attr-defined]
    return table


class SqlOutboxStore:
    """Implements the OutboxStore port on a session (it never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def enqueue(self, messages: Sequence[OutboundMessage], *, now: datetime) -> int:
        """Insert messages whose key is new (ON CONFLICT DO NOTHING); return how many."""
        if not messages:
            return 0
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        inserted = 0
        rows = [
            {
                "key": m.key,
                "channel": m.channel,
                "payload": {"text": m.text, "blocks": [dict(b) for b in m.blocks]},
                "status": PENDING,
                "attempts": 0,
                "not_before": m.not_before,
                "created_at": now,
            }
            for m in messages
        ]
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            statement = (
                insert(_table())
                .values(chunk)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(_table().c.id)
            )
            inserted += len(self.session.execute(statement).all())
        return inserted

    def claim(self, *, now: datetime, limit: int, lease: timedelta) -> list[ClaimedDelivery]:
        """Mark up to ``limit`` due rows `sending` until ``now + lease`` and return them."""
        t = _table()
        due = or_(
            and_(t.c.status == PENDING, or_(t.c.not_before.is_(None), t.c.not_before <= now)),
            and_(t.c.status == SENDING, t.c.not_before <= now),
        )
        query = select(t).where(due).order_by(t.c.id).limit(limit)
        if self.dialect == "postgresql":
            # Two dispatchers never get the same row, and neither waits for the other.
            query = query.with_for_update(skip_locked=True)
        rows = list(self.session.execute(query))
        if not rows:
            return []
        ids = [row.id for row in rows]
        self.session.execute(
            update(t)
            .where(t.c.id.in_(ids))
            .values(status=SENDING, attempts=t.c.attempts + 1, not_before=now + lease)
        )
        return [_claimed(row) for row in rows]

    def mark_sent(self, delivery_id: int, *, channel: str, ts: str, now: datetime) -> None:
        """Record that Slack stored the message as ``ts`` in ``channel``."""
        self._set(
            delivery_id,
            status=SENT,
            slack_channel=channel,
            slack_ts=ts,
            sent_at=now,
            not_before=None,
            last_error=None,
        )

    def retry_later(
        self, delivery_id: int, *, not_before: datetime, error: str, in_doubt: bool = False
    ) -> None:
        """Retry a row from ``not_before``; ``in_doubt`` keeps it to be looked up first."""
        self._set(
            delivery_id,
            status=SENDING if in_doubt else PENDING,
            not_before=not_before,
            last_error=error[:2000],
        )

    def mark_failed(self, delivery_id: int, *, error: str) -> None:
        """Give up on a row (Slack refused it for good); it is never sent."""
        self._set(delivery_id, status=FAILED, not_before=None, last_error=error[:2000])

    def next_due(self) -> datetime | None:
        """Return when the earliest unfinished row may be (re)tried; None when all are done."""
        t = _table()
        unfinished = t.c.status.in_([PENDING, SENDING])
        if self.session.execute(
            select(t.c.id).where(unfinished, t.c.not_before.is_(None)).limit(1)
        ).first():
            return datetime.min.replace(tzinfo=UTC)
        earliest = self.session.execute(select(func.min(t.c.not_before)).where(unfinished)).scalar()
        return _aware(earliest)

    def counts(self) -> dict[str, int]:
        """Return how many rows are in each status."""
        t = _table()
        return {
            status: int(n)
            for status, n in self.session.execute(
                select(t.c.status, func.count()).group_by(t.c.status)
            )
        }

    def _set(self, delivery_id: int, **values: Any) -> None:
        self.session.execute(update(_table()).where(_table().c.id == delivery_id).values(**values))


def _claimed(row: Any) -> ClaimedDelivery:
    payload = row.payload or {}
    blocks = payload.get("blocks") or []
    return ClaimedDelivery(
        id=row.id,
        key=row.key,
        channel=row.channel,
        text=str(payload.get("text") or ""),
        blocks=[dict(b) for b in blocks],
        attempts=row.attempts + 1,
        in_doubt=row.status == SENDING,
        created_at=_aware(row.created_at) or datetime.min.replace(tzinfo=UTC),
    )


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
