"""Access: a rep never sees another rep's private numbers or notes, managers-only stays
managers-only, and a request without a valid, fresh Slack signature changes nothing.

Everything goes through real signed HTTP requests (or the real CLI); what a person could see is
read from what the fake Slack received, and what changed from the database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

import app
from bot.ids import ActionId, BlockId, CallbackId, InputId
from domain.nudges import NudgeAction
from storage.models import CoachingNote, Contest, Goal, ProcessedRequest, Rep
from tests.bot.conftest import NOW, OUTSIDER
from tests.bot.test_contest_scenarios import contest_values
from tests.bot.test_scenarios import goal_values
from tests.reliability.conftest import RelEnv, Resender, running_bot, settle
from tests.reliability.test_slack_retries import note_values, note_view, open_view

PRIVATE_NOTE = "Private: John is struggling with openers (marker 7f3a)."


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelEnv]:
    path = tmp_path_factory.mktemp("access") / "bot.db"
    with running_bot(f"sqlite:///{path}") as started:
        resender = Resender(started.slack)
        morgan, john = started.people["Morgan Lee"], started.people["John Miller"]
        view = note_view(started, resender, morgan, john)
        before = len(started.slack.calls_to("chat.postMessage"))
        resender.send(
            started.sender.app_url,
            resender.view_submission_body(morgan, view, note_values(PRIVATE_NOTE)),
        )
        started.slack.wait_for("chat.postMessage", before + 1)
        yield started


@pytest.fixture
def resender(env: RelEnv) -> Resender:
    return Resender(env.slack)


def ask(env: RelEnv, resender: Resender, command: str, text: str, user: str) -> str:
    """Send a command and return everything its reply showed (text and blocks)."""
    body = resender.command_body(command, text, user)
    number = body.split("rtrigger-")[1].split("&")[0]
    assert resender.send(env.sender.app_url, body).status_code == 200
    reply = env.slack.wait_for("response", where=lambda c: c.body.get("req") == number)[-1]
    return json.dumps(reply.body, ensure_ascii=False)


def rows(env: RelEnv, table: Any, *where: Any) -> int:
    with Session(env.rt.engine) as session:
        return int(session.exec(select(func.count()).select_from(table).where(*where)).one())


def rep_id(env: RelEnv, email: str) -> int:
    with Session(env.rt.engine) as session:
        rep = session.exec(select(Rep).where(Rep.email == email)).one()
    assert rep.id is not None
    return rep.id


# numbers ---------------------------------------------------------------------------------------


def test_mystats_naming_another_rep_shows_only_a_usage_hint(
    env: RelEnv, resender: Resender
) -> None:
    carl, john = env.people["Carl Novak"], env.people["John Miller"]
    johns_own = ask(env, resender, "/mystats", "", john)
    assert "Prospecting" in johns_own
    for text in (f"<@{john}|john>", f"week <@{john}>", "john.miller@example.com"):
        reply = ask(env, resender, "/mystats", text, carl)
        assert "Try `/mystats`" in reply
        assert "Prospecting" not in reply and "John" not in reply


def test_a_reps_home_tab_shows_no_one_elses_numbers(env: RelEnv, resender: Resender) -> None:
    carl = env.people["Carl Novak"]
    before = len(env.slack.calls_to("views.publish"))
    body = resender.event_body({"type": "app_home_opened", "user": carl, "tab": "home"})
    assert resender.send(env.sender.app_url, body, "application/json").ok
    home = env.slack.wait_for("views.publish", before + 1)[-1].body["view"]
    shown = json.dumps(home, ensure_ascii=False)
    others = [name for name in env.people if name != "Carl Novak"]
    assert [name for name in others if name in shown] == []
    assert "Your team this week" not in shown


def test_a_managers_home_tab_shows_only_their_own_reports(env: RelEnv, resender: Resender) -> None:
    morgan, riley = env.people["Morgan Lee"], env.people["Riley Shah"]
    with Session(env.rt.engine) as session:
        ids = {r.email: r.manager_id for r in session.exec(select(Rep)).all() if r.role == "rep"}
        names = {r.email: r.name for r in session.exec(select(Rep)).all()}
    morgan_id = rep_id(env, "morgan.lee@example.com")
    rileys_reps = [names[e] for e, m in ids.items() if m not in (None, morgan_id)]
    assert rileys_reps, "the sandbox has reps outside Morgan's team"
    before = sum(1 for c in env.slack.calls_to("views.publish") if c.body["user_id"] == morgan)
    body = resender.event_body({"type": "app_home_opened", "user": morgan, "tab": "home"})
    resender.send(env.sender.app_url, body, "application/json")
    home = env.slack.wait_for(
        "views.publish", before + 1, where=lambda c: c.body["user_id"] == morgan
    )
    shown = json.dumps(home[-1].body["view"], ensure_ascii=False)
    assert "Your team this week" in shown
    assert [name for name in rileys_reps if name in shown] == []
    assert riley  # Riley manages the others; her reports stay off Morgan's grid


def test_the_leaderboard_hides_opted_out_reps_from_peers(env: RelEnv, resender: Resender) -> None:
    wen, carl = env.people["Wen Weber"], env.people["Carl Novak"]
    ask(env, resender, "/pacesetter", "optout", wen)
    try:
        for metric in ("", "prospecting", "conversations month", "wins quarter"):
            assert "Wen Weber" not in ask(env, resender, "/leaderboard", metric, carl)
        assert "Wen Weber" in ask(env, resender, "/leaderboard", "prospecting", wen)
    finally:
        ask(env, resender, "/pacesetter", "optin", wen)


# coaching notes --------------------------------------------------------------------------------


def test_coaching_notes_reach_only_the_manager_chain_and_admins(
    env: RelEnv, resender: Resender
) -> None:
    john = env.people["John Miller"]
    allowed = {"Morgan Lee", "Dana Reyes"}
    for name, user in env.people.items():
        reply = ask(env, resender, "/coach", f"<@{john}|john>", user)
        if name in allowed:
            assert reply.count("Recent notes: 1") == 1 or "openers" in reply, name
        else:
            assert "Recent notes" not in reply and "marker 7f3a" not in reply, name
            assert "managers and Pacesetter admins" in reply, name
    assert "marker 7f3a" not in ask(env, resender, "/coach", f"<@{john}>", OUTSIDER)


def test_a_rep_cannot_open_or_forge_a_note_about_a_peer(env: RelEnv, resender: Resender) -> None:
    carl, morgan, john = (
        env.people["Carl Novak"],
        env.people["Morgan Lee"],
        env.people["John Miller"],
    )
    johns_id = rep_id(env, "john.miller@example.com")
    opened = len(env.slack.calls_to("views.open"))
    replies = len(env.slack.calls_to("response"))
    click = resender.block_action_body(carl, ActionId.OPEN_NOTE_MODAL, str(johns_id))
    assert resender.send(env.sender.app_url, click).ok
    refusal = env.slack.wait_for("response", replies + 1)[-1].body["text"]
    assert "managers" in refusal.lower()
    # the modal as a manager would have it, submitted by the rep
    view = note_view(env, resender, morgan, john)
    notes = rows(env, CoachingNote)
    dms = len(env.slack.calls_to("chat.postMessage"))
    forged = resender.view_submission_body(carl, view, note_values("Carl writes about John"))
    assert resender.send(env.sender.app_url, forged).ok
    told = env.slack.wait_for("chat.postMessage", dms + 1)[-1]
    assert told.body["channel"] == carl and "managers" in told.body["text"].lower()
    settle(env.slack)
    assert rows(env, CoachingNote) == notes
    assert len(env.slack.calls_to("views.open")) == opened + 1  # only Morgan's


def test_the_cli_brief_shows_notes_only_to_the_chain(
    env: RelEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", env.database_url)
    monkeypatch.setenv("PACESETTER_NOW", NOW.isoformat())
    monkeypatch.delenv("PACESETTER_CONFIG", raising=False)

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as done:
            app.main(list(args))
        out = capsys.readouterr()
        return int(done.value.code or 0), out.out + out.err

    code, out = run(
        "coach", "--rep", "john.miller@example.com", "--as", "carl.novak@example.com", "--json"
    )
    assert code == 2 and "not john.miller@example.com's manager" in out
    assert "marker 7f3a" not in out
    code, out = run(
        "coach", "--rep", "john.miller@example.com", "--as", "riley.shah@example.com", "--json"
    )
    assert code == 2 and "marker 7f3a" not in out
    code, out = run("coach", "--rep", "john.miller@example.com", "--json")
    assert code == 0 and "marker 7f3a" not in out  # without --as: the brief, no notes
    code, out = run(
        "coach", "--rep", "john.miller@example.com", "--as", "morgan.lee@example.com", "--json"
    )
    assert code == 0 and "marker 7f3a" in out


# managers only -------------------------------------------------------------------------------


def test_a_rep_cannot_start_cancel_or_forge_a_contest(env: RelEnv, resender: Resender) -> None:
    carl, morgan = env.people["Carl Novak"], env.people["Morgan Lee"]
    opened = len(env.slack.calls_to("views.open"))
    for text in ("", "new", "create"):
        assert "Only managers" in ask(env, resender, "/contest", text, carl)
    settle(env.slack)
    assert len(env.slack.calls_to("views.open")) == opened
    # Morgan's modal, submitted by Carl: the dry run is refused, and so is a forged launch.
    view = open_view(env, resender, "/contest", morgan, CallbackId.CONTEST)
    values = contest_values("most", None, "count")
    values[BlockId.CONTEST_NAME][InputId.CONTEST_NAME]["value"] = "Carl's Cup"
    preview = resender.send(env.sender.app_url, resender.view_submission_body(carl, view, values))
    assert preview.json()["response_action"] == "errors"
    assert "Only managers" in json.dumps(preview.json()["errors"])
    good = resender.send(
        env.sender.app_url, resender.view_submission_body(morgan, view, values)
    ).json()
    assert good["response_action"] == "update", good
    dms = len(env.slack.calls_to("chat.postMessage"))
    launch = resender.view_submission_body(carl, {**good["view"], "id": "VFORGED"}, {})
    assert resender.send(env.sender.app_url, launch).ok
    told = env.slack.wait_for("chat.postMessage", dms + 1)[-1]
    assert told.body["channel"] == carl and "Only managers" in told.body["text"]
    settle(env.slack)
    assert rows(env, Contest, col(Contest.name) == "Carl's Cup") == 0


def test_a_rep_cannot_set_goals_even_with_a_forged_modal(env: RelEnv, resender: Resender) -> None:
    carl, morgan, john = (
        env.people["Carl Novak"],
        env.people["Morgan Lee"],
        env.people["John Miller"],
    )
    assert "Only managers" in ask(env, resender, "/goal", "", carl)
    view = open_view(env, resender, "/goal", morgan, CallbackId.GOAL)
    dms = len(env.slack.calls_to("chat.postMessage"))
    forged = resender.view_submission_body(carl, view, goal_values(john, "777"))
    assert resender.send(env.sender.app_url, forged).ok
    told = env.slack.wait_for("chat.postMessage", dms + 1)[-1]
    assert told.body["channel"] == carl and "Only managers" in told.body["text"]
    assert rows(env, Goal, col(Goal.target) == 777) == 0


def test_someone_not_linked_changes_no_nudge_setting(env: RelEnv, resender: Resender) -> None:
    replies = len(env.slack.calls_to("response"))
    with Session(env.rt.engine) as session:
        modes = sorted(
            (r.id, r.nudge_mode, r.snoozed_until) for r in session.exec(select(Rep)).all()
        )
    click = resender.block_action_body(OUTSIDER, NudgeAction.OFF.value, "2026-11-19")
    assert resender.send(env.sender.app_url, click).ok
    reply = env.slack.wait_for("response", replies + 1)[-1].body["text"]
    assert "/pacesetter link" in reply
    with Session(env.rt.engine) as session:
        after = sorted(
            (r.id, r.nudge_mode, r.snoozed_until) for r in session.exec(select(Rep)).all()
        )
    assert after == modes


# signatures ----------------------------------------------------------------------------------


def forged_requests(env: RelEnv, resender: Resender, body: str) -> list[dict[str, str]]:
    """Return header sets Slack never sends for ``body``: each must be refused."""
    now = int(time.time())

    def sign(verifier: Any, at: int) -> str:
        signature = verifier.generate_signature(timestamp=str(at), body=body)
        assert isinstance(signature, str)
        return signature

    good = sign(resender.verifier, now)
    other = Resender(env.slack)
    other.verifier.signing_secret = "not-our-signing-secret"
    return [
        {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=" + "0" * 64},
        {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": sign(other.verifier, now),
        },
        {
            "X-Slack-Request-Timestamp": str(now - 301),
            "X-Slack-Signature": sign(resender.verifier, now - 301),
        },
        {
            "X-Slack-Request-Timestamp": str(now + 600),
            "X-Slack-Signature": sign(resender.verifier, now + 600),
        },
        {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": good.replace("v0=", "v1=")},
        {"X-Slack-Request-Timestamp": str(now + 1), "X-Slack-Signature": good},  # replayed sig
        {"X-Slack-Request-Timestamp": str(now)},
        {},
    ]


def test_unsigned_stale_or_forged_requests_get_401_and_change_nothing(
    env: RelEnv, resender: Resender
) -> None:
    import requests

    morgan, john = env.people["Morgan Lee"], env.people["John Miller"]
    view = open_view(env, resender, "/goal", morgan, CallbackId.GOAL)
    bodies = [
        (
            "application/x-www-form-urlencoded",
            resender.view_submission_body(morgan, view, goal_values(john, "555")),
        ),
        ("application/x-www-form-urlencoded", resender.command_body("/pacesetter", "optout", john)),
        (
            "application/x-www-form-urlencoded",
            resender.block_action_body(john, NudgeAction.OFF.value, "2026-11-19"),
        ),
        (
            "application/json",
            resender.event_body({"type": "app_home_opened", "user": john, "tab": "home"}),
        ),
    ]
    numbers = {b.split("req%3D")[1].split("%")[0].split("&")[0] for _, b in bodies if "req%3D" in b}
    numbers |= {b.split("req=")[1].split("&")[0] for _, b in bodies if "req=" in b}
    assert len(numbers) == 2  # the command's and the button's response_url
    settle(env.slack)
    calls = len(env.slack.calls)
    claims = rows(env, ProcessedRequest)
    for content_type, body in bodies:
        for headers in forged_requests(env, resender, body):
            answer = requests.post(
                env.sender.app_url,
                data=body.encode(),
                headers={"Content-Type": content_type, **headers},
                timeout=10,
            )
            assert answer.status_code == 401, (headers, answer.text)
            assert "Traceback" not in answer.text
    settle(env.slack)
    caused = [
        (c.method, c.body)
        for c in env.slack.calls[calls:]
        if c.body.get("req") in numbers
        or c.body.get("user_id") == john
        or "555" in json.dumps(c.body)
    ]
    assert caused == []  # nothing was sent for any of them
    assert rows(env, ProcessedRequest) == claims
    assert rows(env, Goal, col(Goal.target) == 555) == 0
    with Session(env.rt.engine) as session:
        johns = session.exec(select(Rep).where(Rep.slack_user_id == john)).one()
    assert (johns.public_opt_out, johns.nudge_mode) == (False, "daily")
    # The same bodies, properly signed, do take effect: the refusals above were the signature.
    assert resender.send(env.sender.app_url, bodies[0][1]).ok
    env.slack.wait_for("chat.postMessage", where=lambda c: "555 per week" in c.body.get("text", ""))
