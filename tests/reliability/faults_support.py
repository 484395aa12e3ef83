"""Shared machinery of the data-side reliability suite: kill switches, harnesses for both real
connectors against their HTTP fakes, and checks written independently of the product code.

A "kill" is a ``Killed`` exception (a BaseException, so no ``except Exception`` in the product
can swallow it, as nothing can catch SIGKILL) raised at a chosen tick. Ticks are the places a
process can die: before any SQL statement (mid-transaction), right after a transaction commits,
and between pages (a page fetched from the CRM, not yet stored).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, select, text
from sqlmodel import Session

from domain.kpis import default_kpis
from domain.ports import CrmSource, SourceCheck, SyncPage, SyncStore
from domain.records import CrmObject
from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.options import HubSpotOptions
from integrations.hubspot.source import HubSpotSource
from jobs.sync import SyncSummary, run_sync
from storage.db import session_scope
from storage.models import (
    Activity,
    DailySnapshot,
    DirtyDay,
    Opportunity,
    Rep,
    SnapshotIncrement,
    StageChange,
)
from storage.sync_store import SqlSyncStore
from tests.fakes.hubspot import FakeClock, FakeHubSpot, SeedSummary
from tests.fakes.salesforce import FakeSalesforce
from tests.integration.salesforce_support import TZ as SF_TZ
from tests.integration.salesforce_support import Clock
from tests.integration.test_hubspot_sync import LINKEDIN_CALL_TYPES

UnitOfWork = Callable[[], AbstractContextManager[SyncStore]]


class Killed(BaseException):
    """The process "died" here: nothing after this point runs, nothing is recorded."""


@dataclass
class KillSwitch:
    """Counts the ticks of a run and raises Killed at tick ``kill_at`` (once)."""

    ticks: int = 0
    kill_kind: str | None = None
    countdown: int | None = None
    kills: Counter[str] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)

    def tick(self, kind: str) -> None:
        """Count one place a process could die; die there when it is the chosen one."""
        self.ticks += 1
        self.seen[kind] += 1
        if self.countdown is None or self.kill_kind not in (None, kind):
            return
        self.countdown -= 1
        if self.countdown <= 0:
            self.countdown = None
            self.kills[kind] += 1
            raise Killed(kind)

    def arm(self, after: int, kind: str | None = None) -> None:
        """Die at the ``after``-th tick from now (counting only ticks of ``kind`` if given)."""
        self.kill_kind = kind
        self.countdown = max(1, after)

    def disarm(self) -> None:
        """Let the rest of the run finish."""
        self.countdown = None

    def watch(self, engine: Engine) -> Callable[[], None]:
        """Tick before every SQL statement on ``engine``; return the function that stops it."""

        def before(*_args: Any) -> None:
            self.tick("mid-transaction")

        event.listen(engine, "before_cursor_execute", before)
        return lambda: event.remove(engine, "before_cursor_execute", before)

    def uow(self, inner: UnitOfWork) -> UnitOfWork:
        """Wrap a unit of work so a tick follows each commit."""

        @contextmanager
        def unit() -> Iterator[SyncStore]:
            with inner() as store:
                yield store
            self.tick("after commit")

        return unit

    def source(self, inner: CrmSource) -> CrmSource:
        """Wrap a source so a tick falls between fetching a page and storing it."""
        return _TickingSource(inner, self)


class _TickingSource:
    def __init__(self, inner: CrmSource, switch: KillSwitch) -> None:
        self.inner = inner
        self.name = inner.name
        self.switch = switch

    def objects(self) -> Sequence[CrmObject]:
        return self.inner.objects()

    def check(self) -> SourceCheck:
        return self.inner.check()

    def pages(
        self, obj: CrmObject, cursor: str | None, *, full: bool = False
    ) -> Iterator[SyncPage]:
        for page in self.inner.pages(obj, cursor, full=full):
            self.switch.tick("between pages")
            yield page


# harnesses --------------------------------------------------------------------------------------


def uow_for(engine: Engine, org_timezone: str) -> UnitOfWork:
    """The sync's unit of work, as app.py builds it."""

    @contextmanager
    def uow() -> Iterator[SyncStore]:
        with session_scope(engine) as session:
            yield SqlSyncStore(session, org_timezone=org_timezone)

    return uow


@dataclass
class Harness:
    """One connector against its fake: builds a fresh real source per run."""

    name: str
    make_source: Callable[[], CrmSource]
    org_timezone: str
    now: Callable[[], datetime]

    def run(self, engine: Engine, switch: KillSwitch | None = None) -> SyncSummary:
        """Run the real sync job once (through the kill switch when given)."""
        source = self.make_source()
        uow = uow_for(engine, self.org_timezone)
        if switch is not None:
            source, uow = switch.source(source), switch.uow(uow)
        return run_sync(source, uow, default_kpis(), now=self.now)


def salesforce_harness(fake: FakeSalesforce, clock: Clock, **overrides: Any) -> Harness:
    """Salesforce over HTTPS with simple-salesforce, logged in by session id."""
    from tests.integration.salesforce_support import session_source

    return Harness("salesforce", lambda: session_source(fake, clock, **overrides), SF_TZ, clock)


def hubspot_options(seed: SeedSummary, **overrides: Any) -> HubSpotOptions:
    """Connector options matching the fake portal's seeding."""
    values: dict[str, Any] = {
        "teams": seed.teams,
        "linkedin_call_types": LINKEDIN_CALL_TYPES,
        "index_lag_s": 0,
    }
    values.update(overrides)
    return HubSpotOptions(**values)


def hubspot_client(
    fake: FakeHubSpot,
    options: HubSpotOptions,
    *,
    token: str | None = None,
    timeout: tuple[float, float] = (10.0, 60.0),
) -> HubSpotClient:
    """The real hubspot-api-client over HTTP, paced on a fake clock (no real waiting)."""
    clock = FakeClock()
    return HubSpotClient(
        token or fake.portal.token,
        base_url=fake.url,
        options=options,
        clock=clock.monotonic,
        sleep=clock.sleep,
        timeout=timeout,
    )


def hubspot_harness(
    fake: FakeHubSpot,
    seed: SeedSummary,
    *,
    timeout: tuple[float, float] = (10.0, 60.0),
    **overrides: Any,
) -> Harness:
    """HubSpot over HTTP with hubspot-api-client."""
    now = seed.end + timedelta(hours=1)
    options = hubspot_options(seed, **overrides)

    def make() -> CrmSource:
        client = hubspot_client(fake, options, timeout=timeout)
        return HubSpotSource(client, options, now=lambda: now)

    return Harness("hubspot", make, "UTC", lambda: now)


# independent checks ------------------------------------------------------------------------------


def stored_ids(engine: Engine) -> dict[str, dict[str, bool]]:
    """Return crm id -> is_deleted per table (reps: crm id -> True when inactive)."""
    with Session(engine) as session:
        return {
            "activities": dict(session.execute(select(Activity.crm_id, Activity.is_deleted)).all()),  # type: ignore[arg-type]
            "opportunities": dict(
                session.execute(select(Opportunity.crm_id, Opportunity.is_deleted)).all()  # type: ignore[arg-type]
            ),
            "stage_changes": dict(
                session.execute(select(StageChange.crm_id, StageChange.is_deleted)).all()  # type: ignore[arg-type]
            ),
            "reps": {r: not a for r, a in session.execute(select(Rep.crm_user_id, Rep.active))},
        }


def duplicates(engine: Engine) -> dict[str, int]:
    """Return, per table, rows beyond one per natural key (always zero when nothing duplicates)."""
    checks = {
        "activity": "SELECT COUNT(*) - COUNT(DISTINCT source || ':' || crm_id) FROM activity",
        "opportunity": "SELECT COUNT(*) - COUNT(DISTINCT source || ':' || crm_id) FROM opportunity",
        "stagechange": "SELECT COUNT(*) - COUNT(DISTINCT source || ':' || crm_id) FROM stagechange",
        "rep": "SELECT COUNT(*) - COUNT(DISTINCT source || ':' || crm_user_id) FROM rep",
        "dailysnapshot": (
            "SELECT COUNT(*) FROM (SELECT rep_id, day, kpi FROM dailysnapshot "
            "GROUP BY rep_id, day, kpi HAVING COUNT(*) > 1) AS d"
        ),
    }
    with engine.connect() as conn:
        return {name: int(conn.execute(text(sql)).scalar_one()) for name, sql in checks.items()}


def _sf_ts(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


SF_TABLES = {
    "User": ("reps", "SystemModstamp"),
    "Opportunity": ("opportunities", "SystemModstamp"),
    "OpportunityFieldHistory": ("stage_changes", "CreatedDate"),
    "Task": ("activities", "SystemModstamp"),
    "Event": ("activities", "SystemModstamp"),
}


def salesforce_cursor_gaps(engine: Engine, fake: FakeSalesforce) -> list[str]:
    """Return every Salesforce record at or before its stored cursor that the DB lacks."""
    stored = stored_ids(engine)
    gaps: list[str] = []
    for state in _cursor_states(engine, "salesforce"):
        for sobject, pos in state.items():
            if sobject not in SF_TABLES or not pos.get("ts") or not pos.get("id"):
                continue
            table, stamp = SF_TABLES[sobject]
            limit = (datetime.fromisoformat(pos["ts"]).astimezone(UTC), str(pos["id"]))
            for row in fake.rows(sobject, include_deleted=True):
                if sobject == "User" and row["UserType"] != "Standard":
                    continue
                if sobject == "OpportunityFieldHistory" and row["Field"] != "StageName":
                    continue
                if (_sf_ts(row[stamp]).astimezone(UTC), row["Id"]) > limit:
                    continue
                deleted = bool(row.get("IsDeleted")) and sobject != "OpportunityFieldHistory"
                if deleted:
                    if not stored[table].get(row["Id"], True):
                        gaps.append(f"{sobject} {row['Id']} deleted in the CRM but live in the DB")
                elif row["Id"] not in stored[table]:
                    gaps.append(f"{sobject} {row['Id']} at/before cursor {limit} is not stored")
    return gaps


def hubspot_cursor_gaps(engine: Engine, fake: FakeHubSpot) -> list[str]:
    """Return every HubSpot record at or before its stored cursor that the DB lacks."""
    stored = stored_ids(engine)
    portal = fake.portal
    gaps: list[str] = []

    def covered(record: Any, pos: dict[str, Any], prop: str = "hs_lastmodifieddate") -> bool:
        ts = int(record.numeric(prop) or 0)
        last = pos.get("id")
        return ts < int(pos["ts"]) or (
            ts == int(pos["ts"]) and (last is None or record.id <= int(last))
        )

    for obj, state in _cursor_objects(engine, "hubspot"):
        for kind, pos in state.items():
            if not isinstance(pos, dict) or "ts" not in pos:
                continue
            if kind == "deals" and obj == "opportunities":
                for deal in portal.live("deals"):
                    if covered(deal, pos) and str(deal.id) not in stored["opportunities"]:
                        gaps.append(f"deal {deal.id} at/before cursor {pos} is not stored")
            elif kind == "deals" and obj == "stage_changes":
                for deal in portal.live("deals"):
                    if not covered(deal, pos):
                        continue
                    previous = None
                    for value, ts in deal.history.get("dealstage", []):
                        if value != previous:
                            key = f"{deal.id}:{ts}:{value}"
                            if key not in stored["stage_changes"]:
                                gaps.append(f"stage change {key} at/before {pos} is not stored")
                        previous = value
            elif obj == "activities" and kind in ("calls", "emails", "meetings", "tasks", "notes"):
                for record in portal.live(kind):
                    if covered(record, pos) and str(record.id) not in stored["activities"]:
                        gaps.append(f"{kind} {record.id} at/before cursor {pos} is not stored")
    return gaps


def _cursor_objects(engine: Engine, source: str) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT object, cursor FROM syncstate WHERE source = :s AND cursor IS NOT NULL"),
            {"s": source},
        ).all()
    return [(row[0], json.loads(row[1])) for row in rows]


def _cursor_states(engine: Engine, source: str) -> list[dict[str, Any]]:
    return [state for _, state in _cursor_objects(engine, source)]


def inconsistent_days(engine: Engine, org_timezone: str, now: datetime) -> list[str]:
    """Return the (rep, day)s whose stored snapshot differs from a from-scratch roll-up of the
    raw records stored right now, ignoring days still marked for a roll-up. Counts of new
    activities not yet added in (snapshot increments) count with their snapshot: a sync that
    stopped leaves them, as it leaves dirty days, for the next roll-up.

    A half-written day (some KPIs of a roll-up stored, others not) shows up here. The recompute
    happens in a transaction that is rolled back, so the database is left as it was.
    """
    with Session(engine) as session:
        dirty = {(r, d) for r, d in session.execute(select(DirtyDay.rep_id, DirtyDay.day))}
        before = _snapshot_values(session)
        for r, d, k, v in session.execute(
            select(
                SnapshotIncrement.rep_id,
                SnapshotIncrement.day,
                SnapshotIncrement.kpi,
                SnapshotIncrement.value,
            )
        ):
            before[(r, d, k)] = before.get((r, d, k), 0) + v
        days: set[tuple[int, date]] = {(r, d) for r, d, _ in before}
        days |= {
            (r, d)
            for r, d in session.execute(
                select(Activity.rep_id, Activity.day).where(
                    Activity.rep_id.is_not(None),  # type: ignore[union-attr]
                    Activity.day.is_not(None),  # type: ignore[union-attr]
                )
            )
        }
        days |= {
            (r, d)
            for r, d in session.execute(
                select(Opportunity.rep_id, Opportunity.created_day).where(
                    Opportunity.rep_id.is_not(None)  # type: ignore[union-attr]
                )
            )
        }
        days |= {
            (r, d)
            for r, d in session.execute(
                select(Opportunity.rep_id, Opportunity.close_date).where(
                    Opportunity.rep_id.is_not(None),  # type: ignore[union-attr]
                    Opportunity.close_date.is_not(None),  # type: ignore[union-attr]
                )
            )
        }
        store = SqlSyncStore(session, org_timezone=org_timezone)
        session.execute(DirtyDay.__table__.delete())  # type: ignore[attr-defined]
        if days:
            session.execute(
                DirtyDay.__table__.insert(),  # type: ignore[attr-defined]
                [{"rep_id": r, "day": d} for r, d in sorted(days)],
            )
        # Stage moves land on days no record above names: take every day of every rep.
        while store.rollup_dirty(default_kpis(), now=now, limit=100_000):
            pass
        after = _snapshot_values(session)
        session.rollback()
    problems = []
    for key in sorted(set(before) | set(after)):
        if (key[0], key[1]) in dirty:
            continue
        if before.get(key, 0) != after.get(key, 0):
            problems.append(
                f"rep {key[0]} {key[1]} {key[2]}: stored {before.get(key)} "
                f"!= recomputed {after.get(key)}"
            )
    return problems


def _snapshot_values(session: Session) -> dict[tuple[int, date, str], float]:
    return {
        (r, d, k): v
        for r, d, k, v in session.execute(
            select(DailySnapshot.rep_id, DailySnapshot.day, DailySnapshot.kpi, DailySnapshot.value)
        )
        if v
    }


def hubspot_live_ids(fake: FakeHubSpot) -> dict[str, set[str]]:
    """Independent count of what a complete HubSpot sync must store, from the portal."""
    portal = fake.portal
    return {
        "activities": {
            str(r.id) for k in ("calls", "emails", "meetings", "tasks") for r in portal.live(k)
        },
        "opportunities": {str(r.id) for r in portal.live("deals")},
    }


def salesforce_live_ids(fake: FakeSalesforce) -> dict[str, set[str]]:
    """Independent count of what a complete Salesforce sync must store live, from the org."""
    return {
        "activities": {r["Id"] for s in ("Task", "Event") for r in fake.rows(s)},
        "opportunities": {r["Id"] for r in fake.rows("Opportunity")},
        "stage_changes": {
            r["Id"]
            for r in fake.rows("OpportunityFieldHistory", include_deleted=True)
            if r["Field"] == "StageName"
        },
    }


def live(stored: dict[str, bool]) -> set[str]:
    """Return the ids stored and not deleted."""
    return {k for k, deleted in stored.items() if not deleted}
