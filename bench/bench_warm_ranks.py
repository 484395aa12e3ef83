"""The first /mystats after new data: with and without the rank tables warmed after the write.

Every sync page or roll-up moves the metrics version, so the rank tables the bot keeps (every
rep ranked on every KPI) go stale; whoever asks first pays for rebuilding them. `pacesetter
run` now rebuilds them right after each successful `sync` or `snapshot` job
(`Runtime.warm_rank_tables`). This measures, on a generated org (bench/generate_org.py), in
process (the scorecard `/mystats month` shows, without Slack):

- cold: a write, then the first scorecard (it builds the month's rank table);
- warmed: a write, then the warm-up (timed separately: the scheduler thread pays it), then the
  first scorecard;
- steady: a second scorecard on unchanged data (the floor: a cache hit).

    uv run python bench/bench_warm_ranks.py --size M --database-url sqlite:////tmp/bench-M.db
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

import app as cli_app
from bench.generate_org import SIZES, ensure_org, rep_email
from config import AppConfig, OrgConfig, Settings
from domain.timeutil import Period
from storage.db import make_engine

ORG_TZ = "America/New_York"


def main() -> None:
    """Generate (or reuse) the org, then time cold, warmed and steady first scorecards."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="M")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    spec = SIZES[args.size]
    engine = make_engine(args.database_url)
    ensure_org(engine, spec)
    engine.dispose()
    settings = Settings(database_url=args.database_url, pacesetter_now=spec.sync_time)
    rt = cli_app.Runtime(settings=settings, config=AppConfig(org=OrgConfig(timezone=ORG_TZ)))
    rt.load_config_goals()

    def write() -> None:
        """Move the metrics version the way a sync page does (one snapshot row rewritten)."""
        with rt.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE dailysnapshot SET value = value "
                    "WHERE id = (SELECT min(id) FROM dailysnapshot)"
                )
            )

    def first_scorecard(n: int) -> float:
        started = time.perf_counter()
        with rt.bot_read_stores() as stores:
            rep = stores.directory.by_email(rep_email(n))
            assert rep is not None
            rt.scorecards_for(stores).scorecard(rep, Period.MONTH, rt.now())
        return (time.perf_counter() - started) * 1000

    cold, warm_up, warmed, steady = [], [], [], []
    for n in range(args.repeat):
        write()
        cold.append(first_scorecard(n))
        steady.append(first_scorecard(n + 100))
        write()
        started = time.perf_counter()
        rt.warm_rank_tables()
        warm_up.append((time.perf_counter() - started) * 1000)
        warmed.append(first_scorecard(n + 200))
    print(f"{args.size}: {spec.reps:,} reps, {args.repeat} writes each way (median / max, ms)")
    for label, values in (
        ("first /mystats after a write, cold", cold),
        ("first /mystats after a write, warmed", warmed),
        ("steady (cache hit on unchanged data)", steady),
        ("warm-up after the write (scheduler thread)", warm_up),
    ):
        print(f"  {label:<44} {statistics.median(values):9.1f} {max(values):9.1f}")


if __name__ == "__main__":
    main()
