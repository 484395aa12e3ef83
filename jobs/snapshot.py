"""The `snapshot` job: after each local midnight, freeze yesterday and keep the pipeline's end.

Every run rolls up what the last syncs changed, marks every snapshot before its rep's local
today frozen, and, once per org day, records the org's previous day's open pipeline
(PipelineSnapshot). It runs hourly, so each time zone's midnight is followed within the hour.
It also forgets Slack request claims older than two days (storage/requests.py).
"""

from __future__ import annotations

from datetime import timedelta

from domain.timeutil import local_day, zone
from jobs.runner import JobContext
from jobs.sync import rollup

PIPELINE_JOB = "snapshot.pipeline"


def run_snapshot(context: JobContext) -> str:
    """Roll up, freeze past days, write yesterday's pipeline snapshot once; return a summary."""
    deps, now = context.deps, context.now
    rolled = 0
    if deps.sync_uow is not None:
        rolled = rollup(deps.sync_uow, deps.definitions, now=deps.now)
    org = deps.config.org.timezone
    yesterday = local_day(now, zone(org)) - timedelta(days=1)
    with deps.unit() as unit:
        frozen = unit.store.freeze_past_days(now=now, org_timezone=org)
        pruned = unit.store.prune_request_claims(now=now)
        pipeline = None
        # Claimed in the same transaction as the rows, so it is written exactly once per day.
        if unit.store.start(PIPELINE_JOB, yesterday.isoformat(), now=now):
            pipeline = unit.sync.snapshot_pipeline(yesterday)
            unit.store.finish(
                PIPELINE_JOB,
                yesterday.isoformat(),
                status="ok",
                detail=f"{pipeline} open opportunities",
                now=now,
            )
    written = (
        f"pipeline of {yesterday} written ({pipeline} open opportunities)"
        if pipeline is not None
        else f"pipeline of {yesterday} already written"
    )
    return (
        f"{rolled} rep-days rolled up, {frozen} snapshot rows frozen, {written}, "
        f"{pruned} old Slack request claims pruned"
    )
