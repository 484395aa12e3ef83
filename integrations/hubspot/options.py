"""The YAML `hubspot:` section: how HubSpot's fields map onto Pacesetter's activity facts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENGAGEMENT_OBJECTS = ("calls", "emails", "meetings", "tasks")


class HubSpotOptions(BaseModel):
    """Mapping and pacing choices for the HubSpot connector; the defaults follow DESIGN.md."""

    model_config = ConfigDict(extra="forbid")

    teams: dict[str, str] = Field(
        default_factory=dict,
        description="Team name -> manager email; HubSpot has no manager field, so a rep's "
        "manager is the manager of the rep's primary team.",
    )
    engagement_objects: list[str] = Field(
        default_factory=lambda: list(ENGAGEMENT_OBJECTS),
        description="Engagement objects to sync as activities.",
    )
    sent_email_directions: list[str] = Field(
        default_factory=lambda: ["EMAIL"],
        description="hs_email_direction values that are emails the rep sent.",
    )
    held_meeting_outcomes: list[str] = Field(
        default_factory=lambda: ["COMPLETED"],
        description="hs_meeting_outcome values meaning the meeting was held (unset also is).",
    )
    linkedin_task_types: list[str] = Field(
        default_factory=lambda: ["LINKED_IN"],
        description="hs_task_type values that are LinkedIn touches.",
    )
    linkedin_call_types: list[str] = Field(
        default_factory=list,
        description="hs_activity_type values of calls that are really LinkedIn touches.",
    )
    contact_title_objects: list[str] = Field(
        default_factory=lambda: ["calls", "meetings"],
        description="Engagements whose associated contact's jobtitle is read.",
    )
    refresh_titles: bool = Field(
        default=True,
        description="When a contact changes, re-read its calls and meetings so a new job "
        "title reaches them (costs requests on portals whose contacts change often).",
    )
    search_page_size: int = Field(default=200, ge=1, le=200)
    search_per_second: float = Field(default=4.0, gt=0, description="Search endpoint pace.")
    burst_per_10s: int = Field(default=100, ge=1, description="General per-10-second allowance.")
    max_retries: int = Field(default=6, ge=0)
    max_backoff_s: float = Field(default=30.0, gt=0)
    index_lag_s: int = Field(
        default=60,
        ge=0,
        description="Search only records modified at least this long ago, because HubSpot's "
        "search index lags writes by a few seconds.",
    )

    @field_validator("engagement_objects", "contact_title_objects")
    @classmethod
    def _known_objects(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ENGAGEMENT_OBJECTS))
        if unknown:
            raise ValueError(
                f"unknown HubSpot engagement object(s) {unknown}; use any of "
                f"{list(ENGAGEMENT_OBJECTS)}"
            )
        return value

    def team_managers(self) -> dict[str, str]:
        """Return the team -> manager email mapping with emails lower-cased."""
        return {team: email.strip().lower() for team, email in self.teams.items()}
