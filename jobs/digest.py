"""The `digest` job: each manager's weekly digest, queued once per manager per ISO week."""

from __future__ import annotations

from domain.ports import OutboundMessage
from domain.timeutil import local_day, zone
from jobs.messages import digest_message
from jobs.runner import JobContext


def digest_key(manager_id: int, year: int, week: int) -> str:
    """Return the outbox key of a manager's digest for an ISO week."""
    return f"digest:{manager_id}:{year}-W{week:02d}"


def run_digest(context: JobContext) -> str:
    """Queue the weekly digest for every manager with reps; return a summary line."""
    deps, now = context.deps, context.now
    with deps.unit() as unit:
        managers = unit.store.managers()
        writer = deps.writer(unit)
        messages = []
        for manager in managers:
            tz = zone(manager.timezone, deps.config.org.timezone)
            year, week, _ = local_day(now, tz).isocalendar()
            text, blocks = digest_message(writer.digest(manager, now=now))
            messages.append(
                OutboundMessage(
                    key=digest_key(manager.rep_id, year, week),
                    channel=manager.slack_user_id,
                    text=text,
                    blocks=blocks,
                )
            )
        queued = unit.outbox.enqueue(messages, now=now)
    return f"{len(managers)} managers, {queued} digests queued"
