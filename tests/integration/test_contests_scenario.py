"""Contests end to end on a frozen clock: CRM records synced through the real sync store,
contests created with the CLI, the contests job run at chosen instants, and the outbox
delivered by the real dispatcher and Slack poster to a fake Slack over HTTP.

Each announcement must appear exactly once, however often the job runs, across restarts
(a new Runtime on the same database), and a late CRM edit changes the winner before the
announcement or, after it, yields one correction post.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

import app
from config import AppConfig, ContestsConfig, OrgConfig, RecognitionConfig, Settings
from domain.goals import Goal, Scope
from domain.kpis import KpiDefinition
from domain.ports import CrmSource, OutboxStore, SourceCheck, SyncPage, SyncStore
from domain.records import (
    ActivityKind,
    ActivityRecord,
    CrmObject,
    CrmUser,
    OpportunityRecord,
    PipelineStageRecord,
)
from domain.timeutil import Period
from integrations.slack_poster import WebClientPoster, make_client
from jobs.contests import ContestUow, run_contests_job
from jobs.dispatcher import Dispatcher
from jobs.sync import run_sync
from storage.db import session_scope
from storage.goals import SqlGoalStore
from storage.models import Contest as ContestRow
from storage.models import Delivery, Rep
from storage.outbox import SqlOutboxStore
from tests.fakes.slack_outbox import FakeSlackOutbox, running

TZ = "America/New_York"
MON = date(2026, 11, 16)
PEOPLE = {
    "ana": ("East", "UANA"),
    "bo": ("East", "UBO"),
    "cy": ("West", "UCY"),
    "dee": ("West", "UDEE"),
}


def ny(day: date, hour: int, minute: int = 0) -> datetime:
    """Return an instant at local New York time (EST, UTC-5, in November)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) + timedelta(hours=5)


class ScriptedCrm:
    """A CRM whose records a test edits; every sync yields its current state."""

    name = "sandbox"

    def __init__(self) -> None:
        self.activities: dict[str, ActivityRecord] = {}
        self.deleted: set[str] = set()
        self.opportunities: dict[str, OpportunityRecord] = {}

    def objects(self) -> Sequence[CrmObject]:
        return [CrmObject.USERS, CrmObject.STAGES, CrmObject.OPPORTUNITIES, CrmObject.ACTIVITIES]

    def pages(
        self, obj: CrmObject, cursor: str | None, *, full: bool = False
    ) -> Iterator[SyncPage]:
        if obj is CrmObject.USERS:
            users = [
                CrmUser(f"u-{n}", n.title(), f"{n}@x.com", team=team, start_date=date(2025, 1, 1))
                for n, (team, _) in PEOPLE.items()
            ]
            yield SyncPage(obj, users, cursor="{}")
        elif obj is CrmObject.STAGES:
            stages = [
                PipelineStageRecord("default", "Open", 1),
                PipelineStageRecord("default", "Closed Won", 2, is_closed=True, is_won=True),
            ]
            yield SyncPage(obj, stages, cursor="{}")
        elif obj is CrmObject.OPPORTUNITIES:
            yield SyncPage(obj, list(self.opportunities.values()), cursor="{}")
        elif obj is CrmObject.ACTIVITIES:
            gone = sorted(self.deleted)
            self.deleted.clear()
            yield SyncPage(obj, list(self.activities.values()), deleted_ids=gone, cursor="{}")

    def check(self) -> SourceCheck:
        return SourceCheck(self.name, True, True, "scripted")

    def emails(self, who: str, day: date, n: int, *, tag: str = "") -> list[str]:
        """Log ``n`` emails by ``who`` on ``day`` at 10:00 local; return their ids."""
        ids = []
        for i in range(n):
            crm_id = f"{who}-{day.isoformat()}-{tag}{i}"
            self.activities[crm_id] = ActivityRecord(
                crm_id, f"u-{who}", ActivityKind.EMAIL, occurred_at=ny(day, 10, i % 60)
            )
            ids.append(crm_id)
        return ids

    def delete(self, ids: Sequence[str]) -> None:
        for crm_id in ids:
            self.activities.pop(crm_id, None)
            self.deleted.add(crm_id)

    def big_win(self, who: str, day: date, amount: float) -> None:
        self.opportunities[f"opp-{who}-{day}"] = OpportunityRecord(
            f"opp-{who}-{day}",
            f"u-{who}",
            f"{who.title()} Mega Deal",
            ny(day, 9),
            "Closed Won",
            amount=amount,
            stage_order=2,
            close_date=day,
            is_closed=True,
            is_won=True,
        )


class World:
    """A database, a scripted CRM, a fake Slack, and the runtime at a chosen instant."""

    def __init__(self, database_url: str, slack: FakeSlackOutbox, config: AppConfig) -> None:
        self.database_url = database_url
        self.crm = ScriptedCrm()
        self.slack = slack
        self.config = config
        self.rt = self.runtime(ny(MON, 8))

    def runtime(self, now: datetime) -> app.Runtime:
        """Return a fresh runtime (as after a restart) frozen at ``now``."""
        settings = Settings(database_url=self.database_url, pacesetter_now=now)
        self.rt = app.Runtime(settings=settings, config=self.config)
        return self.rt

    def at(self, now: datetime) -> app.Runtime:
        """Move the frozen clock (same process, same engine)."""
        self.rt.settings = self.rt.settings.model_copy(update={"pacesetter_now": now})
        return self.rt

    def sync(self) -> None:
        rt = self.rt
        run_sync(self.crm, rt.sync_store, rt.definitions, now=rt.now)

    def tick(self, *, final_sync: bool = True) -> str:
        """Run the contests job (with a final sync hook) and deliver the outbox."""
        summary = self.rt.run_contests(final_sync=self.sync if final_sync else None)
        self.deliver()
        return summary.line()

    def deliver(self) -> None:
        rt = self.rt

        @contextmanager
        def outbox() -> Iterator[OutboxStore]:
            with session_scope(rt.engine) as session:
                yield SqlOutboxStore(session)

        poster = WebClientPoster(make_client("xoxb-test", self.slack.url))
        Dispatcher(outbox, poster, now=rt.now, sleep=lambda _s: None).drain()

    def set_slack_ids(self) -> None:
        with session_scope(self.rt.engine) as session:
            for rep in session.execute(select(Rep)).scalars():
                rep.slack_user_id = PEOPLE[rep.email.split("@")[0]][1]

    def outbox_keys(self) -> list[str]:
        with Session(self.rt.engine) as session:
            return [
                d.key
                for d in session.execute(select(Delivery).order_by(col(Delivery.id))).scalars()
            ]

    def posted(self, key: str) -> list[str]:
        return [m.text for m in self.slack.messages if m.key == key]


@pytest.fixture
def slack() -> Iterator[FakeSlackOutbox]:
    with running(FakeSlackOutbox()) as fake:
        yield fake


def make_world(database_url: str, slack: FakeSlackOutbox, **contests: object) -> World:
    config = AppConfig(
        org=OrgConfig(timezone=TZ),
        contests=ContestsConfig(**contests),
    )
    world = World(database_url, slack, config)
    world.sync()
    world.set_slack_ids()
    return world


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Path:
    config = tmp_path / "pacesetter.yml"
    config.write_text(f"org:\n  timezone: {TZ}\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PACESETTER_CONFIG", str(config))
    monkeypatch.setenv("PACESETTER_NOW", ny(MON, 8).isoformat())
    return config


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        app.main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


CREATE = [
    "contest",
    "create",
    "--name",
    "Dial-a-thon",
    "--kpi",
    "prospecting",
    "--start",
    MON.isoformat(),
    "--end",
    (MON + timedelta(days=4)).isoformat(),
    "--channel",
    "#sales",
]


def test_most_by_end_standings_lead_change_restart_late_edit_and_correction(
    cli_env: Path, database_url: str, slack: FakeSlackOutbox, capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world(database_url, slack)
    code, out, err = cli(
        [*CREATE, "--rule", "most", "--prize", "$500", "--prize", "$200", "--dry-run"], capsys
    )
    assert code == 0, err
    assert "Dry run only" in out
    code, out, err = cli([*CREATE, "--rule", "most", "--prize", "$500", "--prize", "$200"], capsys)
    assert code == 0, err
    assert "Launched contest #" in out
    (contest_id,) = _contest_ids(world)
    p = f"contest:{contest_id}"

    # Monday: Ana leads; the 16:00 scheduled standings announce her lead.
    world.crm.emails("ana", MON, 5)
    world.crm.emails("bo", MON, 3)
    world.at(ny(MON, 15))
    world.sync()
    world.at(ny(MON, 16, 5))
    world.tick()
    world.tick()  # a rerun in the same hour sends nothing new
    monday = f"{p}:standings:{MON.isoformat()}:16"
    assert world.outbox_keys() == [f"{p}:launched", monday]
    (standings_text,) = world.posted(monday)
    assert "1. Ana: *5* (leads by 2)" in standings_text
    assert "2. Bo: *3* (2 behind the next place)" in standings_text
    assert "data as of" in standings_text

    # Tuesday 11:00: Bo overtakes; a lead-change post outside the scheduled hours.
    tue = MON + timedelta(days=1)
    world.crm.emails("bo", tue, 6)
    world.at(ny(tue, 10, 45))
    world.sync()
    world.at(ny(tue, 11))
    world.tick()
    world.at(ny(tue, 11, 20))
    world.tick()
    lead = f"{p}:standings:{tue.isoformat()}:11"
    assert world.outbox_keys()[-1] == lead
    assert world.posted(lead)[0].startswith("New leader!")

    # A restart mid-contest: a new runtime on the same database repeats nothing.
    world.runtime(ny(tue, 11, 30))
    world.tick()
    assert world.outbox_keys()[-1] == lead

    # Friday: Cy logs a lot, but the CRM only has it after the close (a late edit).
    fri = MON + timedelta(days=4)
    world.at(ny(fri, 23, 50))
    world.sync()
    cy_ids = world.crm.emails("cy", fri, 12)
    sat = fri + timedelta(days=1)
    world.at(ny(sat, 0, 10))
    assert "won 0" in world.tick(final_sync=False)  # data predates the close: wait
    assert not any(k.endswith(":won") for k in world.outbox_keys())
    world.runtime(ny(sat, 0, 20))  # restart, then the job syncs once more and judges
    summary = world.tick()
    assert "final syncs 1" in summary and "won 1" in summary
    (won,) = world.posted(f"{p}:won")
    assert "1st: <@UCY> with 12 wins $500" in won
    assert won.count("<@UCY>") == 1
    assert "2nd: <@UBO> with 9 wins $200" in won
    assert len(world.posted(f"{p}:won:dm:{_rep_id(world, 'cy')}")) == 1

    # After the announcement a CRM edit removes most of Cy's emails: one correction post.
    world.crm.delete(cy_ids[:10])
    world.at(ny(sat, 9))
    world.sync()
    world.tick()
    world.at(ny(sat, 10))
    world.tick()
    corrections = [k for k in world.outbox_keys() if ":correction:" in k and ":dm:" not in k]
    assert corrections == [f"{p}:correction:1"]
    (fix,) = world.posted(f"{p}:correction:1")
    assert "Announced before: 1st: Cy with 12 wins $500" in fix
    assert "1st: <@UBO> with 9 wins $500" in fix
    assert len(world.posted(f"{p}:won")) == 1  # never a second winner announcement
    assert len(world.posted(f"{p}:correction:1:dm:{_rep_id(world, 'bo')}")) == 1
    assert sorted(m.key or "" for m in world.slack.messages) == sorted(
        world.outbox_keys()
    )  # every row sent exactly once

    code, out, err = cli(["contest", "show", str(contest_id), "--json"], capsys)
    assert code == 0, err
    shown = json.loads(out)
    assert shown["status"] == "finished"
    assert [e["kind"] for e in shown["events"]].count("won") == 1
    assert shown["window"]["closes"] == "2026-11-21T05:00:00+00:00"


def test_first_to_won_mid_window_with_a_tie_then_silence(
    cli_env: Path, database_url: str, slack: FakeSlackOutbox, capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world(database_url, slack)
    code, _, err = cli(
        [*CREATE, "--rule", "first-to", "--target", "8", "--prize", "Team lunch"], capsys
    )
    assert code == 0, err
    (contest_id,) = _contest_ids(world)
    tue = MON + timedelta(days=1)
    world.crm.emails("ana", MON, 4)
    world.crm.emails("ana", tue, 4)
    world.crm.emails("bo", tue, 8)
    world.crm.emails("cy", tue, 7)
    world.at(ny(tue, 13))
    world.sync()
    world.tick()
    (won,) = world.posted(f"contest:{contest_id}:won")
    assert "<@UANA>, <@UBO> with 8 (reached on Nov 17) wins Team lunch, split equally 2 ways" in won
    (message,) = [m for m in slack.messages if m.key == f"contest:{contest_id}:won"]
    assert "The earlier day wins" in json.dumps(message.blocks)
    # More activity later in the window changes nothing: the rule was met.
    world.crm.emails("cy", tue + timedelta(days=1), 10)
    world.at(ny(tue + timedelta(days=1), 16, 5))
    world.sync()
    world.tick()
    assert [k for k in world.outbox_keys() if k.endswith(":won")] == [f"contest:{contest_id}:won"]
    assert not any(":standings:" in k and "11-18" in k for k in world.outbox_keys())
    code, out, _ = cli(["contest", "list", "--json"], capsys)
    assert json.loads(out)[0]["status"] == "finished"


def test_team_contest_scored_by_percent_of_goal(
    cli_env: Path, database_url: str, slack: FakeSlackOutbox, capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world(database_url, slack)
    with session_scope(world.rt.engine) as session:
        goals = SqlGoalStore(session)
        goals.add_goal(
            Goal("prospecting", Period.WEEK, 10), origin="cli", created_by=None, now=ny(MON, 7)
        )
        goals.add_goal(
            Goal("prospecting", Period.WEEK, 40, Scope.REP, "ana@x.com"),
            origin="cli",
            created_by=None,
            now=ny(MON, 7),
        )
    code, out, err = cli(
        [*CREATE, "--rule", "most", "--scoring", "percent", "--team-contest", "--prize", "Trophy"],
        capsys,
    )
    assert code == 0, err
    (contest_id,) = _contest_ids(world)
    world.crm.emails("ana", MON, 20)  # 50% of 40
    world.crm.emails("bo", MON, 6)  # East: 26 of 50 = 52%
    world.crm.emails("cy", MON, 6)
    world.crm.emails("dee", MON, 5)  # West: 11 of 20 = 55%
    world.at(ny(MON, 16))
    world.sync()
    code, out, err = cli(["contest", "show", "Dial-a-thon", "--json"], capsys)
    assert code == 0, err
    table = json.loads(out)["standings"]
    assert [(row["name"], round(row["score"])) for row in table] == [("West", 55), ("East", 52)]
    assert round(table[1]["gap_to_next_place"]) == 3
    fri = MON + timedelta(days=4)
    world.at(ny(fri + timedelta(days=1), 1))
    world.tick()
    (won,) = world.posted(f"contest:{contest_id}:won")
    assert "1st: Team West (<@UCY>, <@UDEE>) with 55% wins Trophy" in won
    dms = [k for k in world.outbox_keys() if ":won:dm:" in k]
    assert len(dms) == 2


def test_recognition_big_deal_once_and_opt_out_gets_a_dm(
    database_url: str, slack: FakeSlackOutbox
) -> None:
    world = make_world(
        database_url, slack, recognition=RecognitionConfig(channel="#wins", big_deal_amount=40_000)
    )
    world.crm.big_win("ana", MON, 75_000)
    world.crm.big_win("bo", MON, 90_000)
    world.crm.big_win("cy", MON, 1_000)
    with session_scope(world.rt.engine) as session:
        bo = session.execute(select(Rep).where(col(Rep.email) == "bo@x.com")).scalar_one()
        bo.public_opt_out = True
    world.at(ny(MON, 12))
    world.sync()
    world.tick()
    world.tick()
    deals = [m for m in slack.messages if (m.key or "").startswith("recognition:deal:")]
    assert [(m.key, m.channel) for m in deals] == [
        ("recognition:deal:sandbox:opp-ana-2026-11-16", "#wins"),
        ("recognition:deal:sandbox:opp-bo-2026-11-16", "DBO"),
    ]
    assert "<@UANA> closed *Ana Mega Deal* for *75,000*" in deals[0].text
    assert "Congratulations, you closed" in deals[1].text


def test_cli_refuses_bad_contests_with_one_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli([*CREATE, "--rule", "first-to"], capsys)
    assert code == 2 and "needs a target" in err
    code, _, err = cli([*CREATE, "--rule", "most", "--kpi", "nope"], capsys)
    assert code == 2
    code, _, err = cli(["contest", "show", "missing"], capsys)
    assert code == 2 and "No contest 'missing'" in err


def _contest_ids(world: World) -> list[int]:
    with Session(world.rt.engine) as session:
        return [c.id for c in session.execute(select(ContestRow)).scalars() if c.id is not None]


def _rep_id(world: World, name: str) -> int:
    with Session(world.rt.engine) as session:
        rep = session.execute(select(Rep).where(col(Rep.email) == f"{name}@x.com")).scalar_one()
        assert rep.id is not None
        return rep.id


@dataclass
class JobDepsLike:
    """The fields of jobs.runner.JobDeps that the `contests` job row reads."""

    config: AppConfig
    definitions: Sequence[KpiDefinition]
    now: Callable[[], datetime]
    sources: Callable[[], Sequence[CrmSource]]
    sync_uow: Callable[[], AbstractContextManager[SyncStore]] | None
    contests: ContestUow | None


@dataclass
class JobContextLike:
    deps: JobDepsLike
    now: datetime


def test_job_row_syncs_once_after_the_close_then_announces(
    cli_env: Path, database_url: str, slack: FakeSlackOutbox, capsys: pytest.CaptureFixture[str]
) -> None:
    world = make_world(database_url, slack)
    code, _, err = cli([*CREATE, "--rule", "threshold", "--target", "3"], capsys)
    assert code == 0, err
    world.crm.emails("dee", MON + timedelta(days=2), 3)  # in the CRM, not yet synced
    rt = world.at(ny(MON + timedelta(days=5), 2))
    deps = JobDepsLike(
        rt.config, rt.definitions, rt.now, lambda: [world.crm], rt.sync_store, rt.contest_unit
    )
    line = run_contests_job(JobContextLike(deps, rt.now()))
    assert "won 1" in line and "final syncs 1" in line
    world.deliver()
    (won,) = [m.text for m in slack.messages if (m.key or "").endswith(":won")]
    assert "Winner: <@UDEE> with 3" in won
    unwired = JobDepsLike(rt.config, rt.definitions, rt.now, tuple, None, None)
    assert run_contests_job(JobContextLike(unwired, rt.now())) == (
        "contests are not wired in this build"
    )


def test_recognition_best_week_and_streak_once_each(
    database_url: str, slack: FakeSlackOutbox
) -> None:
    recognition = RecognitionConfig(
        channel="#wins", big_deal_amount=None, streak_minimum=3, streak_milestones=[5]
    )
    world = make_world(database_url, slack, recognition=recognition)
    for who in ("ana", "bo"):
        for week in range(1, 6):
            world.crm.emails(who, MON - timedelta(weeks=week), 1)  # quiet earlier weeks
        for day in range(5):
            world.crm.emails(who, MON + timedelta(days=day), 3)  # 15 in the week, 5-day streak
    with session_scope(world.rt.engine) as session:
        bo = session.execute(select(Rep).where(col(Rep.email) == "bo@x.com")).scalar_one()
        bo.public_opt_out = True
    next_monday = MON + timedelta(days=7)
    world.at(ny(next_monday, 9))
    world.sync()
    world.tick()
    world.at(ny(next_monday, 9, 30))
    world.tick()
    got = sorted((m.key or "", m.channel) for m in slack.messages)
    ana, bo_id = _rep_id(world, "ana"), _rep_id(world, "bo")
    assert got == sorted(
        [
            (f"recognition:best_week:{ana}:prospecting:2026-W47", "#wins"),
            (f"recognition:best_week:{bo_id}:prospecting:2026-W47", "DBO"),
            (f"recognition:streak:{ana}:prospecting:2026-11-16:5", "#wins"),
            (f"recognition:streak:{bo_id}:prospecting:2026-11-16:5", "DBO"),
        ]
    )
    streak = next(
        m.text for m in slack.messages if m.key and "streak" in m.key and m.channel == "#wins"
    )
    assert streak == "🔥 <@UANA> hit a *5-day streak* of 3+ prospecting!"


def test_jobs_run_contests_from_the_command_line_posts_once(
    cli_env: Path,
    database_url: str,
    slack: FakeSlackOutbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world(database_url, slack)
    code, _, err = cli([*CREATE, "--rule", "first-to", "--target", "4"], capsys)
    assert code == 0, err
    world.crm.emails("cy", MON, 4)
    world.at(ny(MON, 11))
    world.sync()
    monkeypatch.setenv("PACESETTER_NOW", ny(MON, 11, 30).isoformat())
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    for won in ("won 1", "won 0"):
        code, out, err = cli(["jobs", "run", "contests"], capsys)
        assert code == 0, err
        assert won in out
    assert [m.key for m in slack.messages] == [
        "contest:1:launched",
        "contest:1:won",
        f"contest:1:won:dm:{_rep_id(world, 'cy')}",
    ]
    assert "<@UCY> with 4 (reached on Nov 16)" in slack.messages[1].text
