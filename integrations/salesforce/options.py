"""The `salesforce:` section of the YAML config: which fields and values mean what.

Every name here that ends up in SOQL as an identifier is validated against the SOQL identifier
grammar; values only ever reach SOQL through ``format_soql``.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.records import MeetingOutcome

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")

DEFAULT_OUTCOMES: dict[str, MeetingOutcome] = {
    "Completed": MeetingOutcome.COMPLETED,
    "Held": MeetingOutcome.COMPLETED,
    "No Show": MeetingOutcome.NO_SHOW,
    "No-Show": MeetingOutcome.NO_SHOW,
    "Canceled": MeetingOutcome.CANCELED,
    "Cancelled": MeetingOutcome.CANCELED,
    "Rescheduled": MeetingOutcome.RESCHEDULED,
    "Scheduled": MeetingOutcome.SCHEDULED,
}


class SalesforceOptions(BaseModel):
    """How Salesforce Tasks and Events map to KPI kinds, and how frugal the sync is."""

    model_config = ConfigDict(extra="forbid")

    call_subtypes: list[str] = Field(default_factory=lambda: ["Call"])
    email_subtypes: list[str] = Field(default_factory=lambda: ["Email"])
    linkedin_subtypes: list[str] = Field(default_factory=lambda: ["LinkedIn"])
    call_types: list[str] = Field(default_factory=lambda: ["Call"])
    email_types: list[str] = Field(default_factory=lambda: ["Email"])
    linkedin_types: list[str] = Field(default_factory=lambda: ["LinkedIn"])
    """Task `Type` values, consulted when `TaskSubtype` is not one of the subtypes above."""
    inbound_call_types: list[str] = Field(default_factory=lambda: ["Inbound"])
    internal_call_types: list[str] = Field(default_factory=lambda: ["Internal"])
    only_completed_tasks: bool = True
    """An open Task ("Call Jane tomorrow") is a to-do, not a logged touch."""
    event_outcome_field: str | None = None
    """An Event picklist holding the meeting outcome (e.g. `Outcome__c`); none is standard."""
    event_outcome_values: dict[str, MeetingOutcome] = Field(
        default_factory=lambda: dict(DEFAULT_OUTCOMES)
    )
    deleted_log: bool = False
    """Also read each object's deleted-record log every incremental run (one more API call per
    Opportunity / Task / Event) to catch records purged from the recycle bin between syncs."""
    user_types: list[str] = Field(default_factory=lambda: ["Standard"])
    team_field: str | None = "Department"
    batch_size: int = Field(default=2000, ge=200, le=2000)
    """`Sforce-Query-Options: batchSize`: larger pages mean fewer API calls."""
    overlap_minutes: float = Field(default=10.0, ge=0)
    """How long a Salesforce transaction may take to commit after it stamped SystemModstamp."""
    api_usage_stop: float = Field(default=0.9, gt=0, le=1)
    """Stop the sync cleanly once used/total of the org's daily API allowance reaches this."""
    max_retries: int = Field(default=4, ge=0, le=10)
    backoff_s: float = Field(default=1.0, ge=0)
    timeout_s: float = Field(default=60.0, gt=0)
    api_version: str = "59.0"

    @field_validator("event_outcome_field", "team_field")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not _IDENTIFIER.match(value):
            raise ValueError(
                f"'{value}' is not a Salesforce field API name (letters, digits and _ only, "
                "e.g. Outcome__c)"
            )
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"\d{2}\.0", value):
            raise ValueError(f"api_version '{value}' must look like 59.0 (no leading 'v')")
        return value
