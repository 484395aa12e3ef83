"""Each Slack request has its side effects once, however often it arrives.

Slack resends a request whose acknowledgement it missed (with ``X-Slack-Retry-Num``), the same
event can reach two app instances, and a payload can be submitted twice. Every lazy listener
(the only place the bot writes or posts) first claims the request's key in the shared
database through ``BotDeps.claim_request``; a key already claimed means "done elsewhere".

The key is Slack's own id for the delivery: ``event_id`` for events, ``trigger_id`` for slash
commands and button clicks, and for a modal submission the view id plus a digest of what was
typed (Slack keeps a modal's view id when it answers with field errors, so a corrected
resubmission of the same modal must still go through).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from bot.deps import BotDeps

CLAIM_KEY = "claim_request"


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
