"""The stand-in's Slack workspace, kept in memory: people, channels, messages, views, files.

One lock guards everything; every change bumps ``version`` so the browser page knows when to
redraw. Errors are raised as ``SlackError`` carrying Slack's own error codes, so the Web API
layer can answer exactly as Slack would.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

TEAM_ID = "T0PACESET"
TEAM_DOMAIN = "pacesetter-demo"
BOT_USER_ID = "U0PACEBOT"
BOT_ID = "B0PACEBOT"
APP_ID = "A0PACESET"
TRIGGER_TTL_S = 3.0

Json = dict[str, Any]


class SlackError(Exception):
    """A Web API failure with Slack's error code (e.g. ``channel_not_found``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Member:
    """A person in the workspace, as the sandbox CRM knows them."""

    id: str
    name: str
    email: str
    tz: str
    title: str = ""
    team: str = ""

    def as_slack(self) -> Json:
        """Return the `user` object of users.info / users.lookupByEmail."""
        zone_offset = _tz_offset(self.tz)
        handle = self.email.split("@")[0]
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": handle,
            "deleted": False,
            "real_name": self.name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": zone_offset,
            "is_bot": False,
            "is_admin": False,
            "profile": {
                "email": self.email,
                "real_name": self.name,
                "display_name": self.name.split()[0],
                "title": self.title,
                "team": TEAM_ID,
            },
        }


def _tz_offset(tz: str) -> int:
    offset = datetime.now(UTC).astimezone(ZoneInfo(tz)).utcoffset()
    return int(offset.total_seconds()) if offset else 0


@dataclass
class Channel:
    """A public channel or a direct message with the bot."""

    id: str
    name: str
    is_im: bool = False
    user: str | None = None
    messages: list[Json] = field(default_factory=list)

    def as_slack(self) -> Json:
        """Return the `channel` object of conversations.open / conversations.info."""
        if self.is_im:
            return {"id": self.id, "is_im": True, "user": self.user, "is_open": True}
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_im": False,
            "is_member": True,
        }


@dataclass
class Trigger:
    """A trigger_id handed out with an interaction; valid once, for a few seconds."""

    user: str
    expires: float
    used: bool = False


@dataclass
class ResponseUrl:
    """Where a command or action may answer later (response_url)."""

    user: str
    channel: str
    message_ts: str | None
    uses: int = 0


class Workspace:
    """All state of the stand-in workspace, safe to use from many threads."""

    def __init__(
        self,
        members: list[Member],
        *,
        channels: tuple[str, ...] = ("general", "sales-wins"),
        clock: Callable[[], datetime] | None = None,
        trigger_ttl_s: float = TRIGGER_TTL_S,
    ) -> None:
        self.lock = threading.RLock()
        self.members = {m.id: m for m in members}
        self.channels: dict[str, Channel] = {}
        self.views: dict[str, Json] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.homes: dict[str, str] = {}
        self.files: dict[str, Json] = {}
        self.triggers: dict[str, Trigger] = {}
        self.responses: dict[str, ResponseUrl] = {}
        self.notices: dict[str, list[Json]] = {}
        self.version = 0
        self.clock = clock or (lambda: datetime.now(UTC))
        self.trigger_ttl_s = trigger_ttl_s
        self._seq = itertools.count(1)
        self._ts_base = 0
        for name in channels:
            self.channel_named(name)

    # identities ------------------------------------------------------------------------

    def member(self, user_id: str) -> Member:
        """Return the member with ``user_id`` or raise user_not_found."""
        try:
            return self.members[user_id]
        except KeyError:
            raise SlackError("user_not_found") from None

    def member_by_email(self, email: str) -> Member:
        """Return the member with ``email`` (case-insensitive) or raise users_not_found."""
        wanted = email.strip().lower()
        for member in self.members.values():
            if member.email.lower() == wanted:
                return member
        raise SlackError("users_not_found")

    def _next_ts(self) -> str:
        """Return a message ts from the workspace clock (the demo's simulated time), unique."""
        seconds = max(int(self.clock().timestamp()), self._ts_base)
        self._ts_base = seconds
        return f"{seconds}.{next(self._seq) % 1_000_000:06d}"

    def _touch(self) -> None:
        self.version += 1

    # channels --------------------------------------------------------------------------

    def channel_named(self, name: str) -> Channel:
        """Return the public channel called ``name``, creating it (contest channels appear)."""
        clean = name.lstrip("#").strip().lower()
        with self.lock:
            for channel in self.channels.values():
                if not channel.is_im and channel.name == clean:
                    return channel
            channel = Channel(id=f"C{len(self.channels) + 1:08d}", name=clean)
            self.channels[channel.id] = channel
            self._touch()
            return channel

    def open_im(self, user_id: str) -> Channel:
        """Return the DM channel between the bot and ``user_id``."""
        self.member(user_id)
        with self.lock:
            for channel in self.channels.values():
                if channel.is_im and channel.user == user_id:
                    return channel
            channel = Channel(id=f"D{user_id[1:]}", name=user_id, is_im=True, user=user_id)
            self.channels[channel.id] = channel
            self._touch()
            return channel

    def resolve(self, ref: str) -> Channel:
        """Resolve a channel argument as Slack does: an id, a #name, a name or a user id."""
        ref = (ref or "").strip()
        if not ref:
            raise SlackError("channel_not_found")
        with self.lock:
            if ref in self.channels:
                return self.channels[ref]
            if ref in self.members:
                return self.open_im(ref)
            if ref[0] in "CDG" and ref[1:].isalnum() and ref.upper() == ref:
                raise SlackError("channel_not_found")
            return self.channel_named(ref)

    # messages --------------------------------------------------------------------------

    def post(
        self,
        channel_ref: str,
        *,
        text: str,
        blocks: list[Json] | None,
        user: str = BOT_USER_ID,
        thread_ts: str | None = None,
        files: list[Json] | None = None,
        ephemeral_for: str | None = None,
        metadata: Json | None = None,
    ) -> tuple[Channel, Json]:
        """Append a message to a channel and return it (to one person only if ephemeral)."""
        if not text and not blocks and not files:
            raise SlackError("no_text")
        with self.lock:
            channel = self.resolve(channel_ref)
            message: Json = {
                "type": "message",
                "ts": self._next_ts(),
                "user": user,
                "text": text or "",
                "blocks": blocks or [],
                "posted_at": self.clock().isoformat(),
            }
            if user == BOT_USER_ID:
                message["bot_id"] = BOT_ID
                message["app_id"] = APP_ID
            if thread_ts:
                message["thread_ts"] = thread_ts
            if files:
                message["files"] = files
            if ephemeral_for:
                message["ephemeral_for"] = ephemeral_for
            if metadata:
                message["metadata"] = metadata
            channel.messages.append(message)
            self._touch()
            return channel, message

    def post_ephemeral(
        self, channel_ref: str, user: str, *, text: str, blocks: list[Json] | None
    ) -> tuple[Channel, Json]:
        """Show a message in a channel to one person only."""
        self.member(user)
        return self.post(channel_ref, text=text, blocks=blocks, ephemeral_for=user)

    def message(self, channel_id: str, ts: str) -> Json:
        """Return the message ``ts`` of a channel or raise message_not_found."""
        channel = self.resolve(channel_id)
        for message in channel.messages:
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    def update(
        self, channel_id: str, ts: str, *, text: str | None, blocks: list[Json] | None
    ) -> Json:
        """Replace a message's text and blocks (chat.update)."""
        with self.lock:
            message = self.message(channel_id, ts)
            if text is not None:
                message["text"] = text
            if blocks is not None:
                message["blocks"] = blocks
            message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
            self._touch()
            return message

    def delete(self, channel_id: str, ts: str) -> None:
        """Remove a message (chat.delete, response_url delete_original)."""
        with self.lock:
            channel = self.resolve(channel_id)
            before = len(channel.messages)
            channel.messages = [m for m in channel.messages if m["ts"] != ts]
            if len(channel.messages) == before:
                raise SlackError("message_not_found")
            self._touch()

    def history(
        self,
        channel_id: str,
        *,
        limit: int = 100,
        oldest: float = 0.0,
        latest: float | None = None,
        with_metadata: bool = False,
    ) -> list[Json]:
        """Return a channel's messages newest first, without ephemeral ones (as Slack).

        Metadata is returned only when asked for (``include_all_metadata``), as Slack does.
        """
        channel = self.resolve(channel_id)
        with self.lock:
            visible = [
                m
                for m in channel.messages
                if "ephemeral_for" not in m
                and float(m["ts"]) > oldest
                and (latest is None or float(m["ts"]) < latest)
            ]
        result = [_public(m) for m in reversed(visible)][:limit]
        if not with_metadata:
            result = [{k: v for k, v in m.items() if k != "metadata"} for m in result]
        return result

    # interactions ----------------------------------------------------------------------

    def new_trigger(self, user: str) -> str:
        """Return a fresh trigger_id for an interaction by ``user``."""
        trigger_id = f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}"
        with self.lock:
            self.triggers[trigger_id] = Trigger(user, time.monotonic() + self.trigger_ttl_s)
        return trigger_id

    def use_trigger(self, trigger_id: str) -> str:
        """Spend a trigger_id and return its user, or raise Slack's trigger errors."""
        with self.lock:
            trigger = self.triggers.get(trigger_id)
            if trigger is None:
                raise SlackError("invalid_trigger_id")
            if trigger.used:
                raise SlackError("exchanged_trigger_id")
            if time.monotonic() > trigger.expires:
                raise SlackError("expired_trigger_id")
            trigger.used = True
            return trigger.user

    def new_response_url(self, user: str, channel: str, message_ts: str | None) -> str:
        """Register a response_url token and return it."""
        token = uuid.uuid4().hex
        with self.lock:
            self.responses[token] = ResponseUrl(user, channel, message_ts)
        return token

    def notify(self, user: str, text: str) -> None:
        """Show a Slack-side notice to one person (e.g. a command that failed to dispatch)."""
        with self.lock:
            self.notices.setdefault(user, []).append({"text": text, "at": self.clock().isoformat()})
            self._touch()

    # views -----------------------------------------------------------------------------

    def _store_view(self, view: Json, *, view_id: str | None = None) -> Json:
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise SlackError("invalid_arguments")
        stored = dict(view)
        stored["id"] = view_id or f"V{uuid.uuid4().hex[:10].upper()}"
        stored["team_id"] = TEAM_ID
        stored["app_id"] = APP_ID
        stored["bot_id"] = BOT_ID
        stored["hash"] = f"{time.time():.6f}.{uuid.uuid4().hex[:8]}"
        stored.setdefault("private_metadata", "")
        stored.setdefault("callback_id", "")
        stored.setdefault("external_id", "")
        stored["state"] = {"values": {}}
        self.views[stored["id"]] = stored
        return stored

    def open_view(self, trigger_id: str, view: Json, *, push: bool = False) -> Json:
        """Open (or push) a modal for the trigger's user."""
        with self.lock:
            user = self.use_trigger(trigger_id)
            stored = self._store_view(view)
            stack = self.modal_stacks.setdefault(user, [])
            if not push:
                stack.clear()
            stack.append(stored["id"])
            stored["_user"] = user
            self._touch()
            return _public(stored)

    def update_view(self, view: Json, *, view_id: str | None, external_id: str | None) -> Json:
        """Replace an open view by id or external_id (views.update)."""
        with self.lock:
            current = self._find_view(view_id, external_id)
            user = current.get("_user")
            stored = self._store_view(view, view_id=current["id"])
            if user:
                stored["_user"] = user
            self._touch()
            return _public(stored)

    def _find_view(self, view_id: str | None, external_id: str | None) -> Json:
        if view_id and view_id in self.views:
            return self.views[view_id]
        if external_id:
            for view in self.views.values():
                if view.get("external_id") == external_id:
                    return view
        raise SlackError("not_found")

    def publish_home(self, user: str, view: Json) -> Json:
        """Set a person's App Home tab (views.publish)."""
        self.member(user)
        with self.lock:
            stored = self._store_view(view, view_id=self.homes.get(user))
            stored["_user"] = user
            self.homes[user] = stored["id"]
            self._touch()
            return _public(stored)

    def top_modal(self, user: str) -> Json | None:
        """Return the modal on top of a person's stack."""
        stack = self.modal_stacks.get(user) or []
        return self.views.get(stack[-1]) if stack else None

    def close_modal(self, user: str, *, all_of_them: bool = False) -> None:
        """Close the top modal (or the whole stack)."""
        with self.lock:
            stack = self.modal_stacks.get(user) or []
            if all_of_them:
                stack.clear()
            elif stack:
                stack.pop()
            self._touch()

    def set_view_errors(self, view_id: str, errors: dict[str, str]) -> None:
        """Show validation errors on an open modal (response_action errors)."""
        with self.lock:
            if view_id in self.views:
                self.views[view_id]["_errors"] = errors
                self._touch()

    # files -----------------------------------------------------------------------------

    def reserve_file(self, filename: str, length: int) -> Json:
        """Start an external upload (files.getUploadURLExternal)."""
        if not filename or length <= 0:
            raise SlackError("invalid_arguments")
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        with self.lock:
            self.files[file_id] = {"id": file_id, "name": filename, "length": length}
        return self.files[file_id]

    def receive_upload(self, file_id: str, content: bytes, content_type: str) -> None:
        """Store the bytes POSTed to an upload URL."""
        with self.lock:
            if file_id not in self.files:
                raise SlackError("file_not_found")
            self.files[file_id]["content"] = content
            self.files[file_id]["mimetype"] = _sniff(content, content_type)

    def file(self, file_id: str) -> Json:
        """Return a file record or raise file_not_found."""
        try:
            return self.files[file_id]
        except KeyError:
            raise SlackError("file_not_found") from None


def _sniff(content: bytes, declared: str) -> str:
    if content.startswith(b"\x89PNG"):
        return "image/png"
    if content[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if content.lstrip().startswith(b"<svg") or b"<svg" in content[:200]:
        return "image/svg+xml"
    return declared or "application/octet-stream"


def _public(record: Json) -> Json:
    """Drop the stand-in's private bookkeeping keys (those starting with '_')."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def public(record: Json) -> Json:
    """Return ``record`` without private bookkeeping keys."""
    return _public(record)
