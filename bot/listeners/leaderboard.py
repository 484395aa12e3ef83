"""`/leaderboard [kpi] [period]`: ranked by percent of goal, with the viewer's neighbourhood."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot import service
from bot.blocks.leaderboard import leaderboard_message
from bot.deps import BotDeps
from bot.ids import Command
from bot.middleware import optional_rep
from bot.parsing import parse_board


def register(app: App, deps: BotDeps) -> None:
    """Listen for /leaderboard."""

    @app.command(Command.LEADERBOARD)
    def leaderboard(
        ack: Ack, command: dict[str, Any], context: BoltContext, respond: Respond
    ) -> None:
        ack()
        metrics = [*service.SCORE_LABELS, *deps.kpi_names]
        args = parse_board(command.get("text"), metrics)
        board = service.leaderboard(deps, optional_rep(context), args.metric, args.period)
        respond(response_type="ephemeral", **leaderboard_message(board).as_kwargs())
