"""`/contest`: a modal with a hidden dry run, then launch; `list`, `show NAME`, `cancel NAME`.

The modal's submission is answered with the dry-run view in the acknowledgement itself
(Slack only lets a view_submission's ack replace the view); that costs a few reads on the
read-only engine, well within Slack's 3 seconds. Launching happens after the ack.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import contests, service
from bot.blocks.common import Message
from bot.blocks.contest import (
    contest_list_message,
    contest_modal,
    contest_show_message,
    dry_run_view,
)
from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.ids import BlockId, CallbackId, Command
from bot.middleware import optional_rep
from domain.contests import ContestError
from domain.errors import BadInput, NotAllowed
from domain.timeutil import local_day, zone

METADATA_MAX = 3000  # characters Slack keeps in a view's private_metadata
USAGE = (
    "Try `/contest` (new, managers), `/contest list`, `/contest show NAME` "
    "or `/contest cancel NAME`."
)


def error_block(error: ContestError) -> str:
    """Return the modal block a contest error is shown under."""
    text = str(error).lower()
    for needle, block in (
        ("team", BlockId.CONTEST_TEAM),
        ("goal", BlockId.CONTEST_SCORING),
        ("seller", BlockId.CONTEST_PEOPLE),
        ("linked", BlockId.CONTEST_PEOPLE),
        ("target", BlockId.CONTEST_TARGET),
        ("ends", BlockId.CONTEST_END),
    ):
        if needle in text:
            return block
    return BlockId.CONTEST_NAME


def register(app: App, deps: BotDeps) -> None:
    """Listen for /contest and its two modals."""

    def on_command(
        body: dict[str, Any],
        command: dict[str, Any],
        context: BoltContext,
        respond: Respond,
        client: WebClient,
    ) -> None:
        verb, _, rest = (command.get("text") or "").strip().partition(" ")
        verb, rest = verb.lower(), rest.strip()
        if verb in ("", "new", "create"):
            contests.check_creator(deps, optional_rep(context))
            kpis = [(n, service.metric_label(deps, n)) for n in deps.kpi_names]
            today = local_day(deps.now(), zone(deps.org_timezone))
            client.views_open(trigger_id=body["trigger_id"], view=contest_modal(kpis, today))
        elif verb == "list":
            respond(
                response_type="ephemeral",
                **contest_list_message(contests.listing(deps)).as_kwargs(),
            )
        elif verb == "show" and rest:
            contest, table = contests.show(deps, rest)
            as_of = service_as_of(table.data_as_of, deps)
            respond(
                response_type="ephemeral", **contest_show_message(contest, table, as_of).as_kwargs()
            )
        elif verb == "cancel" and rest:
            done = contests.cancel(deps, optional_rep(context), rest)
            text = f"Canceled contest #{done.id} *{done.rules.name}*; the channel will be told."
            respond(response_type="ephemeral", **Message(text).as_kwargs())
        else:
            raise BadInput(USAGE)

    def preview(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
        form = contests.read_contest(view["state"]["values"])
        if isinstance(form, dict):
            ack(response_action="errors", errors=form)
            return
        try:
            viewer = contests.check_creator(deps, optional_rep(context))
            draft, table = contests.dry_run(deps, viewer, form)
        except ContestError as exc:
            ack(response_action="errors", errors={error_block(exc): str(exc)})
            return
        except NotAllowed as exc:
            ack(response_action="errors", errors={BlockId.CONTEST_NAME: str(exc)})
            return
        metadata = form.dumps()
        if len(metadata) > METADATA_MAX:  # Slack keeps at most this much for the launch
            ack(
                response_action="errors",
                errors={BlockId.CONTEST_PRIZES: "Shorten the prizes or the name and try again."},
            )
            return
        ack(response_action="update", view=dry_run_view(draft, table, metadata))

    def launch(
        body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        viewer = contests.check_creator(deps, optional_rep(context))
        form = contests.ContestForm.loads(view.get("private_metadata") or "{}")
        contest = contests.launch(deps, viewer, form)
        text = (
            f"Launched contest #{contest.id} *{contest.rules.name}*: {contest.rules.describe()}. "
            f"The announcement and standings go to <#{contest.rules.channel}>."
        )
        client.chat_postMessage(channel=body["user"]["id"], text=text)

    app.command(Command.CONTEST)(ack=acknowledge, lazy=[after_ack(on_command)])
    app.view(CallbackId.CONTEST)(preview)
    app.view(CallbackId.CONTEST_LAUNCH)(ack=acknowledge, lazy=[after_ack(launch)])


def service_as_of(data_as_of: Any, deps: BotDeps) -> str:
    """Return 'data as of …' in the org's zone."""
    if data_as_of is None:
        return "data as of: no finished CRM sync yet"
    return f"data as of {data_as_of.astimezone(zone(deps.org_timezone)):%b %-d %H:%M %Z}"
