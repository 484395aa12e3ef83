"""Measure a HubSpot sync against the fake portal: requests per sync, 429s met, time.

Usage: uv run python bench/bench_hubspot_sync.py [--calls N] [--bulk N] [--db URL] [--paced]

Runs a full sync and then an incremental one (after a batch of edits) through `run_sync` into
a fresh SQLite database (or --db). Pacing sleeps are skipped by default (fake clock), so the
numbers are requests and local cost; --paced also runs the full sync again with real pacing
against a fake that enforces HubSpot's limits (5 searches/s, 100 requests/10 s) and reports
the 429s met and the wall time the limits impose, then once more with pacing switched off
to show what the 429 retry path costs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from domain.kpis import default_kpis
from domain.ports import SyncStore
from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.options import HubSpotOptions
from integrations.hubspot.source import HubSpotSource
from jobs.sync import run_sync
from storage import migrate
from storage.db import make_engine, session_scope
from storage.sync_store import SqlSyncStore
from tests.fakes.hubspot import FakeClock, FakeHubSpot, Portal, seed_portal, to_ms


def _source(
    fake: FakeHubSpot, teams: dict[str, str], now: datetime, paced: bool | str
) -> HubSpotSource:
    options = HubSpotOptions(teams=teams, index_lag_s=0)
    if paced == "unpaced":
        options = HubSpotOptions(
            teams=teams, index_lag_s=0, search_per_second=1000, burst_per_10s=100_000
        )
        client = HubSpotClient(fake.portal.token, base_url=fake.url, options=options)
    elif paced:
        client = HubSpotClient(fake.portal.token, base_url=fake.url, options=options)
    else:
        clock = FakeClock()
        client = HubSpotClient(
            fake.portal.token,
            base_url=fake.url,
            options=options,
            clock=clock.monotonic,
            sleep=clock.sleep,
        )
    return HubSpotSource(client, options, now=lambda: now)


def _run(
    url: str, fake: FakeHubSpot, teams: dict[str, str], now: datetime, paced: bool | str
) -> dict:
    engine = make_engine(url)

    @contextmanager
    def uow() -> Iterator[SyncStore]:
        with session_scope(engine) as session:
            yield SqlSyncStore(session, org_timezone="UTC")

    source = _source(fake, teams, now, paced)
    before = fake.counts.copy()
    started = time.perf_counter()
    summary = run_sync(source, uow, default_kpis(), now=lambda: now)
    seconds = time.perf_counter() - started
    engine.dispose()
    kinds = ("search", "batch_read", "associations", "list", "owners", "pipelines")
    return {
        "records": summary.upserted,
        "deleted": summary.deleted,
        "requests": {k: fake.counts[k] - before[k] for k in kinds},
        "total": sum(fake.counts[k] - before[k] for k in kinds),
        "429s": fake.counts["status:429"] - before["status:429"],
        "client_429s": source.client.stats.rate_limited,
        "retries": source.client.stats.retries,
        "paced_s": source.client.stats.paced_s,
        "seconds": seconds,
    }


def _edit(portal: Portal, at: int) -> int:
    calls = sorted(portal.live("calls"), key=lambda r: r.id)
    for call in calls[::50]:
        portal.update("calls", call.id, {"hs_call_duration": "400000"}, at_ms=at)
    for call in calls[1::200]:
        portal.archive("calls", call.id, at_ms=at)
    for deal in sorted(portal.live("deals"), key=lambda r: r.id)[:10]:
        portal.update("deals", deal.id, {"dealstage": "closedwon"}, at_ms=at)
    for contact in sorted(portal.live("contacts"), key=lambda r: r.id)[:20]:
        portal.update("contacts", contact.id, {"jobtitle": "VP Sales"}, at_ms=at)
    return len(calls[::50]) + len(calls[1::200]) + 10 + 20


def _fresh_db(url: str | None, tmp: Path, name: str) -> str:
    target = url or f"sqlite:///{tmp / name}"
    engine = make_engine(target)
    migrate.upgrade(engine)
    engine.dispose()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--bulk", type=int, default=3_000, help="calls sharing one instant")
    parser.add_argument("--db", default=None, help="database URL (default: temporary SQLite)")
    parser.add_argument("--paced", action="store_true", help="also run with real pacing")
    args = parser.parse_args()
    portal = Portal()
    seed = seed_portal(
        portal,
        reps=20,
        calls=args.calls,
        bulk_calls=args.bulk,
        emails=2_000,
        meetings=800,
        tasks=1_000,
        deals=400,
        contacts=2_000,
        days=30,
    )
    engagements = sum(len(portal.live(t)) for t in ("calls", "emails", "meetings", "tasks"))
    print(
        f"portal: {engagements} engagements ({args.calls + args.bulk} calls, {args.bulk} "
        f"sharing one instant), {len(portal.live('deals'))} deals, 20 reps"
    )
    with tempfile.TemporaryDirectory() as tmp, FakeHubSpot(portal) as fake:
        url = _fresh_db(args.db, Path(tmp), "bench.db")
        now = seed.end + timedelta(hours=1)
        full = _run(url, fake, seed.teams, now, paced=False)
        print("full sync (pacing skipped):", full)
        edits = _edit(portal, to_ms(now + timedelta(minutes=5)))
        later = now + timedelta(hours=1)
        incremental = _run(url, fake, seed.teams, later, paced=False)
        print(f"incremental after {edits} edits/archivals/stage moves:", incremental)
        idle = _run(url, fake, seed.teams, later + timedelta(minutes=30), paced=False)
        print("incremental with nothing new:", idle)
    if args.paced:
        with tempfile.TemporaryDirectory() as tmp, FakeHubSpot(portal, enforce_limits=True) as fake:
            url = _fresh_db(None, Path(tmp), "paced.db")
            paced = _run(url, fake, seed.teams, later, paced=True)
            print("full sync, real pacing, fake enforcing limits:", paced)
        with tempfile.TemporaryDirectory() as tmp, FakeHubSpot(portal, enforce_limits=True) as fake:
            url = _fresh_db(None, Path(tmp), "unpaced.db")
            unpaced = _run(url, fake, seed.teams, later, paced="unpaced")
            print("full sync, pacing off, fake enforcing limits:", unpaced)


if __name__ == "__main__":
    main()
