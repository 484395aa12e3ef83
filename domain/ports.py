"""The ports: protocols that connectors and storage implement for the domain's callers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from domain.coaching import NoteView, Viewer
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


# --- The Slack surface: who is who, and coaching notes (storage/directory.py, coaching.py). ---


@dataclass(frozen=True, slots=True)
class SlackMember:
    """A Slack workspace member as the directory lookups return them."""

    user_id: str
    email: str | None
    name: str
    timezone: str | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class LinkChange:
    """What linking a rep to a Slack user changed."""

    rep_id: int
    slack_user_id: str
    timezone_changed: bool
    days_marked: int = 0


class SlackDirectory(Protocol):
    """Slack's user directory (users.lookupByEmail, users.info)."""

    def lookup_by_email(self, email: str) -> SlackMember | None:
        """Return the member with ``email``, or None when Slack has no such active member."""
        ...

    def info(self, user_id: str) -> SlackMember | None:
        """Return the member with ``user_id`` (its email and time zone), or None."""
        ...


class Directory(Protocol):
    """Reps as the bot sees them: lookup by Slack id or email, linking, and the hierarchy."""

    def by_slack_id(self, slack_user_id: str) -> RepProfile | None:
        """Return the rep linked to ``slack_user_id``."""
        ...

    def by_email(self, email: str) -> RepProfile | None:
        """Return the rep with ``email`` (case-insensitive)."""
        ...

    def by_id(self, rep_id: int) -> RepProfile | None:
        """Return the rep with id ``rep_id``."""
        ...

    def slack_ids(self, rep_ids: Sequence[int]) -> dict[int, str]:
        """Return the Slack user id of each of ``rep_ids`` that is linked."""
        ...

    def link(self, rep_id: int, slack_user_id: str, timezone: str | None) -> LinkChange:
        """Link a rep to a Slack user and take their zone; a zone change re-dates their days."""
        ...

    def unmatched(self) -> list[RepProfile]:
        """Return active reps with no Slack user linked."""
        ...

    def managers_of(self, rep_id: int) -> list[int]:
        """Return the ids of the rep's managers, nearest first, up the hierarchy."""
        ...

    def reports_of(self, manager_id: int) -> list[RepProfile]:
        """Return the active reps under ``manager_id``, directly or further down."""
        ...

    def set_public_opt_out(self, rep_id: int, opt_out: bool) -> None:
        """Hide (or show again) the rep on public leaderboards."""
        ...


class CoachingStore(Protocol):
    """Coaching notes with the scorecard frozen at the time they were written."""

    def add_note(
        self,
        *,
        manager_id: int,
        rep_id: int,
        template: str,
        text: str,
        scorecard: dict[str, object] | None,
        follow_up_on: date | None,
        now: datetime,
    ) -> int:
        """Store a note and return its id."""
        ...

    def notes_about(self, rep_id: int, viewer: Viewer, limit: int | None = None) -> list[NoteView]:
        """Return the notes about ``rep_id`` that ``viewer`` may read, newest first."""
        ...
