"""The HTTP server of `pacesetter run --http`: Bolt's WSGI handler on a threaded WSGI server.

Tests serve the app with exactly this code on port 0, so what they exercise is what runs.
"""

from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A WSGI server that handles each request in its own thread."""

    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(WSGIRequestHandler):
    """Send access lines to logging at debug level rather than to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class HealthAwareHandler(SlackRequestHandler):
    """Bolt's handler plus `GET /healthz` for load balancers and `pacesetter doctor`."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return super().__call__(environ, start_response)


def make_http_server(app: App, host: str = "0.0.0.0", port: int = 3000) -> ThreadingWSGIServer:  # noqa: S104
    """Build (not start) the server for ``app`` at ``EVENTS_PATH``; port 0 picks a free one."""
    server = make_server(
        host,
        port,
        HealthAwareHandler(app, path=EVENTS_PATH),
        server_class=ThreadingWSGIServer,
        handler_class=QuietHandler,
    )
    assert isinstance(server, ThreadingWSGIServer)
    return server


def serve_in_thread(server: ThreadingWSGIServer) -> threading.Thread:
    """Start ``server`` on a daemon thread and return the thread."""
    thread = threading.Thread(target=server.serve_forever, name="pacesetter-http", daemon=True)
    thread.start()
    return thread
