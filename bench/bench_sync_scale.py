"""Full sync of up to millions of CRM activities against the floor of fetching and storing them.

For each size the fake Salesforce org (``tests/fakes/salesforce_scale.py``: generated Tasks and
Events, nothing held in memory) runs in its own process. Then, each in a fresh process so its
peak memory (VmHWM) is its own:

- the SYNC: the real ``jobs.sync.run_sync`` with ``SalesforceSource`` (simple-salesforce over
  HTTPS) and ``SqlSyncStore`` into a fresh database, roll-up of KPI snapshots included;
- the FLOOR: a bare loop of the same client (simple-salesforce ``query`` / ``query_more``)
  replaying the very SOQL the sync ran, parsing each page into the same activity rows, and
  inserting them with one ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) per page into the
  same tables, committing each page as the sync does.

Both children first take what they loaded out of the garbage collector's sight (``gc.freeze``),
as ``pacesetter sync`` does, and report how long the collector ran while they were timed.

Prints wall time, API calls against the minimum (pages needed), peak RSS, the floor's time and
memory, and the ratios. Goals (issue #10): sync <= 1.5x floor, memory flat in the record count,
API calls within 5% of the minimum. The time goal is judged on CPU seconds (see main).

    uv run python bench/bench_sync_scale.py [--activities 100000 250000 500000 1000000]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--profile DIR]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import platform
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.sync_store import ACTIVITY_COLUMNS  # the product's activity row, column for column

TZ = "America/New_York"
SOURCE = "salesforce"
KINDS = {"Call": "call", "Email": "email", "LinkedIn": "linkedin"}
OUTCOMES = {
    "completed": "completed",
    "held": "completed",
    "no show": "no_show",
    "no-show": "no_show",
    "canceled": "canceled",
    "cancelled": "canceled",
    "rescheduled": "rescheduled",
    "scheduled": "scheduled",
}


class GcClock:
    """Adds up the time the cyclic garbage collector runs in this process (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._event)

    def _event(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def freeze_start_up() -> None:
    """Take what start-up loaded out of the collector's sight, as `pacesetter sync` does."""
    gc.collect()
    gc.freeze()


def cpu_s() -> float:
    """Return this process's CPU time (user + system): steadier than wall time on a shared box."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def memory_kb(field: str) -> int:
    """Return a VmRSS / VmHWM figure of this process from /proc (kB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# the sync, in its own process ----------------------------------------------------------------


def sync_child(conn: Connection, served: dict[str, Any], db_url: str, profile: str | None) -> None:
    """Run the product's sync against the served org and report time and memory."""
    from contextlib import contextmanager as cm

    from domain.kpis import default_kpis
    from integrations.salesforce.client import SalesforceCredentials
    from integrations.salesforce.options import SalesforceOptions
    from integrations.salesforce.source import SalesforceSource
    from jobs.sync import run_sync
    from storage import migrate
    from storage.db import make_engine, session_scope
    from storage.sync_store import SqlSyncStore
    from tests.fakes.salesforce import OUTCOME_FIELD
    from tests.fakes.salesforce_scale import NOW

    engine = make_engine(db_url)
    migrate.upgrade(engine)
    session = _session(served["ca_file"])
    source = SalesforceSource(
        SalesforceCredentials(instance_url=served["url"], access_token=served["token"]),
        SalesforceOptions(event_outcome_field=OUTCOME_FIELD),
        session=session,
        clock=lambda: NOW,
    )

    @cm
    def uow() -> Iterator[SqlSyncStore]:
        with session_scope(engine) as db:
            yield SqlSyncStore(db, org_timezone=TZ)

    last_page = [0.0]

    def progress(obj: Any, stats: Any) -> None:
        last_page[0] = time.perf_counter()

    freeze_start_up()
    baseline = memory_kb("VmRSS")
    profiler = _profiler(profile)
    collector = GcClock()
    cpu = cpu_s()
    started = time.perf_counter()
    summary = run_sync(source, uow, default_kpis(), now=lambda: NOW, progress=progress)
    wall = time.perf_counter() - started
    cpu = cpu_s() - cpu
    _save_profile(profiler, profile, "sync")
    engine.dispose()
    conn.send(
        {
            "wall_s": wall,
            "cpu_s": cpu,
            "gc_s": collector.seconds,
            "pages_s": last_page[0] - started,
            "baseline_kb": baseline,
            "peak_kb": memory_kb("VmHWM"),
            "records": summary.upserted,
            "activities": summary.objects["activities"].upserted,
            "deleted": summary.deleted,
            "rolled_up": summary.rolled_up,
            "client_calls": summary.api_calls,
            "stopped": summary.stopped,
        }
    )


# the floor, in its own process ---------------------------------------------------------------


def floor_child(
    conn: Connection,
    served: dict[str, Any],
    queries: list[tuple[bool, str]],
    db_url: str,
    profile: str | None,
) -> None:
    """Replay the sync's SOQL with a bare simple-salesforce loop and bulk-insert the rows."""
    from simple_salesforce import Salesforce

    from storage import migrate
    from storage.db import make_engine
    from tests.fakes.salesforce import OUTCOME_FIELD

    engine = make_engine(db_url)
    migrate.upgrade(engine)
    raw = engine.raw_connection()
    postgres = engine.dialect.name == "postgresql"
    sf = Salesforce(
        instance_url=served["url"], session_id=served["token"], session=_session(served["ca_file"])
    )
    tz = ZoneInfo(TZ)
    reps: dict[str, int] = {}
    freeze_start_up()
    baseline = memory_kb("VmRSS")
    profiler = _profiler(profile)
    collector = GcClock()
    cpu = cpu_s()
    started = time.perf_counter()
    stored = 0
    for include_deleted, soql in queries:
        result = sf.query(
            soql,
            include_deleted=include_deleted,
            headers={"Sforce-Query-Options": "batchSize=2000"},
        )
        sobject = soql.split(" FROM ", 1)[1].split()[0]
        while True:
            records = result["records"]
            if not postgres:
                # make_engine puts pysqlite in autocommit (SQLAlchemy issues BEGIN itself); on a
                # raw connection each INSERT of the executemany would then commit on its own.
                # One transaction per page, as the sync's, is what the floor stands for.
                raw.cursor().execute("BEGIN IMMEDIATE")
            if sobject == "User":
                stored += _store_users(raw, records, reps, postgres)
            elif sobject in ("Task", "Event"):
                rows = [
                    _activity_row(r, sobject, reps, tz, OUTCOME_FIELD)
                    for r in records
                    if not r["IsDeleted"]
                ]
                stored += _store_activities(raw, rows, postgres)
            else:
                stored += len(records)  # stages, deals, history: < 1% of rows, parsed only
            raw.commit()
            if result.get("done", True):
                break
            result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
    wall = time.perf_counter() - started
    cpu = cpu_s() - cpu
    _save_profile(profiler, profile, "floor")
    raw.close()
    engine.dispose()
    conn.send(
        {
            "wall_s": wall,
            "cpu_s": cpu,
            "gc_s": collector.seconds,
            "baseline_kb": baseline,
            "peak_kb": memory_kb("VmHWM"),
            "records": stored,
        }
    )


def _store_users(raw: Any, records: list[Any], reps: dict[str, int], postgres: bool) -> int:
    rows = [
        (
            SOURCE,
            r["Id"],
            r["Name"],
            (r["Email"] or "").lower(),
            r["ManagerId"],
            r["Department"],
            r["Title"],
            "rep",
            True,
            False,
            "daily",
        )
        for r in records
    ]
    cursor = raw.cursor()
    mark = "%s" if postgres else "?"
    cursor.executemany(
        "INSERT INTO rep (source, crm_user_id, name, email, manager_crm_id, team, title, role, "
        f"active, public_opt_out, nudge_mode) VALUES ({', '.join([mark] * 11)})",
        rows,
    )
    cursor.execute("SELECT crm_user_id, id FROM rep")
    reps.update(cursor.fetchall())
    return len(rows)


def _activity_row(
    r: dict[str, Any], sobject: str, reps: dict[str, int], tz: ZoneInfo, outcome_field: str
) -> tuple[Any, ...]:
    """Parse one Task / Event into the activity row the product stores (default mapping)."""
    who = r.get("Who")
    title = who.get("Title") if who else None
    what = r["WhatId"]
    owner = r["OwnerId"]
    modified = _parse(r["SystemModstamp"])
    duration = direction = outcome = None
    activity_day: date | None = None
    if sobject == "Task":
        kind = "task"
        if r["IsClosed"]:
            kind = KINDS.get(r["TaskSubtype"]) or KINDS.get(r["Type"]) or "task"
        occurred = _parse(r["CompletedDateTime"])
        if occurred is None:
            activity_day = date.fromisoformat(r["ActivityDate"]) if r["ActivityDate"] else None
            if activity_day is None:
                occurred = _parse(r["CreatedDate"])
        if kind == "call":
            call_type = r["CallType"]
            direction = {"Inbound": "inbound", "Internal": "internal"}.get(call_type, "outbound")
            duration = r["CallDurationInSeconds"]
        elif kind in ("email", "linkedin"):
            direction = "outbound"
    else:
        kind = "meeting"
        occurred = None
        if r["IsAllDayEvent"]:
            activity_day = date.fromisoformat(r["ActivityDate"])
        else:
            occurred = _parse(r["StartDateTime"] or r["ActivityDateTime"])
        minutes = r["DurationInMinutes"]
        duration = minutes * 60 if minutes is not None else None
        value = r.get(outcome_field)
        outcome = OUTCOMES.get(value.strip().casefold()) if value else None
    day = occurred.astimezone(tz).date() if occurred else activity_day
    return (
        SOURCE,
        r["Id"],
        owner,
        reps.get(owner),
        kind,
        occurred,
        day,
        duration,
        direction,
        outcome,
        title,
        what if what and what.startswith("006") else None,
        False,
        modified,
    )


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def _store_activities(raw: Any, rows: list[tuple[Any, ...]], postgres: bool) -> int:
    cursor = raw.cursor()
    columns = ", ".join(ACTIVITY_COLUMNS)
    if postgres:
        with cursor.copy(f"COPY activity ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)
    marks = ", ".join("?" * len(ACTIVITY_COLUMNS))
    # SQLAlchemy stores naive UTC text on SQLite; write the same.
    cursor.executemany(
        f"INSERT INTO activity ({columns}) VALUES ({marks})",
        [
            (
                *row[:5],
                _sqlite_time(row[5]),
                row[6] and row[6].isoformat(),
                *row[7:13],
                _sqlite_time(row[13]),
            )
            for row in rows
        ],
    )
    return len(rows)


def _sqlite_time(value: datetime | None) -> str | None:
    return value.replace(tzinfo=None).isoformat(" ", "microseconds") if value else None


# plumbing ------------------------------------------------------------------------------------


def _session(ca_file: str) -> Any:
    import requests

    session = requests.Session()
    session.verify = ca_file
    session.trust_env = False
    return session


def _profiler(path: str | None) -> Any:
    if not path:
        return None
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.005)
    profiler.start()
    return profiler


def _save_profile(profiler: Any, path: str | None, name: str) -> None:
    if profiler is None or path is None:
        return
    profiler.stop()
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.txt").write_text(profiler.output_text(unicode=False, show_all=False))
    (out / f"{name}.html").write_text(profiler.output_html())


def in_child(target: Callable[..., None], *args: Any) -> dict[str, Any]:
    """Run ``target(conn, *args)`` in a fresh spawned process and return what it sends."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args))
    process.start()
    child.close()
    try:
        result: dict[str, Any] = parent.recv()
    except EOFError:
        process.join()
        raise SystemExit(f"{target.__name__} failed (exit code {process.exitcode})") from None
    process.join()
    return result


@contextmanager
def fresh_database(base_url: str | None, tmp: Path, name: str) -> Iterator[str]:
    """Yield a URL of an empty database: a new SQLite file, or a throwaway PostgreSQL db."""
    if base_url is None:
        yield f"sqlite:///{tmp / (name + '.db')}"
        return
    import psycopg

    admin = base_url.replace("postgresql+psycopg://", "postgresql://", 1)
    db = f"bench_sync_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{db}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@dataclass
class Row:
    """One size's figures."""

    activities: int
    sync: dict[str, Any]
    floor: dict[str, Any]
    calls: int
    minimum: int
    fake_busy_s: float
    floor_calls: int


def measure(
    activities: int, reps: int, base_url: str | None, profile: str | None, tmp: Path
) -> Row:
    """Serve an org of ``activities`` and measure the sync and its floor against it."""
    from tests.fakes.salesforce_scale import serve_in_process

    with serve_in_process(activities=activities, reps=reps) as served:
        hello = {"url": served.url, "ca_file": served.ca_file, "token": served.token}
        prof = f"{profile}/{activities}" if profile else None
        with fresh_database(base_url, tmp, f"sync{activities}") as url:
            sync = in_child(sync_child, hello, url, prof)
        stats = served.stats()
        served.reset()
        with fresh_database(base_url, tmp, f"floor{activities}") as url:
            floor = in_child(floor_child, hello, stats.queries, url, prof)
        floor_stats = served.stats()
        expected = served.org.live_activities
        if sync["activities"] != expected:
            raise SystemExit(f"sync stored {sync['activities']} activities, expected {expected}")
        return Row(
            activities,
            sync,
            floor,
            stats.api_calls,
            served.org.minimum_pages(),
            stats.busy_s,
            floor_stats.api_calls,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=["salesforce"], default="salesforce")
    parser.add_argument("--activities", type=int, nargs="+", default=[100_000])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL whose server gets throwaway databases (default: SQLite files)",
    )
    parser.add_argument("--profile", help="write pyinstrument profiles of both runs to DIR")
    args = parser.parse_args()
    from importlib.metadata import version

    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"Python {platform.python_version()}, simple-salesforce {version('simple-salesforce')}, "
        f"SQLAlchemy {version('sqlalchemy')}, {backend}, {multiprocessing.cpu_count()} cores; "
        f"{args.reps} reps"
    )
    header = (
        "activities | sync s (pages / roll-up) | API calls / min | sync peak RSS (+growth) | "
        "floor s | floor peak RSS (+growth) | time ratio | CPU s sync / floor (ratio) | "
        "GC s sync / floor | fake busy s"
    )
    print(header)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.activities:
            row = measure(n, args.reps, args.database_url, args.profile, Path(tmp))
            results.append(row)
            s, f = row.sync, row.floor
            print(
                f"{n:,} | {s['wall_s']:.1f} ({s['pages_s']:.1f} / {s['wall_s'] - s['pages_s']:.1f})"
                f" | {row.calls} / {row.minimum} (+{(row.calls - row.minimum) / row.minimum:.1%})"
                f" | {s['peak_kb'] / 1024:.0f} MB (+{(s['peak_kb'] - s['baseline_kb']) / 1024:.0f})"
                f" | {f['wall_s']:.1f}"
                f" | {f['peak_kb'] / 1024:.0f} MB (+{(f['peak_kb'] - f['baseline_kb']) / 1024:.0f})"
                f" | {s['wall_s'] / f['wall_s']:.2f}x"
                f" | {s['cpu_s']:.1f} / {f['cpu_s']:.1f} ({s['cpu_s'] / f['cpu_s']:.2f}x)"
                f" | {s['gc_s']:.1f} / {f['gc_s']:.1f} | {row.fake_busy_s:.1f}",
                flush=True,
            )
    for row in results:
        s = row.sync
        print(
            f"{row.activities:,}: {s['records']:,} records ({s['activities']:,} activities, "
            f"{s['deleted']:,} deletions), {s['rolled_up']:,} snapshots rolled up; floor stored "
            f"{row.floor['records']:,} rows in {row.floor_calls} API calls"
        )
    peaks = [r.sync["peak_kb"] for r in results]
    # Judged on CPU seconds: both sides wait the same for the fake, so on a quiet machine the
    # wall ratio is at most the CPU ratio; on a shared one wall time is mostly other people's.
    misses = [
        f"{r.activities:,}: sync {r.sync['cpu_s'] / r.floor['cpu_s']:.2f}x floor (CPU)"
        for r in results
        if r.sync["cpu_s"] > 1.5 * r.floor["cpu_s"]
    ]
    misses += [
        f"{r.activities:,}: {r.calls} API calls > minimum {r.minimum} + 5%"
        for r in results
        if r.calls > r.minimum * 1.05
    ]
    if len(peaks) > 1 and max(peaks) > min(peaks) * 1.2:
        misses.append(f"peak RSS not flat: {min(peaks) // 1024}-{max(peaks) // 1024} MB")
    print("goals: " + ("all met" if not misses else "MISSED: " + "; ".join(misses)))


if __name__ == "__main__":
    main()
