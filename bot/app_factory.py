"""Build the Bolt app: one per process, made by app.py from a WebClient and the ports."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import dedupe, errors, middleware
from bot.delivery import ChartUploader
from bot.deps import BotDeps
from bot.listeners import (
    admin,
    coach,
    contest,
    goal,
    home,
    leaderboard,
    mystats,
    notes,
    nudge,
)

LISTENER_THREADS = 4
RATE_LIMIT_RETRIES = 2


def create_app(
    client: WebClient,
    deps: BotDeps,
    *,
    signing_secret: str | None,
    socket_mode: bool = False,
    verify_token: bool = True,
) -> App:
    """Return the Bolt app with every listener, the current-rep middleware and the error handler.

    Over HTTP every request must carry a valid Slack signature; in Socket Mode requests come
    over Slack's authenticated WebSocket, so there is nothing to sign.
    """
    if not any(isinstance(h, RateLimitErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    app = App(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=not socket_mode,
        # Ack in the request's own thread: the listener pool is busy with lazy work, and an
        # acknowledgement queued behind it would miss Slack's 3 seconds.
        process_before_response=True,
        token_verification_enabled=verify_token,
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="pacesetter-listener"
        ),
        logger=logging.getLogger("pacesetter.bolt"),
    )
    errors.register(app)
    middleware.register(app, deps)
    dedupe.register(app, deps)
    mystats.register(app, deps, ChartUploader())
    leaderboard.register(app, deps)
    coach.register(app, deps)
    notes.register(app, deps)
    goal.register(app, deps)
    home.register(app, deps)
    admin.register(app, deps)
    contest.register(app, deps)
    nudge.register(app, deps)
    return app
