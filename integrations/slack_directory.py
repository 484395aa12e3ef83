"""Slack directory lookups: a workspace member by email (users.lookupByEmail) or id (users.info)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from domain.ports import SlackMember

log = logging.getLogger(__name__)
NOT_FOUND = frozenset({"users_not_found", "user_not_found"})


def member_from(user: dict[str, Any]) -> SlackMember:
    """Map Slack's user object to a SlackMember."""
    profile = user.get("profile") or {}
    return SlackMember(
        user_id=str(user["id"]),
        email=(profile.get("email") or None),
        name=str(user.get("real_name") or profile.get("real_name") or user.get("name") or ""),
        timezone=user.get("tz") or None,
        deleted=bool(user.get("deleted", False)),
    )


class SlackUserDirectory:
    """The SlackDirectory port over a WebClient (needs users:read and users:read.email)."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def lookup_by_email(self, email: str) -> SlackMember | None:
        """Return the active member with ``email``, or None when Slack has none."""
        try:
            response = self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            if exc.response.get("error") in NOT_FOUND:
                return None
            raise
        return member_from(response["user"])

    def info(self, user_id: str) -> SlackMember | None:
        """Return the member with ``user_id``, or None when Slack has none."""
        try:
            response = self.client.users_info(user=user_id)
        except SlackApiError as exc:
            if exc.response.get("error") in NOT_FOUND:
                return None
            raise
        return member_from(response["user"])
