"""Each Slack request has its side effects once, however often it arrives.

Slack resends a request whose acknowledgement it missed (with ``X-Slack-Retry-Num``), the same
event can reach two app instances, and a payload can be submitted twice. Every lazy listener
(the only place the bot writes or posts) first claims the request's key in the shared
database through ``BotDeps.claim_request``; a key already claimed means "done elsewhere".

The key is Slack's own id for the delivery: ``event_id`` for events, ``trigger_id`` for slash
commands and button clicks, and for a modal submission the view id plus a digest of what was
typed (Slack keeps a modal's view id when it answers with field errors, so a corrected
resubmission of the same modal must still go through).

A command that only reads before it answers (`/mystats`, `/leaderboard`) need not wait for its
claim to commit before reading: ``claim_in_background`` starts the claim beside the reads, and
``ClaimedRespond`` holds the answer until the claim is settled, dropping it when the claim was
lost. The claim's round trips and commit then overlap the reads instead of preceding them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.context.respond import Respond

from bot.deps import BotDeps

CLAIM_KEY = "claim_request"
log = logging.getLogger(__name__)
# Claims are short (one insert and a commit): two threads serve every read-first listener.
_claims = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pacesetter-claim")


class AlreadyHandled(Exception):
    """Another copy of this request was handled: this one stops before any effect."""


def request_key(body: dict[str, Any]) -> str | None:
    """Return the key that is the same for every copy of this Slack request, or None."""
    kind = body.get("type")
    if kind == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    if kind == "view_submission":
        view = body.get("view") or {}
        state = json.dumps((view.get("state") or {}).get("values") or {}, sort_keys=True)
        digest = hashlib.sha256(state.encode()).hexdigest()[:32]
        return f"view:{view.get('id')}:{view.get('callback_id')}:{digest}"
    trigger = body.get("trigger_id")
    if body.get("command") and trigger:
        return f"command:{trigger}"
    if kind == "block_actions" and trigger:
        return f"action:{trigger}"
    return None


def first_delivery(context: BoltContext, body: dict[str, Any]) -> bool:
    """Claim this request; return False when another copy of it was already handled."""
    claim = context.get(CLAIM_KEY)
    key = request_key(body)
    if claim is None or key is None:
        return True
    claimed: bool = claim(key)
    return claimed


def claim_in_background(context: BoltContext, body: dict[str, Any]) -> Future[bool]:
    """Start claiming this request beside the caller's reads; the future says if it won."""
    return _claims.submit(first_delivery, context, body)


def claim_won(pending: Future[bool]) -> bool:
    """Wait for a background claim; a claim that failed (database down) counts as won.

    Its error has already reached the listener through ``ClaimedRespond``: the listener is
    then reporting that error, which must reach the user.
    """
    try:
        return pending.result()
    except Exception:
        log.debug("request claim failed", exc_info=True)
        return True


class ClaimedRespond:
    """``respond`` that sends only once the request's claim is won (read-first listeners).

    The first answer waits for the claim: won, it is sent; lost (a copy was handled
    elsewhere), ``AlreadyHandled`` stops the listener; failed, the claim's error is raised
    and reported like any other.
    """

    def __init__(self, respond: Respond, pending: Future[bool]) -> None:
        self.respond = respond
        self.pending = pending
        self.response_url = respond.response_url

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.pending.result():
            raise AlreadyHandled()
        return self.respond(*args, **kwargs)


class Claimer:
    """The ledger's claim function, carried in the context to lazy listeners.

    Bolt deep-copies the context for lazy listeners; the claim function holds the database
    engine, so the copy shares this object instead of trying to copy it.
    """

    def __init__(self, claim: Callable[[str], bool]) -> None:
        self.claim = claim

    def __call__(self, key: str) -> bool:
        return self.claim(key)

    def __deepcopy__(self, memo: dict[int, Any]) -> Claimer:
        return self


def register(app: App, deps: BotDeps) -> None:
    """Hand the request ledger to the listeners through the context."""
    if deps.claim_request is None:
        return
    claimer = Claimer(deps.claim_request)

    @app.middleware
    def offer_claim(context: BoltContext, next: Callable[[], BoltResponse]) -> Any:
        context[CLAIM_KEY] = claimer
        return next()
