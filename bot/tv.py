"""The office-TV page of `pacesetter run --tv-port N`: read-only HTML plus a small JSON feed.

The page polls ``/tv.json`` every few seconds and redraws without reloading; it cycles the
boards and shows a full-screen splash for each celebration it has not shown yet. Only what
``domain.tv`` puts in a snapshot is served, so privacy rules live in one place.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from domain.tv import TvSnapshot

log = logging.getLogger(__name__)
CACHE_S = 1.0


def snapshot_json(snapshot: TvSnapshot) -> dict[str, Any]:
    """Return the JSON shape of ``/tv.json``."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    result: dict[str, Any] = plain(asdict(snapshot))
    return result


class TvServer:
    """Serve the TV page for ``feed`` on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self, feed: Callable[[], TvSnapshot], *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.feed = feed
        self._lock = threading.Lock()
        self._cached: tuple[float, bytes] | None = None
        self.server = _Server((host, port), _Handler)
        self.server.tv = self
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread: threading.Thread | None = None

    def payload(self) -> bytes:
        """Return the feed as JSON, computed at most once a second however many TVs poll."""
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > CACHE_S:
                body = json.dumps(snapshot_json(self.feed())).encode()
                self._cached = (now, body)
            return self._cached[1]

    def refresh(self) -> None:
        """Forget the cached feed (e.g. right after the demo clock moved)."""
        with self._lock:
            self._cached = None

    def start(self) -> TvServer:
        """Serve on a daemon thread."""
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            name="pacesetter-tv",
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tv: TvServer


class _Handler(BaseHTTPRequestHandler):
    server_version = "PacesetterTV/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        path = urlsplit(self.path).path
        if path == "/tv.json":
            try:
                self._send(200, server.tv.payload(), "application/json")
            except Exception:
                # A TV on the wall must keep its last picture rather than die: say so, log it.
                log.exception("building the TV feed failed")
                self._send(503, b'{"error": "feed unavailable"}', "application/json")
        elif path in ("/", "/index.html"):
            page = resources.files("bot").joinpath("static", "tv.html").read_bytes()
            self._send(200, page, "text/html; charset=utf-8")
        else:
            self._send(404, b"not found", "text/plain")
