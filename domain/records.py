"""Normalized CRM records: what every connector yields, whatever the vendor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple


class ActivityKind(StrEnum):
    """The kinds of sales activity a KPI rule can select."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    LINKEDIN = "linkedin"
    TASK = "task"


class Direction(StrEnum):
    """Who started the touch, from the rep's point of view."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class MeetingOutcome(StrEnum):
    """Normalized meeting outcomes; only held meetings are conversations."""

    COMPLETED = "completed"
    SCHEDULED = "scheduled"
    NO_SHOW = "no_show"
    CANCELED = "canceled"
    RESCHEDULED = "rescheduled"


class CrmObject(StrEnum):
    """The objects a sync pulls, in the order it pulls them (owners before what they own)."""

    USERS = "users"
    STAGES = "stages"
    OPPORTUNITIES = "opportunities"
    STAGE_CHANGES = "stage_changes"
    ACTIVITIES = "activities"


@dataclass(frozen=True, slots=True)
class CrmUser:
    """A CRM user who may be a rep, a manager or neither."""

    crm_id: str
    name: str
    email: str
    manager_crm_id: str | None = None
    team: str | None = None
    active: bool = True
    start_date: date | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class PipelineStageRecord:
    """One stage of a pipeline with its position; closed-won is the stage with is_won."""

    pipeline: str
    stage: str
    order: int
    is_closed: bool = False
    is_won: bool = False
    probability: float | None = None


class ActivityRecord(NamedTuple):
    """A call, email, meeting, LinkedIn touch or task as logged in the CRM.

    ``occurred_at`` is an aware UTC instant; ``activity_date`` is set instead when the CRM
    only knows the date (Salesforce ``ActivityDate``), and then the activity belongs to it.
    Immutable like the other records, but a named tuple: a full sync makes one per activity,
    millions, and a tuple is built in less than half the time of a frozen dataclass.
    """

    crm_id: str
    owner_crm_id: str | None
    kind: ActivityKind
    occurred_at: datetime | None = None
    activity_date: date | None = None
    duration_s: int | None = None
    direction: str | None = None
    outcome: str | None = None
    contact_title: str | None = None
    opportunity_crm_id: str | None = None
    is_deleted: bool = False
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OpportunityRecord:
    """An opportunity (Salesforce) or deal (HubSpot) in its current state."""

    crm_id: str
    owner_crm_id: str | None
    name: str
    created_at: datetime
    stage: str
    amount: float | None = None
    stage_order: int | None = None
    pipeline: str = "default"
    close_date: date | None = None
    is_closed: bool = False
    is_won: bool = False
    is_deleted: bool = False
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StageChangeRecord:
    """One move of an opportunity from a stage to another, from the CRM's history."""

    crm_id: str
    opportunity_crm_id: str
    to_stage: str
    changed_at: datetime
    from_stage: str | None = None
    is_deleted: bool = False


CrmRecord = CrmUser | PipelineStageRecord | ActivityRecord | OpportunityRecord | StageChangeRecord
