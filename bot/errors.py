"""The one error handler: domain errors become a friendly ephemeral line; the rest get an id.

Slack never sees a stack trace. An unexpected error is logged with a short error id that the
user is shown, so an admin can find the log line the user quotes.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import dedupe
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


def report(
    error: Exception, body: dict[str, Any], respond: Respond | None, client: WebClient | None
) -> None:
    """Log ``error`` and tell the user: the one place an error becomes a message."""
    text, error_id = message_for(error)
    if error_id is not None:
        log.error("error %s handling %s", error_id, _kind(body), exc_info=error)
    else:
        log.info("refused %s: %s", _kind(body), error)
    try:
        tell_user(text, body, respond, client)
    except (SlackApiError, OSError):
        log.exception("could not tell the user about error %s", error_id or "(domain)")


def register(app: App) -> None:
    """Install the app's single error handler."""

    @app.error
    def handle_error(
        error: Exception, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        report(error, body, respond, client)


Work = Callable[..., None]


def acknowledge(ack: Ack) -> None:
    """Acknowledge at once; the work runs afterwards in a lazy listener."""
    ack()


def after_ack(work: Work, *, reads_first: bool = False) -> Work:
    """Wrap a lazy listener so its errors reach ``report`` like every other listener's.

    Bolt only logs an exception raised in a lazy listener; this sends it through the same
    path as the @app.error handler, so the user hears about it and gets an error id. A copy
    of a request already handled (a Slack retry, a second instance) is skipped here.

    ``reads_first`` is for listeners that change nothing and send nothing before their first
    ``respond()``: their claim is made beside their reads, and ``respond`` waits for it
    (bot/dedupe.py), so a command's answer does not wait for the claim and then the reads.
    """
    wanted = inspect.getfullargspec(work).args

    def run(  # noqa: PLR0917 - Bolt injects listener arguments by position name
        body: dict[str, Any],
        command: dict[str, Any] | None,
        view: dict[str, Any] | None,
        event: dict[str, Any] | None,
        action: dict[str, Any] | None,
        context: BoltContext,
        respond: Respond,
        client: WebClient,
        logger: logging.Logger,
    ) -> None:
        given = locals()
        if reads_first:
            pending = dedupe.claim_in_background(context, body)
            given["respond"] = dedupe.ClaimedRespond(respond, pending)
            try:
                work(**{name: given[name] for name in wanted})
            except dedupe.AlreadyHandled:
                logger.info("skipped a copy of %s already handled", _kind(body))
            except Exception as error:  # reported by the copy that won the claim only
                if dedupe.claim_won(pending):
                    report(error, body, respond, client)
            return
        try:
            if not dedupe.first_delivery(context, body):
                logger.info("skipped a copy of %s already handled", _kind(body))
                return
            work(**{name: given[name] for name in wanted})
        except Exception as error:  # every failure is reported, none escapes silently
            report(error, body, respond, client)

    run.__name__ = run.__qualname__ = f"{work.__module__}.{work.__name__}"
    return run


def _kind(body: dict[str, Any]) -> str:
    return str(body.get("command") or body.get("type") or (body.get("event") or {}).get("type"))
