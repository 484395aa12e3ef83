"""`/pacesetter help | optout | optin | link @user email`."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, Respond

from bot import service
from bot.blocks.replies import help_message, linked_message, opt_out_message
from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.ids import Command
from bot.middleware import current_rep, optional_rep
from bot.parsing import parse_email, parse_mention, words
from domain.errors import BadInput

LINK_USAGE = "Use `/pacesetter link @user their.email@company.com`."


def register(app: App, deps: BotDeps) -> None:
    """Listen for /pacesetter."""

    def pacesetter(command: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        parts = words(command.get("text"))
        verb = parts[0].lower() if parts else "help"
        if verb in ("optout", "optin"):
            service.set_opt_out(deps, current_rep(context), verb == "optout")
            reply = opt_out_message(verb == "optout")
        elif verb == "link":
            user, email = parse_mention(" ".join(parts[1:2])), parse_email(" ".join(parts[2:3]))
            if user is None or email is None or len(parts) != 3:
                raise BadInput(LINK_USAGE)
            rep, change = service.link(deps, optional_rep(context), user, email)
            reply = linked_message(rep, user, change)
        else:
            reply = help_message()
        respond(response_type="ephemeral", **reply.as_kwargs())

    app.command(Command.PACESETTER)(ack=acknowledge, lazy=[after_ack(pacesetter)])
