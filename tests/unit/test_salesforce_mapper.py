"""The Salesforce mapper and SOQL builder on real-shaped REST JSON (no network)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain.records import ActivityKind, Direction, MeetingOutcome
from integrations.salesforce import mapper
from integrations.salesforce.options import SalesforceOptions
from integrations.salesforce.source import Position, QuerySpec, build_soql


def attrs(sobject: str, record_id: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v59.0/sobjects/{sobject}/{record_id}"}


def task(**fields: object) -> dict[str, object]:
    """A Task row as `SELECT ... FROM Task` returns it from queryAll."""
    row: dict[str, object] = {
        "attributes": attrs("Task", "00T5g00000AbCdEAAZ"),
        "Id": "00T5g00000AbCdEAAZ",
        "OwnerId": "0055g00000XyZ12AAB",
        "WhoId": "0035g00000QwErTAAZ",
        "Who": {"attributes": attrs("Contact", "0035g00000QwErTAAZ"), "Title": "VP Finance"},
        "WhatId": "0065g00000OpPoRAAQ",
        "Subject": "Call",
        "Type": "Call",
        "TaskSubtype": "Call",
        "CallType": "Outbound",
        "CallDurationInSeconds": 312,
        "Status": "Completed",
        "IsClosed": True,
        "ActivityDate": "2026-11-20",
        "CompletedDateTime": "2026-11-20T15:04:05.000+0000",
        "CreatedDate": "2026-11-20T15:00:00.000+0000",
        "IsDeleted": False,
        "SystemModstamp": "2026-11-20T15:04:06.000+0000",
    }
    row.update(fields)
    return row


def test_a_logged_call_maps_duration_direction_title_and_opportunity() -> None:
    record = mapper.map_task(task(), SalesforceOptions())
    assert record.kind is ActivityKind.CALL
    assert record.direction == Direction.OUTBOUND
    assert record.duration_s == 312
    assert record.contact_title == "VP Finance"
    assert record.opportunity_crm_id == "0065g00000OpPoRAAQ"
    assert record.occurred_at == datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC)
    assert record.activity_date is None
    assert record.owner_crm_id == "0055g00000XyZ12AAB"


@pytest.mark.parametrize(
    ("subtype", "type_", "call_type", "kind", "direction"),
    [
        ("Call", None, "Inbound", ActivityKind.CALL, Direction.INBOUND),
        ("Call", None, "Internal", ActivityKind.CALL, Direction.INTERNAL),
        ("Call", None, None, ActivityKind.CALL, Direction.OUTBOUND),
        ("Email", "Email", None, ActivityKind.EMAIL, Direction.OUTBOUND),
        ("LinkedIn", None, None, ActivityKind.LINKEDIN, Direction.OUTBOUND),
        ("Task", "LinkedIn", None, ActivityKind.LINKEDIN, Direction.OUTBOUND),
        ("Task", "Call", "Outbound", ActivityKind.CALL, Direction.OUTBOUND),
        ("Task", "Other", None, ActivityKind.TASK, None),
        ("List Email", None, None, ActivityKind.TASK, None),
    ],
)
def test_task_subtype_then_type_decide_the_kind(
    subtype: str, type_: str | None, call_type: str | None, kind: ActivityKind, direction: str
) -> None:
    record = mapper.map_task(
        task(TaskSubtype=subtype, Type=type_, CallType=call_type), SalesforceOptions()
    )
    assert record.kind is kind
    assert record.direction == direction
    if kind is not ActivityKind.CALL:
        assert record.duration_s is None


def test_options_change_what_counts() -> None:
    options = SalesforceOptions(email_subtypes=["Email", "List Email"], only_completed_tasks=False)
    assert mapper.task_kind(task(TaskSubtype="List Email"), options) is ActivityKind.EMAIL
    open_call = task(Status="Not Started", IsClosed=False)
    assert mapper.task_kind(open_call, options) is ActivityKind.CALL
    assert mapper.task_kind(open_call, SalesforceOptions()) is ActivityKind.TASK


def test_a_value_listed_for_two_kinds_keeps_the_first_listed_meaning() -> None:
    # ActivityMapper turns the option lists into lookups; the lists were walked call, email,
    # LinkedIn (subtype before type), and inbound before internal: the same value wins.
    options = SalesforceOptions(
        call_subtypes=["Touch"],
        email_subtypes=["Touch", "Mail"],
        linkedin_subtypes=["Mail", "InMail"],
        email_types=["Note"],
        linkedin_types=["Note"],
        inbound_call_types=["Both"],
        internal_call_types=["Both", "Internal"],
    )
    activities = mapper.ActivityMapper(options)
    kinds = [
        activities.task_kind(task(TaskSubtype=subtype, Type=type_))
        for subtype, type_ in (
            ("Touch", None),
            ("Mail", None),
            ("InMail", None),
            ("Other", "Note"),
            ("Other", "Call"),
            ("Mail", "Call"),
        )
    ]
    assert kinds == [
        ActivityKind.CALL,
        ActivityKind.EMAIL,
        ActivityKind.LINKEDIN,
        ActivityKind.EMAIL,
        ActivityKind.CALL,
        ActivityKind.EMAIL,  # a known subtype decides before the type is looked at
    ]
    assert activities.call_direction(task(CallType="Both")) is Direction.INBOUND
    assert activities.call_direction(task(CallType="Internal")) is Direction.INTERNAL
    assert activities.call_direction(task(CallType=None)) is Direction.OUTBOUND
    # task() looks the direction up inline: the same answer as call_direction, every time.
    for call_type in ("Both", "Internal", "Inbound", "Outbound", None, ["Both"]):
        row = task(TaskSubtype="Touch", CallType=call_type)
        assert activities.task(row).direction == activities.call_direction(row).value


def test_values_that_are_not_strings_match_no_option() -> None:
    activities = mapper.ActivityMapper(SalesforceOptions())
    assert activities.task_kind(task(TaskSubtype=["Call"], Type={"x": 1})) is ActivityKind.TASK
    assert activities.call_direction(task(CallType=["Inbound"])) is Direction.OUTBOUND
    record = activities.task(task(Who="not a parent record"))
    assert record.contact_title is None


def test_the_prepared_mapper_maps_like_the_one_row_functions() -> None:
    options = SalesforceOptions(event_outcome_field="Outcome__c")
    activities = mapper.ActivityMapper(options)
    rows = [task(), task(TaskSubtype="Email", Type=None, Who=None), task(IsClosed=False)]
    assert [activities.task(r) for r in rows] == [mapper.map_task(r, options) for r in rows]
    events = [event(), event(Outcome__c=" cancelled "), event(Outcome__c=None)]
    assert [activities.event(r) for r in events] == [mapper.map_event(r, options) for r in events]
    assert activities.event(events[1]).outcome == MeetingOutcome.CANCELED


def test_a_task_without_completion_time_belongs_to_its_activity_date() -> None:
    record = mapper.map_task(task(CompletedDateTime=None, Who=None), SalesforceOptions())
    assert record.occurred_at is None
    assert record.activity_date == date(2026, 11, 20)
    assert record.contact_title is None


def test_a_deleted_row_is_flagged() -> None:
    assert mapper.is_deleted(task(IsDeleted=True))
    assert mapper.map_task(task(IsDeleted=True), SalesforceOptions()).is_deleted


def event(**fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "attributes": attrs("Event", "00U5g00000EvEnTAAA"),
        "Id": "00U5g00000EvEnTAAA",
        "OwnerId": "0055g00000XyZ12AAB",
        "WhoId": "00Q5g00000LeAdXAAA",
        "Who": {"attributes": attrs("Lead", "00Q5g00000LeAdXAAA"), "Title": "Chief of Staff"},
        "WhatId": "0015g00000AcCtXAAA",
        "Subject": "Demo",
        "Type": "Meeting",
        "StartDateTime": "2026-11-20T17:30:00.000+0000",
        "ActivityDateTime": "2026-11-20T17:30:00.000+0000",
        "ActivityDate": "2026-11-20",
        "IsAllDayEvent": False,
        "DurationInMinutes": 45,
        "CreatedDate": "2026-11-18T10:00:00.000+0000",
        "IsDeleted": False,
        "SystemModstamp": "2026-11-18T10:00:00.000+0000",
        "Outcome__c": "No-Show",
    }
    row.update(fields)
    return row


def test_an_event_is_a_meeting_with_outcome_from_the_configured_field() -> None:
    options = SalesforceOptions(event_outcome_field="Outcome__c")
    record = mapper.map_event(event(), options)
    assert record.kind is ActivityKind.MEETING
    assert record.outcome == MeetingOutcome.NO_SHOW
    assert record.duration_s == 45 * 60
    assert record.contact_title == "Chief of Staff"
    assert record.opportunity_crm_id is None  # WhatId is an Account
    assert record.occurred_at == datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
    assert mapper.map_event(event(Outcome__c="cancelled"), options).outcome == "canceled"
    assert mapper.map_event(event(Outcome__c="Whatever"), options).outcome is None
    assert mapper.map_event(event(), SalesforceOptions()).outcome is None


def test_an_all_day_event_belongs_to_its_date() -> None:
    record = mapper.map_event(
        event(IsAllDayEvent=True, StartDateTime=None, ActivityDateTime=None), SalesforceOptions()
    )
    assert record.occurred_at is None
    assert record.activity_date == date(2026, 11, 20)


def test_user_stage_opportunity_and_history_rows() -> None:
    user = mapper.map_user(
        {
            "attributes": attrs("User", "0055g00000XyZ12AAB"),
            "Id": "0055g00000XyZ12AAB",
            "Name": "Sally Chen",
            "Email": "Sally.Chen@Example.com ",
            "ManagerId": "0055g00000MaNaGAAA",
            "IsActive": False,
            "Title": "Account Executive",
            "Department": "West",
            "CreatedDate": "2025-02-03T09:00:00.000+0000",
            "SystemModstamp": "2026-11-01T00:00:00.000+0000",
        },
        SalesforceOptions(),
    )
    assert (user.email, user.manager_crm_id, user.active, user.team, user.start_date) == (
        "sally.chen@example.com",
        "0055g00000MaNaGAAA",
        False,
        "West",
        date(2025, 2, 3),
    )
    stage = mapper.map_stage(
        {
            "attributes": attrs("OpportunityStage", "01J5g000000AAAAAAA"),
            "Id": "01J5g000000AAAAAAA",
            "ApiName": "Closed Won",
            "MasterLabel": "Closed Won",
            "SortOrder": 9,
            "IsActive": True,
            "IsClosed": True,
            "IsWon": True,
            "DefaultProbability": 100.0,
        }
    )
    assert (stage.stage, stage.order, stage.is_won) == ("Closed Won", 9, True)
    assert stage.probability == 1.0
    opp = mapper.map_opportunity(
        {
            "attributes": attrs("Opportunity", "0065g00000OpPoRAAQ"),
            "Id": "0065g00000OpPoRAAQ",
            "Name": "Acme renewal",
            "OwnerId": "0055g00000XyZ12AAB",
            "Amount": 12500.0,
            "StageName": "Closed Won",
            "CloseDate": "2026-11-20",
            "IsClosed": True,
            "IsWon": True,
            "CreatedDate": "2026-10-01T12:00:00.000+0000",
            "IsDeleted": False,
            "SystemModstamp": "2026-11-20T16:00:00.000+0000",
        },
        {"Closed Won": 9},
    )
    assert (opp.amount, opp.stage_order, opp.close_date, opp.is_won) == (
        12500.0,
        9,
        date(2026, 11, 20),
        True,
    )
    history = {
        "attributes": attrs("OpportunityFieldHistory", "0175g00000HiStAAA"),
        "Id": "0175g00000HiStAAA",
        "OpportunityId": "0065g00000OpPoRAAQ",
        "Field": "StageName",
        "OldValue": "Negotiation",
        "NewValue": "Closed Won",
        "CreatedDate": "2026-11-20T16:00:00.000+0000",
    }
    change = mapper.map_stage_change(history)
    assert change is not None
    assert (change.from_stage, change.to_stage, change.is_deleted) == (
        "Negotiation",
        "Closed Won",
        False,
    )
    assert mapper.map_stage_change({**history, "Field": "Amount"}) is None


# SOQL building -------------------------------------------------------------------------------

SPEC = QuerySpec("Task", ("Id", "SystemModstamp"), where="IsClosed = true")
Q = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(minutes=10)


def test_first_and_full_reads_have_no_stamp_filter() -> None:
    assert build_soql(SPEC, None, overlap=OVERLAP) == (
        "SELECT Id, SystemModstamp FROM Task WHERE IsClosed = true "
        "ORDER BY SystemModstamp ASC, Id ASC"
    )
    old = Position(Q - timedelta(days=1), "00T1", Q)
    assert "SystemModstamp >" not in build_soql(SPEC, old, overlap=OVERLAP, full=True)


def test_an_old_position_resumes_exactly_after_its_record() -> None:
    position = Position(datetime(2026, 11, 19, 8, 30, 15, 731000, tzinfo=UTC), "00T'x", Q)
    soql = build_soql(SPEC, position, overlap=OVERLAP)
    assert (
        "(SystemModstamp > 2026-11-19T08:30:15+00:00 OR (SystemModstamp = "
        "2026-11-19T08:30:15+00:00 AND Id > '00T\\'x'))"
    ) in soql


def test_a_recent_position_rereads_the_overlap_window() -> None:
    position = Position(Q - timedelta(minutes=3), "00T9", Q)
    soql = build_soql(SPEC, position, overlap=OVERLAP)
    assert "SystemModstamp >= 2026-11-20T11:50:00+00:00" in soql
    assert "Id >" not in soql


def test_options_refuse_identifiers_that_could_inject_soql() -> None:
    with pytest.raises(ValidationError, match="not a Salesforce field API name"):
        SalesforceOptions(event_outcome_field="Outcome__c FROM User --")
    with pytest.raises(ValidationError):
        SalesforceOptions(batch_size=50)
    assert SalesforceOptions(event_outcome_field="Outcome__c").event_outcome_field == "Outcome__c"


def test_settings_choose_the_login_method() -> None:
    from config import Settings
    from integrations.salesforce.client import LoginMethod
    from integrations.salesforce.factory import credentials_from_settings

    session = credentials_from_settings(
        Settings(salesforce_instance_url="https://x.my.salesforce.com", salesforce_access_token="t")
    )
    assert session.method() is LoginMethod.SESSION
    assert session.access_token == "t"
    password = credentials_from_settings(
        Settings(
            salesforce_username="u@x.test",
            salesforce_password="p",
            salesforce_security_token="s",
        )
    )
    assert password.method() is LoginMethod.PASSWORD
    jwt = credentials_from_settings(
        Settings(
            salesforce_username="u@x.test",
            salesforce_consumer_key="k",
            salesforce_private_key_file="/keys/server.key",
        )
    )
    assert jwt.method() is LoginMethod.JWT
    assert credentials_from_settings(Settings()).method() is None
