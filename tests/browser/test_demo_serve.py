"""`pacesetter demo --serve` end to end in headless Chromium: the real bot, the stand-in, the TV.

A rep types /mystats and sees the scorecard; a manager opens /coach @rep and saves a note;
the clock moves a day and a nudge arrives; the TV splashes a contest win within seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import app
from bot.tv import snapshot_json
from config import AppConfig, GoalConfig, OrgConfig, SandboxConfig, Settings
from domain.calendar import WorkCalendar
from domain.contest_service import draft, launch
from domain.contests import ContestRules, Rule
from jobs.sync import run_sync
from storage.contests import SqlContestStore
from storage.db import session_scope

pytestmark = pytest.mark.browser


NOW = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)  # a Thursday morning in New York
TZ = "America/New_York"
MANAGER = "morgan.lee@example.com"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[app.DemoServices]:
    path: Path = tmp_path_factory.mktemp("demo") / "demo.db"
    settings = Settings(database_url=f"sqlite:///{path}", slack_bot_token=SecretStr("xoxb-unused"))
    config = AppConfig(
        org=OrgConfig(name="Acme Sales", timezone=TZ),
        admins=["dana.reyes@example.com"],
        goals=[
            GoalConfig(kpi="prospecting", period="week", target=60),
            GoalConfig(kpi="conversations", period="week", target=15),
            GoalConfig(kpi="meaningful_conversations", period="week", target=5),
            GoalConfig(kpi="wins", period="month", target=2),
        ],
        sandbox=SandboxConfig(seed=11, reps=10, history_days=21),
    )
    rt = app.Runtime(settings=settings, config=config, clock=app.DemoClock(NOW))
    rt.upgrade()
    run_sync(rt.sandbox_source(), rt.sync_store, rt.definitions, now=rt.now)
    services = app.start_demo(rt)
    yield services
    services.stop()
    rt.engine.dispose()
    rt.read_engine.dispose()


def _rep_of(services: app.DemoServices, manager_email: str) -> app.Member:
    org = services.rt.sandbox_source().org
    people = org.people(services.rt.org_today())
    boss = next(p.user for p in people if p.user.email == manager_email)
    email = next(p.user.email for p in people if p.user.manager_crm_id == boss.crm_id)
    return next(m for m in services.members if m.email == email)


def _type(page: Any, text: str) -> None:
    page.fill("#command", text)
    page.press("#command", "Enter")


def test_rep_types_mystats_and_sees_the_scorecard(
    demo: app.DemoServices, page: Any, shot: Any
) -> None:
    rep = _rep_of(demo, MANAGER)
    page.goto(f"{demo.standin.url}/?user={rep.id}")
    page.wait_for_selector("body[data-version]", state="attached")
    shot(page, "start")
    _type(page, "/mystats")
    card = page.locator(".msg", has_text="Prospecting").last
    card.wait_for()
    shot(page, "scorecard")
    assert "Your week" in page.inner_text("#messages")


def test_manager_coaches_a_rep_and_saves_a_note(
    demo: app.DemoServices, page: Any, shot: Any
) -> None:
    rep = _rep_of(demo, MANAGER)
    manager = next(m for m in demo.members if m.email == MANAGER)
    page.goto(f"{demo.standin.url}/?user={manager.id}")
    page.wait_for_selector("body[data-version]", state="attached")
    _type(page, f"/coach @{rep.name}")
    page.locator(".msg", has_text=f"Coaching brief: {rep.name}").last.wait_for()
    shot(page, "brief")
    page.locator(".msg", has_text=f"Coaching brief: {rep.name}").last.get_by_role(
        "button", name="Add a coaching note"
    ).click()
    modal = page.locator("#modal")
    modal.get_by_text("Coaching note").wait_for()
    modal.locator("textarea, input.bk-control").first.fill(
        "Great discovery call; ask for the referral."
    )
    shot(page, "note-modal")
    modal.get_by_role("button", name="Save note").click()
    page.locator(".msg", has_text=f"Saved your coaching note about {rep.name}").wait_for()
    assert page.locator("#modal-backdrop").is_hidden()
    shot(page, "note-saved")


def test_tv_splashes_within_seconds_of_a_contest_win(
    demo: app.DemoServices, page: Any, shot: Any
) -> None:
    rt = demo.rt
    page.goto(f"{demo.tv.url}/?poll=0.5&cycle=1&splash=30")
    page.wait_for_selector("table[data-board]")
    shot(page, "tv-board")
    today = rt.org_today()
    rules = ContestRules(
        name="November call blitz",
        kpi="conversations",
        rule=Rule.FIRST_TO,
        target=10,
        start=today - timedelta(days=3),
        end=today,
        channel="#blitz",
        prizes=("Team lunch",),
    )
    with session_scope(rt.engine) as session:
        store = SqlContestStore(session)
        launch(
            draft(
                rules,
                store=store,
                goals=[],
                calendar=WorkCalendar(),
                created_by=MANAGER,
                now=rt.now(),
            ),
            store=store,
            now=rt.now(),
        )
    page.locator("table[data-board^='contest:']").wait_for(timeout=15_000)
    shot(page, "tv-contest-board")
    summary = rt.run_contests()  # what the scheduler's `contests` job does
    assert summary.won == 1, summary.line()
    won_at = time.monotonic()
    splash = page.locator("#splash:not([hidden])")
    splash.wait_for(timeout=5_000)
    assert time.monotonic() - won_at < 5
    assert "wins November call blitz!" in splash.inner_text()
    page.wait_for_timeout(700)
    shot(page, "tv-splash")
    demo.runner.deliver()  # the outbox posts standings and the result to the contest's channel
    rep = _rep_of(demo, MANAGER)
    page.goto(f"{demo.standin.url}/?user={rep.id}")
    page.click("button.conv:has-text('#blitz')")
    page.locator(".msg", has_text="November call blitz").last.wait_for()
    shot(page, "contest-channel")


def test_advancing_the_day_brings_the_morning_nudge(
    demo: app.DemoServices, page: Any, shot: Any
) -> None:
    rep = _rep_of(demo, MANAGER)
    before = demo.rt.org_today()
    page.goto(f"{demo.standin.url}/?user={rep.id}")
    page.wait_for_selector("body[data-version]", state="attached")
    page.click("[data-conversation^='D']")
    shot(page, "before")
    page.click("#advance")
    page.locator(".notice", has_text="It is now").wait_for(timeout=30_000)
    assert demo.rt.org_today() == before + timedelta(days=1)
    nudge = page.locator(".msg", has_text=f"Good morning {rep.name.split()[0]}")
    nudge.wait_for(timeout=10_000)
    assert "Only visible to you" not in nudge.inner_text(), "a nudge is a DM, not an ephemeral"
    shot(page, "nudge")


def test_manager_opens_home_and_a_button_opens_the_goal_modal(
    demo: app.DemoServices, page: Any, shot: Any
) -> None:
    manager = next(m for m in demo.members if m.email == MANAGER)
    page.goto(f"{demo.standin.url}/?user={manager.id}")
    page.wait_for_selector("body[data-version]", state="attached")
    page.click("[data-conversation='home']")
    page.get_by_text("Your team this week").wait_for()
    shot(page, "home")
    page.get_by_role("button", name="Set a goal").click()
    page.locator("#modal").get_by_text("Set a goal").first.wait_for()
    shot(page, "goal-modal")
    page.locator("#modal").get_by_role("button", name="Cancel").click()
    page.locator("#modal-backdrop").wait_for(state="hidden")


def test_a_rep_who_opts_out_disappears_from_the_tv(
    demo: app.DemoServices, page: Any, shot: Any
) -> None:
    leader = max(
        (line for board in demo.rt.tv_snapshot().boards for line in board.lines),
        key=lambda line: line.value,
    )
    member = next(m for m in demo.members if m.name == leader.name)
    page.goto(f"{demo.standin.url}/?user={member.id}")
    page.wait_for_selector("body[data-version]", state="attached")
    _type(page, "/pacesetter optout")
    page.locator(".msg.ephemeral").last.wait_for()
    shot(page, "opted-out")
    demo.tv.refresh()
    page.goto(f"{demo.tv.url}/?poll=0.5")
    page.wait_for_selector("table[data-board]")
    assert leader.name not in page.content()
    assert leader.name not in str(snapshot_json(demo.rt.tv_snapshot()))
