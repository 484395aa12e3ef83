"""Socket Mode over the wire: the bot `pacesetter run` starts, against a fake Slack WebSocket.

The app is connected by ``Runtime.connect_socket_mode`` (what `pacesetter run` calls when
SLACK_APP_TOKEN is set): Bolt's builtin SocketModeHandler on slack_sdk's builtin client
(bot/socket_mode.py), talking to tests/fakes/slack_socket.py. Envelopes go out as WebSocket
frames, acks come back on the socket, and replies reach the Web API fake as over HTTP.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import struct
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import pytest
from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

import app
from bot.deps import BotDeps
from bot.socket_mode import PacesetterSocketModeHandler
from config import ConfigError
from domain.nudges import NudgeAction
from storage.models import Rep
from tests.bot.conftest import (
    NOW,
    add_slack_people,
    make_runtime,
    sync_sandbox,
)
from tests.fakes.slack import Call, FakeSlack
from tests.fakes.slack_socket import APP_TOKEN, Ack, FakeSocketMode, websocket_accept

ACK_BUDGET_S = 3.0  # Slack shows the user an error when an envelope is not acked in 3 s


@dataclass
class SocketEnv:
    """The bot connected over Socket Mode, and the fakes it talks to."""

    slack: FakeSlack
    socket: FakeSocketMode
    rt: app.Runtime
    handler: PacesetterSocketModeHandler
    people: dict[str, str]  # name -> Slack id


class SocketRuntime(app.Runtime):
    """The app's Runtime, minus /mystats' trend chart (its upload is tested over HTTP, and
    rendering it here would only keep the module's teardown waiting)."""

    def bot_deps(self, client: WebClient) -> BotDeps:
        return replace(super().bot_deps(client), charts=False)


def socket_runtime(database_url: str, slack: FakeSlack, app_token: str) -> app.Runtime:
    """Return the test runtime configured for Socket Mode: an app token, no signing secret."""
    base = make_runtime(database_url, slack)
    settings = base.settings.model_copy(
        update={"slack_app_token": SecretStr(app_token), "slack_signing_secret": None}
    )
    return SocketRuntime(settings=settings, config=base.config)


@pytest.fixture(scope="module")
def socket_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SocketEnv]:
    """Sync the sandbox org and connect the bot to the fake Slack over Socket Mode."""
    path: Path = tmp_path_factory.mktemp("socket") / "socket.db"
    with FakeSlack() as slack, FakeSocketMode(slack) as socket:
        rt = socket_runtime(f"sqlite:///{path}", slack, APP_TOKEN)
        rt.upgrade()
        people = add_slack_people(slack, sync_sandbox(rt), outsider=False)
        rt.load_config_goals()
        client = rt.slack_client()
        rt.match_slack_users(client)
        handler = rt.connect_socket_mode(rt.bolt_app(client, socket_mode=True))
        try:
            yield SocketEnv(slack, socket, rt, handler, people)
        finally:
            # Let lazy work (the /mystats chart upload) finish while the fakes still answer.
            handler.app.listener_runner.listener_executor.shutdown(wait=True)
            handler.close()
            rt.engine.dispose()
            rt.read_engine.dispose()


def acked_in_time(env: SocketEnv, envelope_id: str) -> Ack:
    """Return the ack of ``envelope_id``, checking it came back once and within 3 s."""
    ack = env.socket.wait_for_ack(envelope_id, timeout=ACK_BUDGET_S + 2)
    assert ack.envelope_id == envelope_id
    assert ack.latency_s is not None and ack.latency_s < ACK_BUDGET_S, ack
    assert len(env.socket.acks[envelope_id]) == 1
    return ack


def command(env: SocketEnv, name: str, text: str, user: str) -> tuple[Ack, Call]:
    """Deliver a slash command envelope; return its ack and the response_url reply."""
    before = len(env.slack.calls_to("response"))
    ack = acked_in_time(env, env.socket.slash_command(name, text, user))
    return ack, env.slack.wait_for("response", before + 1)[-1]


def test_the_app_token_opens_the_socket_and_the_connection_answers_pings(
    socket_env: SocketEnv,
) -> None:
    opened = socket_env.slack.calls_to("apps.connections.open")
    assert opened and opened[0].headers["authorization"] == f"Bearer {APP_TOKEN}"
    assert socket_env.handler.client.is_connected()
    assert socket_env.socket.ping(b"are-you-there") == b"are-you-there"
    session = socket_env.handler.client.current_session
    assert session is not None and session.last_ping_pong_time is not None  # our pong parsed


def test_mystats_is_acked_on_the_socket_and_answered_at_the_response_url(
    socket_env: SocketEnv,
) -> None:
    john = socket_env.people["John Miller"]
    ack, reply = command(socket_env, "/mystats", "", john)
    assert reply.body["response_type"] == "ephemeral"
    assert reply.body["text"].startswith("Your week: Nov 16 – Nov 22")
    assert "Prospecting" in str(reply.body["blocks"])
    assert ack.payload is None  # acked empty; the scorecard went to the response_url


def test_coach_gives_a_manager_the_brief_over_the_socket(socket_env: SocketEnv) -> None:
    morgan, john = socket_env.people["Morgan Lee"], socket_env.people["John Miller"]
    _, reply = command(socket_env, "/coach", f"<@{john}|john>", morgan)
    assert reply.body["text"].startswith("Coaching brief for John Miller")
    assert "Questions for your 1:1:" in reply.body["text"]


def test_a_nudge_button_clicked_over_the_socket_snoozes_the_rep(socket_env: SocketEnv) -> None:
    wen = socket_env.people["Wen Weber"]
    before = len(socket_env.slack.calls_to("response"))
    envelope = socket_env.socket.block_action(wen, NudgeAction.SNOOZE_DAY.value, "2026-11-19")
    acked_in_time(socket_env, envelope)
    reply = socket_env.slack.wait_for("response", before + 1)[-1]
    assert reply.body["text"].startswith("Snoozed: no nudge until")
    with Session(socket_env.rt.engine) as session:
        rep = session.exec(select(Rep).where(Rep.email == "wen.weber@example.com")).one()
    assert rep.snoozed_until is not None and rep.snoozed_until > NOW.date()


def test_app_home_opened_arrives_as_an_events_api_envelope(socket_env: SocketEnv) -> None:
    morgan = socket_env.people["Morgan Lee"]
    envelope = socket_env.socket.event({"type": "app_home_opened", "user": morgan, "tab": "home"})
    acked_in_time(socket_env, envelope)
    home = socket_env.slack.wait_for("views.publish", where=lambda c: c.body["user_id"] == morgan)[
        -1
    ].body["view"]
    assert home["type"] == "home"
    assert "Your team this week" in str(home["blocks"])


def test_a_refresh_request_moves_the_app_to_a_new_connection_that_keeps_answering(
    socket_env: SocketEnv,
) -> None:
    fake = socket_env.socket
    opens = len(socket_env.slack.calls_to("apps.connections.open"))
    refreshed_at = time.monotonic()
    old = fake.disconnect("refresh_requested")
    socket_env.slack.wait_for("apps.connections.open", opens + 1)
    fresh = fake.wait_for_connections(old.number + 1)[-1]
    assert fresh.ticket != old.ticket
    # Slack may use the new connection as soon as it is up: an envelope sent right then is
    # acked within 3 s even counted from the refresh (slack_sdk alone took ~3 s more here).
    ack, reply = command(socket_env, "/mystats", "", socket_env.people["Sally Chen"])
    assert ack.connection == fresh.number
    assert ack.acked_at - refreshed_at < ACK_BUDGET_S
    assert reply.body["text"].startswith("Your week:")
    fake.wait_for_closed(old)  # the app let the old connection go


def test_a_refused_app_token_is_one_clear_sentence(socket_env: SocketEnv) -> None:
    rt = socket_runtime(socket_env.rt.settings.database_url, socket_env.slack, "xapp-1-revoked")
    with pytest.raises(ConfigError) as refused:
        rt.connect_socket_mode(rt.bolt_app(rt.slack_client(), socket_mode=True))
    message = str(refused.value)
    assert message.startswith("Slack refused SLACK_APP_TOKEN for Socket Mode (invalid_auth)")
    assert "App-Level Tokens" in message and "connections:write" in message


@pytest.fixture
def cli_env(socket_env: SocketEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI at a copy of the synced database and at the fakes, default config."""
    copy = tmp_path / "cli.db"
    source = socket_env.rt.settings.database_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
    for key, value in {
        "DATABASE_URL": f"sqlite:///{copy}",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_APP_TOKEN": "xoxb-test-token",  # the classic mistake: the bot token pasted twice
        "SLACK_API_URL": socket_env.slack.api_url,
        "PACESETTER_NOW": NOW.isoformat(),
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("PACESETTER_CONFIG", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(key, raising=False)


@pytest.mark.usefixtures("cli_env")
def test_run_stops_at_a_refused_app_token_with_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        app.main(["run"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "error: Slack refused SLACK_APP_TOKEN for Socket Mode (invalid_auth)" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("cli_env")
def test_doctor_checks_the_app_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        app.main(["doctor"])
    out = capsys.readouterr().out
    assert exit_.value.code == 1
    assert "fail Slack refused SLACK_APP_TOKEN for Socket Mode (invalid_auth)" in out

    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    with pytest.raises(SystemExit) as exit_:
        app.main(["doctor"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0, out
    assert "ok   Slack Socket Mode: the app token opens a connection" in out


# the fake itself -----------------------------------------------------------------------------


def read_server_frame(reader: BinaryIO) -> tuple[int, bytes]:
    """Read one unmasked server frame; return (opcode, payload)."""
    first, second = reader.read(2)
    assert not second & 0x80, "server frames are never masked"
    size = second & 0x7F
    if size == 126:
        size = struct.unpack("!H", reader.read(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", reader.read(8))[0]
    return first & 0x0F, reader.read(size)


def test_the_fake_socket_speaks_rfc_6455_and_refuses_what_slack_refuses(
    socket_env: SocketEnv,
) -> None:
    key, accept = "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 1.3
    assert websocket_accept(key) == accept
    web = WebClient(base_url=socket_env.slack.api_url)
    with pytest.raises(SlackApiError) as refused:
        web.apps_connections_open(app_token="xoxb-test-token")
    assert refused.value.response["error"] == "invalid_auth"
    url = urllib.parse.urlsplit(web.apps_connections_open(app_token=APP_TOKEN)["url"])
    upgrade = (
        f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.hostname}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    assert url.hostname is not None and url.port is not None
    with socket.create_connection((url.hostname, url.port), timeout=5) as raw:
        raw.sendall(upgrade)
        reader = raw.makefile("rb")
        head = b"".join(iter(reader.readline, b"\r\n"))
        assert head.startswith(b"HTTP/1.1 101 ")
        assert f"Sec-WebSocket-Accept: {accept}".encode() in head
        opcode, hello = read_server_frame(reader)
        assert opcode == 0x1 and json.loads(hello)["type"] == "hello"
        raw.sendall(bytes([0x81, 2]) + b"{}")  # an unmasked client frame
        opcode, closing_frame = read_server_frame(reader)
        assert opcode == 0x8 and struct.unpack("!H", closing_frame[:2])[0] == 1002
    with socket.create_connection((url.hostname, url.port), timeout=5) as raw:
        raw.sendall(upgrade)  # the same ticket again
        assert raw.makefile("rb").readline().startswith(b"HTTP/1.1 401 ")
    assert socket_env.handler.client.is_connected()
