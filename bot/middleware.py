"""Bolt middleware: make the current rep (or None) available in the context of every request.

The rep is looked up when a listener first asks (`current_rep` / `optional_rep`), not before
the acknowledgement: most listeners only need it in their lazy part, after Slack has its ack.
The lookup reads the database without waiting on writers, so a sync in progress never holds
up an answer; a listener that reads anyway can pass its unit of work's stores, so the lookup
costs no transaction of its own. A Slack user not linked yet is matched once by the email
Slack has for them; that costs one users.info call, after which the link is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from bot.deps import BotDeps, Stores
from domain.errors import NotLinked
from domain.ports import RepProfile

log = logging.getLogger(__name__)
REP_KEY = "rep"
RESOLVER_KEY = "rep_resolver"


def current_rep(context: BoltContext, stores: Stores | None = None) -> RepProfile:
    """Return the rep making the request, or raise NotLinked.

    ``stores``, when given, is the caller's open unit of work, read instead of a new one.
    """
    rep = optional_rep(context, stores)
    if rep is None:
        raise NotLinked()
    return rep


def optional_rep(context: BoltContext, stores: Stores | None = None) -> RepProfile | None:
    """Return the rep making the request, or None when they are not linked (looked up once)."""
    if REP_KEY not in context:
        resolver = context.get(RESOLVER_KEY)
        context[REP_KEY] = resolver(stores) if isinstance(resolver, RepResolver) else None
    rep = context.get(REP_KEY)
    return rep if isinstance(rep, RepProfile) else None


def resolve_rep(deps: BotDeps, user_id: str, stores: Stores | None = None) -> RepProfile | None:
    """Return the rep linked to ``user_id``, linking them by their Slack email the first time."""
    if stores is not None:
        rep = stores.directory.by_slack_id(user_id)
    else:
        with deps.read_uow() as read:
            rep = read.directory.by_slack_id(user_id)
    if rep is not None:
        return rep
    member = deps.slack_directory.info(user_id)
    if member is None or not member.email:
        return None
    with deps.uow() as write:
        rep = write.directory.by_email(member.email)
        if rep is None:
            return None
        write.directory.link(rep.id, user_id, member.timezone)
        log.info("linked rep %s to Slack user %s by email", rep.id, user_id)
        return write.directory.by_id(rep.id)


class RepResolver:
    """Looks the requesting rep up on first use; shared, not copied, with lazy listeners.

    Bolt deep-copies the context for each lazy listener; the resolver holds the app's deps
    (engines, clients), which must be shared, so a copy is the same resolver.
    """

    def __init__(self, deps: BotDeps, user_id: str) -> None:
        self.deps = deps
        self.user_id = user_id

    def __call__(self, stores: Stores | None = None) -> RepProfile | None:
        return resolve_rep(self.deps, self.user_id, stores)

    def __deepcopy__(self, memo: dict[int, Any]) -> RepResolver:
        return self


def register(app: App, deps: BotDeps) -> None:
    """Install the current-rep middleware."""

    @app.middleware
    def inject_rep(context: BoltContext, next: Callable[[], BoltResponse]) -> Any:
        user_id = context.user_id
        if user_id:
            context[RESOLVER_KEY] = RepResolver(deps, user_id)
        return next()
