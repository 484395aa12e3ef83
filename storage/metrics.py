"""The metrics store: KPI sums, daily series and pipeline paths, aggregated in SQL.

Leaderboards over thousands of reps must never loop over snapshot rows in Python, so every
total here is one SUM ... GROUP BY; the domain does the arithmetic on the sums.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import and_, bindparam, func, select, union_all
from sqlmodel import Session, col

from domain.funnel import OpportunityPath, StageInfo
from domain.ports import RepProfile
from domain.timeutil import DateRange
from storage.models import (
    DailySnapshot,
    MetricsVersion,
    Opportunity,
    PipelineSnapshot,
    PipelineStage,
    Rep,
    StageChange,
    SyncState,
)
from storage.queries import data_as_of

IN_CHUNK = 900


PROFILE_COLUMNS = (
    col(Rep.id),
    col(Rep.email),
    col(Rep.name),
    col(Rep.team),
    col(Rep.manager_id),
    col(Rep.timezone),
    col(Rep.start_date),
    col(Rep.public_opt_out),
    col(Rep.role),
    col(Rep.active),
)


# The reads below run on every command and for every chunk of a job. SQLAlchemy caches a
# statement's compiled SQL, but finding it costs a walk of the statement each time one is
# built anew; statements built once (with bind parameters) skip that walk, which cost more
# than the query itself on the /mystats path. Each is built on first use and reused.


@lru_cache(maxsize=8)
def _snapshot_query(*, sums: bool, by_kpis: bool, by_reps: bool) -> Any:
    """Return the day-range read of snapshots: per-rep KPI sums, or the daily values.

    Bound as ``start``/``end``, plus ``kpis`` and ``ids`` (expanding lists) when filtered.
    """
    snap = DailySnapshot
    columns: list[Any] = [col(snap.rep_id), col(snap.kpi)]
    columns += [func.sum(col(snap.value))] if sums else [col(snap.day), col(snap.value)]
    query = select(*columns).where(
        col(snap.day) >= bindparam("start"), col(snap.day) <= bindparam("end")
    )
    if by_kpis:
        query = query.where(col(snap.kpi).in_(bindparam("kpis", expanding=True)))
    if by_reps:
        query = query.where(col(snap.rep_id).in_(bindparam("ids", expanding=True)))
    return query.group_by(col(snap.rep_id), col(snap.kpi)) if sums else query


@lru_cache(maxsize=1)
def _version_query() -> Any:
    """Return the data version and data-as-of (the oldest last successful sync) in one row."""
    as_of = (
        select(func.min(col(SyncState.last_success)))
        .where(col(SyncState.last_success).is_not(None))
        .scalar_subquery()
    )
    return select(col(MetricsVersion.version), as_of)


def _profile(row: Any) -> RepProfile:
    return RepProfile(*row)


class SqlMetricsStore:
    """``domain.ports.MetricsStore`` over a session (read-only; never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._as_of: tuple[datetime | None, ...] = ()

    def reps(self, *, active_only: bool = True) -> list[RepProfile]:
        """Return the reps by name, active ones only by default."""
        # Plain columns, not ORM objects: boards load every rep, thousands of them.
        query = select(*PROFILE_COLUMNS).order_by(col(Rep.name), col(Rep.id))
        if active_only:
            query = query.where(col(Rep.active).is_(True))
        return [_profile(r) for r in self._rows(query)]

    def rep_by_email(self, email: str) -> RepProfile | None:
        """Return the rep with ``email`` (case-insensitive)."""
        wanted = email.strip().lower()
        rows = self._rows(select(*PROFILE_COLUMNS).where(func.lower(col(Rep.email)) == wanted))
        return _profile(rows[0]) if rows else None

    def totals(
        self,
        rng: DateRange,
        *,
        kpis: Sequence[str] | None = None,
        rep_ids: Sequence[int] | None = None,
    ) -> dict[int, dict[str, float]]:
        """Return rep -> kpi -> SUM(value) over ``rng``, grouped in SQL."""
        out: dict[int, dict[str, float]] = defaultdict(dict)
        for rep_id, kpi, total in self._snapshot_rows(rng, kpis, rep_ids, sums=True):
            out[rep_id][kpi] = float(total or 0.0)
        return dict(out)

    def daily(
        self, rep_ids: Sequence[int], rng: DateRange, *, kpis: Sequence[str] | None = None
    ) -> dict[int, dict[str, dict[date, float]]]:
        """Return rep -> kpi -> day -> value over ``rng``."""
        out: dict[int, dict[str, dict[date, float]]] = defaultdict(lambda: defaultdict(dict))
        for rep_id, kpi, day, value in self._snapshot_rows(rng, kpis, rep_ids, sums=False):
            out[rep_id][kpi][day] = float(value)
        return {rep: dict(series) for rep, series in out.items()}

    def _snapshot_rows(
        self,
        rng: DateRange,
        kpis: Sequence[str] | None,
        rep_ids: Sequence[int] | None,
        *,
        sums: bool,
    ) -> Iterator[Any]:
        """Yield the rows of ``_snapshot_query`` over ``rng``, per chunk of ``rep_ids``."""
        query = _snapshot_query(sums=sums, by_kpis=kpis is not None, by_reps=rep_ids is not None)
        params: dict[str, object] = {"start": rng.start, "end": rng.end}
        if kpis is not None:
            params["kpis"] = list(kpis)
        conn = self.session.connection()
        if rep_ids is None:
            yield from conn.execute(query, params).all()
            return
        ids = list(rep_ids)
        for i in range(0, len(ids), IN_CHUNK):  # bind-parameter limits
            yield from conn.execute(query, {**params, "ids": ids[i : i + IN_CHUNK]}).all()

    def _rows(self, query: Any) -> list[Any]:
        """Run a Core select on the session's connection (no ORM row processing)."""
        return list(self.session.connection().execute(query).all())

    def stages(self) -> list[StageInfo]:
        """Return every pipeline stage (all sources) with its order."""
        rows = self.session.execute(select(PipelineStage)).scalars()
        seen: dict[tuple[str, str], StageInfo] = {}
        for s in rows:
            seen.setdefault(
                (s.pipeline, s.stage),
                StageInfo(s.pipeline, s.stage, s.order, s.is_closed, s.is_won, s.probability),
            )
        return sorted(seen.values(), key=lambda s: (s.pipeline, s.order))

    def opportunity_paths(self) -> list[OpportunityPath]:
        """Return each live opportunity's furthest open stage, from history, snapshots and now.

        The furthest open stage is the highest open-stage order found in stage history (both
        ends of each move), in daily pipeline snapshots (where history is missing), and in the
        opportunity's current stage while it is open; all three are unioned and maxed in SQL.
        """
        furthest = self._furthest_subquery()
        opp = Opportunity
        query = (
            select(
                col(opp.id),
                col(opp.rep_id),
                col(opp.pipeline),
                furthest.c.furthest,
                col(opp.stage),
                col(opp.is_closed),
                col(opp.is_won),
                col(opp.amount),
            )
            .outerjoin(furthest, furthest.c.opportunity_id == col(opp.id))
            .where(col(opp.is_deleted).is_(False))
        )
        return [
            OpportunityPath(
                opportunity_id=row[0],
                rep_id=row[1],
                pipeline=row[2],
                furthest_open_order=row[3],
                current_stage=row[4],
                is_closed=bool(row[5]),
                is_won=bool(row[6]),
                amount=row[7],
            )
            for row in self.session.execute(query)
        ]

    def _furthest_subquery(self) -> Any:
        opp, stage, change, snap = Opportunity, PipelineStage, StageChange, PipelineSnapshot
        open_stage = col(stage.is_closed).is_(False)

        def moved(end: Any) -> Any:
            return (
                select(col(opp.id).label("opportunity_id"), col(stage.order).label("ord"))
                .select_from(change)
                .join(
                    opp,
                    and_(
                        col(opp.source) == col(change.source),
                        col(opp.crm_id) == col(change.opportunity_crm_id),
                    ),
                )
                .join(
                    stage,
                    and_(
                        col(stage.source) == col(opp.source),
                        col(stage.pipeline) == col(opp.pipeline),
                        col(stage.stage) == end,
                    ),
                )
                .where(col(change.is_deleted).is_(False), open_stage)
            )

        snapshots: Any = select(
            col(snap.opportunity_id).label("opportunity_id"),
            col(snap.stage_order).label("ord"),
        ).where(col(snap.stage_order).is_not(None))
        current: Any = select(
            col(opp.id).label("opportunity_id"), col(opp.stage_order).label("ord")
        ).where(col(opp.is_closed).is_(False), col(opp.stage_order).is_not(None))
        everything = union_all(
            moved(col(change.to_stage)), moved(col(change.from_stage)), snapshots, current
        ).subquery()
        return (
            select(everything.c.opportunity_id, func.max(everything.c.ord).label("furthest"))
            .group_by(everything.c.opportunity_id)
            .subquery()
        )

    def data_version(self) -> int | None:
        """Return the counter every write to snapshots, reps and goals moves (migration 0002).

        None when the row is missing (an emptied database): then nothing may be cached. The
        same round trip reads data-as-of (sync state is not versioned), which this store
        then answers without asking again: every scorecard wants both.
        """
        row = self.session.connection().execute(_version_query()).first()
        if row is None:
            return None
        self._as_of = (row[1],)
        return cast(int | None, row[0])

    def data_as_of(self) -> datetime | None:
        """Return the oldest last-successful-sync time across synced objects."""
        if self._as_of:
            return self._as_of[0]
        with self.session.no_autoflush:
            return data_as_of(self.session)
