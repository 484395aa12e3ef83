"""`/goal` and the Home tab's "Set a goal" button open the goal modal; its submission saves."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import service
from bot.blocks.modals import goal_modal
from bot.blocks.replies import goal_saved_message
from bot.delivery import dm
from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.forms import read_goal
from bot.ids import ActionId, CallbackId, Command
from bot.middleware import optional_rep


def register(app: App, deps: BotDeps) -> None:
    """Listen for /goal, the Home button and the goal modal."""

    def open_modal(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        service.check_goal_setter(deps, optional_rep(context))
        kpis = [(name, service.metric_label(deps, name)) for name in deps.kpi_names]
        client.views_open(trigger_id=body["trigger_id"], view=goal_modal(kpis, deps.now().date()))

    def validate(ack: Ack, view: dict[str, Any]) -> None:
        request = read_goal(view["state"]["values"], deps.kpi_names)
        if isinstance(request, dict):
            ack(response_action="errors", errors=request)
        else:
            ack()

    def save_goal(
        body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        request = read_goal(view["state"]["values"], deps.kpi_names)
        if isinstance(request, dict):
            return
        goal = service.set_goal(deps, optional_rep(context), request)
        dm(
            client,
            body["user"]["id"],
            goal_saved_message(goal, service.metric_label(deps, goal.kpi)),
        )

    app.command(Command.GOAL)(ack=acknowledge, lazy=[after_ack(open_modal)])
    app.action(ActionId.OPEN_GOAL_MODAL)(ack=acknowledge, lazy=[after_ack(open_modal)])
    app.view(CallbackId.GOAL)(ack=validate, lazy=[after_ack(save_goal)])
