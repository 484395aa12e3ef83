"""Errors whose message is written for the person who caused them, safe to show in Slack."""

from __future__ import annotations


class UserFacingError(Exception):
    """A problem the user can fix; ``str(error)`` says what to do and leaks nothing."""


class NotLinked(UserFacingError):
    """The Slack user is not matched to any rep in the CRM."""

    def __init__(self) -> None:
        super().__init__(
            "I can't find you among the reps synced from the CRM. Ask an admin to link you "
            "with `/pacesetter link @you your.email@company.com`."
        )


class NotAllowed(UserFacingError):
    """The user may not do this; the message never says anything about the target."""


class BadInput(UserFacingError):
    """A command's text could not be understood; the message shows the right form."""
