"""Bolt's built-in Socket Mode handler, moving to a refreshed connection without a 3 s stall.

Slack regularly asks a Socket Mode app to reconnect (a ``disconnect`` message with reason
``refresh_requested`` or ``warning``). slack_sdk's builtin client then opens the new WebSocket
and closes the old one, but closing waits for the old connection's reader, which sits in
``recv()`` until its 3 s socket timeout; until then nobody reads the new connection, so an
envelope that arrives right after a refresh is acked after Slack's 3 s and the user sees a
timeout (tests/bot/test_socket_mode.py measured 2.9-3.3 s). Shutting the old socket down
first wakes that reader at once; everything else is the SDK's own code.
"""

from __future__ import annotations

import contextlib
import socket

from slack_bolt import App
from slack_bolt.adapter.socket_mode.builtin import SocketModeHandler
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.connection import Connection

PING_INTERVAL_S = 10  # Bolt's default for SocketModeHandler


class PromptSwitchClient(SocketModeClient):
    """A SocketModeClient whose replaced connection stops blocking the new one."""

    def connect(self) -> None:
        """Open a new connection; the old one is shut down before the SDK closes it."""
        replaced = self.current_session
        if replaced is not None:
            _shut_down_before_close(replaced)
        super().connect()

    def disconnect(self) -> None:
        """Close the current connection without waiting out its reader's timeout."""
        if self.current_session is not None:
            _shut_down_before_close(self.current_session)
        super().disconnect()


def _shut_down_before_close(connection: Connection) -> None:
    close = connection.close

    def shut_down_then_close() -> None:
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, also under TLS: the reader's recv() then sees
                # end-of-file instead of an SSL error, and the TLS object stays intact.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        close()

    connection.close = shut_down_then_close  # type: ignore[method-assign]


class PacesetterSocketModeHandler(SocketModeHandler):
    """Bolt's builtin SocketModeHandler (same dispatch and acks) on a PromptSwitchClient."""

    def __init__(self, app: App, app_token: str) -> None:
        # Bolt's __init__ would start a plain SocketModeClient's threads; set up ours instead.
        self.app = app
        self.app_token = app_token
        self.client = PromptSwitchClient(
            app_token=app_token,
            logger=app.logger,
            web_client=app.client,
            proxy=app.client.proxy,
            ping_interval=PING_INTERVAL_S,
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]
