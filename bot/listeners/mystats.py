"""`/mystats [day|week|month|quarter]`: the rep's own scorecard, ephemeral, plus a trend chart;
`/mystats notes`: the coaching notes their managers shared with them."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot import service
from bot.blocks.notes import shared_notes_message
from bot.blocks.scorecard import chart_comment, scorecard_message, title
from bot.charts import render_trend
from bot.delivery import ChartUploader
from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.ids import Command
from bot.middleware import current_rep
from bot.parsing import parse_period


def register(app: App, deps: BotDeps, uploader: ChartUploader) -> None:
    """Listen for /mystats."""

    def mystats(
        command: dict[str, Any], context: BoltContext, respond: Respond, client: WebClient
    ) -> None:
        if (command.get("text") or "").strip().lower() == "notes":
            notes = service.shared_notes(deps, current_rep(context))
            respond(response_type="ephemeral", **shared_notes_message(notes).as_kwargs())
            return
        period = parse_period(command.get("text"))
        stats = service.my_stats(deps, lambda stores: current_rep(context, stores), period)
        respond(response_type="ephemeral", **scorecard_message(stats.card).as_kwargs())
        if deps.charts and uploader.allowed and stats.trend:
            png = render_trend(title(stats.card), stats.trend, stats.card.as_of)
            uploader.upload(client, command["user_id"], png, chart_comment(stats.card))

    app.command(Command.MYSTATS)(ack=acknowledge, lazy=[after_ack(mystats, reads_first=True)])
