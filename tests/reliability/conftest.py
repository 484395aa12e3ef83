"""A running bot (or two, on one database) over real signed HTTP, for the abuse and resend suite.

Built like tests/bot/conftest.py: a synced sandbox org at a frozen time, the fake Slack on
loopback, the Bolt app served by bot/server.py. ``Resender`` can send one exact signed body
several times, with Slack's retry headers, to one or more app instances.
"""

from __future__ import annotations

import itertools
import json
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from slack_sdk.signature import SignatureVerifier

import app
from bot.server import ThreadingWSGIServer, make_http_server, serve_in_thread
from tests.bot.conftest import (
    SECRET,
    add_slack_people,
    make_runtime,
    sync_sandbox,
)
from tests.fakes.slack import TEAM_ID, FakeSlack, SlackSender

FORM = "application/x-www-form-urlencoded"
_IDS = itertools.count(1)


@dataclass
class Instance:
    """One app instance: its runtime and HTTP server."""

    rt: app.Runtime
    server: ThreadingWSGIServer
    sender: SlackSender

    @property
    def url(self) -> str:
        """Return the instance's /slack/events URL."""
        return self.sender.app_url


@dataclass
class RelEnv:
    """The fake Slack, the app instance(s) on one database, and the people by name."""

    slack: FakeSlack
    instances: list[Instance]
    people: dict[str, str]
    database_url: str
    _ids: Any = field(default=None)

    @property
    def rt(self) -> app.Runtime:
        """Return the first instance's runtime."""
        return self.instances[0].rt

    @property
    def sender(self) -> SlackSender:
        """Return a sender to the first instance."""
        return self.instances[0].sender


def _start_instance(url: str, slack: FakeSlack) -> Instance:
    rt = make_runtime(url, slack)
    bolt = rt.bolt_app(rt.slack_client(), socket_mode=False)
    server = make_http_server(bolt, "127.0.0.1", 0)
    serve_in_thread(server)
    sender = SlackSender(f"http://127.0.0.1:{server.server_port}", SECRET, slack)
    return Instance(rt, server, sender)


@contextmanager
def running_bot(database_url: str, *, instances: int = 1) -> Iterator[RelEnv]:
    """Sync the sandbox into ``database_url`` and serve ``instances`` Bolt apps on it."""
    with FakeSlack() as slack:
        setup = make_runtime(database_url, slack)
        setup.upgrade()
        people = add_slack_people(slack, sync_sandbox(setup))
        setup.load_config_goals()
        setup.match_slack_users(setup.slack_client())
        setup.engine.dispose()
        started = [_start_instance(database_url, slack) for _ in range(instances)]
        try:
            yield RelEnv(slack, started, people, database_url)
        finally:
            for instance in started:
                instance.server.shutdown()
                instance.server.server_close()
                instance.rt.engine.dispose()
                instance.rt.read_engine.dispose()


@pytest.fixture(scope="module")
def synced_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a SQLite file with the sandbox synced once for the module (copied per test)."""
    path = tmp_path_factory.mktemp("reltemplate") / "template.db"
    with FakeSlack() as slack:
        rt = make_runtime(f"sqlite:///{path}", slack)
        rt.upgrade()
        sync_sandbox(rt)
        rt.engine.dispose()
    return path


@pytest.fixture(scope="module")
def rel_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelEnv]:
    """One bot instance on SQLite for a whole module."""
    path = tmp_path_factory.mktemp("rel") / "bot.db"
    with running_bot(f"sqlite:///{path}") as env:
        yield env


def copy_template(template: Path, tmp_path: Path) -> str:
    """Return the URL of a fresh copy of ``template``."""
    path = tmp_path / "bot.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


class Resender:
    """Sends one exact signed Slack body, as Slack's resends and duplicate deliveries do."""

    def __init__(self, slack: FakeSlack) -> None:
        self.slack = slack
        self.verifier = SignatureVerifier(SECRET)

    def next_id(self) -> int:
        """Return a fresh number for trigger and event ids (unique across the session)."""
        return next(_IDS)

    def send(
        self,
        url: str,
        body: str,
        content_type: str = FORM,
        *,
        retry: int | None = None,
        reason: str = "http_timeout",
    ) -> requests.Response:
        """POST ``body`` freshly signed; with ``retry``, as Slack's retry number ``retry``."""
        ts = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": self.verifier.generate_signature(timestamp=ts, body=body),
        }
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = reason
        return requests.post(url, data=body.encode(), headers=headers, timeout=10)

    def command_body(self, command: str, text: str, user: str) -> str:
        """Return a slash command's form body with a unique trigger id."""
        n = self.next_id()
        return urllib.parse.urlencode(
            {
                "token": "deprecated",
                "team_id": TEAM_ID,
                "team_domain": "pacesetter-test",
                "channel_id": "C0SALES",
                "channel_name": "sales",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": "A0PACE",
                "is_enterprise_install": "false",
                "response_url": self.response_url(n),
                "trigger_id": f"rtrigger-{n}",
            }
        )

    def response_url(self, n: int) -> str:
        """Return request ``n``'s response_url; the fake records ``req`` with each reply."""
        return f"{self.slack.url}/response/r{n}?req={n}"

    def interaction_body(self, payload: dict[str, Any]) -> str:
        """Return the form body of an interaction payload."""
        return urllib.parse.urlencode({"payload": json.dumps(payload)})

    def block_action_body(self, user: str, action_id: str, value: str) -> str:
        """Return a button click from a message, with a unique trigger id."""
        n = self.next_id()
        return self.interaction_body(
            {
                "type": "block_actions",
                "team": {"id": TEAM_ID, "domain": "pacesetter-test"},
                "user": {"id": user, "team_id": TEAM_ID},
                "api_app_id": "A0PACE",
                "trigger_id": f"rtrigger-{n}",
                "response_url": self.response_url(n),
                "channel": {"id": "C0SALES"},
                "container": {"type": "message", "channel_id": "C0SALES"},
                "actions": [
                    {
                        "type": "button",
                        "action_id": action_id,
                        "block_id": "b",
                        "value": value,
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }
        )

    def view_submission_body(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> str:
        """Return a modal submission of ``view`` with ``values``."""
        n = self.next_id()
        submitted = {**view, "state": {"values": values}}
        submitted.setdefault("id", f"VR{n:05d}")
        return self.interaction_body(
            {
                "type": "view_submission",
                "team": {"id": TEAM_ID, "domain": "pacesetter-test"},
                "user": {"id": user, "team_id": TEAM_ID},
                "api_app_id": "A0PACE",
                "trigger_id": f"rtrigger-{n}",
                "view": submitted,
            }
        )

    def event_body(self, event: dict[str, Any]) -> str:
        """Return an Events API callback with a unique event id."""
        n = self.next_id()
        return json.dumps(
            {
                "token": "deprecated",
                "team_id": TEAM_ID,
                "api_app_id": "A0PACE",
                "event": event,
                "type": "event_callback",
                "event_id": f"EvR{n:08d}",
                "event_time": int(time.time()),
            }
        )


def settle(slack: FakeSlack, seconds: float = 0.6) -> None:
    """Wait until the fake Slack has had no call for ``seconds`` (lazy work has finished)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        count = len(slack.calls)
        time.sleep(seconds)
        if len(slack.calls) == count:
            return
