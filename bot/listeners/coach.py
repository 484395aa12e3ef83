"""`/coach @rep`, `/coach` alone (the team at a glance, each rep with an "Open brief" button),
the "Add a coaching note" button, and the note modal's submission."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot import service
from bot.blocks.coach import coach_message, team_message
from bot.blocks.modals import note_modal
from bot.blocks.replies import note_saved_message
from bot.delivery import dm
from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.ids import ActionId, BlockId, CallbackId, Command, InputId
from bot.middleware import optional_rep
from bot.parsing import parse_date, parse_mention


def register(app: App, deps: BotDeps) -> None:
    """Listen for /coach, the note button and the note modal."""

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

    def open_note(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        rep_id = int(body["actions"][0]["value"])
        rep = service.note_target(deps, optional_rep(context), rep_id)
        client.views_open(trigger_id=body["trigger_id"], view=note_modal(rep))

    def save_note(
        body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        values = view["state"]["values"]
        rep_id = int(json.loads(view["private_metadata"])["rep_id"])
        chosen = values[BlockId.NOTE_TEMPLATE][InputId.NOTE_TEMPLATE]["selected_option"]
        text = values[BlockId.NOTE_TEXT][InputId.NOTE_TEXT]["value"] or ""
        follow_up = parse_date(
            values[BlockId.NOTE_FOLLOW_UP][InputId.NOTE_FOLLOW_UP].get("selected_date")
        )
        rep = service.save_note(
            deps, optional_rep(context), rep_id=rep_id, template_key=chosen["value"],
            text=text, follow_up_on=follow_up,
        )  # fmt: skip
        saved = note_saved_message(rep, follow_up.isoformat() if follow_up else None)
        dm(client, body["user"]["id"], saved)

    app.command(Command.COACH)(ack=acknowledge, lazy=[after_ack(coach)])
    app.action(ActionId.OPEN_BRIEF)(ack=acknowledge, lazy=[after_ack(open_brief)])
    app.action(ActionId.OPEN_NOTE_MODAL)(ack=acknowledge, lazy=[after_ack(open_note)])
    app.view(CallbackId.COACHING_NOTE)(ack=acknowledge, lazy=[after_ack(save_note)])
