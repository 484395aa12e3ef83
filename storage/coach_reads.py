"""The CoachReads port on SQL: weekly KPI sums, open pipeline and follow-ups, per rep, in one
GROUP BY each, so a manager's glance over 50 reps costs a handful of queries, not 50 loops."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session, col

from domain.attention import FollowUpState
from domain.ports import OpenPipelineTotal
from domain.timeutil import DateRange
from storage.models import CoachingNote, DailySnapshot, Opportunity

IN_CHUNK = 900


class SqlCoachReads:
    """``domain.ports.CoachReads`` over a session (read-only)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _rows(self, query: Any) -> list[Any]:
        return list(self.session.connection().execute(query).all())

    def _chunks(self, rep_ids: Sequence[int]) -> list[list[int]]:
        ids = sorted(set(rep_ids))
        return [ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]

    def bucket_totals(
        self,
        rep_ids: Sequence[int],
        buckets: Sequence[DateRange],
        *,
        kpis: Sequence[str] | None = None,
    ) -> dict[int, dict[str, list[float]]]:
        """Return rep -> kpi -> one sum per bucket, summed in SQL with a CASE per bucket.

        The buckets must not overlap. The CASE is computed in a subquery and grouped on its
        label outside, so PostgreSQL sees one expression, not two differently bound copies.
        """
        if not buckets or not rep_ids:
            return {}
        snap = DailySnapshot
        day = col(snap.day)
        which = case(
            *[(and_(day >= b.start, day <= b.end), n) for n, b in enumerate(buckets)], else_=-1
        ).label("bucket")
        out: dict[int, dict[str, list[float]]] = defaultdict(dict)
        for chunk in self._chunks(rep_ids):
            inner = select(col(snap.rep_id), col(snap.kpi), col(snap.value), which).where(
                day >= min(b.start for b in buckets),
                day <= max(b.end for b in buckets),
                col(snap.rep_id).in_(chunk),
            )
            if kpis is not None:
                inner = inner.where(col(snap.kpi).in_(list(kpis)))
            sub = inner.subquery()
            query = (
                select(sub.c.rep_id, sub.c.kpi, sub.c.bucket, func.sum(sub.c.value))
                .where(sub.c.bucket >= 0)
                .group_by(sub.c.rep_id, sub.c.kpi, sub.c.bucket)
            )
            for rep_id, kpi, bucket, total in self._rows(query):
                series = out[rep_id].setdefault(kpi, [0.0] * len(buckets))
                series[int(bucket)] = float(total or 0.0)
        return dict(out)

    def open_pipeline(self, rep_ids: Sequence[int]) -> dict[int, OpenPipelineTotal]:
        """Return each rep's open deals' count and amount (COUNT, SUM ... GROUP BY rep)."""
        opp = Opportunity
        out: dict[int, OpenPipelineTotal] = {}
        for chunk in self._chunks(rep_ids):
            query = (
                select(col(opp.rep_id), func.count(), func.sum(func.coalesce(col(opp.amount), 0)))
                .where(
                    col(opp.is_closed).is_(False),
                    col(opp.is_deleted).is_(False),
                    col(opp.rep_id).in_(chunk),
                )
                .group_by(col(opp.rep_id))
            )
            for rep_id, count, amount in self._rows(query):
                out[int(rep_id)] = OpenPipelineTotal(int(count), float(amount or 0.0))
        return out

    def follow_ups(self, rep_ids: Sequence[int], *, as_of: date) -> dict[int, FollowUpState]:
        """Return each rep's open follow-ups, how many are due before ``as_of``, the oldest."""
        note = CoachingNote
        due = col(note.follow_up_on)
        overdue = due < as_of
        out: dict[int, FollowUpState] = {}
        for chunk in self._chunks(rep_ids):
            query = (
                select(
                    col(note.rep_id),
                    func.count(),
                    func.sum(case((overdue, 1), else_=0)),
                    func.min(case((overdue, due), else_=None)),
                )
                .where(col(note.done).is_(False), due.is_not(None), col(note.rep_id).in_(chunk))
                .group_by(col(note.rep_id))
            )
            for rep_id, count, late, oldest in self._rows(query):
                out[int(rep_id)] = FollowUpState(int(count), int(late or 0), _as_date(oldest))
        return out


def _as_date(value: object) -> date | None:
    """SQLite hands MIN() of a date column back as text; PostgreSQL as a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
