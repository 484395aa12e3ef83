"""A minimal fake Slack Web API for the outbox: post, open a DM, read a DM's history.

It serves ``/api/chat.postMessage``, ``/api/conversations.open`` and
``/api/conversations.history`` on 127.0.0.1 (port 0) the way slack_sdk's WebClient calls them,
stores messages with their metadata, and injects faults:

- ``rate_limit_rate``: answer that share of posts with HTTP 429 and an integer ``Retry-After``,
  and refuse every post until that many seconds have passed on ``clock`` (so a client that does
  not honour Retry-After is caught);
- ``drop_rate``: accept and store the post, then close the connection without answering (a
  crash after send, seen from the client).

Channels (ids starting with ``C``) follow Slack's membership rule: ``chat.postMessage`` works
without membership (``chat:write.public``), but ``conversations.history`` answers
``not_in_channel`` until the bot has joined with ``conversations.join`` (``channels:history``
covers only channels the app has been added to).
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class StoredMessage:
    """A message the fake accepted."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None
    at: float

    @property
    def key(self) -> str | None:
        """Return the outbox key carried in the metadata."""
        payload = (self.metadata or {}).get("event_payload") or {}
        return payload.get("key")


@dataclass
class RateLimitEvent:
    """A 429 the fake answered: when, and how long it asked the client to wait."""

    at: float
    retry_after: int


@dataclass
class FakeSlackOutbox:
    """The fake's state; ``clock`` is the (possibly simulated) time used for Retry-After."""

    rate_limit_rate: float = 0.0
    drop_rate: float = 0.0
    retry_after_choices: tuple[int, ...] = (1, 2, 3)
    seed: int = 1
    clock: Callable[[], float] = time.monotonic
    messages: list[StoredMessage] = field(default_factory=list)
    rate_limits: list[RateLimitEvent] = field(default_factory=list)
    early_posts: list[float] = field(default_factory=list)
    dropped: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    blocked_until: float = float("-inf")
    joined: set[str] = field(default_factory=set)
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.seed)
        self._ts = itertools.count(1)

    # helpers for tests ---------------------------------------------------------------------

    def sent_keys(self) -> list[str]:
        """Return the outbox keys of every stored message, in arrival order."""
        return [m.key for m in self.messages if m.key]

    # the API -------------------------------------------------------------------------------

    def handle(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """Answer one API call: (status, headers, body); body None means drop the connection."""
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1
            if method == "chat.postMessage":
                return self._post(args)
            if method == "conversations.open":
                user = str(args.get("users") or "").split(",")[0]
                if not user:
                    return 200, {}, {"ok": False, "error": "invalid_arguments"}
                return 200, {}, {"ok": True, "channel": {"id": _dm(user)}}
            if method == "conversations.history":
                return 200, {}, self._history(args)
            if method == "conversations.join":
                return 200, {}, self._join(args)
            return 200, {}, {"ok": False, "error": "unknown_method"}

    def _post(self, args: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        now = self.clock()
        if now < self.blocked_until:
            self.early_posts.append(now)
            wait = max(1, int(self.blocked_until - now + 0.999))
            return 429, {"Retry-After": str(wait)}, {"ok": False, "error": "ratelimited"}
        if self.rate_limit_rate and self._random.random() < self.rate_limit_rate:
            wait = self._random.choice(self.retry_after_choices)
            self.blocked_until = now + wait
            self.rate_limits.append(RateLimitEvent(at=now, retry_after=wait))
            return 429, {"Retry-After": str(wait)}, {"ok": False, "error": "ratelimited"}
        channel = str(args.get("channel") or "")
        if not channel or channel.startswith("CMISSING"):
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if channel.startswith(("U", "W")):
            channel = _dm(channel)
        blocks = args.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        ts = f"{1_700_000_000 + next(self._ts)}.000100"
        self.messages.append(
            StoredMessage(channel, ts, str(args.get("text") or ""), blocks, metadata, now)
        )
        if self.drop_rate and self._random.random() < self.drop_rate:
            self.dropped += 1
            return 200, {}, None
        return 200, {}, {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}}

    def _join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel.startswith("C") or channel.startswith("CMISSING"):
            return {"ok": False, "error": "channel_not_found"}
        self.joined.add(channel)
        return {"ok": True, "channel": {"id": channel, "is_member": True}}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if channel.startswith("C") and channel not in self.joined:
            return {"ok": False, "error": "not_in_channel"}
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [m for m in self.messages if m.channel == channel]
        found.sort(key=lambda m: m.ts, reverse=True)
        result = []
        for message in found[: int(args.get("limit") or 100)]:
            item: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text}
            if with_metadata and message.metadata:
                item["metadata"] = message.metadata
            result.append(item)
        return {"ok": True, "messages": result, "has_more": False}


def _dm(user: str) -> str:
    return "D" + user[1:]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        parsed = urllib.parse.urlparse(self.path)
        args = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        self._answer(parsed.path, args)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        if "json" in (self.headers.get("Content-Type") or ""):
            args = json.loads(raw or "{}")
        else:
            args = {k: v[-1] for k, v in urllib.parse.parse_qs(raw).items()}
        parsed = urllib.parse.urlparse(self.path)
        args.update({k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()})
        self._answer(parsed.path, args)

    def _answer(self, path: str, args: dict[str, Any]) -> None:
        method = path.rsplit("/", 1)[-1]
        status, headers, body = self.server.fake.handle(method, args)
        if body is None:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeSlackOutbox) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def running(fake: FakeSlackOutbox) -> Iterator[FakeSlackOutbox]:
    """Serve ``fake`` on a free loopback port; ``fake.url`` is the Web API base URL."""
    server = _Server(fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
