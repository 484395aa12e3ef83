"""The ports: protocols that connectors and storage implement for the domain's callers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from domain.funnel import OpportunityPath, StageInfo
from domain.goals import Goal
from domain.kpis import KpiDefinition
from domain.records import CrmObject, CrmRecord
from domain.timeutil import DateRange


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


# --- Scorecards: what goals, pacing, funnel and leaderboards read (storage/metrics.py). ---


@dataclass(frozen=True, slots=True)
class RepProfile:
    """A rep as scorecards see them: identity, team, manager, zone and visibility."""

    id: int
    email: str
    name: str
    team: str | None = None
    manager_id: int | None = None
    timezone: str | None = None
    start_date: date | None = None
    public_opt_out: bool = False
    role: str = "rep"
    active: bool = True


class MetricsStore(Protocol):
    """Aggregated reads over daily snapshots and pipeline history, summed in SQL."""

    def reps(self, *, active_only: bool = True) -> list[RepProfile]:
        """Return the reps, active ones only by default."""
        ...

    def rep_by_email(self, email: str) -> RepProfile | None:
        """Return the rep with ``email`` (case-insensitive)."""
        ...

    def totals(
        self,
        rng: DateRange,
        *,
        kpis: Sequence[str] | None = None,
        rep_ids: Sequence[int] | None = None,
    ) -> dict[int, dict[str, float]]:
        """Return rep -> kpi -> sum of daily values over ``rng``."""
        ...

    def daily(
        self, rep_ids: Sequence[int], rng: DateRange, *, kpis: Sequence[str] | None = None
    ) -> dict[int, dict[str, dict[date, float]]]:
        """Return rep -> kpi -> day -> value over ``rng`` (days without activity absent)."""
        ...

    def stages(self) -> list[StageInfo]:
        """Return every pipeline stage with its order."""
        ...

    def opportunity_paths(self) -> list[OpportunityPath]:
        """Return each live opportunity's furthest open stage, current stage and outcome."""
        ...

    def data_as_of(self) -> datetime | None:
        """Return when the last successful sync finished."""
        ...


class GoalStore(Protocol):
    """Goals as stored: the CLI and Slack add them, the YAML config replaces its own."""

    def goals(self, *, kpi: str | None = None) -> list[Goal]:
        """Return the stored goals, optionally of one KPI."""
        ...

    def add_goal(self, goal: Goal, *, origin: str, created_by: str | None, now: datetime) -> Goal:
        """Store ``goal`` and return it with its id."""
        ...

    def replace_config_goals(self, goals: Sequence[Goal], *, now: datetime) -> int:
        """Replace the goals that came from the YAML config with ``goals``."""
        ...
