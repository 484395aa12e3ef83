"""The tables of DESIGN.md's data model: aware UTC instants, and days in the rep's local zone."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Rep(SQLModel, table=True):
    """A person from the CRM: rep, manager or admin, matched to Slack by email."""

    __table_args__ = (UniqueConstraint("source", "crm_user_id", name="uq_rep_source_crm"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    crm_user_id: str = Field(max_length=64)
    name: str = Field(max_length=255)
    email: str = Field(max_length=320, index=True)
    slack_user_id: str | None = Field(default=None, max_length=32, index=True)
    manager_crm_id: str | None = Field(default=None, max_length=64)
    manager_id: int | None = Field(default=None, foreign_key="rep.id", index=True)
    team: str | None = Field(default=None, max_length=255)
    title: str | None = Field(default=None, max_length=255)
    role: str = Field(default="rep", max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    start_date: date | None = None
    active: bool = True
    public_opt_out: bool = False
    nudge_mode: str = Field(default="daily", max_length=16)
    nudge_time: str | None = Field(default=None, max_length=5)
    snoozed_until: date | None = None


class Activity(SQLModel, table=True):
    """A raw activity fact; which KPI it counts toward is decided by domain.kpis."""

    __table_args__ = (
        UniqueConstraint("source", "crm_id", name="uq_activity_source_crm"),
        Index("ix_activity_rep_day", "rep_id", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    crm_id: str = Field(max_length=64)
    owner_crm_id: str | None = Field(default=None, max_length=64)
    rep_id: int | None = Field(default=None, foreign_key="rep.id")
    kind: str = Field(max_length=16)
    occurred_at: datetime | None = None
    day: date | None = None
    duration_s: int | None = None
    direction: str | None = Field(default=None, max_length=16)
    outcome: str | None = Field(default=None, max_length=64)
    contact_title: str | None = Field(default=None, max_length=255)
    opportunity_crm_id: str | None = Field(default=None, max_length=64)
    is_deleted: bool = False
    modified_at: datetime | None = None


class Opportunity(SQLModel, table=True):
    """An opportunity or deal in its latest known state."""

    __table_args__ = (
        UniqueConstraint("source", "crm_id", name="uq_opportunity_source_crm"),
        Index("ix_opportunity_rep", "rep_id", "created_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    crm_id: str = Field(max_length=64)
    owner_crm_id: str | None = Field(default=None, max_length=64)
    rep_id: int | None = Field(default=None, foreign_key="rep.id")
    name: str = Field(max_length=255)
    amount: float | None = None
    stage: str = Field(max_length=128)
    stage_order: int | None = None
    pipeline: str = Field(default="default", max_length=64)
    created_at: datetime
    created_day: date | None = None
    close_date: date | None = None
    is_closed: bool = False
    is_won: bool = False
    is_deleted: bool = False
    modified_at: datetime | None = None


class PipelineStage(SQLModel, table=True):
    """A stage's position in its pipeline, to tell an advance from a step back."""

    __table_args__ = (
        UniqueConstraint("source", "pipeline", "stage", name="uq_stage_source_pipeline"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    pipeline: str = Field(max_length=64)
    stage: str = Field(max_length=128)
    order: int
    is_closed: bool = False
    is_won: bool = False
    probability: float | None = None


class StageChange(SQLModel, table=True):
    """One stage move of an opportunity (from history, or inferred from daily snapshots)."""

    __table_args__ = (
        UniqueConstraint("source", "crm_id", name="uq_stage_change_source_crm"),
        Index("ix_stage_change_opp", "source", "opportunity_crm_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    crm_id: str = Field(max_length=96)
    opportunity_crm_id: str = Field(max_length=64)
    from_stage: str | None = Field(default=None, max_length=128)
    to_stage: str = Field(max_length=128)
    changed_at: datetime
    inferred: bool = False
    is_deleted: bool = False


class DailySnapshot(SQLModel, table=True):
    """A KPI value for a rep on a local day; past days are frozen, today is kept current."""

    __table_args__ = (
        UniqueConstraint("rep_id", "day", "kpi", name="uq_snapshot_rep_day_kpi"),
        Index("ix_snapshot_day_kpi", "day", "kpi"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rep_id: int = Field(foreign_key="rep.id")
    day: date
    kpi: str = Field(max_length=64)
    value: float
    frozen: bool = False


class DirtyDay(SQLModel, table=True):
    """A (rep, day) whose raw facts changed and whose snapshot must be rolled up again."""

    rep_id: int = Field(primary_key=True)
    day: date = Field(primary_key=True)


class SnapshotIncrement(SQLModel, table=True):
    """Counts new activities add to a (rep, day, KPI), waiting to be added to its snapshot.

    A page of new activities writes these with the activities, in the same transaction; the
    roll-up adds them into ``DailySnapshot`` (in SQL, summed per key) before it recomputes
    any dirty day, so a full sync never reads its activities back to count them.
    """

    id: int | None = Field(default=None, primary_key=True)
    rep_id: int
    day: date
    kpi: str = Field(max_length=64)
    value: float
    frozen: bool = False


class PipelineSnapshot(SQLModel, table=True):
    """An open opportunity's stage and amount at the end of a day."""

    __table_args__ = (UniqueConstraint("day", "opportunity_id", name="uq_pipeline_day_opp"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    opportunity_id: int = Field(foreign_key="opportunity.id")
    rep_id: int | None = Field(default=None, foreign_key="rep.id")
    stage: str = Field(max_length=128)
    stage_order: int | None = None
    amount: float | None = None


class Goal(SQLModel, table=True):
    """A target for a KPI over a period, for a rep, a team or everyone, effective over dates."""

    id: int | None = Field(default=None, primary_key=True)
    kpi: str = Field(max_length=64, index=True)
    period: str = Field(max_length=16)
    target: float
    scope: str = Field(default="everyone", max_length=16)
    scope_value: str | None = Field(default=None, max_length=320)
    valid_from: date | None = None
    valid_to: date | None = None
    origin: str = Field(default="cli", max_length=16)
    created_by: str | None = Field(default=None, max_length=320)
    created_at: datetime | None = None


class Contest(SQLModel, table=True):
    """A spiff on one KPI, with rules frozen at launch."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, index=True)
    kpi: str = Field(max_length=64)
    rule: str = Field(max_length=16)
    target: float | None = None
    start_day: date
    end_day: date
    participants: str = Field(default="all", sa_column=Column(Text, nullable=False))
    scoring: str = Field(default="count", max_length=16)
    team_contest: bool = False
    prize: str | None = Field(default=None, sa_column=Column(Text))
    channel: str = Field(max_length=128)
    status: str = Field(default="draft", max_length=16)
    created_by: str | None = Field(default=None, max_length=320)
    created_at: datetime | None = None
    rules_json: dict[str, object] | None = Field(default=None, sa_column=Column(JSON))


class ContestEvent(SQLModel, table=True):
    """Something that happened to a contest: launched, standings posted, lead changed, won."""

    __table_args__ = (UniqueConstraint("contest_id", "key", name="uq_contest_event_key"),)

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contest.id", index=True)
    key: str = Field(max_length=255)
    kind: str = Field(max_length=32)
    at: datetime
    data: dict[str, object] | None = Field(default=None, sa_column=Column(JSON))


class CoachingNote(SQLModel, table=True):
    """A manager's note about a rep, with the scorecard frozen at the time of writing.

    ``submission_key`` (the Slack view the note came from) is unique, so a resent or double
    submitted form stores one note; ``reminded_for`` is the follow-up date whose DM was queued.
    """

    __table_args__ = (
        UniqueConstraint("submission_key", name="uq_coaching_note_submission"),
        Index("ix_coaching_note_open_follow_up", "done", "follow_up_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    manager_id: int = Field(foreign_key="rep.id", index=True)
    rep_id: int = Field(foreign_key="rep.id", index=True)
    template: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    actions: str | None = Field(default=None, sa_column=Column(Text))
    scorecard: dict[str, object] | None = Field(default=None, sa_column=Column(JSON))
    shared_with_rep: bool = False
    follow_up_on: date | None = None
    done: bool = False
    created_at: datetime
    submission_key: str | None = Field(default=None, max_length=255)
    reminded_for: date | None = None
    done_at: datetime | None = None
    done_by_id: int | None = Field(default=None, foreign_key="rep.id")


class Delivery(SQLModel, table=True):
    """The outbox: one scheduled Slack message, sent at most once under its unique key."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    channel: str = Field(max_length=128)
    payload: dict[str, object] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    not_before: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    slack_ts: str | None = Field(default=None, max_length=64)
    slack_channel: str | None = Field(default=None, max_length=64)
    created_at: datetime
    sent_at: datetime | None = None


class SyncState(SQLModel, table=True):
    """The cursor of one object of one source, saved with the records it covers."""

    __table_args__ = (UniqueConstraint("source", "object", name="uq_sync_state"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    object: str = Field(max_length=32)
    cursor: str | None = Field(default=None, sa_column=Column(Text))
    last_success: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    api_calls: int = 0


class JobRun(SQLModel, table=True):
    """A record of each scheduled job run, for catch-up after downtime and for doctor."""

    __table_args__ = (UniqueConstraint("job_id", "slot", name="uq_job_run_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=32)
    slot: str = Field(max_length=64)
    started_at: datetime
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=16)
    detail: str | None = Field(default=None, sa_column=Column(Text))


class ProcessedRequest(SQLModel, table=True):
    """A Slack request or action already handled, so a retry has no second effect."""

    key: str = Field(primary_key=True, max_length=255)
    at: datetime = Field(index=True)  # pruned by age in the hourly snapshot job


class MetricsVersion(SQLModel, table=True):
    """One row whose version triggers move on every write to snapshots, reps and goals.

    Caches of all-rep rank tables are keyed by it (see migration 0002).
    """

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
