"""The sync job: pull each object of a source page by page, committing records and cursor together.

A crash at any point leaves the database at the end of the last committed page; the next run
resumes from that page's cursor. Upserts by natural key make replaying a page harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from domain.kpis import KpiDefinition
from domain.ports import CrmSource, PageStats, SyncAborted, SyncStore
from domain.records import CrmObject

log = logging.getLogger(__name__)

UnitOfWork = Callable[[], AbstractContextManager[SyncStore]]
Progress = Callable[[CrmObject, PageStats], None]


@dataclass(slots=True)
class ObjectSummary:
    """Counts for one object of one sync."""

    pages: int = 0
    upserted: int = 0
    deleted: int = 0


@dataclass(slots=True)
class SyncSummary:
    """What a sync did, for the one-line summary and for `jobs`."""

    source: str
    objects: dict[str, ObjectSummary] = field(default_factory=dict)
    api_calls: int = 0
    # Rep-days recomputed plus snapshot values that counts of new activities were added to.
    rolled_up: int = 0
    seconds: float = 0.0
    stopped: str | None = None

    @property
    def upserted(self) -> int:
        """Return the records stored across all objects."""
        return sum(o.upserted for o in self.objects.values())

    @property
    def deleted(self) -> int:
        """Return the deletions applied across all objects."""
        return sum(o.deleted for o in self.objects.values())

    def line(self) -> str:
        """Return the one-line summary printed when not on a terminal."""
        parts = ", ".join(f"{name} {o.upserted}" for name, o in self.objects.items())
        text = (
            f"sync {self.source}: {self.upserted} records ({parts}), {self.deleted} deletions, "
            f"{self.api_calls} API calls, {self.rolled_up} snapshots rolled up "
            f"in {self.seconds:.1f}s"
        )
        return text + (f"; stopped early: {self.stopped}" if self.stopped else "")


def run_sync(
    source: CrmSource,
    uow: UnitOfWork,
    definitions: Sequence[KpiDefinition],
    *,
    now: Callable[[], datetime],
    full: bool = False,
    progress: Progress | None = None,
) -> SyncSummary:
    """Sync every object of ``source``, then roll the changed (rep, day) pairs up into snapshots.

    Raises what the source raises after recording it; SyncAborted ends the run cleanly.
    """
    started = time.monotonic()
    summary = SyncSummary(source=source.name)
    rollup(uow, definitions, now=now)  # finish a roll-up a crash may have left behind
    if full:
        with uow() as store:
            store.reset_cursors(source.name)
    for obj in source.objects():
        counts = summary.objects.setdefault(obj.value, ObjectSummary())
        with uow() as store:
            cursor = store.cursor(source.name, obj)
        try:
            for page in source.pages(obj, cursor, full=full):
                with uow() as store:
                    stats = store.apply_page(source.name, page, definitions, now=now())
                counts.pages += 1
                counts.upserted += stats.upserted
                counts.deleted += stats.deleted
                summary.api_calls += page.api_calls
                if progress is not None:
                    progress(obj, stats)
        except SyncAborted as exc:
            summary.stopped = str(exc)
            log.warning("sync %s stopped at %s: %s", source.name, obj.value, exc)
            _record(uow, source.name, obj, error=str(exc), now=now())
            break
        except Exception as exc:
            _record(uow, source.name, obj, error=f"{type(exc).__name__}: {exc}", now=now())
            raise
        _record(uow, source.name, obj, error=None, now=now())
    summary.rolled_up = rollup(uow, definitions, now=now)
    with uow() as store:
        store.snapshot_pipeline(now().date())
    summary.seconds = time.monotonic() - started
    log.info("%s", summary.line())
    return summary


def rollup(
    uow: UnitOfWork, definitions: Sequence[KpiDefinition], *, now: Callable[[], datetime]
) -> int:
    """Roll up every pending (rep, day) pair in bounded transactions; return how many."""
    total = 0
    while True:
        with uow() as store:
            done = store.rollup_dirty(definitions, now=now())
        if not done:
            return total
        total += done


def _record(
    uow: UnitOfWork, source: str, obj: CrmObject, *, error: str | None, now: datetime
) -> None:
    with uow() as store:
        store.record_outcome(source, obj, error=error, now=now)
