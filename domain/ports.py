"""The ports: protocols that connectors and storage implement for the domain's callers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from domain.kpis import KpiDefinition
from domain.records import CrmObject, CrmRecord


@dataclass(frozen=True, slots=True)
class SyncPage:
    """One page of a source: records to upsert, ids deleted in the CRM, and the cursor after it.

    The sync job stores the records, applies the deletions and saves ``cursor`` in one
    transaction, so resuming from the saved cursor never loses or duplicates a record.
    ``cursor`` None means "leave the stored cursor as it is".
    """

    object: CrmObject
    records: Sequence[CrmRecord] = ()
    deleted_ids: Sequence[str] = ()
    cursor: str | None = None
    api_calls: int = 0


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """What `pacesetter doctor` reports about one CRM source."""

    source: str
    configured: bool
    ok: bool
    detail: str
    extra: dict[str, str] = field(default_factory=dict)


class CrmSource(Protocol):
    """A CRM that yields normalized records incrementally, page by page."""

    name: str

    def objects(self) -> Sequence[CrmObject]:
        """Return the objects this source syncs, owners first."""
        ...

    def pages(
        self, obj: CrmObject, cursor: str | None, *, full: bool = False
    ) -> Iterator[SyncPage]:
        """Yield pages of ``obj`` changed since ``cursor`` (everything when ``full``)."""
        ...

    def check(self) -> SourceCheck:
        """Say whether the source is configured and reachable, for `pacesetter doctor`."""
        ...


class SourceError(RuntimeError):
    """A CRM failed in a way a person must act on (bad login, unreachable, kept failing).

    Connectors raise subclasses with a message that says what to do; the CLI prints it on one
    line and the sync job records it as the object's last error.
    """


class SyncAborted(Exception):
    """A source stopped cleanly (e.g. the CRM's daily API allowance is nearly spent).

    What was committed stays; the next run resumes from the stored cursor.
    """


@dataclass(frozen=True, slots=True)
class PageStats:
    """What one stored page changed, for the progress bar and the summary line."""

    upserted: int
    deleted: int


class SyncStore(Protocol):
    """Storage as the sync job sees it; one instance lives inside one transaction."""

    def cursor(self, source: str, obj: CrmObject) -> str | None:
        """Return the stored cursor of ``obj`` for ``source``."""
        ...

    def reset_cursors(self, source: str) -> None:
        """Forget every cursor of ``source`` so the next sync is a full one."""
        ...

    def apply_page(self, source: str, page: SyncPage) -> PageStats:
        """Upsert the page's records, apply its deletions and save its cursor."""
        ...

    def record_outcome(
        self, source: str, obj: CrmObject, *, error: str | None, now: datetime
    ) -> None:
        """Record the last success time or the last error of an object's sync."""
        ...

    def rollup_dirty(
        self, definitions: Sequence[KpiDefinition], *, now: datetime, limit: int = 5000
    ) -> int:
        """Recompute the snapshots of up to ``limit`` changed (rep, day) pairs; return how many."""
        ...

    def snapshot_pipeline(self, day: date) -> int:
        """Record every open opportunity's stage and amount for ``day``."""
        ...
