"""The one error handler: domain errors become a friendly ephemeral line; the rest get an id.

Slack never sees a stack trace. An unexpected error is logged with a short error id that the
user is shown, so an admin can find the log line the user quotes.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from domain.errors import UserFacingError

log = logging.getLogger("pacesetter.bot")
FRIENDLY: tuple[type[Exception], ...] = (UserFacingError,)


def friendly_types() -> tuple[type[Exception], ...]:
    """Return the exception types whose message is written for the user."""
    extra: list[type[Exception]] = []
    try:
        from domain.goals import InvalidGoal

        from domain.kpis import UnknownKpi

        extra = [InvalidGoal, UnknownKpi]
    except ImportError:  # pragma: no cover - the scorecards modules are always present
        pass
    return (*FRIENDLY, *extra)


def message_for(error: Exception) -> tuple[str, str | None]:
    """Return the text to show for ``error`` and the error id (None for a domain error)."""
    if isinstance(error, friendly_types()):
        return f":warning: {error}", None
    error_id = uuid.uuid4().hex[:8]
    return (
        ":boom: Something went wrong on our side and nothing was changed. "
        f"If it keeps happening, tell your Pacesetter admin error id `{error_id}`."
    ), error_id


def tell_user(
    text: str, body: dict[str, Any], respond: Respond | None, client: WebClient | None
) -> None:
    """Show ``text`` to the user: ephemerally through response_url, else by DM."""
    if respond is not None and respond.response_url:
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    if client is not None and user:
        client.chat_postMessage(channel=user, text=text)


def register(app: App) -> None:
    """Install the app's single error handler."""

    @app.error
    def handle_error(
        error: Exception,
        body: dict[str, Any],
        respond: Respond,
        client: WebClient,
        response: BoltResponse | None,
    ) -> None:
        text, error_id = message_for(error)
        if error_id is not None:
            log.error("error %s handling %s", error_id, _kind(body), exc_info=error)
        else:
            log.info("refused %s: %s", _kind(body), error)
        try:
            tell_user(text, body, respond, client)
        except (SlackApiError, OSError):
            log.exception("could not tell the user about error %s", error_id or "(domain)")


def _kind(body: dict[str, Any]) -> str:
    return str(body.get("command") or body.get("type") or (body.get("event") or {}).get("type"))
