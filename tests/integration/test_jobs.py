"""Scheduled jobs end to end: real storage, the scorecard content, a fake Slack over HTTP.

Covers `pacesetter jobs list|run`, a restart across the nudge time (one catch-up), a skip
beyond the grace window, the snapshot job, the digest, and two schedulers sharing one
PostgreSQL database over 30 simulated days with zero duplicates and zero misses. Job
functions are called directly on a simulated clock; nothing sleeps.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

import app
from config import AppConfig, GoalConfig, ScheduleConfig, Settings
from domain.nudges import local_instant
from jobs.dispatcher import DispatchPolicy
from jobs.nudges import org_calendar
from jobs.runner import Runner
from jobs.schedules import slot_name
from storage.db import session_scope
from storage.job_store import SqlJobStore
from storage.models import CoachingNote, DailySnapshot, Delivery, JobRun, PipelineSnapshot, Rep
from tests.fakes.clock import FakeClock
from tests.fakes.slack_outbox import FakeSlackOutbox, running

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
ZONES = (
    "Pacific/Auckland",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/St_Johns",
    "Asia/Kolkata",
    "America/New_York",
    "Europe/London",
    "UTC",
)
# Monday 17:00 UTC: past 08:30 and before quiet hours only in these zones.
AFTERNOON = MONDAY + timedelta(hours=17)
DUE_AT_AFTERNOON = ("America/St_Johns", "America/New_York", "Europe/London", "UTC")
GOALS = [
    GoalConfig(kpi="prospecting", period="day", target=40),
    GoalConfig(kpi="conversations", period="week", target=30),
]


def seed_reps(engine: Engine, *, history: bool = True) -> dict[int, str]:
    """Insert one rep per zone (with Slack ids) and a manager; return rep id -> zone."""
    zones: dict[int, str] = {}
    with session_scope(engine) as session:
        manager = Rep(
            source="sandbox",
            crm_user_id="m1",
            name="Maria Manager",
            email="maria@example.com",
            slack_user_id="UMGR",
            role="manager",
            timezone="America/New_York",
        )
        session.add(manager)
        session.flush()
        for n, tz in enumerate(ZONES):
            rep = Rep(
                source="sandbox",
                crm_user_id=f"u{n}",
                name=f"Rep {n} Seller",
                email=f"rep{n}@example.com",
                slack_user_id=f"U{n:04d}",
                timezone=tz,
                manager_id=manager.id,
                team="East",
            )
            session.add(rep)
            session.flush()
            assert rep.id is not None
            zones[rep.id] = tz
            if history and n % 4 != 3:  # every fourth rep is new: they get a welcome
                for back in range(1, 15):
                    day = MONDAY.date() - timedelta(days=back)
                    for kpi, value in (("prospecting", 30 + n), ("conversations", 5 + n % 3)):
                        session.add(DailySnapshot(rep_id=rep.id, day=day, kpi=kpi, value=value))
        session.add(
            CoachingNote(
                manager_id=manager.id,
                rep_id=next(iter(zones)),
                template="weekly",
                text="Practise the discovery opener",
                follow_up_on=MONDAY.date() + timedelta(days=2),
                created_at=MONDAY - timedelta(days=5),
            )
        )
    return zones


def make_runtime(database_url: str, slack_url: str, **schedules: object) -> app.Runtime:
    settings = Settings(
        database_url=database_url,
        slack_bot_token="xoxb-test-token",  # type: ignore[arg-type]
        slack_api_url=slack_url,
        _env_file=None,  # type: ignore[call-arg]
    )
    config = AppConfig(goals=GOALS, schedules=ScheduleConfig(**schedules))  # type: ignore[arg-type]
    return app.Runtime(settings=settings, config=config)


def runner_on(rt: app.Runtime, clock: FakeClock) -> Runner:
    runner = rt.job_runner(sleep=clock.sleep)
    runner.deps = dataclasses.replace(
        runner.deps,
        now=clock.now,
        sources=list,  # no CRM: these tests are about scheduling and delivery
        dispatch=DispatchPolicy(per_second=50, burst=50),
    )
    return runner


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackOutbox]:
    with running(FakeSlackOutbox()) as fake:
        yield fake


def test_restart_across_the_nudge_time_catches_up_once(
    engine: Engine, database_url: str, fake_slack: FakeSlackOutbox
) -> None:
    zones = seed_reps(engine)
    kolkata = next(i for i, z in zones.items() if z == "Asia/Kolkata")
    # The scheduler was down from 02:50 to 04:10 UTC; 08:30 in Kolkata is 03:00 UTC.
    clock = FakeClock(MONDAY + timedelta(hours=4, minutes=10))
    fake_slack.clock = clock.timestamp
    runner = runner_on(make_runtime(database_url, fake_slack.url), clock)
    results = {r.job_id: r for r in runner.catch_up()}
    assert results["nudges"].status == "ok"
    assert results["nudges"].slot == "2026-11-23T04:10Z"
    key = f"nudge:{kolkata}:2026-11-23"
    assert fake_slack.sent_keys().count(key) == 1
    # A second instance starting at the same moment finds the slot taken and sends nothing.
    again = runner_on(make_runtime(database_url, fake_slack.url), clock).catch_up()
    assert [r for r in again if r.job_id == "nudges"] == []
    clock.sleep(300)
    runner.fire("nudges")
    assert fake_slack.sent_keys().count(key) == 1
    message = next(m for m in fake_slack.messages if m.key == key)
    assert "Good morning Rep" in message.text
    actions = [
        e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert actions == ["nudge_snooze_day", "nudge_switch_weekly", "nudge_turn_off"]


def test_a_slot_missed_beyond_the_grace_window_is_skipped_and_logged(
    engine: Engine, database_url: str, fake_slack: FakeSlackOutbox, caplog: pytest.LogCaptureFixture
) -> None:
    seed_reps(engine)
    # Monday 08:00 New York digest; the instance comes back on Monday 16:00 New York.
    clock = FakeClock(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    rt = make_runtime(database_url, fake_slack.url, catch_up_grace_minutes=60)
    rt.config = rt.config.model_copy(
        update={"org": rt.config.org.model_copy(update={"timezone": "America/New_York"})}
    )
    runner = runner_on(rt, clock)
    with caplog.at_level("WARNING"):
        results = {r.job_id: r for r in runner.catch_up()}
    assert results["digest"].status == "skipped"
    assert "beyond the 1:00:00 catch-up grace" in results["digest"].detail
    assert "job digest slot 2026-11-23T13:00Z skipped" in caplog.text
    with session_scope(engine) as session:
        row = session.execute(select(JobRun).where(JobRun.job_id == "digest")).scalar_one()
        assert (row.slot, row.status) == ("2026-11-23T13:00Z", "skipped")
    assert not any(k.startswith("digest:") for k in fake_slack.sent_keys())
    assert runner.catch_up() == [] or all(r.job_id != "digest" for r in runner.catch_up())


def test_a_slot_left_running_by_a_dead_runner_runs_again_once_stale(
    engine: Engine, database_url: str, fake_slack: FakeSlackOutbox
) -> None:
    zones = seed_reps(engine)
    kolkata = next(i for i, z in zones.items() if z == "Asia/Kolkata")
    clock = FakeClock(MONDAY + timedelta(hours=3, minutes=5))
    fake_slack.clock = clock.timestamp
    slot_at = MONDAY + timedelta(hours=3)
    # An instance claimed the slot and was killed before it queued anything or finished.
    with session_scope(engine) as session:
        assert SqlJobStore(session).start("nudges", slot_name(slot_at), now=clock.now())
    runner = runner_on(make_runtime(database_url, fake_slack.url), clock)
    runner.deps = dataclasses.replace(runner.deps, stale_run_after=timedelta(minutes=30))
    clock.sleep(10 * 60)
    assert runner.run("nudges", slot_at=slot_at).status == "already_run"
    assert fake_slack.sent_keys() == []
    clock.sleep(30 * 60)
    result = runner.run("nudges", slot_at=slot_at)
    assert result.status == "ok", result.line()
    assert fake_slack.sent_keys().count(f"nudge:{kolkata}:2026-11-23") == 1
    # Finished now: the slot is never run a third time.
    clock.sleep(60 * 60)
    assert runner.run("nudges", slot_at=slot_at).status == "already_run"


def test_after_a_sync_or_roll_up_the_bot_process_warms_its_rank_tables(
    engine: Engine, database_url: str, fake_slack: FakeSlackOutbox
) -> None:
    seed_reps(engine)
    clock = FakeClock(MONDAY + timedelta(hours=12))
    rt = make_runtime(database_url, fake_slack.url)
    assert rt.job_runner().deps.after_data_change is None  # `worker`: no bot here to warm
    rt.serves_bot = True  # what `pacesetter run` sets through start_scheduler
    runner = runner_on(rt, clock)
    calls: list[str] = []
    warm = runner.deps.after_data_change
    assert warm is not None

    def recording() -> None:
        calls.append("warm")
        warm()

    runner.deps = dataclasses.replace(runner.deps, after_data_change=recording)
    assert runner.run("snapshot", manual=True).status == "ok"
    assert calls == ["warm"]
    assert runner.run("nudges", manual=True).status == "ok"
    assert calls == ["warm"]  # a job that writes no metrics warms nothing
    assert len(rt.rank_cache) > 0, "the warmed tables are in the bot's cache"

    def broken() -> None:
        raise RuntimeError("cache trouble")

    runner.deps = dataclasses.replace(runner.deps, after_data_change=broken)
    assert runner.run("snapshot", manual=True).status == "ok"  # the job's result stands


def test_at_start_up_the_bot_warms_its_rank_tables_then_freezes_what_it_loaded(
    engine: Engine, database_url: str, fake_slack: FakeSlackOutbox
) -> None:
    seed_reps(engine)
    rt = make_runtime(database_url, fake_slack.url)
    assert len(rt.rank_cache) == 0
    frozen_before = gc.get_freeze_count()
    try:
        thread = rt.warm_up_bot()
        thread.join(60)
        assert not thread.is_alive()
        assert len(rt.rank_cache) > 0, "the first /mystats finds its rank table built"
        assert gc.get_freeze_count() > frozen_before, "start-up's objects are out of gc's walk"
    finally:
        gc.unfreeze()  # the test process goes on collecting as before


def test_digest_and_welcome_content(
    engine: Engine, database_url: str, fake_slack: FakeSlackOutbox
) -> None:
    zones = seed_reps(engine)
    by_zone = {tz: rep_id for rep_id, tz in zones.items()}
    clock = FakeClock(AFTERNOON)
    fake_slack.clock = clock.timestamp
    runner = runner_on(make_runtime(database_url, fake_slack.url), clock)
    digest = runner.run("digest", manual=True)
    assert digest.status == "ok" and "1 managers, 1 digests queued" in digest.detail
    (msg,) = [m for m in fake_slack.messages if (m.key or "").startswith("digest:")]
    assert msg.channel == "DMGR" and "Coaching follow-ups due" in str(msg.blocks)
    assert "Prospecting" in msg.text and "Rep 1 Seller" in msg.text  # behind on the daily 40
    nudges = runner.run("nudges", manual=True)
    assert nudges.status == "ok"
    texts = {m.key: m.text for m in fake_slack.messages if not m.key.startswith("digest:")}
    new_reps = {by_zone["America/St_Johns"], by_zone["UTC"]}  # no data yet
    assert set(texts) == {
        f"welcome:{by_zone[tz]}" if by_zone[tz] in new_reps else f"nudge:{by_zone[tz]}:2026-11-23"
        for tz in DUE_AT_AFTERNOON
    }
    assert texts[f"welcome:{by_zone['America/St_Johns']}"].startswith("Welcome to Pacesetter")
    # The next day a rep still without data hears nothing more, not zeros.
    clock.sleep(24 * 3600)
    runner.run("nudges", manual=True)
    assert fake_slack.sent_keys().count(f"welcome:{by_zone['America/St_Johns']}") == 1
    assert not any(k.startswith(f"nudge:{by_zone['UTC']}:") for k in fake_slack.sent_keys())
    seasoned = texts[f"nudge:{by_zone['America/New_York']}:2026-11-23"]
    assert "Prospecting" in seasoned and "/40" in seasoned
    assert "Try:" in seasoned or "on pace" in seasoned


def test_snapshot_job_freezes_and_writes_the_pipeline_once(
    engine: Engine, database_url: str, fake_slack: FakeSlackOutbox
) -> None:
    seed_reps(engine)
    with session_scope(engine) as session:
        session.add(
            DailySnapshot(rep_id=2, day=MONDAY.date(), kpi="prospecting", value=3, frozen=False)
        )
    clock = FakeClock(MONDAY + timedelta(days=1, hours=12, minutes=5))
    runner = runner_on(make_runtime(database_url, fake_slack.url), clock)
    first = runner.fire("snapshot")
    assert first.status == "ok" and "pipeline of 2026-11-23 written" in first.detail
    clock.sleep(3600)
    second = runner.fire("snapshot")
    assert "pipeline of 2026-11-23 already written" in second.detail
    with session_scope(engine) as session:
        open_frozen = session.execute(
            select(func.count()).select_from(DailySnapshot).where(DailySnapshot.frozen.is_(False))
        ).scalar_one()
        assert open_frozen == 0
        assert session.execute(select(func.count()).select_from(PipelineSnapshot)).scalar_one() == 0


def expected_nudges(zones: dict[int, str], start: datetime, end: datetime) -> set[str]:
    """Every working day's nudge of reps with data, and one welcome for each rep without."""
    calendar = org_calendar(AppConfig())
    keys = set()
    for n, (rep_id, tz) in enumerate(zones.items()):
        if n % 4 == 3:
            keys.add(f"welcome:{rep_id}")
            continue
        zone = ZoneInfo(tz)
        day = start.astimezone(zone).date()
        while day <= end.astimezone(zone).date():
            due = local_instant(day, time(8, 30), zone)
            if calendar.is_working_day(day) and start <= due and due + timedelta(hours=1) <= end:
                keys.add(f"nudge:{rep_id}:{day.isoformat()}")
            day += timedelta(days=1)
    return keys


def two_schedulers(database_url: str, engine: Engine, days: int, step_minutes: int) -> None:
    zones = seed_reps(engine)
    start = MONDAY
    clock = FakeClock(start)
    fake = FakeSlackOutbox(clock=clock.timestamp)
    with running(fake):
        runners = [runner_on(make_runtime(database_url, fake.url), clock) for _ in range(2)]
        errors: list[BaseException] = []

        def tick(runner: Runner, job: str) -> None:
            try:
                result = runner.fire(job)
                assert result.status in ("ok", "already_run"), result.line()
                runner.deliver()
            except BaseException as exc:
                errors.append(exc)

        end = start + timedelta(days=days)
        step = timedelta(minutes=step_minutes)
        while clock.now() < end:
            # Both instances fire the same slot at once, as two schedulers would.
            threads = [threading.Thread(target=tick, args=(r, "nudges")) for r in runners]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors
            clock.set(clock.now() + step)
    with session_scope(engine) as session:
        statuses = Counter(session.execute(select(Delivery.status)).scalars())
        runs = Counter(session.execute(select(JobRun.status).where(JobRun.job_id == "nudges")))
    sent = Counter(fake.sent_keys())
    assert [k for k, n in sent.items() if n > 1] == [], "a nudge was sent twice"
    expected = expected_nudges(zones, start, end)
    assert expected <= set(sent), "a nudge was missed"
    # Beyond those, only the same-day catch-ups of zones whose 08:30 fell just before the start.
    assert all(k.startswith("nudge:") for k in set(sent) - expected)
    assert statuses == {"sent": len(sent)}
    assert sum(runs.values()) == days * 24 * 60 // step_minutes, "each slot ran exactly once"


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[tuple[str, Engine]]:
    """An empty PostgreSQL database (skips with a reason when none is reachable)."""
    from storage.db import make_engine
    from tests.conftest import truncate_all

    engine = make_engine(postgres_url)
    truncate_all(engine)
    yield postgres_url, engine
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.heavy
def test_two_schedulers_on_postgres_30_days(postgres_engine: tuple[str, Engine]) -> None:
    url, engine = postgres_engine
    two_schedulers(url, engine, 30, 30)


@pytest.mark.postgres
def test_two_schedulers_on_postgres_a_week(postgres_engine: tuple[str, Engine]) -> None:
    """The default variant (each PostgreSQL commit costs a disk flush; 30 days is `heavy`)."""
    url, engine = postgres_engine
    two_schedulers(url, engine, 7, 60)


def test_two_schedulers_on_sqlite_a_week(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    from storage.db import make_engine

    path = tmp_path / "two.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    two_schedulers(url, engine, 7, 60)
    engine.dispose()


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "pacesetter.yml"
    path.write_text(
        "org:\n  timezone: UTC\ngoals:\n  - {kpi: prospecting, period: day, target: 40}\n",
        encoding="utf-8",
    )
    return path


def test_jobs_cli_list_and_run(  # noqa: PLR0917 - pytest fixtures
    engine: Engine,
    database_url: str,
    fake_slack: FakeSlackOutbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_reps(engine)
    due = len(DUE_AT_AFTERNOON)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PACESETTER_CONFIG", str(write_config(tmp_path)))
    monkeypatch.setenv("PACESETTER_NOW", AFTERNOON.isoformat())
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)

    def cli(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_info:
            app.main(list(args))
        out, err = capsys.readouterr()
        return int(exit_info.value.code or 0), out, err

    code, out, _ = cli("jobs", "list")
    assert code == 0
    for job_id in ("sync", "snapshot", "nudges", "digest", "contests"):
        assert job_id in out
    code, out, _ = cli("jobs", "run", "nudges")
    assert code == 0 and f"{due} due, {due} queued" in out
    assert f"delivered {due}" in out
    code, out, _ = cli("jobs", "run", "nudges")
    # The two reps without data stay due (no nudge yet) but their one welcome is not resent.
    assert code == 0 and "2 due, 0 queued" in out
    assert len(fake_slack.messages) == due
    code, out, _ = cli("jobs", "run", "contests")
    assert code == 0 and "contests: launched 0" in out  # no contest running: nothing queued
    code, _, err = cli("jobs", "run", "nope")
    assert code == 2 and "no job 'nope'" in err
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(Delivery)).scalar_one() == due


def test_start_scheduler_registers_every_job_and_catches_up(
    engine: Engine, database_url: str, fake_slack: FakeSlackOutbox
) -> None:
    from jobs.scheduler import start_scheduler

    seed_reps(engine)
    clock = FakeClock(AFTERNOON)
    runner = runner_on(make_runtime(database_url, fake_slack.url), clock)
    scheduler = start_scheduler(runner)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {
            "sync",
            "snapshot",
            "nudges",
            "digest",
            "contests",
            "followups",
            "deliver",
        }
        assert jobs["nudges"].misfire_grace_time == 180 * 60
        assert jobs["nudges"].coalesce and jobs["nudges"].max_instances == 1
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while len(fake_slack.messages) < len(DUE_AT_AFTERNOON) and datetime.now(UTC) < deadline:
            threading.Event().wait(0.1)
    finally:
        scheduler.shutdown(wait=True)
    # The start-up catch-up ran the missed nudge slot once and delivered it.
    assert len(fake_slack.sent_keys()) == len(set(fake_slack.sent_keys())) == len(DUE_AT_AFTERNOON)


class EmptySource:
    """A CRM source with nothing to sync, to see which sources the sync job runs."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    def objects(self) -> list[object]:
        self.calls.append(self.name)
        return []

    def check(self) -> object:
        raise NotImplementedError

    def pages(self, obj: object, cursor: str | None, *, full: bool = False) -> Iterator[object]:
        return iter(())


def test_sync_job_runs_each_source_on_its_own_interval(
    engine: Engine, database_url: str, fake_slack: FakeSlackOutbox
) -> None:
    calls: list[str] = []
    clock = FakeClock(MONDAY + timedelta(hours=12, minutes=15))
    rt = make_runtime(database_url, fake_slack.url, sync_minutes={"sandbox": 15, "hubspot": 30})
    runner = runner_on(rt, clock)
    runner.deps = dataclasses.replace(
        runner.deps,
        sources=lambda: [EmptySource("sandbox", calls), EmptySource("hubspot", calls)],
    )
    assert runner.jobs["sync"].schedule.describe() == "every 15 min"
    runner.fire("sync")
    assert calls == ["sandbox"]
    clock.sleep(15 * 60)
    runner.fire("sync")
    assert calls == ["sandbox", "sandbox", "hubspot"]
    runner.run("sync", manual=True)  # by hand: every source
    assert calls[-2:] == ["sandbox", "hubspot"]


def test_nudge_buttons_change_the_rep(
    engine: Engine, database_url: str, fake_slack: FakeSlackOutbox
) -> None:
    zones = seed_reps(engine)
    rep_id = next(iter(zones))
    rt = make_runtime(database_url, fake_slack.url)
    friday = date(2026, 11, 27)
    change = app.apply_nudge_action(
        rt, rep_id=rep_id, action_id="nudge_snooze_day", nudge_date=friday
    )
    assert change.snoozed_until == date(2026, 11, 30)
    app.apply_nudge_action(rt, rep_id=rep_id, action_id="nudge_switch_weekly", nudge_date=friday)
    with session_scope(engine) as session:
        rep = session.get(Rep, rep_id)
        assert rep is not None
        assert (rep.nudge_mode, rep.snoozed_until) == ("weekly", date(2026, 11, 30))
    app.apply_nudge_action(rt, rep_id=rep_id, action_id="nudge_turn_off", nudge_date=friday)
    with rt.job_unit() as unit:
        assert rep_id not in {
            t.rep_id for t in unit.store.nudge_targets(sent_since=MONDAY) if t.nudge_mode != "off"
        }
