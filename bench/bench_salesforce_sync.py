"""Measure API calls per Salesforce sync against the minimum number of query pages.

Seeds a fake org, runs a full sync and an incremental one through the real client and the real
sync job into a throwaway SQLite database, and compares the REST calls the fake counted with
the fewest pages that could return that data (one page per query at least, then
ceil(rows / page size)). The fake serves pages of ``--page`` records (300 does not divide the
data), as Salesforce may return fewer than the requested batchSize.

    uv run python bench/bench_salesforce_sync.py [--reps 40] [--days 30] [--page 300]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import migrate
from storage.db import make_engine
from tests.fakes.salesforce import FakeSalesforce, seed_org
from tests.integration.salesforce_support import NOW, Clock, session_source, sync


def minimum_pages(fake: FakeSalesforce, page: int) -> int:
    """Return the fewest query pages a full sync of this org can take."""
    rows = [
        sum(1 for u in fake.rows("User") if u["UserType"] == "Standard"),
        len(fake.rows("OpportunityStage")),
        len(fake.rows("Opportunity", include_deleted=True)),
        sum(
            1
            for h in fake.rows("OpportunityFieldHistory", include_deleted=True)
            if h["Field"] == "StageName"
        ),
        len(fake.rows("Task", include_deleted=True)),
        len(fake.rows("Event", include_deleted=True)),
    ]
    return sum(max(1, math.ceil(n / page)) for n in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--page", type=int, default=300)
    args = parser.parse_args()
    clock = Clock()
    fake = FakeSalesforce(clock=clock, max_batch=args.page).start()
    try:
        org = seed_org(fake, now=NOW, reps=args.reps, days=args.days, per_day=6)
        records = sum(len(fake.rows(s, include_deleted=True)) for s in fake.tables)
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{tmp}/bench.db")
            migrate.upgrade(engine)
            started = time.perf_counter()
            full = sync(engine, session_source(fake, clock, batch_size=2000), clock)
            full_s = time.perf_counter() - started
            full_calls, floor = fake.api_calls, minimum_pages(fake, args.page)

            clock.advance(hours=1)
            for task_id in org.tasks[:50]:
                fake.update(task_id, CallDurationInSeconds=400)
            fake.change_stage(org.opportunities[0], "Negotiation")
            before = fake.api_calls
            started = time.perf_counter()
            sync(engine, session_source(fake, clock, batch_size=2000), clock)
            inc_s = time.perf_counter() - started
            inc_calls = fake.api_calls - before
            engine.dispose()
    finally:
        fake.stop()
    print(f"org: {args.reps} reps, {args.days} days, {records} rows; fake page {args.page}")
    print(
        f"full sync: {full_calls} API calls (minimum {floor} pages, "
        f"+{(full_calls - floor) / floor:.1%}), {full.upserted} records, {full_s:.1f} s"
    )
    print(
        f"incremental (50 tasks edited, 1 stage change): {inc_calls} API calls (minimum 6), "
        f"{inc_s:.2f} s"
    )
    if full_calls > floor * 1.05:
        raise SystemExit("API calls exceed the minimum by more than 5%")


if __name__ == "__main__":
    main()
