"""The HubSpot mapper on JSON shaped as HubSpot sends it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.kpis import ActivityFact, default_kpis
from domain.records import ActivityKind, Direction, MeetingOutcome
from integrations.hubspot.mapper import (
    association_targets,
    index_stages,
    join_titles,
    map_deal,
    map_engagement,
    map_owners,
    map_pipeline,
    map_stage_history,
    parse_instant,
)
from integrations.hubspot.options import HubSpotOptions

OPTIONS = HubSpotOptions(teams={"East": "Erin@Example.com"}, linkedin_call_types=["LinkedIn"])

CALL = {
    "id": "51234567890",
    "properties": {
        "hs_call_direction": "OUTBOUND",
        "hs_call_duration": "312450",
        "hs_call_status": "COMPLETED",
        "hs_activity_type": "Cold call",
        "hs_createdate": "2026-11-18T15:02:11.482Z",
        "hs_lastmodifieddate": "2026-11-18T15:07:40.001Z",
        "hs_object_id": "51234567890",
        "hs_timestamp": "2026-11-18T15:01:00Z",
        "hubspot_owner_id": "70001",
    },
    "createdAt": "2026-11-18T15:02:11.482Z",
    "updatedAt": "2026-11-18T15:07:40.001Z",
    "archived": False,
}

PIPELINE = {
    "id": "default",
    "label": "Sales Pipeline",
    "displayOrder": 0,
    "createdAt": "1970-01-01T00:00:00Z",
    "updatedAt": "2024-03-01T10:00:00Z",
    "archived": False,
    "stages": [
        {
            "id": "appointmentscheduled",
            "label": "Appointment Scheduled",
            "displayOrder": 0,
            "metadata": {"isClosed": "false", "probability": "0.2"},
            "createdAt": "1970-01-01T00:00:00Z",
            "updatedAt": "1970-01-01T00:00:00Z",
            "archived": False,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        },
        {
            "id": "contractsent",
            "label": "Contract Sent",
            "displayOrder": 4,
            "metadata": {"isClosed": "false", "probability": "0.9"},
            "createdAt": "1970-01-01T00:00:00Z",
            "updatedAt": "1970-01-01T00:00:00Z",
            "archived": False,
        },
        {
            "id": "closedwon",
            "label": "Closed Won",
            "displayOrder": 5,
            "metadata": {"isClosed": "true", "probability": "1.0"},
            "createdAt": "1970-01-01T00:00:00Z",
            "updatedAt": "1970-01-01T00:00:00Z",
            "archived": False,
        },
        {
            "id": "closedlost",
            "label": "Closed Lost",
            "displayOrder": 6,
            "metadata": {"isClosed": "true", "probability": "0.0"},
            "createdAt": "1970-01-01T00:00:00Z",
            "updatedAt": "1970-01-01T00:00:00Z",
            "archived": False,
        },
    ],
}


def test_parse_instant_reads_iso_and_epoch_millis() -> None:
    expected = datetime(2026, 11, 18, 15, 1, tzinfo=UTC)
    assert parse_instant("2026-11-18T15:01:00Z") == expected
    assert parse_instant("2026-11-18T15:01:00.000+00:00") == expected
    assert parse_instant(str(int(expected.timestamp() * 1000))) == expected
    assert parse_instant("") is None
    assert parse_instant(None) is None


def test_call_duration_is_milliseconds_and_direction_is_normalized() -> None:
    record = map_engagement("calls", CALL, OPTIONS, contact_title="VP Sales")
    assert record.crm_id == "51234567890"
    assert record.owner_crm_id == "70001"
    assert record.kind is ActivityKind.CALL
    assert record.duration_s == 312
    assert record.direction == Direction.OUTBOUND
    assert record.occurred_at == datetime(2026, 11, 18, 15, 1, tzinfo=UTC)
    assert record.modified_at == datetime(2026, 11, 18, 15, 7, 40, 1000, tzinfo=UTC)
    assert record.contact_title == "VP Sales"
    assert not record.is_deleted


def test_inbound_call_is_not_prospecting_but_a_long_call_is_a_conversation() -> None:
    raw = {**CALL, "properties": {**CALL["properties"], "hs_call_direction": "INBOUND"}}
    record = map_engagement("calls", raw, OPTIONS)
    fact = ActivityFact(1, date(2026, 11, 18), record.kind, record.duration_s, record.direction)
    kpis = {d.name: d for d in default_kpis()}
    assert not kpis["prospecting"].counts(fact)
    assert kpis["conversations"].counts(fact)


def test_call_logged_with_a_configured_type_is_a_linkedin_touch() -> None:
    raw = {**CALL, "properties": {**CALL["properties"], "hs_activity_type": "LinkedIn"}}
    assert map_engagement("calls", raw, OPTIONS).kind is ActivityKind.LINKEDIN


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("EMAIL", Direction.OUTBOUND),
        ("INCOMING_EMAIL", Direction.INBOUND),
        ("FORWARDED_EMAIL", Direction.INBOUND),
    ],
)
def test_only_sent_emails_are_outbound(direction: str, expected: Direction) -> None:
    raw = {
        "id": "61",
        "properties": {
            "hs_email_direction": direction,
            "hs_timestamp": "2026-11-18T09:00:00Z",
            "hubspot_owner_id": "70002",
            "hs_lastmodifieddate": "2026-11-18T09:00:01.000Z",
        },
        "createdAt": "2026-11-18T09:00:01.000Z",
        "updatedAt": "2026-11-18T09:00:01.000Z",
        "archived": False,
    }
    record = map_engagement("emails", raw, OPTIONS)
    assert record.kind is ActivityKind.EMAIL
    assert record.direction == expected


@pytest.mark.parametrize(
    ("outcome", "expected", "held"),
    [
        ("COMPLETED", MeetingOutcome.COMPLETED, True),
        (None, None, True),
        ("NO_SHOW", MeetingOutcome.NO_SHOW, False),
        ("CANCELED", MeetingOutcome.CANCELED, False),
        ("RESCHEDULED", MeetingOutcome.RESCHEDULED, False),
        ("SCHEDULED", MeetingOutcome.SCHEDULED, None),
    ],
)
def test_meeting_outcomes(outcome: str | None, expected: str | None, held: bool | None) -> None:
    raw = {
        "id": "71",
        "properties": {
            "hs_meeting_outcome": outcome,
            "hs_meeting_start_time": "2026-11-18T14:00:00Z",
            "hs_meeting_end_time": "2026-11-18T14:30:00Z",
            "hs_timestamp": "2026-11-18T14:00:00Z",
            "hubspot_owner_id": "70001",
        },
        "createdAt": "2026-11-17T10:00:00Z",
        "updatedAt": "2026-11-18T15:00:00Z",
        "archived": False,
    }
    record = map_engagement("meetings", raw, OPTIONS, contact_title="Director of IT")
    assert record.kind is ActivityKind.MEETING
    assert record.outcome == expected
    assert record.duration_s == 1800
    assert record.modified_at == datetime(2026, 11, 18, 15, tzinfo=UTC)
    if held is not None:
        fact = ActivityFact(
            1, date(2026, 11, 18), record.kind, record.duration_s, None, record.outcome, "Director"
        )
        kpis = {d.name: d for d in default_kpis()}
        assert kpis["conversations"].counts(fact) is held
        assert kpis["meaningful_conversations"].counts(fact) is held


def test_linkedin_tasks_are_touches_and_other_tasks_are_tasks() -> None:
    base = {"createdAt": "2026-11-18T09:00:00Z", "updatedAt": "2026-11-18T09:00:00Z"}
    linked = {"id": "81", "properties": {"hs_task_type": "LINKED_IN"}, **base}
    todo = {"id": "82", "properties": {"hs_task_type": "TODO"}, **base}
    assert map_engagement("tasks", linked, OPTIONS).kind is ActivityKind.LINKEDIN
    assert map_engagement("tasks", todo, OPTIONS).kind is ActivityKind.TASK
    # no hs_timestamp: the creation time places it
    assert map_engagement("tasks", todo, OPTIONS).occurred_at == datetime(
        2026, 11, 18, 9, tzinfo=UTC
    )


def test_owners_get_their_primary_team_and_its_configured_manager() -> None:
    owners = [
        {
            "id": "70001",
            "email": "erin@example.com",
            "firstName": "Erin",
            "lastName": "East",
            "type": "PERSON",
            "teams": [{"id": "1", "name": "East", "primary": True}],
            "createdAt": "2024-01-01T00:00:00Z",
            "updatedAt": "2024-01-01T00:00:00Z",
            "archived": False,
        },
        {
            "id": "70002",
            "email": "Rep@Example.com",
            "firstName": "Rita",
            "lastName": "Rep",
            "type": "PERSON",
            "teams": [
                {"id": "9", "name": "All hands", "primary": False},
                {"id": "1", "name": "East", "primary": True},
            ],
            "createdAt": "2024-01-01T00:00:00Z",
            "updatedAt": "2024-01-01T00:00:00Z",
            "archived": False,
        },
        {
            "id": "70003",
            "type": "QUEUE",
            "createdAt": "2024-01-01T00:00:00Z",
            "updatedAt": "2024-01-01T00:00:00Z",
            "archived": False,
        },
    ]
    users = {u.crm_id: u for u in map_owners(owners, OPTIONS)}
    assert set(users) == {"70001", "70002"}
    assert users["70002"].email == "rep@example.com"
    assert users["70002"].name == "Rita Rep"
    assert users["70002"].team == "East"
    assert users["70002"].manager_crm_id == "70001"
    assert users["70001"].manager_crm_id is None  # the manager does not manage herself


def test_pipeline_stages_keep_display_order_and_closed_won_is_probability_one() -> None:
    stages = {s.stage: s for s in map_pipeline(PIPELINE)}
    assert [s.order for s in stages.values()] == [0, 4, 5, 6]
    assert stages["closedwon"].is_won and stages["closedwon"].is_closed
    assert stages["closedlost"].is_closed and not stages["closedlost"].is_won
    assert not stages["contractsent"].is_closed
    assert stages["contractsent"].probability == 0.9


def test_deal_takes_stage_order_and_flags_from_the_pipeline() -> None:
    deal = {
        "id": "9001",
        "properties": {
            "amount": "12000.50",
            "closedate": "2026-11-19T00:00:00Z",
            "createdate": "2026-10-02T13:45:00.000Z",
            "dealname": "Acme renewal",
            "dealstage": "closedwon",
            "pipeline": "default",
            "hubspot_owner_id": "70002",
            "hs_lastmodifieddate": "2026-11-19T10:00:00.000Z",
            "hs_object_id": "9001",
        },
        "createdAt": "2026-10-02T13:45:00.000Z",
        "updatedAt": "2026-11-19T10:00:00.000Z",
        "archived": False,
    }
    opp = map_deal(deal, index_stages(map_pipeline(PIPELINE)))
    assert opp.amount == 12000.5
    assert opp.stage == "closedwon"
    assert opp.stage_order == 5
    assert opp.is_won and opp.is_closed
    assert opp.close_date == date(2026, 11, 19)
    assert opp.created_at == datetime(2026, 10, 2, 13, 45, tzinfo=UTC)


def test_stage_history_newest_first_becomes_moves_with_from_stages() -> None:
    deal = {
        "id": "9001",
        "properties": {"dealstage": "closedwon"},
        "createdAt": "2026-10-02T13:45:00Z",
        "updatedAt": "2026-11-19T10:00:00Z",
        "archived": False,
        "propertiesWithHistory": {
            "dealstage": [
                {"value": "closedwon", "timestamp": "2026-11-19T10:00:00Z", "sourceType": "CRM_UI"},
                {
                    "value": "contractsent",
                    "timestamp": "2026-11-01T09:00:00.000Z",
                    "sourceType": "CRM_UI",
                    "sourceId": "userId:123",
                },
                {
                    "value": "appointmentscheduled",
                    "timestamp": "2026-10-02T13:45:00Z",
                    "sourceType": "CRM_UI",
                },
            ]
        },
    }
    moves = map_stage_history(deal)
    assert [(m.from_stage, m.to_stage) for m in moves] == [
        (None, "appointmentscheduled"),
        ("appointmentscheduled", "contractsent"),
        ("contractsent", "closedwon"),
    ]
    assert moves[-1].changed_at == datetime(2026, 11, 19, 10, tzinfo=UTC)
    assert len({m.crm_id for m in moves}) == 3


def test_association_batch_response_and_titles() -> None:
    response = {
        "status": "COMPLETE",
        "results": [
            {
                "from": {"id": "51"},
                "to": [
                    {
                        "toObjectId": 301,
                        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 194}],
                    },
                    {
                        "toObjectId": 302,
                        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 194}],
                    },
                ],
            }
        ],
        "startedAt": "2026-11-19T10:00:00Z",
        "completedAt": "2026-11-19T10:00:00Z",
    }
    assert association_targets(response) == {"51": ["301", "302"]}
    assert join_titles(["Analyst", None, "VP Sales", "Analyst"]) == "Analyst; VP Sales"
    assert join_titles([None, " "]) is None


def test_options_reject_unknown_engagement_objects() -> None:
    with pytest.raises(ValueError, match="unknown HubSpot engagement"):
        HubSpotOptions(engagement_objects=["calls", "faxes"])
