"""`/coach @rep`: the coaching brief (its note button and modal live in listeners/notes.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, Respond

from bot import service
from bot.blocks.coach import coach_message
from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.ids import Command
from bot.middleware import optional_rep
from bot.parsing import parse_mention


def register(app: App, deps: BotDeps) -> None:
    """Listen for /coach."""

    def coach(command: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        target = parse_mention(command.get("text"))
        brief = service.coach_brief(deps, optional_rep(context), target)
        respond(response_type="ephemeral", **coach_message(brief).as_kwargs())

    app.command(Command.COACH)(ack=acknowledge, lazy=[after_ack(coach)])
