"""Measure contests at scale: drafting (count, percent of goal, improvement), the dry run, and
one contests-job run over several running contests, on reps with daily snapshots.

Bulk-inserts reps and ``--days`` of prospecting snapshots into a throwaway SQLite file, then
times the real ``storage.contests`` queries, ``domain.contest_service`` and
``jobs.contests.run_contests`` (outbox included).

    uv run python bench/bench_contests.py               # 2,000 reps, 60 days
    uv run python bench/bench_contests.py --reps 10000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert

from domain import contest_service
from domain.calendar import WorkCalendar
from domain.contests import ContestRules, Rule, Scoring
from domain.goals import Goal
from domain.timeutil import Period
from jobs.contests import ContestPolicy, run_contests
from storage import migrate
from storage.contests import SqlContestStore
from storage.db import make_engine, session_scope
from storage.models import DailySnapshot, Rep
from storage.outbox import SqlOutboxStore

START = date(2026, 11, 16)
NOW = datetime(2026, 11, 19, 21, tzinfo=UTC)
T = TypeVar("T")


@dataclass(frozen=True)
class Unit:
    contests: SqlContestStore
    outbox: SqlOutboxStore


def seed(engine: Engine, reps: int, days: int) -> None:
    rnd = random.Random(5)
    with engine.begin() as conn:
        conn.execute(
            insert(Rep),
            [
                {
                    "id": i + 1,
                    "source": "bench",
                    "crm_user_id": f"u{i}",
                    "name": f"Rep {i:05d}",
                    "email": f"rep{i}@x.com",
                    "team": f"Team {i % 25}",
                    "role": "rep",
                    "active": True,
                    "public_opt_out": False,
                    "nudge_mode": "daily",
                }
                for i in range(reps)
            ],
        )
        rows = [
            {"rep_id": i + 1, "day": d, "kpi": "prospecting", "value": float(rnd.randint(0, 60))}
            for n in range(days)
            if (d := START + timedelta(days=3) - timedelta(days=n)).weekday() < 5
            for i in range(reps)
        ]
        for at in range(0, len(rows), 20_000):
            conn.execute(insert(DailySnapshot), rows[at : at + 20_000])


def timed(label: str, work: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = work()
    print(f"| {label} | {time.perf_counter() - started:.2f} s |")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate.upgrade(engine)
        timed(
            f"seed {args.reps} reps x {args.days} days", lambda: seed(engine, args.reps, args.days)
        )

        @contextmanager
        def unit() -> Iterator[Unit]:
            with session_scope(engine) as session:
                yield Unit(SqlContestStore(session), SqlOutboxStore(session))

        goals = [Goal("prospecting", Period.WEEK, 150)]
        cal = WorkCalendar()
        end = START + timedelta(days=4)
        variants = [
            ("most, count", {"rule": Rule.MOST, "scoring": Scoring.COUNT}),
            (
                "first-to 400, percent",
                {"rule": Rule.FIRST_TO, "target": 400.0, "scoring": Scoring.PERCENT},
            ),
            (
                "most, improvement, teams",
                {"rule": Rule.MOST, "scoring": Scoring.IMPROVEMENT, "team_contest": True},
            ),
        ]
        for n, (label, extra) in enumerate(variants):
            rules = ContestRules(
                name=f"C{n}",
                kpi="prospecting",
                start=START,
                end=end,
                channel="#s",
                **extra,  # type: ignore[arg-type]
            )
            with unit() as u:
                draft = timed(
                    f"draft ({label})",
                    partial(
                        contest_service.draft,
                        rules,
                        store=u.contests,
                        goals=goals,
                        calendar=cal,
                        created_by=None,
                        now=NOW,
                    ),
                )
                timed(
                    f"dry run ({label})",
                    partial(
                        contest_service.dry_run,
                        draft,
                        store=u.contests,
                        now=NOW,
                        tz=ZoneInfo("UTC"),
                    ),
                )
                contest_service.launch(draft, store=u.contests, now=NOW)
        policy = ContestPolicy(standings_hours=(21,))
        timed(
            "contests job, 3 running contests (first run)",
            lambda: run_contests(unit, now=NOW, policy=policy),
        )
        timed(
            "contests job, rerun (nothing new to send)",
            lambda: run_contests(unit, now=NOW, policy=policy),
        )


if __name__ == "__main__":
    main()
