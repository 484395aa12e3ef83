"""The App Home tab, published each time someone opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import service
from bot.blocks.home import home_view, unlinked_home_view
from bot.deps import BotDeps
from bot.errors import acknowledge, after_ack
from bot.middleware import optional_rep


def register(app: App, deps: BotDeps) -> None:
    """Listen for app_home_opened."""

    def publish_home(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        rep = optional_rep(context)
        view = home_view(service.home(deps, rep)) if rep else unlinked_home_view()
        client.views_publish(user_id=event["user"], view=view)

    app.event("app_home_opened")(ack=acknowledge, lazy=[after_ack(publish_home)])
