"""The plain-text fallback of every message reads clearly to a person (notifications, screen
readers, clients without Block Kit): no markup, no raw codes, the key facts in words."""

from __future__ import annotations

import re

from bot import service
from bot.blocks.coach import coach_message
from bot.blocks.common import Message
from bot.blocks.leaderboard import leaderboard_message
from bot.blocks.replies import (
    goal_saved_message,
    help_message,
    linked_message,
    note_saved_message,
    opt_out_message,
)
from bot.blocks.scorecard import scorecard_message
from bot.errors import message_for
from domain.errors import NotLinked
from domain.goals import Goal, Scope
from domain.ports import LinkChange
from domain.timeutil import Period
from tests.bot.conftest import BotEnv

MARKUP = re.compile(r"```|\*\w|\w\*|:[a-z_]+:|\bNone\b|\bnan\b|<!|\{|\}")


def messages(env: BotEnv) -> dict[str, Message]:
    deps = env.rt.bot_deps(env.rt.slack_client())
    with env.rt.bot_read_stores() as stores:
        john = stores.directory.by_slack_id(env.people["John Miller"])
        morgan = stores.directory.by_slack_id(env.people["Morgan Lee"])
    assert john is not None and morgan is not None
    stats = service.my_stats(deps, lambda _stores: john, Period.WEEK)
    board = service.leaderboard(deps, john, "meaningful_conversations", Period.MONTH)
    brief = service.coach_brief(deps, morgan, env.people["John Miller"])
    goal = Goal("prospecting", Period.WEEK, 60, Scope.TEAM, "East")
    return {
        "mystats": scorecard_message(stats.card),
        "leaderboard": leaderboard_message(board),
        "coach": coach_message(brief),
        "help": help_message(),
        "linked": linked_message(john, "U123", LinkChange(john.id, "U123", True, 4)),
        "optout": opt_out_message(True),
        "goal": goal_saved_message(goal, "Prospecting"),
        "note": note_saved_message(john, "2026-11-26"),
    }


def test_fallback_texts_are_plain_sentences_with_the_facts(bot_env: BotEnv) -> None:
    found = messages(bot_env)
    for name, message in found.items():
        print(f"--- {name} ---\n{message.text}\n")
        assert message.text.strip(), name
        assert message.blocks, name
    for name in ("mystats", "leaderboard", "coach", "goal", "note", "linked"):
        assert not MARKUP.search(found[name].text), (name, MARKUP.search(found[name].text))
    mystats = found["mystats"].text
    assert "Prospecting:" in mystats and "of 60" in mystats and "Data as of" in mystats
    assert re.search(r"— (ahead of pace|on track|behind pace|no goal set)", mystats)
    assert "← you" in found["leaderboard"].text
    assert "Questions for your 1:1:" in found["coach"].text
    assert found["goal"].text == "Goal saved: Prospecting 60 per week for team East."


def test_error_texts_say_what_to_do_and_hide_internals() -> None:
    friendly, no_id = message_for(NotLinked())
    assert no_id is None and "/pacesetter link" in friendly
    boom, error_id = message_for(KeyError("rep_id"))
    assert error_id is not None and error_id in boom and "rep_id" not in boom
