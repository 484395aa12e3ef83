"""`/contest` over signed HTTP against the fake Slack: modal, hidden dry run, launch, list,
show, cancel; then the contests job's posts delivered through the outbox, each once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session, select

from bot.ids import BlockId, CallbackId, InputId
from domain.ports import OutboxStore
from integrations.slack_poster import WebClientPoster, make_client
from jobs.dispatcher import Dispatcher
from storage.db import session_scope
from storage.models import Contest
from storage.outbox import SqlOutboxStore
from tests.bot.conftest import BotEnv
from tests.bot.test_scenarios import block_texts, command

CHANNEL = "C0SALES"


def contest_values(rule: str, target: str | None, scoring: str = "percent") -> dict[str, Any]:
    def sel(value: str) -> dict[str, Any]:
        return {"selected_option": {"value": value}}

    return {
        BlockId.CONTEST_NAME: {InputId.CONTEST_NAME: {"value": "Bot Blitz"}},
        BlockId.CONTEST_KPI: {InputId.CONTEST_KPI: sel("prospecting")},
        BlockId.CONTEST_RULE: {InputId.CONTEST_RULE: sel(rule)},
        BlockId.CONTEST_TARGET: {InputId.CONTEST_TARGET: {"value": target}},
        BlockId.CONTEST_START: {InputId.CONTEST_START: {"selected_date": "2026-11-16"}},
        BlockId.CONTEST_END: {InputId.CONTEST_END: {"selected_date": "2026-11-20"}},
        BlockId.CONTEST_WHO: {InputId.CONTEST_WHO: sel("all")},
        BlockId.CONTEST_TEAM: {InputId.CONTEST_TEAM: {"value": None}},
        BlockId.CONTEST_PEOPLE: {InputId.CONTEST_PEOPLE: {"selected_users": []}},
        BlockId.CONTEST_SCORING: {InputId.CONTEST_SCORING: sel(scoring)},
        BlockId.CONTEST_TEAMS_COMPETE: {InputId.CONTEST_TEAMS_COMPETE: {"selected_options": []}},
        BlockId.CONTEST_PRIZES: {InputId.CONTEST_PRIZES: {"value": "$300\n$100"}},
        BlockId.CONTEST_CHANNEL: {InputId.CONTEST_CHANNEL: {"selected_channel": CHANNEL}},
    }


def deliver(env: BotEnv) -> None:
    rt = env.rt

    @contextmanager
    def outbox() -> Iterator[OutboxStore]:
        with session_scope(rt.engine) as session:
            yield SqlOutboxStore(session)

    poster = WebClientPoster(make_client("xoxb-test-token", env.slack.api_url))
    Dispatcher(outbox, poster, now=rt.now, sleep=lambda _s: None).drain()


def channel_posts(env: BotEnv) -> list[str]:
    return [
        c.body.get("text", "")
        for c in env.slack.calls_to("chat.postMessage")
        if c.body.get("channel") == CHANNEL
    ]


def test_contest_modal_dry_run_launch_show_and_cancel(bot_env: BotEnv) -> None:
    morgan, john = bot_env.people["Morgan Lee"], bot_env.people["John Miller"]
    refused = command(bot_env, "/contest", "", john)
    assert "Only managers" in refused.body["text"]

    assert bot_env.sender.command("/contest", "", morgan).status_code == 200
    view = bot_env.slack.wait_for(
        "views.open", where=lambda c: c.body["view"]["callback_id"] == CallbackId.CONTEST
    )[-1].body["view"]
    bad = bot_env.sender.view_submission(morgan, view, contest_values("first-to", None))
    assert bad.json()["response_action"] == "errors"
    assert set(bad.json()["errors"]) == {BlockId.CONTEST_TARGET}

    started = time.monotonic()
    preview = bot_env.sender.view_submission(morgan, view, contest_values("most", None))
    assert time.monotonic() - started < 3.0
    answer = preview.json()
    assert answer["response_action"] == "update"
    dry = answer["view"]
    assert dry["callback_id"] == CallbackId.CONTEST_LAUNCH
    text = block_texts(dry)
    assert "If it ended now" in text and "1. " in text
    with Session(bot_env.rt.engine) as session:
        assert session.exec(select(Contest)).all() == []  # the dry run stores nothing

    launched = bot_env.sender.view_submission(morgan, dry, {})
    assert launched.status_code == 200
    bot_env.slack.wait_for(
        "chat.postMessage",
        where=lambda c: (
            c.body.get("channel") == morgan
            and c.body.get("text", "").startswith("Launched contest #")
        ),
    )
    with Session(bot_env.rt.engine) as session:
        (row,) = session.exec(select(Contest)).all()
    assert (row.name, row.scoring, row.channel, row.status) == (
        "Bot Blitz",
        "percent",
        CHANNEL,
        "active",
    )

    listed = command(bot_env, "/contest", "list", john)
    assert "Bot Blitz" in listed.body["text"]
    shown = command(bot_env, "/contest", "show bot blitz", john)
    assert "1. " in shown.body["text"] and "data as of" in shown.body["text"]

    bot_env.rt.run_contests()
    deliver(bot_env)
    bot_env.rt.run_contests()
    deliver(bot_env)
    posts = channel_posts(bot_env)
    assert sum(p.startswith("🏁 New contest: Bot Blitz") for p in posts) == 1
    assert sum(p.startswith("Standings: Bot Blitz") for p in posts) == 1  # 16:00 local

    assert "Only managers" in command(bot_env, "/contest", "cancel Bot Blitz", john).body["text"]
    canceled = command(bot_env, "/contest", "cancel Bot Blitz", morgan)
    assert canceled.body["text"].startswith("Canceled contest #")
    bot_env.rt.run_contests()
    deliver(bot_env)
    bot_env.rt.run_contests()
    deliver(bot_env)
    assert sum("was canceled" in p for p in channel_posts(bot_env)) == 1
    unknown = command(bot_env, "/contest", "show nothing-like-it", morgan)
    assert "No contest 'nothing-like-it'" in unknown.body["text"]
