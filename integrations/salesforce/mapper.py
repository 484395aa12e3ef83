"""Pure mapping from Salesforce REST JSON records to normalized domain records.

Nothing here does I/O; every function takes one record as the query API returns it (with
``attributes`` and nested parent relationships such as ``Who: {Title: ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

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
    # Python 3.11 reads "Z" and "+0000" itself, and gives UTC offsets the UTC singleton.
    parsed = datetime.fromisoformat(value if type(value) is str else str(value))
    zone = parsed.tzinfo
    if zone is UTC:  # what the REST API sends: nothing to convert
        return parsed
    if zone is None:
        return parsed.replace(tzinfo=UTC)
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
    if parent is None:
        return None
    # The JSON decoder's rows are dicts: check that first, the Mapping ABC check is slow.
    return parent.get(field) if isinstance(parent, (dict, Mapping)) else None


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


class ActivityMapper:
    """Maps Task and Event rows under one set of options, whose lookups it prepares once.

    A full sync maps millions of rows: each kind, direction and outcome is one dict lookup
    here instead of a walk over the option lists (``map_task`` and friends map one row).
    """

    def __init__(self, options: SalesforceOptions) -> None:
        self.options = options
        self._by_subtype = _first_meaning(
            (options.call_subtypes, ActivityKind.CALL),
            (options.email_subtypes, ActivityKind.EMAIL),
            (options.linkedin_subtypes, ActivityKind.LINKEDIN),
        )
        self._by_type = _first_meaning(
            (options.call_types, ActivityKind.CALL),
            (options.email_types, ActivityKind.EMAIL),
            (options.linkedin_types, ActivityKind.LINKEDIN),
        )
        self._directions = _first_meaning(
            (options.inbound_call_types, Direction.INBOUND),
            (options.internal_call_types, Direction.INTERNAL),
        )
        self._outcomes = {k.casefold(): v for k, v in options.event_outcome_values.items()}

    def task_kind(self, raw: Raw) -> ActivityKind:
        """Classify a Task: TaskSubtype, then Type; open Tasks are to-dos when so configured."""
        if self.options.only_completed_tasks and not raw.get("IsClosed"):
            return ActivityKind.TASK
        # Option values are strings: a value of any other type matches none of them.
        subtype = raw.get("TaskSubtype")
        if isinstance(subtype, str) and (kind := self._by_subtype.get(subtype)) is not None:
            return kind
        type_ = raw.get("Type")
        if isinstance(type_, str) and (kind := self._by_type.get(type_)) is not None:
            return kind
        return ActivityKind.TASK

    def call_direction(self, raw: Raw) -> Direction:
        """Map ``CallType`` (Inbound / Internal / Outbound); an unset CallType is outbound."""
        call_type = raw.get("CallType")
        if isinstance(call_type, str):
            return self._directions.get(call_type, Direction.OUTBOUND)
        return Direction.OUTBOUND

    def task(self, raw: Raw) -> ActivityRecord:
        """Map a Task; it belongs to CompletedDateTime, else to its ActivityDate, else
        CreatedDate."""
        get = raw.get
        kind = self.task_kind(raw)
        occurred = parse_datetime(get("CompletedDateTime"))
        activity_date = None
        if occurred is None:
            activity_date = parse_date(get("ActivityDate"))
            if activity_date is None:
                occurred = parse_datetime(get("CreatedDate"))
        direction: str | None = None
        duration = None
        if kind is ActivityKind.CALL:
            direction = self.call_direction(raw).value
            seconds = get("CallDurationInSeconds")
            duration = int(seconds) if seconds is not None else None
        elif kind is ActivityKind.EMAIL or kind is ActivityKind.LINKEDIN:
            direction = _OUTBOUND
        who = get("Who")
        # Positional, in ActivityRecord's field order: half the cost of keywords, per row.
        return ActivityRecord(
            raw["Id"],  # crm_id
            get("OwnerId") or None,  # owner_crm_id
            kind,
            occurred,  # occurred_at
            activity_date,
            duration,  # duration_s
            direction,
            None,  # outcome: Tasks have none
            who.get("Title") if type(who) is dict else parent_field(raw, "Who", "Title"),
            _opportunity_id(raw),  # opportunity_crm_id
            bool(get("IsDeleted")),  # is_deleted
            parse_datetime(get("SystemModstamp")),  # modified_at
        )

    def event(self, raw: Raw) -> ActivityRecord:
        """Map an Event to a meeting; all-day events belong to their ActivityDate."""
        get = raw.get
        occurred = None
        activity_date = None
        if get("IsAllDayEvent"):
            activity_date = parse_date(get("ActivityDate"))
        else:
            occurred = parse_datetime(get("StartDateTime") or get("ActivityDateTime"))
        if occurred is None and activity_date is None:
            occurred = parse_datetime(get("CreatedDate"))
        minutes = get("DurationInMinutes")
        return ActivityRecord(
            crm_id=raw["Id"],
            owner_crm_id=get("OwnerId") or None,
            kind=ActivityKind.MEETING,
            occurred_at=occurred,
            activity_date=activity_date,
            duration_s=int(minutes) * 60 if minutes is not None else None,
            outcome=self.meeting_outcome(raw),
            contact_title=parent_field(raw, "Who", "Title"),
            opportunity_crm_id=_opportunity_id(raw),
            is_deleted=bool(get("IsDeleted")),
            modified_at=parse_datetime(get("SystemModstamp")),
        )

    def meeting_outcome(self, raw: Raw) -> str | None:
        """Read the configured outcome field; unknown or empty values mean no outcome (held)."""
        field = self.options.event_outcome_field
        if not field:
            return None
        value = raw.get(field)
        if not value:
            return None
        outcome = self._outcomes.get(str(value).strip().casefold())
        return outcome.value if outcome is not None else None


_OUTBOUND = Direction.OUTBOUND.value
E = TypeVar("E")


def _first_meaning(*groups: tuple[list[str], E]) -> dict[str, E]:
    """Return value -> meaning; a value listed in two groups keeps the first group's."""
    table: dict[str, E] = {}
    for values, meaning in groups:
        for value in values:
            table.setdefault(value, meaning)
    return table


def task_kind(raw: Raw, options: SalesforceOptions) -> ActivityKind:
    """Classify a Task: TaskSubtype first, then Type; open Tasks are to-dos when so configured."""
    return ActivityMapper(options).task_kind(raw)


def call_direction(raw: Raw, options: SalesforceOptions) -> Direction:
    """Map ``CallType`` (Inbound / Internal / Outbound); an unset CallType is outbound."""
    return ActivityMapper(options).call_direction(raw)


def map_task(raw: Raw, options: SalesforceOptions) -> ActivityRecord:
    """Map a Task; it belongs to CompletedDateTime, else to its ActivityDate, else CreatedDate."""
    return ActivityMapper(options).task(raw)


def map_event(raw: Raw, options: SalesforceOptions) -> ActivityRecord:
    """Map an Event to a meeting; all-day events belong to their ActivityDate."""
    return ActivityMapper(options).event(raw)


def meeting_outcome(raw: Raw, options: SalesforceOptions) -> str | None:
    """Read the configured outcome field; unknown or empty values mean no outcome (held)."""
    return ActivityMapper(options).meeting_outcome(raw)


def _opportunity_id(raw: Raw) -> str | None:
    what = raw.get("WhatId")
    return what if isinstance(what, str) and what.startswith(OPPORTUNITY_PREFIX) else None
