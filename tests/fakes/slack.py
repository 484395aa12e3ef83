"""A fake Slack: the Web API methods the bot calls, and a sender of signed requests to the bot.

``FakeSlack`` serves ``/api/<method>`` on 127.0.0.1 (port 0) the way slack_sdk's WebClient
calls it (JSON bodies, form bodies or GET query strings), records every call with its parsed
body, keeps the users, messages and views it was given, and can answer a method with HTTP 429
and an integer ``Retry-After``. It also serves the upload URL of files_upload_v2 and the
``response_url`` of slash commands and interactions.

``SlackSender`` signs requests with ``SignatureVerifier`` exactly as Slack does and POSTs them
over HTTP to the running app: slash commands, block_actions, view_submission and events.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from slack_sdk.signature import SignatureVerifier

TEAM_ID = "T0PACE"
BOT_USER_ID = "U0BOT"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


@dataclass
class SlackUser:
    """A workspace member as users.info returns it."""

    id: str
    email: str
    name: str
    tz: str = "America/New_York"
    deleted: bool = False
    is_admin: bool = False

    def payload(self) -> dict[str, Any]:
        """Return the user object of users.info / users.lookupByEmail."""
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.email.split("@")[0],
            "deleted": self.deleted,
            "real_name": self.name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": 0,
            "is_admin": self.is_admin,
            "is_bot": False,
            "profile": {"email": self.email, "real_name": self.name, "display_name": self.name},
        }


class FakeSlack:
    """The Slack Web API on loopback; start with ``with FakeSlack() as slack:``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, SlackUser] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self.uploads_allowed = True
        self.delay_s = 0.0
        # Methods served by a plugged-in fake, given (body, lower-cased headers); e.g. the
        # Socket Mode fake's apps.connections.open, which reads the app token from the header.
        self.extra_methods: dict[
            str, Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]
        ] = {}
        self._rate_limits: dict[str, list[int]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Return the server root, e.g. http://127.0.0.1:PORT."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """Return the base URL to give WebClient (SLACK_API_URL)."""
        return f"{self.url}/api/"

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # set-up ------------------------------------------------------------------------------

    def add_user(self, user_id: str, email: str, name: str, tz: str = "America/New_York") -> None:
        """Add a workspace member."""
        self.users[user_id] = SlackUser(user_id, email.lower(), name, tz)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        self._rate_limits[method] = [retry_after] * times

    # inspection --------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Return the calls of one method (or response URL path 'response'), in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` (matching ``where``) arrived; return them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    c for c in self.calls if c.method == method and (where is None or where(c))
                ]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({c.method for c in self.calls})
                    raise AssertionError(
                        f"expected {count} call(s) of {method}, got {len(found)}; saw {seen}"
                    )
                self._changed.wait(left)

    def clear(self) -> None:
        """Forget the recorded calls."""
        with self._lock:
            self.calls.clear()

    # protocol ----------------------------------------------------------------------------

    def _record(self, method: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._changed:
            self.calls.append(Call(method, body, headers))
            self._changed.notify_all()

    def _answer(
        self, method: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        limits = self._rate_limits.get(method)
        if limits:
            retry_after = limits.pop(0)
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
        extra = self.extra_methods.get(method)
        if extra is not None:
            return 200, extra(body, headers or {}), {}
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return 200, handler(body), {}

    def _m_auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://pacesetter-test.slack.com/",
            "team": "Pacesetter Test",
            "user": "pacesetter",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "B0BOT",
        }

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids):06d}"

    def _m_chat_postMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        ts = self._next_ts()
        message = {
            "ts": ts,
            "text": body.get("text", ""),
            "blocks": _blocks(body),
            "user": BOT_USER_ID,
        }
        with self._lock:
            self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_chat_postEphemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("channel") or not body.get("user"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(body.get("channel", "")), str(body.get("ts", ""))
        with self._lock:
            for message in self.messages.get(channel, []):
                if message["ts"] == ts:
                    message.update(text=body.get("text", ""), blocks=_blocks(body))
                    return {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _m_conversations_open(self, body: dict[str, Any]) -> dict[str, Any]:
        users = str(body.get("users", ""))
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users.split(",", maxsplit=1)[0]}}

    def _m_conversations_history(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        with self._lock:
            messages = list(reversed(self.messages.get(channel, [])))
        return {"ok": True, "messages": messages, "has_more": False}

    def _m_users_lookupByEmail(self, body: dict[str, Any]) -> dict[str, Any]:
        email = str(body.get("email", "")).lower()
        for user in self.users.values():
            if user.email == email and not user.deleted:
                return {"ok": True, "user": user.payload()}
        return {"ok": False, "error": "users_not_found"}

    def _m_users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(body.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user.payload()}

    def _store_view(
        self, body: dict[str, Any], key: str, view_id: str | None = None
    ) -> dict[str, Any]:
        view = body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or "type" not in view:
            return {"ok": False, "error": "invalid_arguments"}
        view_id = view_id or f"V{next(self._ids):06d}"
        stored = {**view, "id": view_id, "team_id": TEAM_ID, "hash": "h1"}
        with self._lock:
            self.views[key] = stored
        return {"ok": True, "view": stored}

    def _m_views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        trigger = str(body.get("trigger_id", ""))
        if not trigger:
            return {"ok": False, "error": "invalid_trigger_id"}
        return self._store_view(body, trigger)

    def _m_views_update(self, body: dict[str, Any]) -> dict[str, Any]:
        # Slack keeps a view's id across updates (a submission names the view it came from).
        view_id = str(body.get("view_id") or body.get("external_id"))
        return self._store_view(body, view_id, view_id if body.get("view_id") else None)

    def _m_views_publish(self, body: dict[str, Any]) -> dict[str, Any]:
        user = str(body.get("user_id", ""))
        if not user:
            return {"ok": False, "error": "invalid_arguments"}
        return self._store_view(body, "home:" + user)

    def _m_files_getUploadURLExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        if not self.uploads_allowed:
            return {"ok": False, "error": "not_allowed_token_type"}
        file_id = f"F{next(self._ids):06d}"
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        files = body.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        if not files or any(f["id"] not in self.uploads for f in files):
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length))

            def _serve(self, raw: bytes) -> None:
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                url = urllib.parse.urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if url.path.startswith("/upload/"):
                    file_id = url.path.rsplit("/", 1)[1]
                    with fake._lock:
                        fake.uploads[file_id] = raw
                    fake._record("upload", {"file_id": file_id, "bytes": len(raw)}, headers)
                    self._reply(200, b"OK - %d" % len(raw), "text/plain")
                    return
                body = _parse(raw, headers.get("content-type", ""), url.query)
                if url.path.startswith("/response/"):
                    fake._record("response", body, headers)
                    self._reply(200, b"ok", "text/plain")
                    return
                method = url.path.removeprefix("/api/")
                fake._record(method, body, headers)
                status, answer, extra = fake._answer(method, body, headers)
                self._reply(status, json.dumps(answer).encode(), "application/json", extra)

            def _reply(
                self, status: int, data: bytes, ctype: str, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _parse(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    body: dict[str, Any] = dict(urllib.parse.parse_qsl(query))
    if not raw:
        return body
    if "json" in content_type:
        body.update(json.loads(raw))
    else:
        body.update(urllib.parse.parse_qsl(raw.decode()))
    return body


def _blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = body.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


# what Slack sends, over HTTP or in a Socket Mode envelope -------------------------------------


def command_fields(
    command: str, text: str, user_id: str, *, channel_id: str, response_url: str, trigger_id: str
) -> dict[str, str]:
    """Return the fields of a slash command (the form body, or a Socket Mode payload)."""
    return {
        "token": "deprecated",
        "team_id": TEAM_ID,
        "team_domain": "pacesetter-test",
        "channel_id": channel_id,
        "channel_name": "sales",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0PACE",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def block_action_payload(
    user_id: str,
    action_id: str,
    value: str,
    *,
    response_url: str,
    trigger_id: str,
    block_id: str = "b",
    view: dict[str, Any] | None = None,
    channel_id: str | None = "C0SALES",
) -> dict[str, Any]:
    """Return a block_actions payload: a button click from a message, or from ``view``."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "pacesetter-test"},
        "user": {"id": user_id, "team_id": TEAM_ID},
        "api_app_id": "A0PACE",
        "trigger_id": trigger_id,
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    if view is not None:
        payload["view"] = view
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0")}
    elif channel_id:
        payload["channel"] = {"id": channel_id}
        payload["container"] = {"type": "message", "channel_id": channel_id}
    return payload


def event_callback(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    """Return the Events API callback that wraps ``event``."""
    return {
        "token": "deprecated",
        "team_id": TEAM_ID,
        "api_app_id": "A0PACE",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
    }


# signed requests to the app ------------------------------------------------------------------


# Slack's trigger ids are unique; the bot claims each one once in its database (bot/dedupe.py),
# so senders must never repeat one: not in one process (a benchmark makes a sender per run of
# requests), nor across processes on a reused database (the benchmarks' generated orgs).
_TRIGGERS = itertools.count(1)
_RUN = secrets.token_hex(4)


class SlackSender:
    """Send requests to the app the way Slack does: signed, over HTTP, to /slack/events."""

    def __init__(self, app_url: str, signing_secret: str, slack: FakeSlack) -> None:
        self.app_url = app_url.rstrip("/") + "/slack/events"
        self.verifier = SignatureVerifier(signing_secret)
        self.slack = slack
        self._ids = itertools.count(1)

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> requests.Response:
        """POST ``body`` signed at ``timestamp`` (now by default) and return the response."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = signature or self.verifier.generate_signature(timestamp=ts, body=body)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
        }
        return requests.post(self.app_url, data=body.encode(), headers=headers, timeout=10)

    def response_url(self) -> str:
        """Return a fresh response_url on the fake."""
        return f"{self.slack.url}/response/{next(self._ids)}"

    def command_body(
        self, command: str, text: str, user_id: str, channel_id: str = "C0SALES"
    ) -> str:
        """Return the form body Slack sends for a slash command."""
        return urllib.parse.urlencode(
            command_fields(
                command,
                text,
                user_id,
                channel_id=channel_id,
                response_url=self.response_url(),
                trigger_id=f"trigger-{next(_TRIGGERS)}-{_RUN}",
            )
        )

    def command(self, command: str, text: str, user_id: str, **kwargs: Any) -> requests.Response:
        """Send a slash command."""
        return self.post(
            self.command_body(command, text, user_id), "application/x-www-form-urlencoded", **kwargs
        )

    def _interaction(self, payload: dict[str, Any]) -> requests.Response:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")

    def block_action(
        self,
        user_id: str,
        action_id: str,
        value: str,
        *,
        block_id: str = "b",
        view: dict[str, Any] | None = None,
        channel_id: str | None = "C0SALES",
    ) -> requests.Response:
        """Send a button click (block_actions) from a message, or from ``view``."""
        payload = block_action_payload(
            user_id,
            action_id,
            value,
            trigger_id=f"trigger-{next(_TRIGGERS)}-{_RUN}",
            response_url=self.response_url(),
            block_id=block_id,
            view=view,
            channel_id=channel_id,
        )
        return self._interaction(payload)

    def view_submission(
        self, user_id: str, view: dict[str, Any], values: dict[str, dict[str, Any]]
    ) -> requests.Response:
        """Submit a modal ``view`` (as views.open received it) with ``values`` filled in."""
        submitted = {**view, "state": {"values": values}}
        submitted.setdefault("id", "V0")
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "pacesetter-test"},
            "user": {"id": user_id, "team_id": TEAM_ID},
            "api_app_id": "A0PACE",
            "trigger_id": f"trigger-{next(_TRIGGERS)}-{_RUN}",
            "view": submitted,
        }
        return self._interaction(payload)

    def event(self, event: dict[str, Any]) -> requests.Response:
        """Send an Events API callback wrapping ``event``."""
        body = json.dumps(event_callback(event, f"Ev{next(self._ids):08d}"))
        return self.post(body, "application/json")


@contextmanager
def running_fake() -> Iterator[FakeSlack]:
    """Run a FakeSlack for the duration of the block."""
    with FakeSlack() as fake:
        yield fake
