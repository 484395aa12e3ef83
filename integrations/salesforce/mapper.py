"""Pure mapping from Salesforce REST JSON records to normalized domain records.

Nothing here does I/O; every function takes one record as the query API returns it (with
``attributes`` and nested parent relationships such as ``Who: {Title: ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from domain.records import (
    ActivityKind,
    ActivityRecord,
    CrmUser,
    Direction,
    OpportunityRecord,
    PipelineStageRecord,
    StageChangeRecord,
)
from integrations.salesforce.options import SalesforceOptions

Raw = Mapping[str, Any]
OPPORTUNITY_PREFIX = "006"


def parse_datetime(value: Any) -> datetime | None:
    """Parse a Salesforce datetime (``2026-11-23T14:05:00.000+0000``) into an aware UTC value."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: Any) -> date | None:
    """Parse a Salesforce date (``2026-11-23``)."""
    return date.fromisoformat(str(value)[:10]) if value else None


def is_deleted(raw: Raw) -> bool:
    """Say whether a queryAll row is in the recycle bin."""
    return bool(raw.get("IsDeleted"))


def parent_field(raw: Raw, relationship: str, field: str) -> Any:
    """Return ``relationship.field`` of a record (``Who.Title``), None when there is no parent."""
    parent = raw.get(relationship)
    return parent.get(field) if isinstance(parent, Mapping) else None


def map_user(raw: Raw, options: SalesforceOptions) -> CrmUser:
    """Map a User row; the manager comes from ``ManagerId``."""
    created = parse_datetime(raw.get("CreatedDate"))
    team = raw.get(options.team_field) if options.team_field else None
    return CrmUser(
        crm_id=raw["Id"],
        name=raw.get("Name") or raw.get("Email") or raw["Id"],
        email=(raw.get("Email") or "").strip().lower(),
        manager_crm_id=raw.get("ManagerId") or None,
        team=team or None,
        active=bool(raw.get("IsActive", True)),
        start_date=created.date() if created else None,
        title=raw.get("Title") or None,
    )


def map_stage(raw: Raw) -> PipelineStageRecord:
    """Map an OpportunityStage row; Opportunity.StageName holds its ApiName."""
    probability = raw.get("DefaultProbability")
    return PipelineStageRecord(
        pipeline="default",
        stage=raw.get("ApiName") or raw["MasterLabel"],
        order=int(raw.get("SortOrder") or 0),
        is_closed=bool(raw.get("IsClosed")),
        is_won=bool(raw.get("IsWon")),
        probability=float(probability) / 100 if probability is not None else None,
    )


def map_opportunity(raw: Raw, stage_orders: Mapping[str, int]) -> OpportunityRecord:
    """Map an Opportunity row, placing its stage in the org's stage order."""
    created = parse_datetime(raw.get("CreatedDate"))
    if created is None:
        raise ValueError(f"Opportunity {raw.get('Id')} has no CreatedDate")
    amount = raw.get("Amount")
    stage = raw.get("StageName") or ""
    return OpportunityRecord(
        crm_id=raw["Id"],
        owner_crm_id=raw.get("OwnerId") or None,
        name=raw.get("Name") or raw["Id"],
        created_at=created,
        stage=stage,
        amount=float(amount) if amount is not None else None,
        stage_order=stage_orders.get(stage),
        close_date=parse_date(raw.get("CloseDate")),
        is_closed=bool(raw.get("IsClosed")),
        is_won=bool(raw.get("IsWon")),
        is_deleted=is_deleted(raw),
        modified_at=parse_datetime(raw.get("SystemModstamp")),
    )


def map_stage_change(raw: Raw) -> StageChangeRecord | None:
    """Map an OpportunityFieldHistory row of ``Field = 'StageName'``; None for other fields.

    History rows vanish with their opportunity and come back with it; the opportunity's own
    IsDeleted decides whether its moves count, so a history row is never stored as deleted.
    """
    if raw.get("Field") != "StageName" or not raw.get("NewValue"):
        return None
    changed = parse_datetime(raw.get("CreatedDate"))
    if changed is None:
        return None
    return StageChangeRecord(
        crm_id=raw["Id"],
        opportunity_crm_id=raw["OpportunityId"],
        from_stage=raw.get("OldValue") or None,
        to_stage=str(raw["NewValue"]),
        changed_at=changed,
    )


def task_kind(raw: Raw, options: SalesforceOptions) -> ActivityKind:
    """Classify a Task: TaskSubtype first, then Type; open Tasks are to-dos when so configured."""
    if options.only_completed_tasks and not raw.get("IsClosed"):
        return ActivityKind.TASK
    subtype, type_ = raw.get("TaskSubtype"), raw.get("Type")
    for value, calls, emails, linkedin in (
        (subtype, options.call_subtypes, options.email_subtypes, options.linkedin_subtypes),
        (type_, options.call_types, options.email_types, options.linkedin_types),
    ):
        if value is None:
            continue
        if value in calls:
            return ActivityKind.CALL
        if value in emails:
            return ActivityKind.EMAIL
        if value in linkedin:
            return ActivityKind.LINKEDIN
    return ActivityKind.TASK


def call_direction(raw: Raw, options: SalesforceOptions) -> Direction:
    """Map ``CallType`` (Inbound / Internal / Outbound); an unset CallType is outbound."""
    call_type = raw.get("CallType")
    if call_type in options.inbound_call_types:
        return Direction.INBOUND
    if call_type in options.internal_call_types:
        return Direction.INTERNAL
    return Direction.OUTBOUND


def map_task(raw: Raw, options: SalesforceOptions) -> ActivityRecord:
    """Map a Task; it belongs to CompletedDateTime, else to its ActivityDate, else CreatedDate."""
    kind = task_kind(raw, options)
    occurred = parse_datetime(raw.get("CompletedDateTime"))
    activity_date = None
    if occurred is None:
        activity_date = parse_date(raw.get("ActivityDate"))
        if activity_date is None:
            occurred = parse_datetime(raw.get("CreatedDate"))
    direction: str | None = None
    duration = None
    if kind is ActivityKind.CALL:
        direction = call_direction(raw, options).value
        seconds = raw.get("CallDurationInSeconds")
        duration = int(seconds) if seconds is not None else None
    elif kind in (ActivityKind.EMAIL, ActivityKind.LINKEDIN):
        direction = Direction.OUTBOUND.value
    return ActivityRecord(
        crm_id=raw["Id"],
        owner_crm_id=raw.get("OwnerId") or None,
        kind=kind,
        occurred_at=occurred,
        activity_date=activity_date,
        duration_s=duration,
        direction=direction,
        contact_title=parent_field(raw, "Who", "Title"),
        opportunity_crm_id=_opportunity_id(raw),
        is_deleted=is_deleted(raw),
        modified_at=parse_datetime(raw.get("SystemModstamp")),
    )


def map_event(raw: Raw, options: SalesforceOptions) -> ActivityRecord:
    """Map an Event to a meeting; all-day events belong to their ActivityDate."""
    occurred = None
    activity_date = None
    if raw.get("IsAllDayEvent"):
        activity_date = parse_date(raw.get("ActivityDate"))
    else:
        occurred = parse_datetime(raw.get("StartDateTime") or raw.get("ActivityDateTime"))
    if occurred is None and activity_date is None:
        occurred = parse_datetime(raw.get("CreatedDate"))
    minutes = raw.get("DurationInMinutes")
    return ActivityRecord(
        crm_id=raw["Id"],
        owner_crm_id=raw.get("OwnerId") or None,
        kind=ActivityKind.MEETING,
        occurred_at=occurred,
        activity_date=activity_date,
        duration_s=int(minutes) * 60 if minutes is not None else None,
        outcome=meeting_outcome(raw, options),
        contact_title=parent_field(raw, "Who", "Title"),
        opportunity_crm_id=_opportunity_id(raw),
        is_deleted=is_deleted(raw),
        modified_at=parse_datetime(raw.get("SystemModstamp")),
    )


def meeting_outcome(raw: Raw, options: SalesforceOptions) -> str | None:
    """Read the configured outcome field; unknown or empty values mean no outcome (held)."""
    if not options.event_outcome_field:
        return None
    value = raw.get(options.event_outcome_field)
    if not value:
        return None
    folded = {k.casefold(): v for k, v in options.event_outcome_values.items()}
    outcome = folded.get(str(value).strip().casefold())
    return outcome.value if outcome is not None else None


def _opportunity_id(raw: Raw) -> str | None:
    what = raw.get("WhatId")
    return what if isinstance(what, str) and what.startswith(OPPORTUNITY_PREFIX) else None
