"""The local Slack stand-in: Web API on loopback plus the page where you act as anyone.

One ``ThreadingHTTPServer`` on 127.0.0.1 serves

- ``/api/<method>``: the Web API methods the bot and jobs use (point SLACK_API_URL here);
- ``/upload/<file>``, ``/files/<file>/<name>``: external uploads and the uploaded bytes;
- ``/response/<token>``: response_url answers;
- ``/`` and ``/static/...``: the page; ``/ui/api/...``: its JSON API, which turns typed
  commands, clicks and submitted modals into signed requests to the bot.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.slack_standin.forward import Forwarder
from integrations.slack_standin.webapi import WebApi
from integrations.slack_standin.workspace import (
    BOT_USER_ID,
    Json,
    Member,
    SlackError,
    Workspace,
    public,
)

log = logging.getLogger("pacesetter.slack_standin")
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
Advance = Callable[[float], str]


class SlackStandin:
    """A Slack workspace on loopback for the demo: start(), then point the bot at api_url."""

    def __init__(
        self,
        members: list[Member],
        *,
        token: str,
        signing_secret: str,
        events_url: str = "",
        clock: Callable[[], datetime] | None = None,
        advance: Advance | None = None,
        links: dict[str, str] | None = None,
        commands: list[Json] | None = None,
        port: int = 0,
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.workspace = Workspace(members, clock=self.clock)
        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.standin = self
        host, bound = self.server.server_address[:2]
        self.url = f"http://{host!s}:{bound}"
        self.api = WebApi(self.workspace, token=token, base_url=self.url)
        self.forwarder = Forwarder(
            self.workspace,
            events_url=events_url,
            signing_secret=signing_secret,
            response_base=f"{self.url}/response",
            commands=commands or [],
        )
        self.advance = advance
        self.links = dict(links or {})
        self._thread: threading.Thread | None = None
        self.last_request = time.monotonic()

    def idle_for(self) -> float:
        """Return the seconds since the bot last called the stand-in (page polls do not count)."""
        return time.monotonic() - self.last_request

    @property
    def api_url(self) -> str:
        """Return the Web API base URL for WebClient(base_url=...)."""
        return f"{self.url}/api/"

    def set_events_url(self, url: str) -> None:
        """Point interactions at the bot's /slack/events (known once the bot listens)."""
        self.forwarder.events_url = url

    def start(self) -> SlackStandin:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            name="slack-standin",
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SlackStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # the page's view of the workspace ----------------------------------------------------

    def state_for(self, user_id: str) -> Json:
        """Return what ``user_id`` sees: their DM, public channels, modal, home, notices."""
        ws = self.workspace
        with ws.lock:
            me = ws.member(user_id)
            ws.open_im(user_id)
            conversations = []
            for channel in ws.channels.values():
                if channel.is_im and channel.user != user_id:
                    continue
                messages = []
                for message in channel.messages:
                    if message.get("ephemeral_for") not in (None, user_id):
                        continue
                    shown = public(message)
                    shown["ephemeral"] = "ephemeral_for" in message
                    messages.append(shown)
                conversations.append(
                    {
                        "id": channel.id,
                        "name": "Pacesetter" if channel.is_im else f"#{channel.name}",
                        "is_im": channel.is_im,
                        "messages": messages,
                    }
                )
            modal = ws.top_modal(user_id)
            home = ws.views.get(ws.homes.get(user_id, ""))
            return {
                "version": ws.version,
                "now": self.clock().isoformat(),
                "clock": self.advance is not None,
                "links": self.links,
                "me": _person(me),
                "bot": {"id": BOT_USER_ID, "name": "Pacesetter"},
                "members": [_person(m) for m in ws.members.values()],
                "conversations": conversations,
                "modal": _view_for_page(modal),
                "home": _view_for_page(home),
                "notices": list(ws.notices.get(user_id, []))[-5:],
                "commands": self.forwarder.commands,
            }


def _person(member: Member) -> Json:
    return {
        "id": member.id,
        "name": member.name,
        "email": member.email,
        "title": member.title,
        "team": member.team,
        "tz": member.tz,
    }


def _view_for_page(view: Json | None) -> Json | None:
    if view is None:
        return None
    shown = public(view)
    shown["errors"] = view.get("_errors", {})
    return shown


class _Server(ThreadingHTTPServer):
    """The HTTP server, knowing its stand-in so handlers can reach the workspace."""

    daemon_threads = True
    standin: SlackStandin


class _Handler(BaseHTTPRequestHandler):
    server_version = "SlackStandin/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def standin(self) -> SlackStandin:
        server = self.server
        assert isinstance(server, _Server)
        return server.standin

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # plumbing --------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value: Any, status: int = 200) -> None:
        self._send(status, json.dumps(value).encode(), "application/json; charset=utf-8")

    def _args(self, body: bytes) -> Json:
        """Merge query string, form and JSON arguments, as Slack accepts all of them."""
        url = urlsplit(self.path)
        args: Json = {k: v[-1] for k, v in parse_qs(url.query).items()}
        content_type = (self.headers.get("Content-Type") or "").lower()
        if body and "json" in content_type:
            loaded = json.loads(body or b"{}")
            if isinstance(loaded, dict):
                args.update(loaded)
        elif body:
            args.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()})
        return args

    # routes ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, verb: str) -> None:
        path = urlsplit(self.path).path
        if not path.startswith(("/ui/", "/static/")) and path != "/":
            self.standin.last_request = time.monotonic()  # the bot (not the page) called
        body = self._body() if verb == "POST" else b""
        try:
            if path.startswith("/api/"):
                self._web_api(path.removeprefix("/api/"), body)
            elif path.startswith("/upload/") and verb == "POST":
                self._upload(path.removeprefix("/upload/"), body)
            elif path.startswith("/files/"):
                self._file(path.removeprefix("/files/").split("/")[0])
            elif path.startswith("/response/") and verb == "POST":
                self.standin.forwarder.respond(path.removeprefix("/response/"), json.loads(body))
                self._send(200, b"ok", "text/plain")
            elif path.startswith("/ui/api/"):
                self._ui(verb, path.removeprefix("/ui/api/"), body)
            elif path in ("/", "/index.html"):
                self._static("index.html")
            elif path.startswith("/static/"):
                self._static(path.removeprefix("/static/"))
            else:
                self._json({"error": "not_found"}, 404)
        except SlackError as exc:
            self._json({"ok": False, "error": exc.code}, 400 if path.startswith("/ui/") else 200)
        except (ValueError, KeyError) as exc:
            self._json({"ok": False, "error": "invalid_arguments", "detail": str(exc)}, 400)

    def _web_api(self, method: str, body: bytes) -> None:
        args = self._args(body)
        answer = self.standin.api.call(method, args, self.headers.get("Authorization"))
        self._json(answer)

    def _upload(self, file_id: str, body: bytes) -> None:
        self.standin.workspace.receive_upload(file_id, body, self.headers.get("Content-Type") or "")
        self._send(200, f"OK - {len(body)}".encode(), "text/plain")

    def _file(self, file_id: str) -> None:
        record = self.standin.workspace.file(file_id)
        self._send(
            200, record.get("content", b""), record.get("mimetype", "application/octet-stream")
        )

    def _static(self, name: str) -> None:
        if "/" in name or name.startswith("."):
            self._json({"error": "not_found"}, 404)
            return
        resource = resources.files("integrations.slack_standin").joinpath("static", name)
        if not resource.is_file():
            self._json({"error": "not_found"}, 404)
            return
        suffix = "." + name.rsplit(".", 1)[-1]
        self._send(200, resource.read_bytes(), STATIC_TYPES.get(suffix, "application/octet-stream"))

    def _ui(self, verb: str, route: str, body: bytes) -> None:
        standin = self.standin
        args = self._args(body)
        if verb == "GET" and route == "state":
            self._json(standin.state_for(str(args.get("user") or "")))
            return
        if verb == "GET" and route == "people":
            members = list(standin.workspace.members.values())
            self._json(
                {
                    "default": members[0].id if members else "",
                    "members": [_person(m) for m in members],
                }
            )
            return
        if verb != "POST":
            self._json({"error": "not_found"}, 404)
            return
        user = str(args.get("user") or "")
        standin.workspace.member(user)
        if route == "command":
            delivery = standin.forwarder.command(user, args.get("channel"), str(args["text"]))
            self._json(
                {"ok": delivery.error is None, "status": delivery.status, "error": delivery.error}
            )
        elif route == "action":
            delivery = standin.forwarder.action(
                user,
                action=dict(args["action"]),
                channel_id=args.get("channel"),
                message_ts=args.get("ts"),
                view_id=args.get("view_id"),
                state=args.get("state"),
            )
            self._json(
                {"ok": delivery.error is None, "status": delivery.status, "error": delivery.error}
            )
        elif route == "submit":
            delivery = standin.forwarder.submit(user, str(args["view_id"]), dict(args["values"]))
            self._json(
                {"ok": delivery.error is None, "status": delivery.status, "error": delivery.error}
            )
        elif route == "home":
            delivery = standin.forwarder.home_opened(user)
            self._json({"ok": delivery.error is None, "status": delivery.status})
        elif route == "close":
            standin.forwarder.close(user, str(args["view_id"]))
            self._json({"ok": True})
        elif route == "say":
            standin.workspace.post(
                str(args.get("channel") or standin.workspace.open_im(user).id),
                text=str(args["text"]),
                blocks=None,
                user=user,
            )
            self._json({"ok": True})
        elif route == "clock":
            self._clock(user, float(args.get("days") or 1))
        else:
            self._json({"error": "not_found"}, 404)

    def _clock(self, user: str, days: float) -> None:
        standin = self.standin
        if standin.advance is None:
            self._json({"ok": False, "error": "clock_not_controllable"}, HTTPStatus.CONFLICT)
            return
        summary = standin.advance(days)
        standin.workspace.notify(user, summary)
        self._json({"ok": True, "now": standin.clock().isoformat(), "summary": summary})
