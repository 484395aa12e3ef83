"""`/leaderboard [kpi] [period]`: ranked by percent of goal, with the viewer's neighbourhood."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, Respond

from bot import service
from bot.blocks.leaderboard import leaderboard_message
from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.ids import Command
from bot.middleware import optional_rep
from bot.parsing import parse_board


def register(app: App, deps: BotDeps) -> None:
    """Listen for /leaderboard."""

    def leaderboard(command: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        metrics = [*service.SCORE_LABELS, *deps.kpi_names]
        args = parse_board(command.get("text"), metrics)
        board = service.leaderboard(deps, optional_rep(context), args.metric, args.period)
        respond(response_type="ephemeral", **leaderboard_message(board).as_kwargs())

    app.command(Command.LEADERBOARD)(
        ack=acknowledge, lazy=[after_ack(leaderboard, reads_first=True)]
    )
