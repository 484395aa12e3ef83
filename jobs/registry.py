"""The table of scheduled jobs: id, schedule (trigger) and function, in one place.

Ids are DESIGN.md's: `sync`, `snapshot`, `nudges`, `digest`, `contests`; and `followups`
(coaching follow-up DMs).
"""

from __future__ import annotations

import math
from datetime import timedelta

from config import AppConfig
from jobs.contests import run_contests_job
from jobs.digest import run_digest
from jobs.followups import run_follow_ups
from jobs.nudges import run_nudges
from jobs.runner import Job, JobContext
from jobs.schedules import EPOCH, Every, Weekly
from jobs.snapshot import run_snapshot
from jobs.sync import run_sync

NUDGE_EVERY_MINUTES = 5
FOLLOW_UPS_EVERY_MINUTES = 15
SNAPSHOT_OFFSET_MINUTES = 5


def sync_interval(config: AppConfig) -> int:
    """Return the sync job's period: the gcd of the per-source intervals, so each is met."""
    minutes = [m for m in config.schedules.sync_minutes.values() if m > 0] or [15]
    return math.gcd(*minutes)


def run_sync_job(context: JobContext) -> str:
    """Sync each source whose own interval (`schedules.sync_minutes`) is due at this slot."""
    deps = context.deps
    if deps.sync_uow is None:
        return "no sync store configured"
    lines = []
    for source in deps.sources():
        every = deps.config.schedules.sync_minutes.get(source.name, sync_interval(deps.config))
        if not context.manual and context.slot_at is not None:
            offset = (context.slot_at - EPOCH) // timedelta(minutes=1)
            if every > 0 and offset % every:
                continue
        summary = run_sync(source, deps.sync_uow, deps.definitions, now=deps.now)
        lines.append(summary.line())
    return "; ".join(lines) or "no source due at this slot"


def build_jobs(config: AppConfig) -> list[Job]:
    """Return the job table for ``config``."""
    schedules = config.schedules
    return [
        Job(
            "sync",
            Every(sync_interval(config)),
            run_sync_job,
            "Pull CRM changes (each source every schedules.sync_minutes[source] min)",
            changes_data=True,
        ),
        Job(
            "snapshot",
            Every(60, offset=SNAPSHOT_OFFSET_MINUTES),
            run_snapshot,
            "Roll up, freeze days past each rep's midnight, keep yesterday's pipeline",
            changes_data=True,
        ),
        Job(
            "nudges",
            Every(NUDGE_EVERY_MINUTES),
            run_nudges,
            f"DM each rep at their local nudge time (default {schedules.nudge_time:%H:%M})",
            delivers=True,
        ),
        Job(
            "digest",
            Weekly(schedules.digest_weekday, schedules.digest_time, config.org.timezone),
            run_digest,
            "Weekly manager digest: team pacing, who is behind, follow-ups due",
            delivers=True,
        ),
        Job(
            "contests",
            Every(config.contests.job_minutes),
            run_contests_job,
            "Contest standings, winners (after a final sync), corrections; recognition posts",
            delivers=True,
        ),
        Job(
            "followups",
            Every(FOLLOW_UPS_EVERY_MINUTES),
            run_follow_ups,
            "DM managers their coaching follow-ups on the due date, at their local morning",
            delivers=True,
        ),
    ]
