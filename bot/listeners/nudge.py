"""The daily nudge's buttons: snooze a day, weekly digest instead, daily again, stop nudges."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt import App, BoltContext, Respond

from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.middleware import current_rep
from domain.nudges import NudgeAction


def register(app: App, deps: BotDeps) -> None:
    """Listen for the nudge buttons the jobs' nudge message carries."""

    def pressed(body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        rep = current_rep(context)
        action = body["actions"][0]
        try:
            nudge_date = date.fromisoformat(str(action.get("value") or ""))
        except ValueError:
            nudge_date = deps.now().date()
        if deps.nudge_action is None:
            text = "Nudge settings can't be changed here yet; ask your Pacesetter admin."
        else:
            text = deps.nudge_action(rep.id, str(action["action_id"]), nudge_date)
        respond(text=text, response_type="ephemeral", replace_original=False)

    for action_id in NudgeAction:
        app.action(action_id.value)(ack=acknowledge, lazy=[after_ack(pressed)])
