"""The Slack Web API methods the bot and jobs call, answered from the in-memory workspace.

Arguments arrive as JSON, as a form or as a query string depending on the method (slack_sdk
picks per method), so every method accepts all three. Answers follow Slack: HTTP 200 with
``ok`` true or false and an ``error`` code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from integrations.slack_standin.workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    Json,
    SlackError,
    Workspace,
    public,
)

Method = Callable[[Json], Json]


def _blocks(value: Any) -> list[Json] | None:
    """Accept blocks as a list or as the JSON string a form body carries."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SlackError("invalid_blocks_format") from None
    if not isinstance(value, list):
        raise SlackError("invalid_blocks_format")
    return value


def _view(value: Any) -> Json:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SlackError("invalid_arguments") from None
    if not isinstance(value, dict):
        raise SlackError("invalid_arguments")
    return value


def _object(value: Any) -> Json | None:
    """Accept a JSON object or the JSON string a form body carries (e.g. metadata)."""
    if isinstance(value, str) and value:
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SlackError("invalid_metadata_format") from None
    return value if isinstance(value, dict) else None


def _required(args: Json, name: str) -> str:
    value = args.get(name)
    if value in (None, ""):
        raise SlackError("invalid_arguments")
    return str(value)


class WebApi:
    """Dispatch `/api/<method>` calls; ``base_url`` is where upload and file URLs point."""

    def __init__(self, workspace: Workspace, *, token: str, base_url: str) -> None:
        self.ws = workspace
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.calls: list[tuple[str, Json]] = []
        self.methods: dict[str, Method] = {
            "api.test": lambda args: {"args": args},
            "auth.test": self.auth_test,
            "chat.postMessage": self.post_message,
            "chat.postEphemeral": self.post_ephemeral,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "conversations.open": self.conversations_open,
            "conversations.history": self.conversations_history,
            "conversations.info": self.conversations_info,
            "conversations.list": self.conversations_list,
            "users.lookupByEmail": self.lookup_by_email,
            "users.info": self.users_info,
            "users.list": self.users_list,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "files.getUploadURLExternal": self.get_upload_url,
            "files.completeUploadExternal": self.complete_upload,
        }

    def call(self, method: str, args: Json, authorization: str | None) -> Json:
        """Run one method and return Slack's JSON answer."""
        self.calls.append((method, args))
        handler = self.methods.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        token = (authorization or "").removeprefix("Bearer ").strip() or args.get("token")
        if method != "api.test":
            if not token:
                return {"ok": False, "error": "not_authed"}
            if token != self.token:
                return {"ok": False, "error": "invalid_auth"}
        try:
            return {"ok": True, **handler(args)}
        except SlackError as exc:
            return {"ok": False, "error": exc.code}

    # auth ------------------------------------------------------------------------------

    def auth_test(self, args: Json) -> Json:
        """Identify the bot (Bolt calls this when it starts)."""
        return {
            "url": f"{self.base_url}/",
            "team": "Pacesetter demo",
            "user": "pacesetter",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "is_enterprise_install": False,
        }

    # chat ------------------------------------------------------------------------------

    def post_message(self, args: Json) -> Json:
        """Post a message to a channel, a DM or a user id."""
        channel, message = self.ws.post(
            _required(args, "channel"),
            text=str(args.get("text") or ""),
            blocks=_blocks(args.get("blocks")),
            thread_ts=args.get("thread_ts") or None,
            metadata=_object(args.get("metadata")),
        )
        return {"channel": channel.id, "ts": message["ts"], "message": public(message)}

    def post_ephemeral(self, args: Json) -> Json:
        """Show a message to one person in a channel."""
        _, message = self.ws.post_ephemeral(
            _required(args, "channel"),
            _required(args, "user"),
            text=str(args.get("text") or ""),
            blocks=_blocks(args.get("blocks")),
        )
        return {"message_ts": message["ts"]}

    def chat_update(self, args: Json) -> Json:
        """Edit a message the bot posted."""
        channel = self.ws.resolve(_required(args, "channel"))
        text = args.get("text")
        message = self.ws.update(
            channel.id,
            _required(args, "ts"),
            text=None if text is None else str(text),
            blocks=_blocks(args.get("blocks")),
        )
        return {
            "channel": channel.id,
            "ts": message["ts"],
            "text": message["text"],
            "message": public(message),
        }

    def chat_delete(self, args: Json) -> Json:
        """Delete a message."""
        channel = self.ws.resolve(_required(args, "channel"))
        self.ws.delete(channel.id, _required(args, "ts"))
        return {"channel": channel.id, "ts": args["ts"]}

    # conversations ---------------------------------------------------------------------

    def conversations_open(self, args: Json) -> Json:
        """Open the DM with one person (the bot is the other side)."""
        if args.get("channel"):
            return {"channel": self.ws.resolve(str(args["channel"])).as_slack()}
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if len(users) != 1:
            raise SlackError("invalid_arguments" if not users else "not_supported")
        channel = self.ws.open_im(users[0])
        return {"channel": channel.as_slack(), "already_open": True}

    def conversations_history(self, args: Json) -> Json:
        """Return a channel's messages, newest first."""
        limit = int(args.get("limit") or 100)
        latest = args.get("latest")
        messages = self.ws.history(
            _required(args, "channel"),
            limit=max(1, min(limit, 999)),
            oldest=float(args.get("oldest") or 0),
            latest=float(latest) if latest else None,
            with_metadata=str(args.get("include_all_metadata")).lower() in ("1", "true"),
        )
        return {"messages": messages, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def conversations_info(self, args: Json) -> Json:
        """Describe one channel."""
        return {"channel": self.ws.resolve(_required(args, "channel")).as_slack()}

    def conversations_list(self, args: Json) -> Json:
        """List the public channels."""
        with self.ws.lock:
            channels = [c.as_slack() for c in self.ws.channels.values() if not c.is_im]
        return {"channels": channels, "response_metadata": {"next_cursor": ""}}

    # users -----------------------------------------------------------------------------

    def lookup_by_email(self, args: Json) -> Json:
        """Find a person by email (needs users:read.email in real Slack)."""
        return {"user": self.ws.member_by_email(_required(args, "email")).as_slack()}

    def users_info(self, args: Json) -> Json:
        """Describe one person, including their time zone."""
        return {"user": self.ws.member(_required(args, "user")).as_slack()}

    def users_list(self, args: Json) -> Json:
        """List everyone."""
        members = [m.as_slack() for m in self.ws.members.values()]
        return {"members": members, "response_metadata": {"next_cursor": ""}}

    # views -----------------------------------------------------------------------------

    def views_open(self, args: Json) -> Json:
        """Open a modal for the person whose interaction issued the trigger."""
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger:
            raise SlackError("invalid_arguments")
        return {"view": self.ws.open_view(str(trigger), _view(args.get("view")))}

    def views_push(self, args: Json) -> Json:
        """Push a modal on top of the open one."""
        trigger = _required(args, "trigger_id")
        return {"view": self.ws.open_view(trigger, _view(args.get("view")), push=True)}

    def views_update(self, args: Json) -> Json:
        """Replace an open modal."""
        return {
            "view": self.ws.update_view(
                _view(args.get("view")),
                view_id=args.get("view_id") or None,
                external_id=args.get("external_id") or None,
            )
        }

    def views_publish(self, args: Json) -> Json:
        """Set a person's App Home."""
        return {"view": self.ws.publish_home(_required(args, "user_id"), _view(args.get("view")))}

    # files -----------------------------------------------------------------------------

    def get_upload_url(self, args: Json) -> Json:
        """Reserve a file and return where to POST its bytes."""
        record = self.ws.reserve_file(_required(args, "filename"), int(_required(args, "length")))
        return {"upload_url": f"{self.base_url}/upload/{record['id']}", "file_id": record["id"]}

    def complete_upload(self, args: Json) -> Json:
        """Finish uploads and share them in a channel as one message."""
        raw = args.get("files")
        entries = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments")
        shared = []
        for entry in entries:
            record = self.ws.file(str(entry.get("id")))
            if "content" not in record:
                raise SlackError("file_upload_not_complete")
            record["title"] = entry.get("title") or record["name"]
            shared.append(self.file_object(record))
        channel = args.get("channel_id") or args.get("channels")
        if channel:
            self.ws.post(
                str(channel).split(",")[0],
                text=str(args.get("initial_comment") or ""),
                blocks=_blocks(args.get("blocks")),
                thread_ts=args.get("thread_ts") or None,
                files=shared,
            )
        return {"files": shared}

    def file_object(self, record: Json) -> Json:
        """Return Slack's file object with URLs served by the stand-in."""
        url = f"{self.base_url}/files/{record['id']}/{record['name']}"
        return {
            "id": record["id"],
            "name": record["name"],
            "title": record.get("title", record["name"]),
            "mimetype": record.get("mimetype", "application/octet-stream"),
            "size": len(record.get("content", b"")),
            "url_private": url,
            "url_private_download": url,
            "permalink": url,
            "permalink_public": url,
            "team_id": TEAM_ID,
            "domain": TEAM_DOMAIN,
        }
