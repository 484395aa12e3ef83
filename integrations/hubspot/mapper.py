"""Pure mapping from HubSpot's JSON shapes to Pacesetter's normalized records.

Every function takes the JSON as HubSpot sends it (camelCase keys, property values as strings)
and returns domain records; nothing here talks to the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from domain.records import (
    ActivityKind,
    ActivityRecord,
    CrmUser,
    Direction,
    MeetingOutcome,
    OpportunityRecord,
    PipelineStageRecord,
    StageChangeRecord,
)
from integrations.hubspot.options import HubSpotOptions

Json = Mapping[str, Any]

# Properties each engagement search asks for; the mapper reads nothing else.
ENGAGEMENT_PROPERTIES: dict[str, list[str]] = {
    "calls": [
        "hs_timestamp",
        "hubspot_owner_id",
        "hs_call_duration",
        "hs_call_direction",
        "hs_call_status",
        "hs_activity_type",
        "hs_lastmodifieddate",
    ],
    "emails": ["hs_timestamp", "hubspot_owner_id", "hs_email_direction", "hs_lastmodifieddate"],
    "meetings": [
        "hs_timestamp",
        "hubspot_owner_id",
        "hs_meeting_outcome",
        "hs_meeting_start_time",
        "hs_meeting_end_time",
        "hs_lastmodifieddate",
    ],
    "tasks": [
        "hs_timestamp",
        "hubspot_owner_id",
        "hs_task_type",
        "hs_task_status",
        "hs_lastmodifieddate",
    ],
}
DEAL_PROPERTIES = [
    "dealname",
    "amount",
    "dealstage",
    "pipeline",
    "closedate",
    "createdate",
    "hubspot_owner_id",
    "hs_lastmodifieddate",
]
MEETING_OUTCOMES = {
    "COMPLETED": MeetingOutcome.COMPLETED,
    "SCHEDULED": MeetingOutcome.SCHEDULED,
    "NO_SHOW": MeetingOutcome.NO_SHOW,
    "CANCELED": MeetingOutcome.CANCELED,
    "CANCELLED": MeetingOutcome.CANCELED,
    "RESCHEDULED": MeetingOutcome.RESCHEDULED,
}
TITLE_SEPARATOR = "; "


def parse_instant(value: object) -> datetime | None:
    """Parse HubSpot's epoch milliseconds or ISO-8601 text into an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_epoch_ms(value: object) -> int | None:
    """Return ``value`` (epoch ms or ISO text) as epoch milliseconds."""
    instant = parse_instant(value)
    return None if instant is None else round(instant.timestamp() * 1000)


def _props(raw: Json) -> Mapping[str, Any]:
    props: Mapping[str, Any] = raw.get("properties") or {}
    return props


def _text(props: Mapping[str, Any], name: str) -> str | None:
    value = props.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(props: Mapping[str, Any], name: str) -> float | None:
    text = _text(props, name)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def modified_at(raw: Json) -> datetime | None:
    """Return when HubSpot last changed the object (``hs_lastmodifieddate``, else updatedAt)."""
    props = _props(raw)
    return parse_instant(props.get("hs_lastmodifieddate") or props.get("lastmodifieddate")) or (
        parse_instant(raw.get("updatedAt"))
    )


# owners ------------------------------------------------------------------------------------


def primary_team(owner: Json) -> str | None:
    """Return the owner's primary team name (the first team when none is marked primary)."""
    teams: Sequence[Json] = owner.get("teams") or []
    for team in teams:
        if team.get("primary"):
            return str(team.get("name"))
    return str(teams[0].get("name")) if teams else None


def map_owner(
    owner: Json, *, team_managers: Mapping[str, str], owner_ids_by_email: Mapping[str, str]
) -> CrmUser:
    """Map a HubSpot owner; the manager is the configured manager of the owner's primary team."""
    email = str(owner.get("email") or "").strip().lower()
    name = " ".join(p for p in (owner.get("firstName"), owner.get("lastName")) if p) or email
    team = primary_team(owner)
    manager_email = team_managers.get(team or "")
    manager_id = owner_ids_by_email.get(manager_email or "")
    if manager_id == str(owner["id"]):
        manager_id = None
    return CrmUser(
        crm_id=str(owner["id"]),
        name=name,
        email=email,
        manager_crm_id=manager_id,
        team=team,
        active=not owner.get("archived", False),
    )


def map_owners(owners: Sequence[Json], options: HubSpotOptions) -> list[CrmUser]:
    """Map every active owner with an email (queues and users without email are skipped)."""
    people = [o for o in owners if o.get("email") and o.get("type", "PERSON") == "PERSON"]
    by_email = {str(o["email"]).strip().lower(): str(o["id"]) for o in people}
    managers = options.team_managers()
    return [map_owner(o, team_managers=managers, owner_ids_by_email=by_email) for o in people]


# pipelines ---------------------------------------------------------------------------------


def map_pipeline(pipeline: Json) -> list[PipelineStageRecord]:
    """Map a deal pipeline's stages in display order; closed won is closed with probability 1."""
    result = []
    for stage in pipeline.get("stages") or []:
        if stage.get("archived"):
            continue
        metadata: Mapping[str, Any] = stage.get("metadata") or {}
        is_closed = str(metadata.get("isClosed", "false")).lower() == "true"
        try:
            probability: float | None = float(metadata["probability"])
        except (KeyError, TypeError, ValueError):
            probability = None
        result.append(
            PipelineStageRecord(
                pipeline=str(pipeline["id"]),
                stage=str(stage["id"]),
                order=int(stage.get("displayOrder", 0)),
                is_closed=is_closed,
                is_won=is_closed and probability == 1.0,
                probability=probability,
            )
        )
    return result


StageIndex = Mapping[tuple[str, str], PipelineStageRecord]


def index_stages(
    stages: Iterable[PipelineStageRecord],
) -> dict[tuple[str, str], PipelineStageRecord]:
    """Index stages by (pipeline id, stage id)."""
    return {(s.pipeline, s.stage): s for s in stages}


# deals ------------------------------------------------------------------------------------


def map_deal(raw: Json, stages: StageIndex) -> OpportunityRecord:
    """Map a deal; its stage order and closed/won flags come from the pipeline's stages."""
    props = _props(raw)
    pipeline = _text(props, "pipeline") or "default"
    stage_id = _text(props, "dealstage") or ""
    stage = stages.get((pipeline, stage_id))
    created = parse_instant(props.get("createdate")) or parse_instant(raw.get("createdAt"))
    close = parse_instant(props.get("closedate"))
    return OpportunityRecord(
        crm_id=str(raw["id"]),
        owner_crm_id=_text(props, "hubspot_owner_id"),
        name=_text(props, "dealname") or f"Deal {raw['id']}",
        created_at=created or datetime.fromtimestamp(0, tz=UTC),
        stage=stage_id,
        amount=_number(props, "amount"),
        stage_order=stage.order if stage else None,
        pipeline=pipeline,
        close_date=close.date() if close else None,
        is_closed=stage.is_closed if stage else False,
        is_won=stage.is_won if stage else False,
        is_deleted=bool(raw.get("archived", False)),
        modified_at=modified_at(raw),
    )


def map_stage_history(raw: Json) -> list[StageChangeRecord]:
    """Turn a deal's ``propertiesWithHistory.dealstage`` into stage changes, oldest first."""
    history: Sequence[Json] = (raw.get("propertiesWithHistory") or {}).get("dealstage") or []
    entries = sorted(
        ((parse_instant(h.get("timestamp")), str(h.get("value") or "")) for h in history),
        key=lambda e: e[0] or datetime.min.replace(tzinfo=UTC),
    )
    deal_id = str(raw["id"])
    result: list[StageChangeRecord] = []
    previous: str | None = None
    for at, value in entries:
        if at is None or not value or value == previous:
            continue
        result.append(
            StageChangeRecord(
                crm_id=f"{deal_id}:{round(at.timestamp() * 1000)}:{value}"[:96],
                opportunity_crm_id=deal_id,
                to_stage=value,
                changed_at=at,
                from_stage=previous,
            )
        )
        previous = value
    return result


# engagements ------------------------------------------------------------------------------


def join_titles(titles: Iterable[str | None]) -> str | None:
    """Join the distinct job titles of an engagement's contacts so any of them can match."""
    seen: list[str] = []
    for title in titles:
        cleaned = (title or "").strip()
        if cleaned and cleaned not in seen:
            seen.append(cleaned)
    return TITLE_SEPARATOR.join(seen)[:255] or None


def map_engagement(
    object_type: str, raw: Json, options: HubSpotOptions, contact_title: str | None = None
) -> ActivityRecord:
    """Map a call, email, meeting or task to an activity with normalized KPI fields."""
    props = _props(raw)
    kind, direction, outcome, duration = _classify(object_type, props, options)
    return ActivityRecord(
        crm_id=str(raw["id"]),
        owner_crm_id=_text(props, "hubspot_owner_id"),
        kind=kind,
        occurred_at=parse_instant(props.get("hs_timestamp")) or parse_instant(raw.get("createdAt")),
        duration_s=duration,
        direction=direction,
        outcome=outcome,
        contact_title=contact_title,
        is_deleted=bool(raw.get("archived", False)),
        modified_at=modified_at(raw),
    )


def _classify(
    object_type: str, props: Mapping[str, Any], options: HubSpotOptions
) -> tuple[ActivityKind, str | None, str | None, int | None]:
    if object_type == "calls":
        return _classify_call(props, options)
    if object_type == "emails":
        sent = (_text(props, "hs_email_direction") or "") in options.sent_email_directions
        return ActivityKind.EMAIL, Direction.OUTBOUND if sent else Direction.INBOUND, None, None
    if object_type == "meetings":
        return ActivityKind.MEETING, None, meeting_outcome(props, options), _meeting_seconds(props)
    if object_type == "tasks":
        linkedin = (_text(props, "hs_task_type") or "") in options.linkedin_task_types
        kind = ActivityKind.LINKEDIN if linkedin else ActivityKind.TASK
        return kind, Direction.OUTBOUND if linkedin else None, None, None
    raise ValueError(f"not an engagement object: {object_type}")


def _classify_call(
    props: Mapping[str, Any], options: HubSpotOptions
) -> tuple[ActivityKind, str | None, str | None, int | None]:
    raw_direction = (_text(props, "hs_call_direction") or "").upper()
    direction = Direction.INBOUND if raw_direction == "INBOUND" else Direction.OUTBOUND
    millis = _number(props, "hs_call_duration")
    duration = int(millis // 1000) if millis is not None else None
    activity_type = _text(props, "hs_activity_type") or ""
    kind = (
        ActivityKind.LINKEDIN if activity_type in options.linkedin_call_types else ActivityKind.CALL
    )
    return kind, direction, _text(props, "hs_call_status"), duration


def meeting_outcome(props: Mapping[str, Any], options: HubSpotOptions) -> str | None:
    """Normalize ``hs_meeting_outcome``: held outcomes become completed, unset stays None."""
    raw = (_text(props, "hs_meeting_outcome") or "").upper()
    if not raw:
        return None
    if raw in {o.upper() for o in options.held_meeting_outcomes}:
        return MeetingOutcome.COMPLETED
    known = MEETING_OUTCOMES.get(raw)
    return known.value if known else raw.lower()


def _meeting_seconds(props: Mapping[str, Any]) -> int | None:
    start = parse_instant(props.get("hs_meeting_start_time"))
    end = parse_instant(props.get("hs_meeting_end_time"))
    if start is None or end is None or end < start:
        return None
    return int((end - start).total_seconds())


def association_targets(response: Json) -> dict[str, list[str]]:
    """Read a v4 batch association response into from-id -> associated ids, in order."""
    result: dict[str, list[str]] = {}
    for item in response.get("results") or []:
        from_id = str((item.get("from") or {}).get("id"))
        result.setdefault(from_id, []).extend(str(t["toObjectId"]) for t in item.get("to") or [])
    return result
