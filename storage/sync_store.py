"""The sync's side of storage: upserts by natural key, deletions, cursors and KPI roll-ups.

Every page of a sync goes through ``apply_page`` inside one transaction owned by the caller:
records, deletions, the (rep, day) pairs they touch and the new cursor commit together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, String, Table, and_, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine
from sqlmodel import Session, col

from domain.kpis import (
    ActivityClassifier,
    ActivityFact,
    KpiDefinition,
    OpportunityFact,
    StageMoveFact,
    rollup,
)
from domain.ports import PageStats, SyncPage
from domain.records import (
    ActivityRecord,
    CrmObject,
    CrmUser,
    OpportunityRecord,
    PipelineStageRecord,
    StageChangeRecord,
)
from domain.timeutil import local_day, zone
from storage.locks import lock_key
from storage.models import (
    Activity,
    DailySnapshot,
    DirtyDay,
    Opportunity,
    PipelineSnapshot,
    PipelineStage,
    Rep,
    SnapshotIncrement,
    StageChange,
    SyncState,
)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


@dataclass(frozen=True, slots=True)
class RepRef:
    """The bits of a rep the sync needs to place a record on a local day."""

    id: int
    timezone: str | None


# Plain rows below SQLAlchemy's type layer ---------------------------------------------------
#
# Activities, dirty days and snapshots are the tables the sync writes per record (a full sync
# of a million activities writes millions of rows). Core's executemany runs every value of
# every row through its bind processors, which costs more than SQLite's insert itself. These
# rows go to the driver instead as plain tuples that hold exactly what those processors would
# have bound, under one statement text per table and database.

ACTIVITY_COLUMNS = (
    "source",
    "crm_id",
    "owner_crm_id",
    "rep_id",
    "kind",
    "occurred_at",
    "day",
    "duration_s",
    "direction",
    "outcome",
    "contact_title",
    "opportunity_crm_id",
    "is_deleted",
    "modified_at",
)
SNAPSHOT_COLUMNS = ("rep_id", "day", "kpi", "value", "frozen")
# Increments merged into snapshots per roll-up transaction: bounded, so a full sync's merge
# never holds the write lock (SQLite) for long while commands wait to record their claims.
MERGE_BATCH = 50_000


@lru_cache(maxsize=8)
def _classifier(definitions: tuple[KpiDefinition, ...]) -> ActivityClassifier:
    """Return one classifier per set of definitions, so its memo outlives a page."""
    return ActivityClassifier(definitions)


def sqlite_instant(value: datetime | None) -> str | None:
    """Return what SQLModel's UTCDateTime binds on SQLite: naive UTC text with microseconds."""
    if value is None:
        return None
    if value.tzinfo is UTC:  # what connectors yield: drop the "+00:00" isoformat appends
        return value.isoformat(" ", "microseconds")[:26]
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def sqlite_day(value: date | None) -> str | None:
    """Return what SQLAlchemy's Date binds on SQLite: ``YYYY-MM-DD``."""
    return None if value is None else date.isoformat(value)


def _same(value: Any) -> Any:
    return value


def _array_type(sqltype: TypeEngine[Any], dialect: Dialect) -> str:
    """Return the SQL type a column's values are cast to in an array of plain rows.

    Strings (String, or SQLModel's AutoString around it) become unbounded VARCHAR: an explicit
    cast to VARCHAR(n) would silently cut a value too long for its column, where the insert
    itself refuses it.
    """
    if isinstance(getattr(sqltype, "impl_instance", sqltype), String):
        return "VARCHAR"
    return sqltype.compile(dialect=dialect)


class PlainRows:
    """Statement texts and value formats for plain-tuple statements on one database.

    Identifiers in the texts come from the table definitions, quoted by the dialect; every
    value is a placeholder the driver binds.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.sqlite = dialect.name == "sqlite"
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        # What UTCDateTime and Date bind: text on SQLite, aware UTC values and dates otherwise.
        self.instant: Callable[[datetime | None], Any] = sqlite_instant if self.sqlite else _utc
        self.day: Callable[[date | None], Any] = sqlite_day if self.sqlite else _same
        self.read_day: Callable[[Any], date] = date.fromisoformat if self.sqlite else _same
        self._quote = dialect.identifier_preparer.quote
        self._dialect = dialect

    def quoted(self, identifier: str) -> str:
        """Return ``identifier`` quoted for this database where it needs quoting."""
        return self._quote(identifier)

    def marks(self, count: int) -> str:
        """Return ``count`` placeholders separated by commas."""
        return ", ".join([self.mark] * count)

    def one_of(self, count: int) -> str:
        """Return the test that a value is one of ``count`` values bound with ``listed``.

        PostgreSQL takes them as one array parameter (``= ANY``): one placeholder for psycopg
        to find and bind instead of hundreds.
        """
        return f"IN ({self.marks(count)})" if self.sqlite else f"= ANY({self.mark})"

    def listed(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """Return the parameters binding ``values`` for ``one_of``."""
        return tuple(values) if self.sqlite else (list(values),)

    def insert(
        self,
        model: Any,
        columns: Sequence[str],
        *,
        conflict: Sequence[str] = (),
        ignore_conflicts: bool = False,
        arrays: bool = False,
    ) -> str:
        """Return an INSERT of ``columns``: an upsert on the ``conflict`` key columns (the
        others updated), or one that skips conflicting rows when ``ignore_conflicts``.

        With ``arrays`` (PostgreSQL), it takes one array per column and inserts their rows.
        """
        q = self._quote
        values = f"VALUES ({self.marks(len(columns))})"
        if arrays:
            table = _table(model)
            types = [_array_type(table.c[c].type, self._dialect) for c in columns]
            arrays_in = ", ".join(f"{self.mark}::{t}[]" for t in types)
            values = f"SELECT * FROM unnest({arrays_in})"  # noqa: S608 -- types of the model
        text = f"INSERT INTO {q(_table(model).name)} ({', '.join(map(q, columns))}) {values}"
        if conflict:
            sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in columns if c not in conflict)
            text += f" ON CONFLICT ({', '.join(map(q, conflict))}) DO UPDATE SET {sets}"
        elif ignore_conflicts:
            text += " ON CONFLICT DO NOTHING"
        return text

    def mark_stored_days(self, model: Any, ids: int) -> str:
        """Return an INSERT into DirtyDay of the (rep, day) of ``ids`` stored rows of ``model``,
        bound as (source, *listed(crm_ids))."""
        q, day = self._quote, self._quote("day")
        return (
            f"INSERT INTO {q(_table(DirtyDay).name)} (rep_id, {day}) "  # noqa: S608
            f"SELECT DISTINCT rep_id, {day} FROM {q(_table(model).name)} "
            f"WHERE source = {self.mark} AND crm_id {self.one_of(ids)} "
            f"AND rep_id IS NOT NULL AND {day} IS NOT NULL ON CONFLICT DO NOTHING"
        )

    def stored_ids(self, model: Any, ids: int) -> str:
        """Return the SELECT of which of ``ids`` crm_ids have a row, bound as
        (source, *listed(ids))."""
        return (
            f"SELECT crm_id FROM {self._quote(_table(model).name)} "  # noqa: S608
            f"WHERE source = {self.mark} AND crm_id {self.one_of(ids)}"
        )

    def reps_by_crm_id(self, ids: int) -> str:
        """Return the SELECT of (crm_user_id, id, timezone) of ``ids`` reps of a source,
        bound as (source, *listed(crm_user_ids))."""
        return (
            f"SELECT crm_user_id, id, timezone FROM {self._quote(_table(Rep).name)} "  # noqa: S608
            f"WHERE source = {self.mark} AND crm_user_id {self.one_of(ids)}"
        )

    def first_dirty(self, limit: int) -> str:
        """Return the SELECT of the first ``limit`` dirty (rep, day) pairs."""
        day = self._quote("day")
        return (
            f"SELECT rep_id, {day} FROM {self._quote(_table(DirtyDay).name)} "  # noqa: S608
            f"ORDER BY rep_id, {day} LIMIT {int(limit)}"
        )

    def delete_days(self, model: Any, days: int) -> str:
        """Return a DELETE of a rep's rows on ``days`` days, bound as (rep_id, *listed(days))."""
        return (
            f"DELETE FROM {self._quote(_table(model).name)} "  # noqa: S608
            f"WHERE rep_id = {self.mark} AND {self._quote('day')} {self.one_of(days)}"
        )

    def merge_increments(self) -> str:
        """Return the INSERT adding increments with ids in [lo, hi) into their snapshots,
        summed per (rep, day, KPI), bound as (lo, hi)."""
        q = self._quote
        snap, inc = q(_table(DailySnapshot).name), q(_table(SnapshotIncrement).name)
        day = q("day")
        any_frozen = "MAX(frozen)" if self.sqlite else "bool_or(frozen)"
        return (
            f"INSERT INTO {snap} (rep_id, {day}, kpi, value, frozen) "  # noqa: S608
            f"SELECT rep_id, {day}, kpi, SUM(value), {any_frozen} FROM {inc} "
            f"WHERE id >= {self.mark} AND id < {self.mark} GROUP BY rep_id, {day}, kpi "
            f"ON CONFLICT (rep_id, {day}, kpi) DO UPDATE "
            f"SET value = {snap}.value + excluded.value, frozen = excluded.frozen"
        )

    def delete_increments(self) -> str:
        """Return the DELETE of increments with ids in [lo, hi), bound as (lo, hi)."""
        return (
            f"DELETE FROM {self._quote(_table(SnapshotIncrement).name)} "  # noqa: S608
            f"WHERE id >= {self.mark} AND id < {self.mark}"
        )

    def activity_facts(self, days: int) -> str:
        """Return the SELECT of what the roll-up reads of a rep's live activities on ``days``
        days, bound as (rep_id, *listed(days), False)."""
        day = self._quote("day")
        return (
            f"SELECT {day}, kind, duration_s, direction, outcome, contact_title "  # noqa: S608
            f"FROM {self._quote(_table(Activity).name)} WHERE rep_id = {self.mark} "
            f"AND {day} {self.one_of(days)} AND is_deleted = {self.mark}"
        )


class SqlSyncStore:
    """Implements the sync's storage port on a SQLModel session (it never commits)."""

    def __init__(self, session: Session, *, org_timezone: str = "UTC", admins: Iterable[str] = ()):
        self.session = session
        self.org_timezone = org_timezone
        self.admins = frozenset(a.lower() for a in admins)
        self.plain = PlainRows(session.get_bind().dialect)

    # cursors -------------------------------------------------------------------------------

    def cursor(self, source: str, obj: CrmObject) -> str | None:
        """Return the stored cursor of ``obj`` for ``source``."""
        state = self._state(source, obj)
        return state.cursor if state else None

    def reset_cursors(self, source: str) -> None:
        """Forget every cursor of ``source`` so the next sync is a full one."""
        self.session.execute(
            update(_table(SyncState))
            .where(_table(SyncState).c.source == source)
            .values(cursor=None)
        )

    def record_outcome(
        self, source: str, obj: CrmObject, *, error: str | None, now: datetime
    ) -> None:
        """Record the last success time or the last error of an object's sync."""
        state = self._state(source, obj) or SyncState(source=source, object=obj.value)
        if error is None:
            state.last_success = now
            state.last_error = None
        else:
            state.last_error = error[:2000]
        self.session.add(state)

    def sync_states(self) -> list[SyncState]:
        """Return every object's sync state, for doctor and "data as of"."""
        return list(self.session.execute(select(SyncState)).scalars())

    def _state(self, source: str, obj: CrmObject) -> SyncState | None:
        return self.session.execute(
            select(SyncState).where(
                col(SyncState.source) == source, col(SyncState.object) == obj.value
            )
        ).scalar_one_or_none()

    # pages ---------------------------------------------------------------------------------

    def apply_page(
        self,
        source: str,
        page: SyncPage,
        definitions: Sequence[KpiDefinition],
        *,
        now: datetime,
    ) -> PageStats:
        """Upsert the page's records, apply its deletions and save its cursor.

        New activities are counted toward ``definitions`` here (snapshot increments); every
        other change marks the (rep, day) pairs it touches for the roll-up. A day before the
        rep's local today at ``now`` is counted as frozen.
        """
        dirty: set[tuple[int, date]] = set()
        if page.object is CrmObject.ACTIVITIES:
            self._apply_activities(
                source,
                page.records,
                page.deleted_ids,
                dirty,
                classifier=_classifier(tuple(definitions)),
                now=now,
            )
        else:
            handler = {
                CrmObject.USERS: self._apply_users,
                CrmObject.STAGES: self._apply_stages,
                CrmObject.OPPORTUNITIES: self._apply_opportunities,
                CrmObject.STAGE_CHANGES: self._apply_stage_changes,
            }[page.object]
            handler(source, page.records, page.deleted_ids, dirty)
        self._mark_dirty(dirty)
        if page.cursor is not None or page.api_calls:
            state = self._state(source, page.object) or SyncState(
                source=source, object=page.object.value
            )
            if page.cursor is not None:
                state.cursor = page.cursor
            state.api_calls = (state.api_calls or 0) + page.api_calls
            self.session.add(state)
        self.session.flush()
        return PageStats(upserted=len(page.records), deleted=len(page.deleted_ids))

    def _apply_users(
        self, source: str, records: Sequence[Any], deleted: Sequence[str], dirty: set[Any]
    ) -> None:
        rows = [
            {
                "source": source,
                "crm_user_id": u.crm_id,
                "name": u.name,
                "email": u.email.strip().lower(),
                "manager_crm_id": u.manager_crm_id,
                "team": u.team,
                "title": u.title,
                "start_date": u.start_date,
                "active": u.active,
            }
            for u in records
            if isinstance(u, CrmUser)
        ]
        self._upsert(Rep, rows, ("source", "crm_user_id"))
        if deleted:
            for chunk in _chunks(deleted):
                self.session.execute(
                    update(_table(Rep))
                    .where(_table(Rep).c.source == source, _table(Rep).c.crm_user_id.in_(chunk))
                    .values(active=False)
                )
        self.resolve_hierarchy(source)

    def resolve_hierarchy(self, source: str) -> None:
        """Link each rep to its manager row and derive roles (admin, manager, rep)."""
        rep = _table(Rep)
        manager = rep.alias("manager")
        self.session.execute(
            update(rep)
            .where(rep.c.source == source)
            .values(
                manager_id=select(manager.c.id)
                .where(
                    manager.c.source == rep.c.source, manager.c.crm_user_id == rep.c.manager_crm_id
                )
                .scalar_subquery()
            )
        )
        report = rep.alias("report")
        has_reports = select(report.c.id).where(report.c.manager_id == rep.c.id).exists()
        self.session.execute(update(rep).where(rep.c.source == source).values(role="rep"))
        self.session.execute(
            update(rep).where(rep.c.source == source, has_reports).values(role="manager")
        )
        if self.admins:
            self.session.execute(
                update(rep).where(rep.c.email.in_(sorted(self.admins))).values(role="admin")
            )

    def _apply_stages(
        self, source: str, records: Sequence[Any], deleted: Sequence[str], dirty: set[Any]
    ) -> None:
        rows = [
            {
                "source": source,
                "pipeline": s.pipeline,
                "stage": s.stage,
                "order": s.order,
                "is_closed": s.is_closed,
                "is_won": s.is_won,
                "probability": s.probability,
            }
            for s in records
            if isinstance(s, PipelineStageRecord)
        ]
        self._upsert(PipelineStage, rows, ("source", "pipeline", "stage"))

    def _apply_opportunities(
        self, source: str, records: Sequence[Any], deleted: Sequence[str], dirty: set[Any]
    ) -> None:
        opps = [r for r in records if isinstance(r, OpportunityRecord)]
        ids = [o.crm_id for o in opps] + list(deleted)
        before = self._existing(Opportunity, source, ids, ("rep_id", "created_day", "close_date"))
        reps = self._reps_by_crm_id(source, {o.owner_crm_id for o in opps if o.owner_crm_id})
        rows = []
        for o in opps:
            ref = reps.get(o.owner_crm_id or "")
            created_day = local_day(o.created_at, self._tz(ref))
            rows.append(
                {
                    "source": source,
                    "crm_id": o.crm_id,
                    "owner_crm_id": o.owner_crm_id,
                    "rep_id": ref.id if ref else None,
                    "name": o.name[:255],
                    "amount": o.amount,
                    "stage": o.stage,
                    "stage_order": o.stage_order,
                    "pipeline": o.pipeline,
                    "created_at": _utc(o.created_at),
                    "created_day": created_day,
                    "close_date": o.close_date,
                    "is_closed": o.is_closed,
                    "is_won": o.is_won,
                    "is_deleted": o.is_deleted,
                    "modified_at": _utc(o.modified_at),
                }
            )
            if ref:
                dirty.add((ref.id, created_day))
                if o.close_date:
                    dirty.add((ref.id, o.close_date))
        for rep_id, created_day, close_date in before.values():
            if rep_id is not None:
                dirty.update((rep_id, d) for d in (created_day, close_date) if d is not None)
        self._upsert(Opportunity, rows, ("source", "crm_id"))
        self._soft_delete(Opportunity, source, deleted)
        touched_reps = {d[0] for d in dirty}
        dirty.update(self._stage_change_days(source, ids, touched_reps))

    def _stage_change_days(
        self, source: str, opportunity_ids: Sequence[str], rep_ids: set[int]
    ) -> set[tuple[int, date]]:
        """Return (rep, day) of every stage move of these opportunities, for each rep given."""
        result: set[tuple[int, date]] = set()
        if not rep_ids:
            return result
        tzs = self._rep_zones(rep_ids)
        sc = _table(StageChange)
        for chunk in _chunks(opportunity_ids):
            for (changed_at,) in self.session.execute(
                select(sc.c.changed_at).where(
                    sc.c.source == source, sc.c.opportunity_crm_id.in_(chunk)
                )
            ):
                for rep_id, tz in tzs.items():
                    result.add((rep_id, local_day(changed_at, zone(tz, self.org_timezone))))
        return result

    def _apply_stage_changes(
        self, source: str, records: Sequence[Any], deleted: Sequence[str], dirty: set[Any]
    ) -> None:
        changes = [r for r in records if isinstance(r, StageChangeRecord)]
        sc = _table(StageChange)
        ids = [c.crm_id for c in changes] + list(deleted)
        before: list[tuple[str, datetime]] = []
        for chunk in _chunks(ids):
            before.extend(
                (row.opportunity_crm_id, row.changed_at)
                for row in self.session.execute(
                    select(sc.c.opportunity_crm_id, sc.c.changed_at).where(
                        sc.c.source == source, sc.c.crm_id.in_(chunk)
                    )
                )
            )
        rows = [
            {
                "source": source,
                "crm_id": c.crm_id,
                "opportunity_crm_id": c.opportunity_crm_id,
                "from_stage": c.from_stage,
                "to_stage": c.to_stage,
                "changed_at": _utc(c.changed_at),
                "is_deleted": c.is_deleted,
            }
            for c in changes
        ]
        self._upsert(StageChange, rows, ("source", "crm_id"))
        self._soft_delete(StageChange, source, deleted)
        moments = before + [(c.opportunity_crm_id, c.changed_at) for c in changes]
        touched = sorted({m[0] for m in moments})
        owners = self._opportunity_owners(source, set(touched))
        for opp_crm_id, at in moments:
            ref = owners.get(opp_crm_id)
            if ref:
                dirty.add((ref.id, local_day(at, self._tz(ref))))
        # A win without a stored Closed Won move counts on the close date: once the move
        # arrives the win leaves that day, so the close date's roll-up is stale too.
        for rep_id, close_date in self._existing(
            Opportunity, source, touched, ("rep_id", "close_date")
        ).values():
            if rep_id is not None and close_date is not None:
                dirty.add((rep_id, close_date))

    def _apply_activities(
        self,
        source: str,
        records: Sequence[Any],
        deleted: Sequence[str],
        dirty: set[Any],
        *,
        classifier: ActivityClassifier,
        now: datetime,
    ) -> None:
        acts = [r for r in records if isinstance(r, ActivityRecord)]
        # Which rows are stored: on PostgreSQL the insert says so itself (see _write), so
        # only the deletions are looked up there.
        lookup = [a.crm_id for a in acts] if self.plain.sqlite else []
        stored = self._stored_ids(Activity, source, lookup + list(deleted))
        # The days the stored versions sit on are stale too (an edit may move an activity).
        self._mark_stored_days(Activity, source, sorted(stored))
        reps = self._reps_by_crm_id(source, {a.owner_crm_id for a in acts if a.owner_crm_id})
        rep_ids = {crm_id: ref.id for crm_id, ref in reps.items()}
        zones = {crm_id: self._tz(ref) for crm_id, ref in reps.items()}
        todays = {crm_id: local_day(now, tz) for crm_id, tz in zones.items()}
        no_owner_zone = self._tz(None)
        instant, day_value = self.plain.instant, self.plain.day
        # Keyed by crm_id: the last version of a record within a page wins, one row per key.
        rows: dict[str, tuple[Any, ...]] = {}
        # Where each row with an owning rep and a day counts: (rep, day, frozen).
        placed: dict[str, tuple[int, date, bool]] = {}
        for a in acts:
            owner = a.owner_crm_id
            rep_id = rep_ids.get(owner) if owner else None
            occurred = a.occurred_at
            if occurred is not None:
                day: date | None = local_day(occurred, zones.get(owner or "", no_owner_zone))
            else:
                day = a.activity_date
            title = a.contact_title
            rows[a.crm_id] = (
                source,
                a.crm_id,
                owner,
                rep_id,
                str(a.kind),
                instant(occurred),
                day_value(day),
                a.duration_s,
                a.direction,
                a.outcome,
                title[:255] if title else None,
                a.opportunity_crm_id,
                a.is_deleted,
                instant(a.modified_at),
            )
            if rep_id is not None and day and owner:
                placed[a.crm_id] = (rep_id, day, day < todays[owner])
            else:
                placed.pop(a.crm_id, None)
        inserted = self._write(Activity, source, ACTIVITY_COLUMNS, rows, stored)
        gone = set(deleted)
        # Per (rep, day as stored, frozen, KPI): how many new live activities count toward it.
        counts: dict[tuple[int, Any, bool, str], int] = defaultdict(int)
        names_for = classifier.names_for
        for crm_id, (rep_id, day, frozen) in placed.items():
            if crm_id not in inserted:
                dirty.add((rep_id, day))  # a changed activity: its day is recomputed
                continue
            row = rows[crm_id]
            if row[12] or crm_id in gone:  # in the recycle bin, or deleted in this page
                continue
            # (kind, duration_s, direction, outcome, contact_title), as the roll-up reads them
            for name in names_for((row[4], row[7], row[8], row[9], row[10])):
                counts[(rep_id, row[6], frozen, name)] += 1
        self._insert_rows(
            SnapshotIncrement,
            SNAPSHOT_COLUMNS,
            [
                (rep_id, day, kpi, float(n), frozen)
                for (rep_id, day, frozen, kpi), n in counts.items()
            ],
        )
        self._soft_delete(Activity, source, deleted)
        if not self.plain.sqlite:
            self._keep_planner_statistics(Activity)

    def _keep_planner_statistics(self, model: Any) -> None:
        """ANALYZE a PostgreSQL table this sync has more than doubled since its last analysis.

        Without statistics the planner takes a table for a few pages: "which of these 2,000
        ids are stored" then scans every row of the source instead of probing the key index,
        and each page of a first full load reads all the pages stored before it (quadratic).
        Autovacuum would analyse it, when it is on and keeps up with a bulk load; this does
        it from the table's size on disk, which is always current (row counts lag).
        """
        relpages, pages = (
            self._connection()
            .exec_driver_sql(
                "SELECT relpages, pg_relation_size(oid) / current_setting('block_size')::int "
                "FROM pg_class WHERE oid = %s::regclass",
                (_table(model).name,),
            )
            .one()
        )
        if pages > 2 * max(relpages, 16):
            self._connection().exec_driver_sql(f"ANALYZE {self.plain.quoted(_table(model).name)}")

    def _stored_ids(self, model: Any, source: str, crm_ids: Sequence[str]) -> set[str]:
        """Return which of ``crm_ids`` have a row of ``model`` already."""
        found: set[str] = set()
        for chunk in _chunks(crm_ids):
            found.update(
                row[0]
                for row in self._connection().exec_driver_sql(
                    self.plain.stored_ids(model, len(chunk)),
                    (source, *self.plain.listed(chunk)),
                )
            )
        return found

    def _write(
        self,
        model: Any,
        source: str,
        columns: Sequence[str],
        rows: Mapping[str, tuple[Any, ...]],
        stored: set[str],
    ) -> set[str]:
        """Upsert ``rows`` (keyed by crm_id, on (source, crm_id)); return the ids this call
        inserted. ``stored`` holds the ids found to have a row, whose days are marked.

        On SQLite the transaction holds the write lock from its start (BEGIN IMMEDIATE), so
        the rows found absent stay absent until commit: they take a plain INSERT, which costs
        SQLite less than an upsert. On PostgreSQL, where another writer may insert one
        meanwhile, the rows not known to be stored are inserted unless present (``RETURNING``
        says which were inserted), and the present ones are treated as stored: their days
        marked, then upserted. The caller may leave ``stored`` empty there.
        """
        keys = ("source", "crm_id")
        absent = [k for k in rows if k not in stored]
        if self.plain.sqlite:
            self._insert_rows(model, columns, [rows[k] for k in absent])
            inserted = set(absent)
        else:
            inserted = self._insert_returning_ids(model, columns, [rows[k] for k in absent])
            present = [k for k in absent if k not in inserted]
            if present:  # their days before this page's version, as for any stored row
                self._mark_stored_days(model, source, sorted(present))
        self._insert_rows(
            model, columns, [row for k, row in rows.items() if k not in inserted], conflict=keys
        )
        return inserted

    def _insert_returning_ids(
        self, model: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> set[str]:
        """Insert plain rows (PostgreSQL) unless their key is present; return the crm_ids
        inserted. The rows go by COPY into a temporary table of the same columns, then one
        INSERT ... SELECT skips the present ones: COPY costs the client a quarter of what
        binding 14 arrays of a page's values does (7 against 29 ms a page of 2,000)."""
        if not rows:
            return set()
        conn, plain = self._connection(), self.plain
        table = _table(model).name
        staging = plain.quoted(f"{table}_page")
        names = ", ".join(map(plain.quoted, columns))
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {names} FROM {plain.quoted(table)} WITH NO DATA"
        )
        self._copy(f"{table}_page", columns, rows)
        result = conn.exec_driver_sql(
            f"INSERT INTO {plain.quoted(table)} ({names}) "  # noqa: S608
            f"SELECT {names} FROM {staging} ON CONFLICT DO NOTHING RETURNING crm_id"
        )
        inserted = {row[0] for row in result}
        conn.exec_driver_sql(f"DELETE FROM {staging}")  # noqa: S608
        return inserted

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        """COPY plain rows into ``table`` (PostgreSQL) in the session's transaction; a refused
        value raises SQLAlchemy's error for it, as a statement would (DataError, ...)."""
        import psycopg

        plain = self.plain
        text = f"COPY {plain.quoted(table)} ({', '.join(map(plain.quoted, columns))}) FROM STDIN"
        driver = self._connection().connection.driver_connection
        assert driver is not None  # an open connection of the session's transaction
        cursor = driver.cursor()
        try:
            with cursor.copy(text) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:
            raise DBAPIError.instance(text, None, exc, psycopg.Error) from exc
        finally:
            cursor.close()

    def _insert_rows(
        self,
        model: Any,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
        *,
        conflict: Sequence[str] = (),
        ignore_conflicts: bool = False,
    ) -> None:
        """Insert plain rows: one executemany on SQLite; on PostgreSQL one statement taking a
        column array each (psycopg's executemany sends a statement per row, and a statement of
        many VALUES groups is parsed for its placeholders in Python on every call)."""
        if not rows:
            return
        conn, plain = self._connection(), self.plain
        text = plain.insert(
            model,
            columns,
            conflict=conflict,
            ignore_conflicts=ignore_conflicts,
            arrays=not plain.sqlite,
        )
        if plain.sqlite:
            conn.exec_driver_sql(text, rows)
        elif not conflict and not ignore_conflicts:
            self._copy(_table(model).name, columns, rows)  # plain inserts: COPY is cheapest
        else:
            conn.exec_driver_sql(text, tuple(list(column) for column in zip(*rows, strict=True)))

    def _mark_stored_days(self, model: Any, source: str, crm_ids: Sequence[str]) -> None:
        """Mark dirty the (rep, day) of the stored rows with these ids, before they change."""
        for chunk in _chunks(crm_ids):
            self._connection().exec_driver_sql(
                self.plain.mark_stored_days(model, len(chunk)),
                (source, *self.plain.listed(chunk)),
            )

    # helpers -------------------------------------------------------------------------------

    def _upsert(self, model: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
        if not rows:
            return
        table = _table(model)
        # Last write wins within a page too: one row per key, or the upsert would conflict twice.
        unique = list({tuple(r[k] for k in keys): r for r in rows}.values())
        stmt = self._insert(table)
        columns = [c for c in unique[0] if c not in keys]
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
        )
        # One statement executed with many parameter sets: compiled once, cached, batched.
        self.session.execute(stmt, unique)

    def _insert(self, table: Table) -> Any:
        dialect = self.session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

    def _existing(
        self, model: Any, source: str, crm_ids: Sequence[str], columns: Sequence[str]
    ) -> dict[str, tuple[Any, ...]]:
        table = _table(model)
        found: dict[str, tuple[Any, ...]] = {}
        for chunk in _chunks(crm_ids):
            query = select(table.c.crm_id, *(table.c[c] for c in columns)).where(
                table.c.source == source, table.c.crm_id.in_(chunk)
            )
            for row in self.session.execute(query):
                found[row[0]] = tuple(row[1:])
        return found

    def _soft_delete(self, model: Any, source: str, crm_ids: Sequence[str]) -> None:
        table = _table(model)
        for chunk in _chunks(crm_ids):
            self.session.execute(
                update(table)
                .where(table.c.source == source, table.c.crm_id.in_(chunk))
                .values(is_deleted=True)
            )

    def _reps_by_crm_id(self, source: str, crm_ids: set[str]) -> dict[str, RepRef]:
        """Return the stored reps of these CRM user ids (every page of activities asks)."""
        found: dict[str, RepRef] = {}
        conn, plain = self._connection(), self.plain
        for chunk in _chunks(sorted(crm_ids)):
            for crm_user_id, rep_id, timezone in conn.exec_driver_sql(
                plain.reps_by_crm_id(len(chunk)), (source, *plain.listed(chunk))
            ):
                found[crm_user_id] = RepRef(rep_id, timezone)
        return found

    def _rep_zones(self, rep_ids: set[int]) -> dict[int, str | None]:
        rep = _table(Rep)
        return {
            row.id: row.timezone
            for row in self.session.execute(
                select(rep.c.id, rep.c.timezone).where(rep.c.id.in_(sorted(rep_ids)))
            )
        }

    def _opportunity_owners(self, source: str, crm_ids: set[str]) -> dict[str, RepRef]:
        opp, rep = _table(Opportunity), _table(Rep)
        found: dict[str, RepRef] = {}
        for chunk in _chunks(sorted(crm_ids)):
            for row in self.session.execute(
                select(opp.c.crm_id, rep.c.id, rep.c.timezone)
                .join(rep, rep.c.id == opp.c.rep_id)
                .where(opp.c.source == source, opp.c.crm_id.in_(chunk))
            ):
                found[row.crm_id] = RepRef(row.id, row.timezone)
        return found

    def _tz(self, ref: RepRef | None) -> Any:
        return zone(ref.timezone if ref else None, self.org_timezone)

    def _connection(self) -> Connection:
        """Return the connection of the session's transaction, for statements of plain rows."""
        return self.session.connection()

    def _mark_dirty(self, pairs: set[tuple[int, date]]) -> None:
        if not pairs:
            return
        day_value = self.plain.day
        self._insert_rows(
            DirtyDay,
            ("rep_id", "day"),
            [(r, day_value(d)) for r, d in sorted(pairs)],
            ignore_conflicts=True,
        )

    # roll-ups ------------------------------------------------------------------------------

    def dirty_count(self) -> int:
        """Return how many (rep, day) pairs wait for a roll-up."""
        return int(
            self.session.execute(select(func.count()).select_from(_table(DirtyDay))).scalar_one()
        )

    def rollup_dirty(
        self, definitions: Sequence[KpiDefinition], *, now: datetime, limit: int = 5000
    ) -> int:
        """Recompute the snapshots of up to ``limit`` dirty (rep, day) pairs; return how many.

        A day before the rep's local today (at ``now``) is frozen; today's values stay live.
        Counts of new activities still waiting are added in first, a batch per call (and the
        number of values they changed returned): a dirty day is recomputed from every stored
        fact, so no increment may be added in after it.
        """
        if not self.plain.sqlite:
            # One roll-up at a time (a sync's and the hourly snapshot job's may overlap): two
            # merging the same increments would both add them. SQLite's write transactions
            # are one at a time already (BEGIN IMMEDIATE).
            self._connection().exec_driver_sql(
                "SELECT pg_advisory_xact_lock(%s)", (lock_key("rollup"),)
            )
        merged = self._merge_increments()
        if merged:
            return merged
        conn, plain = self._connection(), self.plain
        pairs = conn.exec_driver_sql(plain.first_dirty(limit)).fetchall()
        if not pairs:
            return 0
        # Each rep's days both as stored (to bind them back) and as dates (for the roll-up).
        by_rep: dict[int, dict[Any, date]] = defaultdict(dict)
        for rep_id, stored in pairs:
            by_rep[rep_id][stored] = plain.read_day(stored)
        values = self._rollup_reps(definitions, by_rep)
        zones = self._rep_zones(set(by_rep))
        today = {r: local_day(now, zone(zones.get(r), self.org_timezone)) for r in by_rep}
        # Per rep and list of days, so each delete walks the (rep_id, day) index; a row-value
        # IN over (rep_id, day) pairs made SQLite scan the whole table per chunk.
        for rep_id, days in by_rep.items():
            for chunk in _chunks(sorted(days)):
                conn.exec_driver_sql(
                    plain.delete_days(DailySnapshot, len(chunk)), (rep_id, *plain.listed(chunk))
                )
        rows = [
            (rep_id, plain.day(d), kpi, value, d < today[rep_id])
            for (rep_id, d, kpi), value in sorted(values.items())
        ]
        self._insert_rows(DailySnapshot, SNAPSHOT_COLUMNS, rows)
        for rep_id, days in by_rep.items():
            for chunk in _chunks(sorted(days)):
                conn.exec_driver_sql(
                    plain.delete_days(DirtyDay, len(chunk)), (rep_id, *plain.listed(chunk))
                )
        return len(pairs)

    def _merge_increments(self) -> int:
        """Add up to MERGE_BATCH waiting increments into their snapshots; return how many
        snapshot values that changed (0 when none wait)."""
        conn, plain = self._connection(), self.plain
        inc = _table(SnapshotIncrement)
        first = self.session.execute(select(func.min(inc.c.id))).scalar_one()
        if first is None:
            return 0
        bounds = (first, first + MERGE_BATCH)
        changed = conn.exec_driver_sql(plain.merge_increments(), bounds).rowcount
        conn.exec_driver_sql(plain.delete_increments(), bounds)
        return max(int(changed), 1)

    def _rollup_reps(
        self, definitions: Sequence[KpiDefinition], by_rep: Mapping[int, Mapping[Any, date]]
    ) -> dict[tuple[int, date, str], float]:
        """Roll up the given days of each rep; ``by_rep`` maps each day as stored to its date."""
        opp, sc, stage = (
            _table(Opportunity),
            _table(StageChange),
            _table(PipelineStage),
        )
        rep_ids = sorted(by_rep)
        zones = self._rep_zones(set(rep_ids))
        sources = {
            row.id: row.source
            for row in self.session.execute(
                select(_table(Rep).c.id, _table(Rep).c.source).where(_table(Rep).c.id.in_(rep_ids))
            )
        }
        orders: dict[tuple[str, str, str], tuple[int, bool, bool]] = {
            (row.source, row.pipeline, row.stage): (
                row.order,
                row.is_won,
                row.is_closed and not row.is_won,
            )
            for row in self.session.execute(select(stage))
        }
        opportunity_facts: list[OpportunityFact] = []
        moves: list[StageMoveFact] = []
        conn, plain = self._connection(), self.plain

        def activity_facts() -> Iterator[ActivityFact]:
            """Stream the activities of the dirty days: a batch's facts are never all held."""
            for rep_id in rep_ids:
                days = by_rep[rep_id]
                for chunk in _chunks(sorted(days)):
                    rows = conn.exec_driver_sql(
                        plain.activity_facts(len(chunk)), (rep_id, *plain.listed(chunk), False)
                    ).fetchall()
                    for stored, kind, duration_s, direction, outcome, title in rows:
                        yield ActivityFact(
                            rep_id, days[stored], kind, duration_s, direction, outcome, title
                        )

        # The batch's opportunities and their stage moves, a query per chunk of reps and of
        # opportunities rather than two per rep. Moves are looked up under the rep's source.
        tzs = {rep_id: zone(zones.get(rep_id), self.org_timezone) for rep_id in rep_ids}
        owned: dict[tuple[str, str], tuple[int, int, str]] = {}  # -> (opp id, rep, pipeline)
        for chunk in _chunks(rep_ids):
            for row in self.session.execute(
                select(
                    opp.c.id,
                    opp.c.rep_id,
                    opp.c.crm_id,
                    opp.c.created_day,
                    opp.c.amount,
                    opp.c.is_won,
                    opp.c.close_date,
                    opp.c.pipeline,
                ).where(opp.c.rep_id.in_(chunk), opp.c.is_deleted.is_(False))
            ):
                owned[(sources.get(row.rep_id, ""), row.crm_id)] = (
                    row.id,
                    row.rep_id,
                    row.pipeline,
                )
                opportunity_facts.append(
                    OpportunityFact(
                        opportunity_id=row.id,
                        rep_id=row.rep_id,
                        created_day=row.created_day,
                        amount=row.amount,
                        is_won=row.is_won,
                        close_date=row.close_date,
                    )
                )
        by_source: dict[str, list[str]] = defaultdict(list)
        for source, crm_id in owned:
            by_source[source].append(crm_id)
        for source, crm_ids in by_source.items():
            for chunk in _chunks(sorted(crm_ids)):
                for row in self.session.execute(
                    select(
                        sc.c.opportunity_crm_id, sc.c.from_stage, sc.c.to_stage, sc.c.changed_at
                    ).where(
                        sc.c.source == source,
                        sc.c.opportunity_crm_id.in_(chunk),
                        sc.c.is_deleted.is_(False),
                    )
                ):
                    opp_id, rep_id, pipeline = owned[(source, row.opportunity_crm_id)]
                    to = orders.get((source, pipeline, row.to_stage))
                    frm = orders.get((source, pipeline, row.from_stage or ""))
                    moves.append(
                        StageMoveFact(
                            opportunity_id=opp_id,
                            rep_id=rep_id,
                            day=local_day(row.changed_at, tzs[rep_id]),
                            at_epoch=row.changed_at.timestamp(),
                            from_order=frm[0] if frm else None,
                            to_order=to[0] if to else None,
                            to_is_won=bool(to and to[1]),
                            to_is_lost=bool(to and to[2]),
                        )
                    )
        return rollup(
            definitions,
            activities=activity_facts(),
            opportunities=opportunity_facts,
            stage_moves=moves,
            keep={rep_id: days.values() for rep_id, days in by_rep.items()},
        )

    def snapshot_pipeline(self, day: date) -> int:
        """Record every open opportunity's stage and amount for ``day`` (rerunnable)."""
        opp, snap = _table(Opportunity), _table(PipelineSnapshot)
        self.session.execute(delete(snap).where(snap.c.day == day))
        rows = [
            {
                "day": day,
                "opportunity_id": row.id,
                "rep_id": row.rep_id,
                "stage": row.stage,
                "stage_order": row.stage_order,
                "amount": row.amount,
            }
            for row in self.session.execute(
                select(opp.c.id, opp.c.rep_id, opp.c.stage, opp.c.stage_order, opp.c.amount).where(
                    and_(opp.c.is_closed.is_(False), opp.c.is_deleted.is_(False))
                )
            )
        ]
        if rows:
            self.session.execute(snap.insert(), rows)
        return len(rows)


def _chunks(items: Sequence[Any], size: int = 900) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
