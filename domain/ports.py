"""The ports: protocols that connectors and storage implement for the domain's callers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from domain.attention import FollowUpState
from domain.coaching import NoteDraft, NoteView, SavedNote, Viewer
from domain.contests import Contest, Participant, Status
from domain.funnel import OpportunityPath, StageInfo
from domain.goals import Goal
from domain.kpis import KpiDefinition
from domain.recognition import WonDeal
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

    def apply_page(
        self,
        source: str,
        page: SyncPage,
        definitions: Sequence[KpiDefinition],
        *,
        now: datetime,
    ) -> PageStats:
        """Upsert the page's records, apply its deletions and save its cursor.

        New activities are counted toward the activity KPIs of ``definitions`` in the same
        transaction; other changes mark their (rep, day) pairs for ``rollup_dirty``.
        """
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


# --- Jobs: the delivery outbox, run locks, job runs and Slack posting. ---------------------
# Implemented by storage/outbox.py, storage/locks.py, storage/job_store.py and
# integrations/slack_poster.py; used by jobs/ (which imports none of them).


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message a job wants sent once: ``key`` is unique for good (e.g. nudge:{rep}:{date}).

    ``channel`` is a Slack user id (a DM) or a channel id/name.
    """

    key: str
    channel: str
    text: str
    blocks: Sequence[Mapping[str, object]] = ()
    not_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """An outbox row claimed for sending; ``in_doubt`` means an earlier send may have landed."""

    id: int
    key: str
    channel: str
    text: str
    blocks: list[dict[str, object]]
    attempts: int
    in_doubt: bool
    created_at: datetime


class OutboxStore(Protocol):
    """The outbox as jobs and the dispatcher see it; one instance lives in one transaction."""

    def enqueue(self, messages: Sequence[OutboundMessage], *, now: datetime) -> int:
        """Insert messages whose key is new (ON CONFLICT DO NOTHING); return how many."""
        ...

    def claim(self, *, now: datetime, limit: int, lease: timedelta) -> list[ClaimedDelivery]:
        """Mark up to ``limit`` due rows `sending` until ``now + lease`` and return them.

        A row still `sending` after its lease (its sender stopped) comes back ``in_doubt``.
        Rows another transaction is claiming are skipped, never waited for.
        """
        ...

    def mark_sent(self, delivery_id: int, *, channel: str, ts: str, now: datetime) -> None:
        """Record that Slack stored the message as ``ts`` in ``channel``."""
        ...

    def retry_later(
        self, delivery_id: int, *, not_before: datetime, error: str, in_doubt: bool = False
    ) -> None:
        """Retry a row from ``not_before``; ``in_doubt`` keeps it to be looked up first."""
        ...

    def mark_failed(self, delivery_id: int, *, error: str) -> None:
        """Give up on a row (Slack refused it for good); it is never sent."""
        ...

    def next_due(self) -> datetime | None:
        """Return when the earliest unfinished row may be (re)tried; None when all are done."""
        ...

    def counts(self) -> dict[str, int]:
        """Return how many rows are in each status."""
        ...


class RunLock(Protocol):
    """A lock across processes (and machines sharing the database) around one job's run."""

    def hold(self, name: str, *, timeout: float) -> AbstractContextManager[bool]:
        """Hold the lock ``name`` for the block; yield False if it was not free in ``timeout``."""
        ...


@dataclass(frozen=True, slots=True)
class JobRunInfo:
    """One recorded run of a job for a schedule slot."""

    job_id: str
    slot: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    detail: str | None


class JobRunStore(Protocol):
    """The `JobRun` table: each (job, slot) is claimed once across all instances."""

    def start(
        self, job_id: str, slot: str, *, now: datetime, stale_before: datetime | None = None
    ) -> bool:
        """Claim the slot (insert if absent); False when another run already has it.

        A slot still `running` that started before ``stale_before`` belongs to a runner that
        died mid-run: it is claimed again, so a crash costs one run, not the slot forever.
        """
        ...

    def finish(self, job_id: str, slot: str, *, status: str, detail: str, now: datetime) -> None:
        """Record how a claimed run ended."""
        ...

    def skip(self, job_id: str, slot: str, *, detail: str, now: datetime) -> bool:
        """Record a slot missed beyond the grace window; False if it was already recorded."""
        ...

    def latest(self, job_id: str) -> JobRunInfo | None:
        """Return the most recently started run of ``job_id``."""
        ...

    def prune_request_claims(self, *, now: datetime) -> int:
        """Forget Slack request claims too old for any resend; return how many."""
        ...


@dataclass(frozen=True, slots=True)
class NudgeTarget:
    """A rep who can get nudges: planning inputs plus where and how to address them."""

    rep_id: int
    slack_user_id: str
    name: str
    email: str
    timezone: str | None
    nudge_time: str | None
    nudge_mode: str
    snoozed_until: date | None
    last_sent: date | None
    team: str | None = None
    manager_id: int | None = None


@dataclass(frozen=True, slots=True)
class ManagerTarget:
    """A manager who gets the weekly digest, with the reps reporting to them."""

    rep_id: int
    slack_user_id: str
    name: str
    timezone: str | None
    report_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A coaching note's follow-up that is due."""

    rep_id: int
    rep_name: str
    due: date
    text: str


class NudgeStore(Protocol):
    """What nudges, digests and the snapshot job read and change outside the outbox."""

    def nudge_targets(self, *, sent_since: datetime) -> list[NudgeTarget]:
        """Return active sellers with a Slack id, with the local date of their last nudge."""
        ...

    def managers(self) -> list[ManagerTarget]:
        """Return active managers with a Slack id and at least one active report."""
        ...

    def follow_ups_due(self, manager_id: int, *, until: date) -> list[FollowUp]:
        """Return the manager's open coaching follow-ups due on or before ``until``."""
        ...

    def has_history(self, rep_ids: Sequence[int]) -> set[int]:
        """Return which of ``rep_ids`` have any daily snapshot at all."""
        ...

    def set_nudge_preferences(
        self, rep_id: int, *, mode: str | None = None, snoozed_until: date | None = None
    ) -> None:
        """Change a rep's nudge mode and/or snooze (what the nudge buttons do)."""
        ...

    def freeze_past_days(self, *, now: datetime, org_timezone: str) -> int:
        """Mark every snapshot before its rep's local today frozen; return how many changed."""
        ...


@dataclass(frozen=True, slots=True)
class Posted:
    """Where Slack stored a message."""

    channel: str
    ts: str


class RateLimited(Exception):
    """Slack answered 429; wait ``retry_after`` seconds before the next post."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited; retry after {retry_after:g}s")
        self.retry_after = retry_after


class DeliveryUncertain(Exception):
    """The post may have landed (connection lost after sending); look it up, never resend blind."""


class DeliveryRejected(Exception):
    """Slack refused the post; ``permanent`` errors (e.g. channel_not_found) are not retried."""

    def __init__(self, error: str, *, permanent: bool) -> None:
        super().__init__(error)
        self.error = error
        self.permanent = permanent


class SlackPoster(Protocol):
    """Posting scheduled messages to Slack and finding one that may already be there."""

    def post(
        self, channel: str, *, text: str, blocks: Sequence[Mapping[str, object]], key: str
    ) -> Posted:
        """Post a message carrying ``key`` in its metadata; raise the errors above."""
        ...

    def find(self, channel: str, *, key: str, since: datetime) -> Posted | None:
        """Return the message carrying ``key`` posted to ``channel`` since ``since``, if any."""
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

    def save_note(
        self,
        draft: NoteDraft,
        *,
        manager_id: int,
        scorecard: dict[str, object] | None,
        now: datetime,
    ) -> SavedNote:
        """Store a note once per ``draft.submission_key``; say whether this call created it."""
        ...

    def notes_about(self, rep_id: int, viewer: Viewer, limit: int | None = None) -> list[NoteView]:
        """Return the notes about ``rep_id`` that ``viewer`` may read, newest first."""
        ...

    def note(self, note_id: int, viewer: Viewer) -> NoteView | None:
        """Return one note if ``viewer`` may read it (None: missing or not theirs to read)."""
        ...

    def written_by(self, manager_id: int, limit: int) -> list[NoteView]:
        """Return the latest notes ``manager_id`` wrote, newest first."""
        ...

    def open_follow_ups(self, manager_id: int, limit: int) -> list[NoteView]:
        """Return the open follow-ups on notes ``manager_id`` wrote, soonest due first."""
        ...

    def mark_done(self, note_id: int, viewer: Viewer, *, now: datetime) -> bool | None:
        """Mark a follow-up done: True if this call did it, False if it was already done,
        None if ``viewer`` may not (or the note does not exist)."""
        ...


@dataclass(frozen=True, slots=True)
class FollowUpDue:
    """An open follow-up whose DM may be due: the note, and where and when to send it."""

    note: NoteView
    rep: RepProfile
    manager_slack_id: str
    manager_timezone: str | None


class FollowUpStore(Protocol):
    """What the `followups` job reads and records."""

    def follow_ups_to_remind(self, *, until: date) -> list[FollowUpDue]:
        """Return open follow-ups due by ``until`` not yet reminded for their date."""
        ...

    def mark_reminded(self, note_id: int, due: date) -> None:
        """Record that the DM for ``note_id``'s follow-up on ``due`` was queued."""
        ...


# --- Contests and recognition (storage/contests.py; used by jobs/contests.py and the bot). ---


@dataclass(frozen=True, slots=True)
class ContestEventRecord:
    """Something that happened to a contest, stored once under its unique key."""

    contest_id: int
    key: str
    kind: str
    at: datetime
    data: Mapping[str, object]


class ContestStore(Protocol):
    """Contests, their events, and the reads that score them; one instance per transaction."""

    def people(self) -> list[Participant]:
        """Return the active sellers who can take part, with their Slack ids and opt-outs."""
        ...

    def add_contest(self, contest: Contest, *, now: datetime) -> Contest:
        """Store a launched contest (rules and launch snapshot frozen) and return it with its id."""
        ...

    def contest(self, contest_id: int) -> Contest | None:
        """Return one contest."""
        ...

    def contests(self, *, statuses: Sequence[Status] | None = None) -> list[Contest]:
        """Return contests, newest first, optionally only in ``statuses``."""
        ...

    def set_status(self, contest_id: int, status: Status) -> None:
        """Move a contest to ``status`` (its rules never change)."""
        ...

    def daily_values(
        self, rep_ids: Sequence[int], rng: DateRange, *, kpi: str
    ) -> dict[int, dict[date, float]]:
        """Return rep -> day -> value of ``kpi`` over ``rng``, read from the daily snapshots."""
        ...

    def add_event(
        self, contest_id: int, *, key: str, kind: str, at: datetime, data: Mapping[str, object]
    ) -> bool:
        """Record an event unless its key exists; return whether it was new."""
        ...

    def events(self, contest_id: int, *, kind: str | None = None) -> list[ContestEventRecord]:
        """Return a contest's events in the order they happened."""
        ...

    def won_deals(self, *, since: date, min_amount: float) -> list[WonDeal]:
        """Return deals won on or after ``since`` with an amount of at least ``min_amount``."""
        ...

    def data_as_of(self) -> datetime | None:
        """Return when the oldest object's last successful sync finished."""
        ...


# --- Coaching reads: the brief's weekly trends and the team glance (storage/coach_reads.py). --


@dataclass(frozen=True, slots=True)
class OpenPipelineTotal:
    """A rep's open deals: how many and their amount."""

    count: int
    amount: float


class CoachReads(Protocol):
    """Aggregates the coaching brief and the team glance read, each one SQL query."""

    def bucket_totals(
        self,
        rep_ids: Sequence[int],
        buckets: Sequence[DateRange],
        *,
        kpis: Sequence[str] | None = None,
    ) -> dict[int, dict[str, list[float]]]:
        """Return rep -> kpi -> one sum per bucket (same order; zero when nothing happened)."""
        ...

    def open_pipeline(self, rep_ids: Sequence[int]) -> dict[int, OpenPipelineTotal]:
        """Return each rep's open (not closed, not deleted) deals' count and amount."""
        ...

    def follow_ups(self, rep_ids: Sequence[int], *, as_of: date) -> dict[int, FollowUpState]:
        """Return each rep's open coaching follow-ups and how many are overdue at ``as_of``."""
        ...
