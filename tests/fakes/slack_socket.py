"""A fake of Slack's Socket Mode: ``apps.connections.open`` and the WebSocket it hands out.

Socket Mode is how most admins run Pacesetter (no public URL), so it is tested over the wire:

* ``apps.connections.open`` is served by the plain Web API fake (``FakeSlack``, where the bot's
  WebClient already points), takes the app-level token from ``Authorization: Bearer xapp-…``
  and answers ``{"ok": true, "url": "ws://127.0.0.1:PORT/link/?ticket=…"}``; any other token
  gets ``invalid_auth`` and no token ``not_authed``.
* The WebSocket server is written here on plain sockets (RFC 6455): the upgrade handshake with
  ``Sec-WebSocket-Accept``, unmasked server frames, masked client frames (an unmasked one is
  refused with close code 1002), text, ping -> pong, close. A ticket opens one connection.
* It speaks Slack's messages as docs.slack.dev's Socket Mode page shows them: a ``hello`` on
  connect; envelopes ``{"envelope_id", "type", "payload", "accepts_response_payload"}`` of type
  ``slash_commands``, ``interactive`` and ``events_api``; the app's ack ``{"envelope_id",
  "payload"?}``; and ``{"type": "disconnect", "reason": "warning" | "refresh_requested"}``.

Every ack is recorded per envelope id with the time from the envelope being sent to its ack,
and the connection it came back on. Replies the bot makes over the Web API (response_url,
chat.postMessage, views.publish, …) land in ``FakeSlack`` as usual.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import secrets
import socket
import socketserver
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.slack import (
    TEAM_ID,
    FakeSlack,
    block_action_payload,
    command_fields,
    event_callback,
)

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
APP_ID = "A0PACE"
APP_TOKEN = "xapp-1-A0PACE-1-fake"

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR = 1000, 1002


def websocket_accept(key: str) -> str:
    """Return the Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key."""
    digest = hashlib.sha1((key + WS_GUID).encode(), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode()


def server_frame(opcode: int, payload: bytes) -> bytes:
    """Return one unmasked, final frame (servers never mask, RFC 6455 section 5.1)."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + struct.pack("!H", size)
    else:
        head += bytes([127]) + struct.pack("!Q", size)
    return head + payload


class ProtocolError(Exception):
    """The client broke RFC 6455 (e.g. sent an unmasked frame)."""


@dataclass
class Ack:
    """The app's answer to one envelope."""

    envelope_id: str
    payload: dict[str, Any] | None
    connection: int
    sent_at: float | None
    acked_at: float = field(default_factory=time.monotonic)

    @property
    def latency_s(self) -> float | None:
        """Seconds from the envelope leaving the fake to its ack arriving (None if unsent)."""
        return None if self.sent_at is None else self.acked_at - self.sent_at


class Connection:
    """One accepted WebSocket: frames out under a lock, frames in on the handler's thread."""

    def __init__(self, number: int, sock: socket.socket, ticket: str) -> None:
        self.number = number
        self.sock = sock
        self.ticket = ticket
        self.open = True
        self.pongs: list[bytes] = []
        self._send_lock = threading.Lock()

    def send(self, opcode: int, payload: bytes) -> None:
        """Send one frame; a connection the client already dropped is marked closed."""
        with self._send_lock:
            if not self.open:
                raise ConnectionError(f"connection {self.number} is closed")
            try:
                self.sock.sendall(server_frame(opcode, payload))
            except OSError:
                self.open = False
                raise

    def send_json(self, message: dict[str, Any]) -> None:
        """Send ``message`` as a text frame."""
        self.send(OP_TEXT, json.dumps(message).encode())

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Send a close frame (if still open) and shut the socket."""
        with contextlib.suppress(OSError):
            self.send(OP_CLOSE, struct.pack("!H", code) + reason.encode())
        self.open = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


class FakeSocketMode:
    """Slack's Socket Mode endpoint on loopback, plugged into a running ``FakeSlack``."""

    def __init__(self, slack: FakeSlack, app_token: str = APP_TOKEN) -> None:
        self.slack = slack
        self.app_token = app_token
        self.tickets_issued: list[str] = []
        self.connections: list[Connection] = []
        self.acks: dict[str, list[Ack]] = {}
        self.unexpected: list[str] = []  # text frames that were not acks
        self._sent_at: dict[str, float] = {}
        self._open_tickets: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        slack.extra_methods["apps.connections.open"] = self._connections_open

    # lifecycle ---------------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        """Return the WebSocket root, e.g. ws://127.0.0.1:PORT."""
        host, port = self._server.server_address[:2]
        return f"ws://{host}:{port}"

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for connection in list(self.connections):
            connection.close(1001, "server shutting down")
        self._server.shutdown()
        self._server.server_close()
        self.slack.extra_methods.pop("apps.connections.open", None)

    # apps.connections.open ---------------------------------------------------------------

    def _connections_open(self, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return {"ok": False, "error": "not_authed"}
        if auth.removeprefix("Bearer ") != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        ticket = secrets.token_hex(8)
        with self._changed:
            self.tickets_issued.append(ticket)
            self._open_tickets.add(ticket)
            self._changed.notify_all()
        return {"ok": True, "url": f"{self.ws_url}/link/?ticket={ticket}&app_id={APP_ID}"}

    # driving the app ---------------------------------------------------------------------

    def current(self, timeout: float = 5.0) -> Connection:
        """Return the newest open connection, waiting for one."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                live = [c for c in self.connections if c.open]
                if live:
                    return live[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no Socket Mode connection is open")
                self._changed.wait(left)

    def send_envelope(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool
    ) -> str:
        """Send an envelope of ``kind`` on the newest connection; return its envelope_id."""
        envelope_id = f"env-{next(self._ids):04d}-{secrets.token_hex(4)}"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        connection = self.current()
        with self._lock:
            self._sent_at[envelope_id] = time.monotonic()
        connection.send_json(envelope)
        return envelope_id

    def slash_command(
        self, command: str, text: str, user_id: str, channel_id: str = "C0SALES"
    ) -> str:
        """Deliver a slash command as Slack does in Socket Mode; return the envelope_id."""
        n = next(self._ids)
        fields = command_fields(
            command,
            text,
            user_id,
            channel_id=channel_id,
            response_url=f"{self.slack.url}/response/socket-{n}",
            trigger_id=f"socket-trigger-{n}",
        )
        return self.send_envelope("slash_commands", fields, accepts_response_payload=True)

    def block_action(self, user_id: str, action_id: str, value: str, **kwargs: Any) -> str:
        """Deliver a button click (block_actions) from a message; return the envelope_id."""
        n = next(self._ids)
        payload = block_action_payload(
            user_id,
            action_id,
            value,
            response_url=f"{self.slack.url}/response/socket-{n}",
            trigger_id=f"socket-trigger-{n}",
            **kwargs,
        )
        return self.send_envelope("interactive", payload, accepts_response_payload=False)

    def event(self, event: dict[str, Any]) -> str:
        """Deliver an Events API callback wrapping ``event``; return the envelope_id."""
        payload = event_callback(event, f"EvS{next(self._ids):08d}")
        return self.send_envelope("events_api", payload, accepts_response_payload=False)

    def disconnect(self, reason: str = "refresh_requested") -> Connection:
        """Tell the app to move to a new connection (``warning`` or ``refresh_requested``)."""
        connection = self.current()
        connection.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )
        return connection

    def ping(self, payload: bytes = b"fake-ping", timeout: float = 5.0) -> bytes:
        """Ping the newest connection and return the client's pong payload."""
        connection = self.current()
        before = len(connection.pongs)
        connection.send(OP_PING, payload)
        self._wait(lambda: len(connection.pongs) > before, timeout, "a pong")
        return connection.pongs[before]

    # inspection --------------------------------------------------------------------------

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> Ack:
        """Wait for the ack of ``envelope_id`` and return it."""
        self._wait(lambda: envelope_id in self.acks, timeout, f"an ack of {envelope_id}")
        return self.acks[envelope_id][0]

    def wait_for_connections(self, count: int, timeout: float = 10.0) -> list[Connection]:
        """Wait until ``count`` WebSocket connections were accepted in all; return them."""
        self._wait(lambda: len(self.connections) >= count, timeout, f"{count} connection(s)")
        return list(self.connections)

    def wait_for_closed(self, connection: Connection, timeout: float = 10.0) -> None:
        """Wait until ``connection`` is closed (by either side)."""
        self._wait(lambda: not connection.open, timeout, f"connection {connection.number} to close")

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
                self._changed.wait(left)

    # the WebSocket side ------------------------------------------------------------------

    def _accept(self, sock: socket.socket, ticket: str) -> Connection:
        with self._changed:
            connection = Connection(len(self.connections) + 1, sock, ticket)
            self.connections.append(connection)
            self._changed.notify_all()
        return connection

    def _take_ticket(self, ticket: str) -> bool:
        with self._lock:
            if ticket in self._open_tickets:
                self._open_tickets.remove(ticket)
                return True
            return False

    def _on_text(self, connection: Connection, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        with self._changed:
            if not isinstance(message, dict) or not message.get("envelope_id"):
                self.unexpected.append(text)
            else:
                envelope_id = str(message["envelope_id"])
                ack = Ack(
                    envelope_id,
                    message.get("payload"),
                    connection.number,
                    self._sent_at.get(envelope_id),
                )
                self.acks.setdefault(envelope_id, []).append(ack)
            self._changed.notify_all()

    def _on_pong(self, connection: Connection, payload: bytes) -> None:
        with self._changed:
            connection.pongs.append(payload)
            self._changed.notify_all()

    def _closed(self, connection: Connection) -> None:
        with self._changed:
            connection.open = False
            self._changed.notify_all()

    def _handler_class(self) -> type[socketserver.BaseRequestHandler]:
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            request: socket.socket

            def handle(self) -> None:
                reader = self.request.makefile("rb")
                ticket = self._handshake(reader)
                if ticket is None:
                    return
                connection = fake._accept(self.request, ticket)
                hello = {
                    "type": "hello",
                    "num_connections": sum(c.open for c in fake.connections),
                    "debug_info": {"host": "applink-fake", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": APP_ID},
                }
                try:
                    connection.send_json(hello)
                    self._serve(reader, connection)
                except ProtocolError as exc:
                    connection.close(CLOSE_PROTOCOL_ERROR, str(exc))
                except OSError:
                    pass  # the client dropped the socket (it does so after a disconnect)
                finally:
                    fake._closed(connection)

            def _handshake(self, reader: Any) -> str | None:
                request_line = reader.readline().decode("latin-1").strip()
                headers: dict[str, str] = {}
                while True:
                    line = reader.readline().decode("latin-1")
                    if line in ("\r\n", "\n", ""):
                        break
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                method, _, rest = request_line.partition(" ")
                target = rest.rsplit(" ", 1)[0]
                url = urllib.parse.urlsplit(target)
                ticket = dict(urllib.parse.parse_qsl(url.query)).get("ticket", "")
                problem = None
                if method != "GET" or url.path.rstrip("/") != "/link":
                    problem = "404 Not Found"
                elif headers.get("upgrade", "").lower() != "websocket" or not headers.get(
                    "sec-websocket-key"
                ):
                    problem = "400 Bad Request"
                elif headers.get("sec-websocket-version") != "13":
                    problem = "426 Upgrade Required"
                elif not fake._take_ticket(ticket):
                    problem = "401 Unauthorized"
                if problem is not None:
                    self.request.sendall(
                        f"HTTP/1.1 {problem}\r\nContent-Length: 0\r\n"
                        "Connection: close\r\n\r\n".encode()
                    )
                    return None
                accept = websocket_accept(headers["sec-websocket-key"])
                self.request.sendall(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n".encode()
                )
                return ticket

            def _serve(self, reader: Any, connection: Connection) -> None:
                message = b""
                message_opcode = None
                while connection.open:
                    frame = _read_client_frame(reader)
                    if frame is None:
                        return
                    fin, opcode, payload = frame
                    if opcode == OP_PING:
                        connection.send(OP_PONG, payload)
                    elif opcode == OP_PONG:
                        fake._on_pong(connection, payload)
                    elif opcode == OP_CLOSE:
                        code = payload[:2] if len(payload) >= 2 else b""
                        connection.close(struct.unpack("!H", code)[0] if code else CLOSE_NORMAL)
                        return
                    elif opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                        if opcode != OP_CONTINUATION:
                            message, message_opcode = b"", opcode
                        elif message_opcode is None:
                            raise ProtocolError("continuation frame without a first frame")
                        message += payload
                        if fin:
                            if message_opcode == OP_TEXT:
                                fake._on_text(connection, message.decode("utf-8"))
                            message, message_opcode = b"", None
                    else:
                        raise ProtocolError(f"unknown opcode {opcode}")

        return Handler


def _read_exactly(reader: Any, size: int) -> bytes | None:
    data = reader.read(size)
    return data if data is not None and len(data) == size else None


def _read_client_frame(reader: Any) -> tuple[bool, int, bytes] | None:
    """Read one client frame; return (fin, opcode, unmasked payload), or None at EOF."""
    head = _read_exactly(reader, 2)
    if head is None:
        return None
    fin, opcode = bool(head[0] & 0x80), head[0] & 0x0F
    if not head[1] & 0x80:
        raise ProtocolError("client frames must be masked (RFC 6455 section 5.1)")
    size = head[1] & 0x7F
    if size in (126, 127):
        extended = _read_exactly(reader, 2 if size == 126 else 8)
        if extended is None:
            return None
        size = struct.unpack("!H" if size == 126 else "!Q", extended)[0]
    mask = _read_exactly(reader, 4)
    data = _read_exactly(reader, size) if size else b""
    if mask is None or data is None:
        return None
    return fin, opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


__all__ = ["APP_TOKEN", "TEAM_ID", "Ack", "FakeSocketMode", "websocket_accept"]
