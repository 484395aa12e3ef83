"""`/coach @rep` and `/coach` alone (the team at a glance, each rep with an "Open brief" button).

The brief's "Add a coaching note" button, the note modal and its submission live in
listeners/notes.py.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, Respond

from bot import service
from bot.blocks.coach import coach_message, team_message
from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.ids import ActionId, Command
from bot.middleware import optional_rep
from bot.parsing import parse_mention


def register(app: App, deps: BotDeps) -> None:
    """Listen for /coach and the team glance's "Open brief" buttons."""

    def coach(command: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        text = (command.get("text") or "").strip()
        first, _, rest = text.partition(" ")
        if not text or first.casefold() == "team":
            team = rest.strip() or None
            view = service.coach_team(deps, optional_rep(context), team)
            respond(response_type="ephemeral", **team_message(view).as_kwargs())
            return
        target = parse_mention(text)
        brief = service.coach_brief(deps, optional_rep(context), target)
        respond(response_type="ephemeral", **coach_message(brief, deps.kpi_labels).as_kwargs())

    def open_brief(body: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        rep_id = int(body["actions"][0]["value"])
        brief = service.coach_brief(deps, optional_rep(context), None, rep_id=rep_id)
        message = coach_message(brief, deps.kpi_labels)
        respond(response_type="ephemeral", replace_original=False, **message.as_kwargs())

    app.command(Command.COACH)(ack=acknowledge, lazy=[after_ack(coach)])
    app.action(ActionId.OPEN_BRIEF)(ack=acknowledge, lazy=[after_ack(open_brief)])
