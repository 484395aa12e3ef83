"""The job runner: one place that owns a run's slot claim, run lock, timing, logging and errors.

A run first claims its (job, slot) row in `JobRun` (insert if absent), so a slot runs once
across every instance; then it holds the job's run lock so runs of one job never overlap; then
it calls the job function and records how it ended. A slot left `running` by a runner that
died is claimed again once it is older than ``stale_run_after``. After downtime, ``catch_up``
runs each job's last missed slot once if it is within the grace window and records a skip
otherwise.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from config import AppConfig
from domain.kpis import KpiDefinition
from domain.nudges import DueNudge, NudgeContent
from domain.ports import (
    CrmSource,
    JobRunStore,
    ManagerTarget,
    MetricsStore,
    NudgeStore,
    NudgeTarget,
    OutboxStore,
    RunLock,
    SlackPoster,
    SyncStore,
)
from jobs.contests import ContestUow
from jobs.dispatcher import Dispatcher, DispatchPolicy, DispatchSummary
from jobs.messages import DigestContent
from jobs.schedules import Schedule, slot_name

if TYPE_CHECKING:
    from jobs.followups import FollowUpUow

log = logging.getLogger(__name__)


class JobStore(JobRunStore, NudgeStore, Protocol):
    """Job runs and the nudge/digest reads, on one session."""


class JobUnit(Protocol):
    """The stores one job transaction works with; app.py builds it on one session."""

    @property
    def outbox(self) -> OutboxStore:
        """Return the outbox."""
        ...

    @property
    def store(self) -> JobStore:
        """Return job runs and the nudge/digest reads."""
        ...

    @property
    def sync(self) -> SyncStore:
        """Return the sync store (roll-ups, pipeline snapshots)."""
        ...

    @property
    def metrics(self) -> MetricsStore:
        """Return the scorecards' metrics reads."""
        ...


class ContentWriter(Protocol):
    """Turns metrics into what a nudge or digest says (jobs/content.py over scorecards)."""

    def prepare(self, rep_ids: Sequence[int]) -> None:
        """Read what the nudges of ``rep_ids`` need in bulk before they are written."""
        ...

    def nudge(
        self, target: NudgeTarget, due: DueNudge, *, now: datetime, has_history: bool
    ) -> NudgeContent:
        """Return the nudge's content for a rep who is due."""
        ...

    def digest(self, manager: ManagerTarget, *, now: datetime) -> DigestContent:
        """Return a manager's weekly digest content."""
        ...


@dataclass
class JobDeps:
    """Everything job functions need, built by app.py (jobs import no adapters)."""

    config: AppConfig
    definitions: Sequence[KpiDefinition]
    now: Callable[[], datetime]
    unit: Callable[[], AbstractContextManager[JobUnit]]
    lock: RunLock
    writer: Callable[[JobUnit], ContentWriter]
    sources: Callable[[], Sequence[CrmSource]] = tuple
    sync_uow: Callable[[], AbstractContextManager[SyncStore]] | None = None
    poster: Callable[[], SlackPoster | None] = lambda: None
    sleep: Callable[[float], None] = time.sleep
    dispatch: DispatchPolicy = field(default_factory=DispatchPolicy)
    lock_timeout_s: float = 300.0
    stale_run_after: timedelta = timedelta(hours=3)
    contests: ContestUow | None = None
    follow_ups: FollowUpUow | None = None
    after_data_change: Callable[[], None] | None = None

    def outbox(self) -> AbstractContextManager[OutboxStore]:
        """Return a unit of work yielding just the outbox (for the dispatcher)."""
        return _OutboxOnly(self.unit())


class _OutboxOnly:
    def __init__(self, inner: AbstractContextManager[JobUnit]) -> None:
        self.inner = inner

    def __enter__(self) -> OutboxStore:
        return self.inner.__enter__().outbox

    def __exit__(self, *exc: object) -> bool | None:
        return self.inner.__exit__(*exc)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class JobContext:
    """One run: the deps, the instant it runs at, the slot it is for, and whether by hand."""

    deps: JobDeps
    now: datetime
    slot_at: datetime | None
    manual: bool = False


@dataclass(frozen=True, slots=True)
class Job:
    """A row of the job table: id, schedule, function, and whether it queues messages."""

    id: str
    schedule: Schedule
    run: Callable[[JobContext], str]
    description: str
    delivers: bool = False
    changes_data: bool = False


@dataclass(slots=True)
class RunResult:
    """How one run ended."""

    job_id: str
    slot: str
    status: str
    detail: str = ""
    seconds: float = 0.0
    delivered: DispatchSummary | None = None

    def line(self) -> str:
        """Return the one-line summary for logs and the CLI."""
        text = f"{self.job_id} [{self.slot}] {self.status}: {self.detail} ({self.seconds:.1f}s)"
        if self.delivered is not None:
            text += f"; {self.delivered.line()}"
        return text


class Runner:
    """Runs the registered jobs; the scheduler and `pacesetter jobs run` both go through it."""

    def __init__(self, deps: JobDeps, jobs: Sequence[Job]) -> None:
        self.deps = deps
        self.jobs = {job.id: job for job in jobs}

    def job(self, job_id: str) -> Job:
        """Return the job ``job_id`` or raise KeyError listing the known ids."""
        try:
            return self.jobs[job_id]
        except KeyError:
            known = ", ".join(self.jobs)
            raise KeyError(f"no job '{job_id}'; the jobs are: {known}") from None

    def fire(self, job_id: str) -> RunResult:
        """Run the job for its current slot (what the scheduler calls)."""
        job = self.job(job_id)
        return self.run(job_id, slot_at=job.schedule.last_slot(self.deps.now()))

    def run(
        self,
        job_id: str,
        *,
        slot_at: datetime | None = None,
        manual: bool = False,
        deliver_wait_s: float = 0.0,
    ) -> RunResult:
        """Run ``job_id`` once for ``slot_at`` (or by hand), then deliver what it queued."""
        job = self.job(job_id)
        now = self.deps.now()
        slot = (
            f"manual:{now:%Y-%m-%dT%H:%M:%S}:{uuid.uuid4().hex[:8]}"
            if manual or slot_at is None
            else slot_name(slot_at)
        )
        with self.deps.unit() as unit:
            claimed = unit.store.start(
                job.id, slot, now=now, stale_before=now - self.deps.stale_run_after
            )
        if not claimed:
            log.info("%s [%s] already run by another instance", job.id, slot)
            return RunResult(job.id, slot, "already_run", "another run had this slot")
        started = time.monotonic()
        with self.deps.lock.hold(job.id, timeout=self.deps.lock_timeout_s) as got:
            if not got:
                result = RunResult(job.id, slot, "skipped", "run lock busy")
            else:
                result = self._call(job, JobContext(self.deps, now, slot_at, manual), slot)
        result.seconds = time.monotonic() - started
        with self.deps.unit() as unit:
            unit.store.finish(
                job.id, slot, status=result.status, detail=result.detail, now=self.deps.now()
            )
        if job.delivers and result.status == "ok":
            result.delivered = self.deliver(max_wait_s=deliver_wait_s)
        if job.changes_data and result.status == "ok":
            self._after_data_change(job.id)
        log.info("%s", result.line())
        return result

    def _after_data_change(self, job_id: str) -> None:
        """Let the process prepare for the new data (the bot warms its rank tables)."""
        hook = self.deps.after_data_change
        if hook is None:
            return
        try:
            hook()
        except Exception:
            # Only a cache warms here: the job itself succeeded, so its result stands.
            log.exception("after %s: preparing for the new data failed", job_id)

    def _call(self, job: Job, context: JobContext, slot: str) -> RunResult:
        try:
            detail = job.run(context)
        except Exception as exc:
            log.exception("job %s [%s] failed", job.id, slot)
            return RunResult(job.id, slot, "error", f"{type(exc).__name__}: {exc}")
        return RunResult(job.id, slot, "ok", detail)

    def deliver(self, *, max_wait_s: float = 0.0) -> DispatchSummary | None:
        """Send what the outbox holds (None when Slack is not configured)."""
        poster = self.deps.poster()
        if poster is None:
            return None
        dispatcher = Dispatcher(
            self.deps.outbox,
            poster,
            now=self.deps.now,
            sleep=self.deps.sleep,
            policy=self.deps.dispatch,
        )
        return dispatcher.drain(max_wait_s=max_wait_s)

    def catch_up(self) -> list[RunResult]:
        """Run each job's last slot if it was missed within the grace window; log older ones."""
        grace = timedelta(minutes=self.deps.config.schedules.catch_up_grace_minutes)
        results = []
        for job in self.jobs.values():
            now = self.deps.now()
            slot_at = job.schedule.last_slot(now)
            if now - slot_at <= grace:
                result = self.run(job.id, slot_at=slot_at)
                if result.status != "already_run":
                    results.append(result)
                continue
            slot = slot_name(slot_at)
            detail = f"missed by {now - slot_at}, beyond the {grace} catch-up grace"
            with self.deps.unit() as unit:
                recorded = unit.store.skip(job.id, slot, detail=detail, now=now)
            if recorded:
                log.warning("job %s slot %s skipped: %s", job.id, slot, detail)
                results.append(RunResult(job.id, slot, "skipped", detail))
        return results
