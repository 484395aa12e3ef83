"""`/coach @rep`, its "Add a coaching note" button, and the note modal's submission."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import service
from bot.blocks.coach import coach_message
from bot.blocks.modals import note_modal
from bot.blocks.replies import note_saved_message
from bot.delivery import dm
from bot.deps import BotDeps
from bot.ids import ActionId, BlockId, CallbackId, Command, InputId
from bot.middleware import optional_rep
from bot.parsing import parse_date, parse_mention


def register(app: App, deps: BotDeps) -> None:
    """Listen for /coach, the note button and the note modal."""

    @app.command(Command.COACH)
    def coach(ack: Ack, command: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        ack()
        target = parse_mention(command.get("text"))
        brief = service.coach_brief(deps, optional_rep(context), target)
        respond(response_type="ephemeral", **coach_message(brief).as_kwargs())

    @app.action(ActionId.OPEN_NOTE_MODAL)
    def open_note(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        ack()
        rep_id = int(body["actions"][0]["value"])
        rep = service.note_target(deps, optional_rep(context), rep_id)
        client.views_open(trigger_id=body["trigger_id"], view=note_modal(rep))

    @app.view(CallbackId.COACHING_NOTE)
    def save_note(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        ack()
        values = view["state"]["values"]
        rep_id = int(json.loads(view["private_metadata"])["rep_id"])
        template = values[BlockId.NOTE_TEMPLATE][InputId.NOTE_TEMPLATE]["selected_option"]["value"]
        text = values[BlockId.NOTE_TEXT][InputId.NOTE_TEXT]["value"] or ""
        follow_up = parse_date(
            values[BlockId.NOTE_FOLLOW_UP][InputId.NOTE_FOLLOW_UP].get("selected_date")
        )
        viewer = optional_rep(context)
        service.save_note(
            deps, viewer, rep_id=rep_id, template_key=template, text=text, follow_up_on=follow_up
        )
        rep = service.note_target(deps, viewer, rep_id)
        dm(
            client,
            body["user"]["id"],
            note_saved_message(rep, follow_up.isoformat() if follow_up else None),
        )
