"""`/mystats [day|week|month|quarter]`: the rep's own scorecard, ephemeral, plus a trend chart."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import service
from bot.blocks.scorecard import chart_comment, scorecard_message, title
from bot.charts import render_trend
from bot.delivery import ChartUploader
from bot.deps import BotDeps
from bot.ids import Command
from bot.middleware import current_rep
from bot.parsing import parse_period


def register(app: App, deps: BotDeps, uploader: ChartUploader) -> None:
    """Listen for /mystats."""

    @app.command(Command.MYSTATS)
    def mystats(
        ack: Ack, command: dict[str, Any], context: BoltContext, respond: Respond, client: WebClient
    ) -> None:
        ack()
        period = parse_period(command.get("text"))
        rep = current_rep(context)
        stats = service.my_stats(deps, rep, period)
        respond(response_type="ephemeral", **scorecard_message(stats.card).as_kwargs())
        if deps.charts and uploader.allowed and stats.trend:
            png = render_trend(title(stats.card), stats.trend, stats.card.as_of)
            uploader.upload(client, command["user_id"], png, chart_comment(stats.card))
