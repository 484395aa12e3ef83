"""Scenario tests: signed HTTP requests to the running bot, answers read from the fake Slack."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlmodel import Session, select

from bot import service
from bot.ids import ActionId, BlockId, CallbackId, InputId
from domain.nudges import NudgeAction
from domain.timeutil import Period
from storage.models import CoachingNote, DirtyDay, Goal, Rep
from tests.bot.conftest import NOW, OUTSIDER, UNMATCHED_EMAIL, BotEnv
from tests.fakes.slack import Call

ACK_BUDGET_S = 3.0


def command(env: BotEnv, name: str, text: str, user: str) -> Call:
    """Send a slash command, check it is acked in time, and return the response_url reply."""
    before = len(env.slack.calls_to("response"))
    started = time.monotonic()
    answer = env.sender.command(name, text, user)
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started < ACK_BUDGET_S
    return env.slack.wait_for("response", before + 1)[-1]


def block_texts(body: dict[str, Any]) -> str:
    """Return every text in a message's or view's blocks, joined."""
    out = []
    for block in body.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(text.get("text", ""))
        for element in block.get("elements") or []:
            if isinstance(element, dict):
                label = element.get("text")
                out.append(label.get("text", "") if isinstance(label, dict) else str(label or ""))
    return "\n".join(out)


# /mystats ------------------------------------------------------------------------------------


def test_mystats_shows_the_scorecard_ephemerally_with_a_trend_chart_in_dm(bot_env: BotEnv) -> None:
    john = bot_env.people["John Miller"]
    reply = command(bot_env, "/mystats", "", john)
    assert reply.body["response_type"] == "ephemeral"
    assert reply.body["text"].startswith("Your week: Nov 16 – Nov 22")
    text = block_texts(reply.body)
    for needle in ("Prospecting", "of 60", "rank", "Data as of Nov 19", "working days"):
        assert needle in text
    # The chart is drawn after the reply; the first draw imports matplotlib (slow on a busy
    # machine), so this waits longer than for a message. Not a speed check: that is bench_ack.
    done = bot_env.slack.wait_for(
        "files.completeUploadExternal",
        where=lambda c: c.body.get("channel_id") == "D" + john,
        timeout=60,
    )
    file_id = json.loads(done[-1].body["files"])[0]["id"]
    assert bot_env.slack.uploads[file_id].startswith(b"\x89PNG")


def test_mystats_month_and_a_bad_period(bot_env: BotEnv) -> None:
    sally = bot_env.people["Sally Chen"]
    assert (
        command(bot_env, "/mystats", "month", sally)
        .body["text"]
        .startswith("Your month: Nov 1 – Nov 30")
    )
    reply = command(bot_env, "/mystats", "fortnight", sally)
    assert "Try `/mystats`" in reply.body["text"]
    assert "Traceback" not in reply.body["text"]


def test_a_rep_with_no_data_yet_gets_an_empty_scorecard_that_says_so(bot_env: BotEnv) -> None:
    with Session(bot_env.rt.engine) as session:
        manager = session.exec(select(Rep).where(Rep.email == "morgan.lee@example.com")).one()
        session.add(
            Rep(
                source="sandbox",
                crm_user_id="U0999",
                name="Nina New",
                email="nina.new@example.com",
                slack_user_id="UNEWHIRE",
                manager_id=manager.id,
                team="East",
                timezone="America/New_York",
            )
        )
        session.commit()
    reply = command(bot_env, "/mystats", "", "UNEWHIRE")
    assert "No activity recorded" in reply.body["text"]
    assert "0 of 60" in reply.body["text"]


def test_a_slack_user_who_is_not_a_rep_is_told_how_to_get_linked(bot_env: BotEnv) -> None:
    reply = command(bot_env, "/mystats", "", OUTSIDER)
    assert "/pacesetter link" in reply.body["text"]


def test_an_unexpected_error_gives_an_error_id_and_no_stack_trace(
    bot_env: BotEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded at line 42")

    monkeypatch.setattr(service, "my_stats", broken)
    reply = command(bot_env, "/mystats", "", bot_env.people["John Miller"])
    text = reply.body["text"]
    assert "error id" in text
    assert "exploded" not in text and "Traceback" not in text
    error_id = text.split("`")[1]
    assert any(error_id in r.getMessage() for r in caplog.records)


# /leaderboard --------------------------------------------------------------------------------


def test_leaderboard_ranks_by_percent_of_goal_and_marks_the_viewer(bot_env: BotEnv) -> None:
    reply = command(bot_env, "/leaderboard", "prospecting week", bot_env.people["Carl Novak"])
    text = reply.body["text"]
    assert text.startswith("Leaderboard: Prospecting, week of Nov 16 – Nov 22")
    assert "← you" in text
    assert "% (" in text and "of 60)" in text
    assert "Ranked by percent of goal" in text


def test_leaderboard_without_goals_ranks_by_count(bot_env: BotEnv) -> None:
    reply = command(bot_env, "/leaderboard", "won amount quarter", bot_env.people["Carl Novak"])
    assert "ranked by count" in reply.body["text"]


def test_leaderboard_unknown_kpi_lists_the_valid_ones(bot_env: BotEnv) -> None:
    reply = command(bot_env, "/leaderboard", "calls", bot_env.people["Carl Novak"])
    assert "I don't know the KPI" in reply.body["text"]
    assert "prospecting" in reply.body["text"]


def test_opted_out_reps_are_hidden_from_others_but_see_themselves(bot_env: BotEnv) -> None:
    wen, carl = bot_env.people["Wen Weber"], bot_env.people["Carl Novak"]
    assert "hidden" in command(bot_env, "/pacesetter", "optout", wen).body["text"]
    try:
        assert "Wen Weber" in command(bot_env, "/leaderboard", "prospecting", wen).body["text"]
        others = command(bot_env, "/leaderboard", "prospecting", carl).body["text"]
        assert "Wen Weber" not in others
        with bot_env.rt.bot_read_stores() as stores:
            morgan = stores.directory.by_slack_id(bot_env.people["Morgan Lee"])
        deps = bot_env.rt.bot_deps(bot_env.rt.slack_client())
        board = service.leaderboard(deps, morgan, "prospecting", Period.WEEK)
        assert "Wen Weber" in {line.standing.name for line in board.lines}
    finally:
        command(bot_env, "/pacesetter", "optin", wen)


# /coach and the coaching note ----------------------------------------------------------------


def test_a_manager_gets_the_brief_and_saves_a_note_through_the_modal(bot_env: BotEnv) -> None:
    morgan, john = bot_env.people["Morgan Lee"], bot_env.people["John Miller"]
    reply = command(bot_env, "/coach", f"<@{john}|john>", morgan)
    text = reply.body["text"]
    assert text.startswith("Coaching brief for John Miller")
    assert "Questions for your 1:1:" in text
    questions = text.split("Questions for your 1:1:\n")[1].split("\nRecent notes")[0]
    assert 3 <= len(questions.splitlines()) <= 5
    button = next(b for b in reply.body["blocks"] if b.get("block_id") == BlockId.COACH_ACTIONS)
    element = button["elements"][0]
    assert element["action_id"] == ActionId.OPEN_NOTE_MODAL

    assert bot_env.sender.block_action(morgan, element["action_id"], element["value"]).ok
    opened = bot_env.slack.wait_for(
        "views.open", where=lambda c: c.body["view"]["callback_id"] == CallbackId.COACHING_NOTE
    )[-1]
    view = opened.body["view"]
    values = {
        BlockId.NOTE_TEMPLATE: {
            InputId.NOTE_TEMPLATE: {
                "type": "static_select",
                "selected_option": {"value": "one_on_one"},
            }
        },
        BlockId.NOTE_TEXT: {
            InputId.NOTE_TEXT: {"type": "plain_text_input", "value": "Work on call openers."}
        },
        BlockId.NOTE_FOLLOW_UP: {
            InputId.NOTE_FOLLOW_UP: {"type": "datepicker", "selected_date": "2026-11-26"}
        },
    }
    answer = bot_env.sender.view_submission(morgan, view, values)
    assert answer.status_code == 200
    bot_env.slack.wait_for(
        "chat.postMessage",
        where=lambda c: c.body.get("channel") == morgan and "note" in c.body["text"],
    )
    with Session(bot_env.rt.engine) as session:
        note = session.exec(select(CoachingNote).order_by(CoachingNote.id.desc())).first()  # type: ignore[union-attr]
    assert note is not None and note.text == "Work on call openers."
    assert note.scorecard is not None and "prospecting" in note.scorecard["kpis"]  # type: ignore[operator]
    again = command(bot_env, "/coach", f"<@{john}>", morgan).body["text"]
    assert "Recent notes: 1; open follow-ups: 1." in again


def test_coach_refuses_non_managers_the_same_way_whether_or_not_the_rep_exists(
    bot_env: BotEnv,
) -> None:
    carl, john = bot_env.people["Carl Novak"], bot_env.people["John Miller"]
    riley = bot_env.people["Riley Shah"]  # a manager, but of another team
    peer = command(bot_env, "/coach", f"<@{john}|john>", carl).body["text"]
    other_manager = command(bot_env, "/coach", f"<@{john}|john>", riley).body["text"]
    nobody = command(bot_env, "/coach", "<@UNOBODY|ghost>", carl).body["text"]
    plain = command(bot_env, "/coach", "@ghost", carl).body["text"]
    assert peer == other_manager == nobody == plain
    assert "managers" in peer and "John" not in peer


def test_an_admin_may_coach_anyone(bot_env: BotEnv) -> None:
    dana, sally = bot_env.people["Dana Reyes"], bot_env.people["Sally Chen"]
    assert (
        command(bot_env, "/coach", f"<@{sally}>", dana)
        .body["text"]
        .startswith("Coaching brief for Sally Chen")
    )


# /goal ---------------------------------------------------------------------------------------


def goal_values(rep: str | None, target: str) -> dict[str, Any]:
    return {
        BlockId.GOAL_SCOPE: {InputId.GOAL_SCOPE: {"selected_option": {"value": "rep"}}},
        BlockId.GOAL_REP: {InputId.GOAL_REP: {"selected_user": rep}},
        BlockId.GOAL_TEAM: {InputId.GOAL_TEAM: {"value": None}},
        BlockId.GOAL_KPI: {InputId.GOAL_KPI: {"selected_option": {"value": "prospecting"}}},
        BlockId.GOAL_PERIOD: {InputId.GOAL_PERIOD: {"selected_option": {"value": "week"}}},
        BlockId.GOAL_TARGET: {InputId.GOAL_TARGET: {"value": target}},
        BlockId.GOAL_FROM: {InputId.GOAL_FROM: {"selected_date": "2026-11-23"}},
    }


def test_a_manager_sets_a_goal_for_their_rep_in_the_modal(bot_env: BotEnv) -> None:
    morgan, john = bot_env.people["Morgan Lee"], bot_env.people["John Miller"]
    assert bot_env.sender.command("/goal", "", morgan).status_code == 200
    view = bot_env.slack.wait_for(
        "views.open", where=lambda c: c.body["view"]["callback_id"] == CallbackId.GOAL
    )[-1].body["view"]

    bad = bot_env.sender.view_submission(morgan, view, goal_values(None, "lots"))
    assert bad.json()["response_action"] == "errors"
    assert set(bad.json()["errors"]) == {BlockId.GOAL_REP, BlockId.GOAL_TARGET}

    ok = bot_env.sender.view_submission(morgan, view, goal_values(john, "80"))
    assert ok.status_code == 200 and not ok.text
    bot_env.slack.wait_for(
        "chat.postMessage", where=lambda c: c.body.get("text", "").startswith("Goal saved")
    )
    with Session(bot_env.rt.engine) as session:
        goal = session.exec(select(Goal).where(Goal.origin == "slack")).one()
    assert (goal.kpi, goal.target, goal.scope_value) == (
        "prospecting",
        80,
        "john.miller@example.com",
    )


def test_a_manager_cannot_set_goals_for_another_managers_rep(bot_env: BotEnv) -> None:
    riley, john = bot_env.people["Riley Shah"], bot_env.people["John Miller"]
    bot_env.sender.command("/goal", "", riley)
    view = bot_env.slack.wait_for("views.open")[-1].body["view"]
    bot_env.sender.view_submission(riley, view, goal_values(john, "10"))
    refusal = bot_env.slack.wait_for(
        "chat.postMessage", where=lambda c: c.body.get("channel") == riley
    )[-1]
    assert "only for reps who report to you" in refusal.body["text"]


def test_a_rep_cannot_open_the_goal_modal(bot_env: BotEnv) -> None:
    reply = command(bot_env, "/goal", "", bot_env.people["Carl Novak"])
    assert "Only managers" in reply.body["text"]


# App Home ------------------------------------------------------------------------------------


def test_app_home_shows_the_reps_week_and_a_managers_team_grid(bot_env: BotEnv) -> None:
    john, morgan = bot_env.people["John Miller"], bot_env.people["Morgan Lee"]
    for user in (john, morgan):
        answer = bot_env.sender.event({"type": "app_home_opened", "user": user, "tab": "home"})
        assert answer.status_code == 200
    rep_home = bot_env.slack.wait_for("views.publish", where=lambda c: c.body["user_id"] == john)[
        -1
    ].body["view"]
    manager_home = bot_env.slack.wait_for(
        "views.publish", where=lambda c: c.body["user_id"] == morgan
    )[-1].body["view"]
    assert rep_home["type"] == "home"
    assert "Prospecting" in block_texts(rep_home)
    assert "Your team this week" not in block_texts(rep_home)
    grid = block_texts(manager_home)
    assert "Your team this week" in grid and "John Miller" in grid


# identity ------------------------------------------------------------------------------------


def test_an_admin_links_a_rep_whose_emails_differ_and_their_days_are_redated(
    bot_env: BotEnv,
) -> None:
    bot_env.slack.add_user("UFARID", "farid@personal.example", "Farid Fischer", "Asia/Tokyo")
    reply = command(
        bot_env,
        "/pacesetter",
        f"link <@UFARID|farid> <mailto:{UNMATCHED_EMAIL}|{UNMATCHED_EMAIL}>",
        bot_env.people["Dana Reyes"],
    )
    assert reply.body["text"].startswith("Linked <@UFARID> to Farid Fischer")
    assert "time zone changed" in reply.body["text"]
    with Session(bot_env.rt.engine) as session:
        farid = session.exec(select(Rep).where(Rep.email == UNMATCHED_EMAIL)).one()
        dirty = session.exec(select(DirtyDay).where(DirtyDay.rep_id == farid.id)).all()
    assert (farid.slack_user_id, farid.timezone) == ("UFARID", "Asia/Tokyo")
    assert dirty


def test_linking_is_for_admins_and_needs_a_known_user(bot_env: BotEnv) -> None:
    carl, dana = bot_env.people["Carl Novak"], bot_env.people["Dana Reyes"]
    denied = command(bot_env, "/pacesetter", f"link <@{carl}> {UNMATCHED_EMAIL}", carl)
    assert "Only Pacesetter admins" in denied.body["text"]
    unknown = command(bot_env, "/pacesetter", f"link <@UGHOST|ghost> {UNMATCHED_EMAIL}", dana)
    assert "Slack doesn't know that user" in unknown.body["text"]
    usage = command(bot_env, "/pacesetter", "link someone", dana)
    assert "/pacesetter link @user" in usage.body["text"]


# signing -------------------------------------------------------------------------------------


def test_a_bad_signature_is_rejected(bot_env: BotEnv) -> None:
    body = bot_env.sender.command_body("/mystats", "", bot_env.people["John Miller"])
    answer = bot_env.sender.post(
        body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64
    )
    assert answer.status_code == 401


def test_a_stale_timestamp_is_rejected(bot_env: BotEnv) -> None:
    body = bot_env.sender.command_body("/mystats", "", bot_env.people["John Miller"])
    answer = bot_env.sender.post(
        body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 600
    )
    assert answer.status_code == 401


def test_rate_limited_sends_are_retried_after_retry_after(bot_env: BotEnv) -> None:
    morgan = bot_env.people["Morgan Lee"]
    bot_env.slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    bot_env.sender.command("/goal", "", morgan)
    view = bot_env.slack.wait_for("views.open")[-1].body["view"]
    bot_env.sender.view_submission(morgan, view, goal_values(bot_env.people["Carl Novak"], "70"))

    def saved_70(call: Call) -> bool:
        return call.body.get("channel") == morgan and "70 per week" in call.body.get("text", "")

    first, retry = bot_env.slack.wait_for("chat.postMessage", count=2, where=saved_70)[-2:]
    assert retry.at - first.at >= 1.0


def test_the_home_tab_goal_button_opens_the_goal_modal_for_a_manager(bot_env: BotEnv) -> None:
    morgan = bot_env.people["Morgan Lee"]
    bot_env.sender.event({"type": "app_home_opened", "user": morgan, "tab": "home"})
    home = bot_env.slack.wait_for("views.publish", where=lambda c: c.body["user_id"] == morgan)
    view = home[-1].body["view"]
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [ActionId.OPEN_GOAL_MODAL]
    before = len(bot_env.slack.calls_to("views.open"))
    answer = bot_env.sender.block_action(
        morgan, ActionId.OPEN_GOAL_MODAL, "", view={**view, "id": "VHOME"}
    )
    assert answer.status_code == 200
    opened = bot_env.slack.wait_for("views.open", count=before + 1)[-1]
    assert opened.body["view"]["callback_id"] == CallbackId.GOAL


# the nudge's buttons -------------------------------------------------------------------------


def test_nudge_buttons_snooze_and_switch_to_weekly(bot_env: BotEnv) -> None:
    wen = bot_env.people["Wen Weber"]
    before = len(bot_env.slack.calls_to("response"))
    answer = bot_env.sender.block_action(wen, NudgeAction.SNOOZE_DAY.value, "2026-11-19")
    assert answer.status_code == 200
    reply = bot_env.slack.wait_for("response", before + 1)[-1]
    assert reply.body["text"].startswith("Snoozed: no nudge until")
    with Session(bot_env.rt.engine) as session:
        rep = session.exec(select(Rep).where(Rep.email == "wen.weber@example.com")).one()
        assert rep.snoozed_until is not None
        assert rep.snoozed_until > NOW.date()

    answer = bot_env.sender.block_action(wen, NudgeAction.WEEKLY.value, "2026-11-19")
    assert answer.status_code == 200
    reply = bot_env.slack.wait_for("response", before + 2)[-1]
    assert "weekly digest" in reply.body["text"]
    with Session(bot_env.rt.engine) as session:
        rep = session.exec(select(Rep).where(Rep.email == "wen.weber@example.com")).one()
        assert rep.nudge_mode == "weekly"
    bot_env.sender.block_action(wen, NudgeAction.DAILY.value, "2026-11-19")
    bot_env.slack.wait_for("response", before + 3)
