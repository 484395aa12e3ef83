"""Slack resends, duplicate deliveries and double clicks: every side effect happens once.

Each request is a real signed HTTP request; the same body is sent again with Slack's
``X-Slack-Retry-Num`` 1-3, to two app instances sharing one database, and twice at once.
Effects are counted where they land: calls on the fake Slack and rows in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.ids import ActionId, BlockId, CallbackId, InputId
from domain.nudges import NudgeAction
from storage.models import CoachingNote, Contest, Goal, ProcessedRequest, Rep
from tests.bot.test_contest_scenarios import contest_values
from tests.bot.test_scenarios import goal_values
from tests.fakes.slack import Call, FakeSlack
from tests.reliability.conftest import (
    FORM,
    RelEnv,
    Resender,
    running_bot,
    settle,
)

RETRY_REASONS = ("http_timeout", "http_error", "connection_failed")


def count(env: RelEnv, table: Any, *where: Any) -> int:
    """Return how many rows of ``table`` match ``where``."""
    with Session(env.rt.engine) as session:
        return int(session.exec(select(func.count()).select_from(table).where(*where)).one())


def with_resends(resender: Resender, url: str, body: str, content_type: str = FORM) -> None:
    """Deliver ``body`` as Slack does when the acks look lost: once, then retries 1-3."""
    first = resender.send(url, body, content_type)
    assert first.status_code == 200, first.text
    for number, reason in zip((1, 2, 3), RETRY_REASONS, strict=True):
        again = resender.send(url, body, content_type, retry=number, reason=reason)
        assert again.status_code == 200, again.text


def calls_since(slack: FakeSlack, method: str, before: int, where: Callable[[Call], bool]) -> int:
    """Return how many calls of ``method`` matching ``where`` came after the first ``before``."""
    return sum(1 for c in slack.calls_to(method)[before:] if where(c))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelEnv]:
    path = tmp_path_factory.mktemp("retries") / "bot.db"
    with running_bot(f"sqlite:///{path}") as started:
        yield started


@pytest.fixture
def resender(env: RelEnv) -> Resender:
    return Resender(env.slack)


def open_view(
    env: RelEnv, resender: Resender, command: str, user: str, callback: str
) -> dict[str, Any]:
    """Run ``command`` and return the modal it opened."""
    before = len(env.slack.calls_to("views.open"))
    assert resender.send(env.sender.app_url, resender.command_body(command, "", user)).ok
    call = env.slack.wait_for("views.open", before + 1)[-1]
    opened = env.slack.views[call.body["trigger_id"]]  # as Slack stored it, with its id
    assert opened["callback_id"] == callback
    return dict(opened)


# slash commands ------------------------------------------------------------------------------


def test_a_resent_slash_command_answers_once(env: RelEnv, resender: Resender) -> None:
    john = env.people["John Miller"]
    replies = len(env.slack.calls_to("response"))
    charts = len(env.slack.calls_to("files.completeUploadExternal"))
    with_resends(resender, env.sender.app_url, resender.command_body("/mystats", "", john))
    env.slack.wait_for("response", replies + 1)
    env.slack.wait_for("files.completeUploadExternal", charts + 1, timeout=20)
    settle(env.slack)
    assert len(env.slack.calls_to("response")) == replies + 1
    assert len(env.slack.calls_to("files.completeUploadExternal")) == charts + 1


def test_a_resent_goal_command_opens_one_modal(env: RelEnv, resender: Resender) -> None:
    morgan = env.people["Morgan Lee"]
    before = len(env.slack.calls_to("views.open"))
    with_resends(resender, env.sender.app_url, resender.command_body("/goal", "", morgan))
    env.slack.wait_for("views.open", before + 1)
    settle(env.slack)
    assert len(env.slack.calls_to("views.open")) == before + 1


def test_a_retry_that_is_the_first_copy_to_arrive_is_handled(
    env: RelEnv, resender: Resender
) -> None:
    """Retries are dropped by request id, not by header: a lost first attempt is not lost."""
    replies = len(env.slack.calls_to("response"))
    body = resender.command_body("/leaderboard", "prospecting", env.people["Carl Novak"])
    assert resender.send(env.sender.app_url, body, retry=2, reason="http_error").ok
    reply = env.slack.wait_for("response", replies + 1)[-1]
    assert reply.body["text"].startswith("Leaderboard: Prospecting")


# modal submissions ---------------------------------------------------------------------------


def test_a_resent_goal_submission_saves_one_goal_and_one_dm(
    env: RelEnv, resender: Resender
) -> None:
    morgan, john = env.people["Morgan Lee"], env.people["John Miller"]
    view = open_view(env, resender, "/goal", morgan, CallbackId.GOAL)
    body = resender.view_submission_body(morgan, view, goal_values(john, "91"))
    dms = len(env.slack.calls_to("chat.postMessage"))
    with_resends(resender, env.sender.app_url, body)
    env.slack.wait_for("chat.postMessage", dms + 1)
    settle(env.slack)
    assert count(env, Goal, Goal.target == 91, Goal.origin == "slack") == 1
    saved = calls_since(
        env.slack, "chat.postMessage", dms, lambda c: "91 per week" in c.body.get("text", "")
    )
    assert saved == 1


def test_a_corrected_resubmission_of_the_same_modal_still_saves(
    env: RelEnv, resender: Resender
) -> None:
    """Slack keeps the view id after field errors; dedupe must not swallow the fixed copy."""
    morgan, john = env.people["Morgan Lee"], env.people["John Miller"]
    view = open_view(env, resender, "/goal", morgan, CallbackId.GOAL)
    bad = resender.send(
        env.sender.app_url, resender.view_submission_body(morgan, view, goal_values(john, "lots"))
    )
    assert bad.json()["response_action"] == "errors"
    good = resender.send(
        env.sender.app_url, resender.view_submission_body(morgan, view, goal_values(john, "92"))
    )
    assert good.status_code == 200
    env.slack.wait_for("chat.postMessage", where=lambda c: "92 per week" in c.body.get("text", ""))
    assert count(env, Goal, Goal.target == 92) == 1


def test_a_resent_contest_launch_creates_one_contest(env: RelEnv, resender: Resender) -> None:
    morgan = env.people["Morgan Lee"]
    view = open_view(env, resender, "/contest", morgan, CallbackId.CONTEST)
    values = contest_values("most", None)
    values[BlockId.CONTEST_NAME][InputId.CONTEST_NAME]["value"] = "Resend Rally"
    preview = resender.send(
        env.sender.app_url, resender.view_submission_body(morgan, view, values)
    ).json()
    assert preview["response_action"] == "update"
    dry = {**preview["view"], "id": view["id"]}  # Slack keeps the view id on update
    dms = len(env.slack.calls_to("chat.postMessage"))
    with_resends(resender, env.sender.app_url, resender.view_submission_body(morgan, dry, {}))
    env.slack.wait_for("chat.postMessage", dms + 1)
    settle(env.slack)
    assert count(env, Contest, Contest.name == "Resend Rally") == 1
    launched = calls_since(
        env.slack,
        "chat.postMessage",
        dms,
        lambda c: c.body.get("text", "").startswith("Launched contest"),
    )
    assert launched == 1


def note_view(env: RelEnv, resender: Resender, manager: str, rep: str) -> dict[str, Any]:
    """Open the coaching-note modal the way a manager does: /coach, then the button."""
    replies = len(env.slack.calls_to("response"))
    resender.send(env.sender.app_url, resender.command_body("/coach", f"<@{rep}>", manager))
    reply = env.slack.wait_for("response", replies + 1)[-1]
    actions = next(b for b in reply.body["blocks"] if b.get("block_id") == BlockId.COACH_ACTIONS)
    button = next(e for e in actions["elements"] if e["action_id"] == ActionId.OPEN_NOTE_MODAL)
    opened = len(env.slack.calls_to("views.open"))
    resender.send(
        env.sender.app_url,
        resender.block_action_body(manager, button["action_id"], button["value"]),
    )
    call = env.slack.wait_for("views.open", opened + 1)[-1]
    return dict(env.slack.views[call.body["trigger_id"]])


def note_values(text: str) -> dict[str, Any]:
    """Return a filled-in coaching-note modal."""
    return {
        BlockId.NOTE_TEMPLATE: {
            InputId.NOTE_TEMPLATE: {"selected_option": {"value": "one_on_one"}}
        },
        BlockId.NOTE_TEXT: {InputId.NOTE_TEXT: {"type": "plain_text_input", "value": text}},
        BlockId.NOTE_FOLLOW_UP: {InputId.NOTE_FOLLOW_UP: {"selected_date": None}},
    }


def test_a_resent_note_submission_saves_one_note(env: RelEnv, resender: Resender) -> None:
    morgan, john = env.people["Morgan Lee"], env.people["John Miller"]
    view = note_view(env, resender, morgan, john)
    body = resender.view_submission_body(morgan, view, note_values("Resent note, once."))
    dms = len(env.slack.calls_to("chat.postMessage"))
    with_resends(resender, env.sender.app_url, body)
    env.slack.wait_for("chat.postMessage", dms + 1)
    settle(env.slack)
    assert count(env, CoachingNote, CoachingNote.text == "Resent note, once.") == 1
    assert len(env.slack.calls_to("chat.postMessage")) == dms + 1


# button clicks and events --------------------------------------------------------------------


def test_a_resent_nudge_button_changes_the_setting_once_and_answers_once(
    env: RelEnv, resender: Resender
) -> None:
    wen = env.people["Wen Weber"]
    replies = len(env.slack.calls_to("response"))
    body = resender.block_action_body(wen, NudgeAction.WEEKLY.value, "2026-11-19")
    with_resends(resender, env.sender.app_url, body)
    env.slack.wait_for("response", replies + 1)
    settle(env.slack)
    assert len(env.slack.calls_to("response")) == replies + 1
    assert count(env, Rep, Rep.slack_user_id == wen, Rep.nudge_mode == "weekly") == 1


def test_a_resent_app_home_event_publishes_once(env: RelEnv, resender: Resender) -> None:
    carl = env.people["Carl Novak"]
    before = len(env.slack.calls_to("views.publish"))
    body = resender.event_body({"type": "app_home_opened", "user": carl, "tab": "home"})
    with_resends(resender, env.sender.app_url, body, "application/json")
    env.slack.wait_for("views.publish", before + 1)
    settle(env.slack)
    assert len(env.slack.calls_to("views.publish")) == before + 1


def test_a_double_clicked_button_sent_at_once_has_one_effect(
    env: RelEnv, resender: Resender
) -> None:
    sally = env.people["Sally Chen"]
    replies = len(env.slack.calls_to("response"))
    body = resender.block_action_body(sally, NudgeAction.SNOOZE_DAY.value, "2026-11-19")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: resender.send(env.sender.app_url, body), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    env.slack.wait_for("response", replies + 1)
    settle(env.slack)
    assert len(env.slack.calls_to("response")) == replies + 1


def test_a_double_submitted_goal_sent_at_once_saves_one_goal(
    env: RelEnv, resender: Resender
) -> None:
    morgan, carl = env.people["Morgan Lee"], env.people["Carl Novak"]
    view = open_view(env, resender, "/goal", morgan, CallbackId.GOAL)
    body = resender.view_submission_body(morgan, view, goal_values(carl, "93"))
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: resender.send(env.sender.app_url, body), range(3)))
    assert all(a.status_code == 200 for a in answers)
    env.slack.wait_for("chat.postMessage", where=lambda c: "93 per week" in c.body.get("text", ""))
    settle(env.slack)
    assert count(env, Goal, Goal.target == 93) == 1


def test_the_ledger_keeps_one_row_per_request(env: RelEnv) -> None:
    """The claims themselves: every key once (the primary key holds under concurrency)."""
    with Session(env.rt.engine) as session:
        keys = session.exec(select(ProcessedRequest.key)).all()
    assert keys and len(keys) == len(set(keys))


# two instances on one database ---------------------------------------------------------------


def two_instances_deliver_once(env: RelEnv) -> None:
    """Send an event, a command and a goal submission to both instances at once."""
    resender = Resender(env.slack)
    first, second = (i.sender.app_url for i in env.instances)
    morgan, john = env.people["Morgan Lee"], env.people["John Miller"]

    def both(body: str, content_type: str = "application/x-www-form-urlencoded") -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(
                pool.map(lambda url: resender.send(url, body, content_type), (first, second))
            )
        assert [a.status_code for a in answers] == [200, 200]

    publishes = len(env.slack.calls_to("views.publish"))
    both(
        resender.event_body({"type": "app_home_opened", "user": john, "tab": "home"}),
        "application/json",
    )
    replies = len(env.slack.calls_to("response"))
    both(resender.command_body("/mystats", "week", john))
    view = open_view(env, resender, "/goal", morgan, CallbackId.GOAL)
    both(resender.view_submission_body(morgan, view, goal_values(john, "94")))
    env.slack.wait_for("chat.postMessage", where=lambda c: "94 per week" in c.body.get("text", ""))
    settle(env.slack)
    assert len(env.slack.calls_to("views.publish")) == publishes + 1
    assert len(env.slack.calls_to("response")) == replies + 1
    assert count(env, Goal, Goal.target == 94) == 1
    saved = [c for c in env.slack.calls_to("chat.postMessage") if "94 per week" in c.body["text"]]
    assert len(saved) == 1


def test_the_same_requests_to_two_instances_on_sqlite_have_one_effect(tmp_path: Path) -> None:
    with running_bot(f"sqlite:///{tmp_path / 'shared.db'}", instances=2) as env:
        two_instances_deliver_once(env)


@pytest.mark.postgres
def test_the_same_requests_to_two_instances_on_postgresql_have_one_effect(
    postgres_url: str,
) -> None:
    from sqlalchemy import create_engine

    from tests.conftest import truncate_all

    engine = create_engine(postgres_url)
    truncate_all(engine)
    engine.dispose()
    with running_bot(postgres_url, instances=2) as env:
        two_instances_deliver_once(env)


# the ledger itself, on both databases --------------------------------------------------------


def test_only_the_first_of_concurrent_claims_of_a_key_wins(engine: Engine) -> None:
    from datetime import UTC, datetime

    from storage.db import session_scope
    from storage.requests import SqlRequestLedger

    now = datetime(2026, 11, 19, 21, 0, tzinfo=UTC)

    def claim(key: str) -> bool:
        with session_scope(engine) as session:
            return SqlRequestLedger(session).claim(key, now=now)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(claim, ["event:Ev1"] * 8 + ["event:Ev2"] * 8))
    assert results[:8].count(True) == 1 and results[8:].count(True) == 1
    assert claim("event:Ev3") is True and claim("event:Ev3") is False
