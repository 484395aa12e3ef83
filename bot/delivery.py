"""Sending what the builders made: chart uploads to the rep's DM, and DMs.

A workspace may forbid file uploads for apps; then the chart is skipped and the scorecard
alone is sent. That is remembered, so later commands do not try again.
"""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import Message

log = logging.getLogger(__name__)
UPLOAD_REFUSALS = frozenset(
    {
        "not_allowed_token_type",
        "missing_scope",
        "not_allowed",
        "restricted_action",
        "file_uploads_disabled",
    }
)


class ChartUploader:
    """Upload PNG charts to a user's DM with files_upload_v2, while the workspace allows it."""

    def __init__(self) -> None:
        self._allowed = True
        self._lock = threading.Lock()

    @property
    def allowed(self) -> bool:
        """Say whether uploads are still worth trying."""
        return self._allowed

    def upload(self, client: WebClient, user_id: str, png: bytes, comment: str) -> bool:
        """Upload ``png`` to the DM with ``user_id``; say whether it was sent."""
        if not self._allowed:
            return False
        try:
            channel = client.conversations_open(users=user_id)["channel"]["id"]
            client.files_upload_v2(
                channel=channel,
                content=png,
                filename="pacesetter-trend.png",
                title="Your trend",
                alt_txt=comment,
                initial_comment=comment,
            )
        except SlackApiError as exc:
            if exc.response.get("error") in UPLOAD_REFUSALS:
                with self._lock:
                    self._allowed = False
                log.info(
                    "file uploads are not allowed here (%s); charts are off",
                    exc.response.get("error"),
                )
                return False
            raise
        return True


def dm(client: WebClient, user_id: str, message: Message) -> None:
    """Send ``message`` to ``user_id`` as a DM from the bot."""
    client.chat_postMessage(channel=user_id, **message.as_kwargs())
