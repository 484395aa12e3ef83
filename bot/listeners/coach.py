"""`/coach @rep`, its "Add a coaching note" button, and the note modal's submission."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot import service
from bot.blocks.coach import coach_message
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
        target = parse_mention(command.get("text"))
        brief = service.coach_brief(deps, optional_rep(context), target)
        respond(response_type="ephemeral", **coach_message(brief).as_kwargs())

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
    app.action(ActionId.OPEN_NOTE_MODAL)(ack=acknowledge, lazy=[after_ack(open_note)])
    app.view(CallbackId.COACHING_NOTE)(ack=acknowledge, lazy=[after_ack(save_note)])
