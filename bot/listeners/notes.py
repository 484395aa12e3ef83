"""The coaching-note modal (open, switch template, save) and the follow-up's "Mark done".

Saving is keyed on the modal's view id, so a resent or double submitted form stores one note.
"Mark done" works from the follow-up DM (the message is replaced with its done version) and
from the App Home (the tab is published again).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import service
from bot.blocks.home import home_view
from bot.blocks.modals import note_modal
from bot.blocks.notes import follow_up_done_message
from bot.blocks.replies import note_saved_message
from bot.delivery import dm
from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.forms import read_note
from bot.ids import ActionId, CallbackId, InputId
from bot.middleware import optional_rep
from domain.ports import RepProfile
from domain.timeutil import zone


def submission_key(body: dict[str, Any], view: dict[str, Any]) -> str:
    """Return the key that makes a form's note unique: the team and Slack's view id."""
    team = (body.get("team") or {}).get("id") or view.get("team_id") or ""
    return f"slack:{team}:{view['id']}"


def register(app: App, deps: BotDeps) -> None:
    """Listen for the note button, the template select, the note modal and "Mark done"."""

    def today_for(rep: RepProfile | None) -> date:
        return deps.now().astimezone(zone(rep.timezone if rep else None, deps.org_timezone)).date()

    def open_note(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        rep_id = int(body["actions"][0]["value"])
        rep = service.note_target(deps, optional_rep(context), rep_id)
        client.views_open(trigger_id=body["trigger_id"], view=note_modal(rep))

    def switch_template(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        view = body["view"]
        rep_id = int(json.loads(view["private_metadata"])["rep_id"])
        rep = service.note_target(deps, optional_rep(context), rep_id)
        chosen = body["actions"][0]["selected_option"]["value"]
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=note_modal(rep, chosen))

    def validate(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        draft = read_note(view, today_for(optional_rep(context)), submission_key(body, view))
        if isinstance(draft, dict):
            ack(response_action="errors", errors=draft)
        else:
            ack()

    def save_note(
        body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        viewer = optional_rep(context)
        draft = read_note(view, today_for(viewer), submission_key(body, view))
        if isinstance(draft, dict):
            return
        rep, saved = service.save_note(deps, viewer, draft)
        if saved.created:
            follow_up = draft.follow_up_on.isoformat() if draft.follow_up_on else None
            dm(
                client,
                body["user"]["id"],
                note_saved_message(rep, follow_up, draft.shared_with_rep),
            )

    def mark_done(
        body: dict[str, Any], context: BoltContext, respond: Respond, client: WebClient
    ) -> None:
        viewer = optional_rep(context)
        note_id = int(body["actions"][0]["value"])
        done = service.mark_follow_up_done(deps, viewer, note_id)
        who = viewer.name if viewer else ""
        if (body.get("container") or {}).get("type") == "view":
            assert viewer is not None
            client.views_publish(
                user_id=body["user"]["id"], view=home_view(service.home(deps, viewer))
            )
            return
        message = follow_up_done_message(done, who)
        respond(replace_original=True, **message.as_kwargs())

    app.action(ActionId.OPEN_NOTE_MODAL)(ack=acknowledge, lazy=[after_ack(open_note)])
    app.action(InputId.NOTE_TEMPLATE)(ack=acknowledge, lazy=[after_ack(switch_template)])
    app.view(CallbackId.COACHING_NOTE)(ack=validate, lazy=[after_ack(save_note)])
    app.action(ActionId.FOLLOW_UP_DONE)(ack=acknowledge, lazy=[after_ack(mark_done)])
