"""APScheduler 3.x wiring: each job of the table on its trigger, plus the outbox dispatcher.

APScheduler keeps its jobs in memory only: correctness lives in the database (`JobRun` slots,
`Delivery` keys, run locks), so any number of schedulers may run, and a restart catches up
from the `JobRun` table instead of from APScheduler's state.
"""

from __future__ import annotations

import logging
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from jobs.runner import Runner

log = logging.getLogger(__name__)
DELIVER_EVERY_SECONDS = 20


def configure(scheduler: BaseScheduler, runner: Runner) -> BaseScheduler:
    """Add every job of ``runner`` and the dispatcher to ``scheduler``."""
    grace = runner.deps.config.schedules.catch_up_grace_minutes * 60
    for job in runner.jobs.values():
        scheduler.add_job(
            runner.fire,
            trigger=job.schedule.trigger(),
            args=[job.id],
            id=job.id,
            name=job.description,
            misfire_grace_time=grace or None,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    scheduler.add_job(
        runner.deliver,
        trigger=IntervalTrigger(seconds=DELIVER_EVERY_SECONDS),
        id="deliver",
        name="Send what the outbox holds",
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    return scheduler


def start_scheduler(runner: Runner) -> BackgroundScheduler:
    """Start the jobs in background threads (what `pacesetter run` calls beside the bot)."""
    scheduler = BackgroundScheduler(timezone="UTC")
    configure(scheduler, runner)
    scheduler.start()
    threading.Thread(target=_catch_up, args=(runner,), name="catch-up", daemon=True).start()
    return scheduler


def run_worker(runner: Runner) -> None:
    """Catch up, then run the jobs in the foreground until interrupted (`pacesetter worker`)."""
    _catch_up(runner)
    scheduler = BlockingScheduler(timezone="UTC")
    configure(scheduler, runner)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("worker stopped")


def _catch_up(runner: Runner) -> None:
    for result in runner.catch_up():
        log.info("catch-up: %s", result.line())
