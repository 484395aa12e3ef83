"""Pure pieces of jobs/: Block Kit builders, schedule slots, the sync job's per-source cadence."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

from config import AppConfig, ScheduleConfig
from domain.nudges import KpiResult, NudgeContent, NudgeKind
from domain.ports import FollowUp
from jobs.messages import DigestContent, TeamKpi, digest_message, nudge_buttons, nudge_message
from jobs.registry import build_jobs, sync_interval
from jobs.schedules import Every, Weekly, slot_name

DAY = date(2026, 11, 24)


def content(**changes: object) -> NudgeContent:
    base = NudgeContent(
        rep_id=3,
        rep_name="Ada Lovelace",
        local_date=DAY,
        kind=NudgeKind.DAILY,
        previous_day=date(2026, 11, 23),
        results=(
            KpiResult("prospecting", "Prospecting", 31, 40, 45.5, "behind", 0),
            KpiResult("conversations", "Conversations", 9, 6, 4, "ahead", 3),
        ),
        streak=3,
        suggestion="Block your first hour for prospecting.",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_nudge_carries_result_target_streak_suggestion_and_buttons() -> None:
    text, blocks = nudge_message(content())
    assert text.startswith("Good morning Ada.")
    assert "Monday 23 Nov: Prospecting 31/40; Conversations 9/6" in text
    assert "Today: 45.5 Prospecting" in text
    assert "3 working days in a row on goal" in text
    assert "Try: Block your first hour" in text
    actions = next(b for b in blocks if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [  # type: ignore[index]
        "nudge_snooze_day",
        "nudge_switch_weekly",
        "nudge_turn_off",
    ]
    assert {e["value"] for e in actions["elements"]} == {"2026-11-24"}  # type: ignore[index]


def test_on_pace_weekly_and_welcome_variants() -> None:
    on_pace = content(
        results=(KpiResult("prospecting", "Prospecting", 41, 40, 30, "on_track", 1),),
        streak=1,
        suggestion=None,
    )
    text, _ = nudge_message(on_pace)
    assert "You are on pace this week." in text and "1 working day in a row" in text
    weekly_text, weekly_blocks = nudge_message(content(kind=NudgeKind.WEEKLY))
    assert "your week ahead" in weekly_text and "Last week:" in weekly_text
    assert "nudge_switch_daily" in str(weekly_blocks)
    welcome, blocks = nudge_message(content(welcome=True, results=()))
    assert welcome.startswith("Welcome to Pacesetter, Ada!") and "0" not in welcome
    assert blocks[0]["type"] == "header"


def test_buttons_built_once_a_day_are_the_same_and_not_shared() -> None:
    """The buttons' Block Kit is cached per day and kind: still right, and each message's own."""
    for kind in (NudgeKind.DAILY, NudgeKind.WEEKLY):
        for day in (DAY, DAY + timedelta(days=1)):
            nudge = content(kind=kind, local_date=day)
            first, second = nudge_message(nudge)[1][-1], nudge_message(nudge)[1][-1]
            assert first == nudge_buttons(nudge).to_dict()
            first["block_id"] = "changed"
            assert second["block_id"] == "nudge_actions"


def test_digest_lists_pacing_who_is_behind_and_follow_ups() -> None:
    digest = DigestContent(
        manager_name="Maria",
        week_start=date(2026, 11, 16),
        as_of=date(2026, 11, 20),
        team_size=2,
        kpis=(
            TeamKpi("prospecting", "Prospecting", 300, 400, 400, ("Bob",)),
            TeamKpi("wins", "Wins", 2, None, None),
        ),
        follow_ups=(FollowUp(1, "Bob", date(2026, 11, 25), "Discovery opener"),),
    )
    text, blocks = digest_message(digest)
    assert "Team: Prospecting 300/400; Wins 2/—" in text
    assert "Behind: Prospecting: Bob" in text
    assert "1 coaching follow-up(s) due." in text
    assert "Discovery opener" in str(blocks)
    nobody = DigestContent("Maria", date(2026, 11, 16), date(2026, 11, 20), 0)
    assert "Nobody is behind pace." in digest_message(nobody)[0]


def test_slots_are_aligned_and_dst_safe() -> None:
    now = datetime(2026, 11, 23, 8, 33, 10, tzinfo=UTC)
    assert Every(5).last_slot(now) == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert Every(60, offset=5).last_slot(now) == datetime(2026, 11, 23, 8, 5, tzinfo=UTC)
    assert slot_name(Every(15).last_slot(now)) == "2026-11-23T08:30Z"
    weekly = Weekly("mon", time(8, 0), "America/New_York")
    assert weekly.last_slot(now) == datetime(2026, 11, 16, 13, 0, tzinfo=UTC)  # before Mon 08:00
    assert weekly.last_slot(now + timedelta(hours=5)) == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    # The Monday after the fall-back change: 08:00 EST is 13:00 UTC, the week before 12:00 UTC.
    assert weekly.last_slot(datetime(2026, 11, 2, 12, 30, tzinfo=UTC)) == datetime(
        2026, 10, 26, 12, 0, tzinfo=UTC
    )
    trigger = weekly.trigger()
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 20, tzinfo=UTC))
    assert fire == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def test_job_table_ids_and_sync_cadence() -> None:
    config = AppConfig(
        schedules=ScheduleConfig(sync_minutes={"sandbox": 15, "salesforce": 30, "hubspot": 45})
    )
    jobs = {job.id: job for job in build_jobs(config)}
    assert list(jobs) == ["sync", "snapshot", "nudges", "digest", "contests", "followups"]
    assert jobs["contests"].delivers and jobs["contests"].schedule.describe() == "every 15 min"
    assert sync_interval(config) == 15
    assert jobs["sync"].schedule.describe() == "every 15 min"
    assert jobs["nudges"].delivers and jobs["digest"].delivers and not jobs["sync"].delivers
    assert {j for j, job in jobs.items() if job.changes_data} == {"sync", "snapshot"}
