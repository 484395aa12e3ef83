"""Posting scheduled messages with slack_sdk's WebClient, and finding one already posted.

The client gets no retry handlers: a 429 is reported to the dispatcher (which owns pacing and
honours Retry-After for the whole workspace), and a lost connection is never retried here,
because Slack has no idempotency key and a blind retry after a lost response posts twice.
Every post carries its outbox key in message metadata so a send in doubt can be looked up.
"""

from __future__ import annotations

import socket
import urllib.error
from collections.abc import Mapping, Sequence
from datetime import datetime
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from domain.ports import DeliveryRejected, DeliveryUncertain, Posted, RateLimited

EVENT_TYPE = "pacesetter_delivery"
HISTORY_PAGES = 5
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
        "cannot_dm_bot",
        "missing_scope",
        "restricted_action",
    }
)
_NETWORK_ERRORS = (
    urllib.error.URLError,
    HTTPException,
    ConnectionError,
    TimeoutError,
    socket.timeout,
)


def make_client(token: str, base_url: str, *, timeout: int = 30) -> WebClient:
    """Return a WebClient for ``base_url`` with no automatic retries (see module docstring)."""
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])


class WebClientPoster:
    """Implements the SlackPoster port; DMs go to the channel from conversations.open."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._dm: dict[str, str] = {}

    def post(
        self, channel: str, *, text: str, blocks: Sequence[Mapping[str, object]], key: str
    ) -> Posted:
        """Post a message carrying ``key`` in its metadata; raise the port's errors.

        A user id is posted to directly (Slack delivers it in the app's DM with that user),
        which saves a conversations.open call per nudge.
        """
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=[dict(b) for b in blocks] or None,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"key": key}},
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            raise _rejection(exc) from exc
        except (*_NETWORK_ERRORS, SlackClientError) as exc:
            raise DeliveryUncertain(f"{type(exc).__name__}: {exc}") from exc
        return Posted(channel=str(response.get("channel") or channel), ts=str(response["ts"]))

    def find(self, channel: str, *, key: str, since: datetime) -> Posted | None:
        """Return the message carrying ``key`` posted to ``channel`` since ``since``, if any.

        Posts to a channel need no membership (``chat:write.public``), but reading its history
        does: on ``not_in_channel`` the bot joins the public channel once and reads again.
        """
        target = self._channel(channel)
        try:
            return self._find_in_history(target, key=key, since=since)
        except DeliveryRejected as exc:
            if exc.error != "not_in_channel":
                raise
        self._join(target)
        return self._find_in_history(target, key=key, since=since)

    def _find_in_history(self, target: str, *, key: str, since: datetime) -> Posted | None:
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            try:
                response = self.client.conversations_history(
                    channel=target,
                    oldest=f"{since.timestamp() - 60:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            except SlackApiError as exc:
                raise _rejection(exc) from exc
            except (*_NETWORK_ERRORS, SlackClientError) as exc:
                raise DeliveryUncertain(f"lookup failed: {type(exc).__name__}: {exc}") from exc
            for message in response.get("messages") or []:
                if _carries(message, key):
                    return Posted(channel=target, ts=str(message["ts"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return None

    def _join(self, channel: str) -> None:
        """Join a public channel so its history can be read (``channels:join``)."""
        try:
            self.client.conversations_join(channel=channel)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            raise DeliveryUncertain(
                f"cannot check #{channel} for a post in doubt ({error}): invite the bot to the "
                "channel, or reinstall the app so it has channels:join and channels:history"
            ) from exc
        except (*_NETWORK_ERRORS, SlackClientError) as exc:
            raise DeliveryUncertain(f"conversations.join: {exc}") from exc

    def _channel(self, channel: str) -> str:
        """Return the DM channel for a user id (cached), or ``channel`` itself."""
        if not channel.startswith(("U", "W")):
            return channel
        if channel not in self._dm:
            try:
                response = self.client.conversations_open(users=channel)
            except SlackApiError as exc:
                raise _rejection(exc) from exc
            except (*_NETWORK_ERRORS, SlackClientError) as exc:
                raise DeliveryUncertain(f"conversations.open: {exc}") from exc
            self._dm[channel] = str(response["channel"]["id"])
        return self._dm[channel]


def _carries(message: Mapping[str, Any], key: str) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == EVENT_TYPE and payload.get("key") == key


def _rejection(exc: SlackApiError) -> Exception:
    response = exc.response
    if response.status_code == 429:
        raw = response.headers.get("Retry-After") or response.headers.get("retry-after") or "1"
        try:
            return RateLimited(float(raw))
        except ValueError:
            return RateLimited(1.0)
    error = str(response.get("error") or f"http_{response.status_code}")
    permanent = error in PERMANENT_ERRORS or (400 <= response.status_code < 500)
    if response.status_code == 200:
        permanent = error in PERMANENT_ERRORS
    return DeliveryRejected(error, permanent=permanent)
