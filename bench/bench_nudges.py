"""Measure nudge planning for many reps, and the whole nudge job plus delivery on SQLite.

Planning: ``domain.nudges.plan_nudges`` over ``--reps`` reps spread over 24 zones (incl. the
date line, half-hour and 45-minute offsets), a mix of own nudge times, weekly and off modes,
snoozes and reps already nudged today, timed at every 5-minute tick of a working day (UTC), as
the `nudges` job calls it.

Job: ``--job-reps`` reps with two weeks of daily snapshots and goals in a throwaway SQLite
file; the real `nudges` job (targets, scorecard content, Block Kit, outbox insert) at one
instant where every zone's nudge is due, then the dispatcher delivering all of them to the
fake Slack over HTTP (pacing raised so the figure measures our overhead, not Slack's limit).

    uv run python bench/bench_nudges.py [--reps 10000] [--job-reps 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import AppConfig, GoalConfig, Settings
from domain.nudges import NudgeMode, NudgePolicy, NudgeRecipient, WeekdayCalendar, plan_nudges
from jobs.dispatcher import DispatchPolicy
from storage import migrate
from storage.db import make_engine, session_scope
from storage.models import DailySnapshot, Rep
from tests.fakes.clock import FakeClock
from tests.fakes.slack_outbox import FakeSlackOutbox, running

ZONES = (
    "Pacific/Kiritimati", "Pacific/Chatham", "Pacific/Auckland", "Australia/Sydney",
    "Australia/Adelaide", "Asia/Tokyo", "Asia/Shanghai", "Asia/Kathmandu", "Asia/Kolkata",
    "Asia/Dubai", "Europe/Moscow", "Europe/Berlin", "Europe/London", "Atlantic/Azores",
    "America/Sao_Paulo", "America/St_Johns", "America/Halifax", "America/New_York",
    "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Anchorage",
    "Pacific/Honolulu", "Pacific/Pago_Pago",
)  # fmt: skip
DAY = datetime(2026, 11, 24, tzinfo=UTC)  # a Tuesday


def recipients(count: int, seed: int = 7) -> list[NudgeRecipient]:
    """Return ``count`` reps with a realistic mix of settings."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        mode = rnd.choices([NudgeMode.DAILY, NudgeMode.WEEKLY, NudgeMode.OFF], weights=[90, 6, 4])[
            0
        ]
        out.append(
            NudgeRecipient(
                rep_id=i,
                timezone=rnd.choice(ZONES),
                nudge_time=clock_time(rnd.choice([7, 8, 9]), rnd.choice([0, 15, 30, 45]))
                if rnd.random() < 0.2
                else None,
                mode=mode,
                snoozed_until=date(2026, 11, 24) if rnd.random() < 0.03 else None,
                last_sent=date(2026, 11, 23) if rnd.random() < 0.5 else None,
            )
        )
    return out


def bench_planning(count: int) -> None:
    """Time plan_nudges at every 5-minute tick of a day."""
    reps = recipients(count)
    policy = NudgePolicy(calendar=WeekdayCalendar())
    plan_nudges(reps, now=DAY, policy=policy)  # warm the zone cache
    timings, due = [], 0
    for tick in range(288):
        now = DAY + timedelta(minutes=5 * tick)
        started = time.perf_counter()
        due += len(plan_nudges(reps, now=now, policy=policy))
        timings.append(time.perf_counter() - started)
    timings.sort()
    print(
        f"planning {count} reps: median {statistics.median(timings) * 1000:.1f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)] * 1000:.1f} ms, "
        f"max {timings[-1] * 1000:.1f} ms per tick over 288 ticks "
        f"({due} due-decisions; a due rep stays due until its outbox row is seen)"
    )


def seed(url: str, count: int) -> None:
    """Insert ``count`` reps with two weeks of snapshots."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    rnd = random.Random(3)
    with session_scope(engine) as session:
        reps = [
            Rep(
                source="sandbox",
                crm_user_id=f"u{i}",
                name=f"Rep {i}",
                email=f"rep{i}@example.com",
                slack_user_id=f"U{i:06d}",
                timezone="America/New_York",
                team=f"Team {i % 20}",
            )
            for i in range(count)
        ]
        session.add_all(reps)
        session.flush()
        rows = []
        for rep in reps:
            for back in range(1, 15):
                day = DAY.date() - timedelta(days=back)
                if day.weekday() < 5:
                    for kpi, mean in (("prospecting", 40), ("conversations", 8), ("wins", 0.3)):
                        rows.append(
                            {
                                "rep_id": rep.id,
                                "day": day,
                                "kpi": kpi,
                                "value": rnd.random() * mean * 2,
                            }
                        )
        session.execute(DailySnapshot.__table__.insert(), rows)  # type: ignore[attr-defined]
    engine.dispose()


def bench_job(count: int) -> None:
    """Time the nudges job and the delivery of everything it queued."""
    import app

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        seed(url, count)
        clock = FakeClock(DAY + timedelta(hours=15))  # 10:00 in New York
        with running(FakeSlackOutbox(clock=clock.timestamp)) as fake:
            settings = Settings(
                database_url=url,
                slack_bot_token="xoxb-bench",  # type: ignore[arg-type]
                slack_api_url=fake.url,
                _env_file=None,  # type: ignore[call-arg]
            )
            config = AppConfig(
                goals=[
                    GoalConfig(kpi="prospecting", period="day", target=40),
                    GoalConfig(kpi="wins", period="month", target=4),
                ]
            )
            rt = app.Runtime(settings=settings, config=config)
            runner = rt.job_runner(sleep=clock.sleep)
            runner.deps = dataclasses.replace(
                runner.deps,
                now=clock.now,
                sources=list,
                dispatch=DispatchPolicy(per_second=1e6, burst=1000, channel_interval_s=0),
            )
            started = time.perf_counter()
            result = runner.run("nudges", manual=True)  # the job, then delivery of its rows
            total = time.perf_counter() - started
        delivered = result.delivered.line() if result.delivered else "not delivered"
        print(
            f"nudges job, {count} reps due: {result.detail} in {result.seconds:.1f} s "
            f"({result.seconds / count * 1000:.1f} ms per rep); then {delivered} "
            f"({len(fake.messages)} stored by the fake) in {total - result.seconds:.1f} s"
        )


def main() -> None:
    """Parse options and run both benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=10_000)
    parser.add_argument("--job-reps", type=int, default=1_000)
    args = parser.parse_args()
    bench_planning(args.reps)
    if args.job_reps:
        bench_job(args.job_reps)


if __name__ == "__main__":
    main()
