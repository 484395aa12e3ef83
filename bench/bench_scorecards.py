"""Measure scorecard and leaderboard time at scale: reps with two years of daily snapshots.

Bulk-inserts reps and ``--days`` of DailySnapshot rows straight into a throwaway database
(executemany on SQLite, COPY on PostgreSQL; working days only, sparse like real roll-ups:
activity KPIs every working day, opportunities and wins on some days), then times, with the
real ``storage.metrics`` queries and ``domain.scorecard`` service:

- one rep's month scorecard without ranks, with every KPI's rank, and also with the
  activity and results scores' ranks (what `pacesetter stats` shows; these rank all reps);
- the month leaderboard of all reps for one KPI by percent of goal, and by composite score.

    uv run python bench/bench_scorecards.py                         # M: 1,000 reps, SQLite
    uv run python bench/bench_scorecards.py --postgres --reps 10000  # L: PostgreSQL

PostgreSQL uses its own database ``pacesetter_bench_<hex>`` on PACESETTER_TEST_PG's server
(default postgresql://postgres@127.0.0.1:5432/test), dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import Engine, text

from domain.goals import Goal, Scope
from domain.leaderboard import RankBy
from domain.scorecard import ACTIVITY_SCORE, ScorecardRules, Scorecards
from domain.timeutil import Period
from storage import migrate
from storage.db import make_engine, session_scope
from storage.metrics import SqlMetricsStore

AS_OF = date(2026, 11, 19)
TEAMS = 25
GOALS = [
    Goal("prospecting", Period.DAY, 40),
    Goal("conversations", Period.WEEK, 40),
    Goal("meaningful_conversations", Period.WEEK, 10),
    Goal("opportunities_created", Period.WEEK, 3),
    Goal("opportunities_advanced", Period.WEEK, 8),
    Goal("wins", Period.MONTH, 3),
    Goal("won_amount", Period.MONTH, 75000),
    Goal("wins", Period.QUARTER, 9),
    Goal("prospecting", Period.DAY, 50, Scope.TEAM, "Team 1"),
]
# (kpi, probability the KPI is non-zero on a working day, mean when it is)
KPIS = [
    ("prospecting", 1.0, 40),
    ("conversations", 1.0, 9),
    ("meaningful_conversations", 0.9, 3),
    ("opportunities_created", 0.35, 1.5),
    ("opportunities_advanced", 0.6, 2),
    ("wins", 0.08, 1),
    ("won_amount", 0.08, 25000),
]


def snapshot_rows(rep_ids: list[int], days: int, seed: int = 1) -> Iterator[tuple[Any, ...]]:
    """Yield (rep_id, day, kpi, value, frozen) for working days, sparse like real roll-ups."""
    rng = random.Random(seed)
    first = AS_OF - timedelta(days=days - 1)
    working = [first + timedelta(n) for n in range(days) if (first + timedelta(n)).weekday() < 5]
    for rep_id in rep_ids:
        skill = rng.uniform(0.6, 1.4)
        for day in working:
            for kpi, chance, mean in KPIS:
                if rng.random() < chance:
                    yield rep_id, day, kpi, round(mean * skill * rng.uniform(0.5, 1.5)), True


def insert_reps(engine: Engine, count: int) -> list[int]:
    """Insert ``count`` active reps in ``TEAMS`` teams and return their ids."""
    rows = [
        {
            "source": "bench",
            "crm_user_id": f"U{n:06d}",
            "name": f"Rep {n:06d}",
            "email": f"rep{n:06d}@example.com",
            "team": f"Team {n % TEAMS}",
            "role": "rep",
            "timezone": "America/New_York",
            "start_date": date(2023, 1, 2),
            "active": True,
            "public_opt_out": n % 50 == 0,
            "nudge_mode": "daily",
        }
        for n in range(count)
    ]
    columns = ", ".join(rows[0])
    values = ", ".join(f":{c}" for c in rows[0])
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO rep ({columns}) VALUES ({values})"), rows)
        return [r[0] for r in conn.execute(text("SELECT id FROM rep ORDER BY id"))]


def insert_snapshots(engine: Engine, rep_ids: list[int], days: int) -> int:
    """Bulk-insert the snapshots: COPY on PostgreSQL, executemany on SQLite."""
    count = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            sql = "COPY dailysnapshot (rep_id, day, kpi, value, frozen) FROM STDIN"
            with cursor.copy(sql) as copy:  # type: ignore[attr-defined]
                for row in snapshot_rows(rep_ids, days):
                    copy.write_row(row)
                    count += 1
        else:
            # A bulk load, not the app's settings: skip fsyncs and give the index pages room.
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-1000000")
            batch: list[tuple[Any, ...]] = []
            sql = "INSERT INTO dailysnapshot (rep_id, day, kpi, value, frozen) VALUES (?,?,?,?,?)"
            for row in snapshot_rows(rep_ids, days):
                batch.append((row[0], row[1].isoformat(), *row[2:]))
                if len(batch) >= 50_000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch.clear()
            cursor.executemany(sql, batch)
            count += len(batch)
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return count


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the median and the worst wall time of ``repeat`` runs, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


@contextmanager
def database(postgres: bool) -> Iterator[str]:
    """Yield the URL of a throwaway database, removed afterwards."""
    if not postgres:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    admin = os.environ.get("PACESETTER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"pacesetter_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = admin.rsplit("/", 1)[0]
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with database(args.postgres) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        started = time.perf_counter()
        rep_ids = insert_reps(engine, args.reps)
        rows = insert_snapshots(engine, rep_ids, args.days)
        load = time.perf_counter() - started
        print(f"{engine.dialect.name}: {args.reps} reps, {rows:,} snapshot rows in {load:.1f} s")
        with session_scope(engine) as session:
            cards = Scorecards(SqlMetricsStore(session), GOALS, rules=ScorecardRules())
            rep = cards.store.reps()[len(rep_ids) // 2]
            results = {
                "scorecard, one rep, month, no ranks": timed(
                    lambda: cards.scorecard(rep, Period.MONTH, AS_OF, with_ranks=False),
                    args.repeat,
                ),
                "scorecard, one rep, month, with KPI ranks": timed(
                    lambda: cards.scorecard(rep, Period.MONTH, AS_OF), args.repeat
                ),
                "scorecard, one rep, month, with KPI and score ranks (`stats`)": timed(
                    lambda: cards.scorecard(rep, Period.MONTH, AS_OF, score_ranks=True),
                    args.repeat,
                ),
                "leaderboard, all reps, month, prospecting by percent": timed(
                    lambda: cards.leaderboard("prospecting", Period.MONTH, AS_OF), args.repeat
                ),
                "leaderboard, all reps, month, wins by count": timed(
                    lambda: cards.leaderboard("wins", Period.MONTH, AS_OF, by=RankBy.COUNT),
                    args.repeat,
                ),
                "leaderboard, all reps, activity score": timed(
                    lambda: cards.leaderboard(ACTIVITY_SCORE, Period.MONTH, AS_OF), args.repeat
                ),
            }
        engine.dispose()
    print(f"| measurement ({engine.dialect.name}, {args.reps} reps) | median ms | worst ms |")
    print("|---|---|---|")
    for name, (median, worst) in results.items():
        print(f"| {name} | {median:.0f} | {worst:.0f} |")


if __name__ == "__main__":
    main()
