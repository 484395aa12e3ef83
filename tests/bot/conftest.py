"""A running bot over HTTP against the fake Slack, on a synced sandbox org at a frozen time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

import app
from bot.server import ThreadingWSGIServer, make_http_server, serve_in_thread
from config import AppConfig, GoalConfig, OrgConfig, SandboxConfig, Settings
from domain.kpis import default_kpis
from integrations.sandbox import SandboxOrg, SandboxSource
from jobs.sync import run_sync
from tests.fakes.slack import FakeSlack, SlackSender

TZ = "America/New_York"
NOW = datetime(2026, 11, 19, 21, 0, tzinfo=UTC)  # a Thursday afternoon in New York
SECRET = "test-signing-secret"
UNMATCHED_EMAIL = "farid.fischer@example.com"
OUTSIDER = "UOUTSIDER"


def slack_id(crm_id: str) -> str:
    """Return the fake Slack id of the sandbox person with ``crm_id`` (U0100 -> US0100)."""
    return "US" + crm_id[1:]


@dataclass
class BotEnv:
    """Everything a scenario test drives or inspects."""

    slack: FakeSlack
    sender: SlackSender
    rt: app.Runtime
    server: ThreadingWSGIServer
    people: dict[str, str]  # name -> Slack id


def make_runtime(database_url: str, slack: FakeSlack) -> app.Runtime:
    """Return a Runtime on ``database_url`` talking to ``slack`` at the frozen time."""
    settings = Settings(
        database_url=database_url,
        slack_bot_token=SecretStr("xoxb-test-token"),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=slack.api_url,
        pacesetter_now=NOW,
    )
    config = AppConfig(
        org=OrgConfig(timezone=TZ),
        admins=["dana.reyes@example.com"],
        goals=[
            GoalConfig(kpi="prospecting", period="week", target=60),
            GoalConfig(kpi="conversations", period="week", target=15),
            GoalConfig(kpi="meaningful_conversations", period="week", target=5),
            GoalConfig(kpi="opportunities_created", period="week", target=2),
            GoalConfig(kpi="wins", period="month", target=2),
        ],
        sandbox=SandboxConfig(seed=11, reps=10, history_days=21),
    )
    return app.Runtime(settings=settings, config=config)


def sync_sandbox(rt: app.Runtime) -> SandboxOrg:
    """Sync the sandbox org into the runtime's database at NOW."""
    org = SandboxOrg(seed=11, reps=10, history_days=21, timezone=TZ)
    run_sync(SandboxSource(org, now=lambda: NOW), rt.sync_store, default_kpis(), now=lambda: NOW)
    return org


def add_slack_people(slack: FakeSlack, org: SandboxOrg, *, outsider: bool = True) -> dict[str, str]:
    """Give every synced person but the unmatched one a Slack user; return name -> Slack id.

    With ``outsider`` a Slack member who is no rep at all (OUTSIDER) is added too.
    """
    people = {}
    for person in org.people(NOW.date()):
        user = person.user
        if user.email == UNMATCHED_EMAIL:
            continue
        people[user.name] = slack_id(user.crm_id)
        slack.add_user(slack_id(user.crm_id), user.email, user.name, TZ)
    if outsider:
        slack.add_user(OUTSIDER, "outsider@example.com", "Olly Outsider", TZ)
    return people


@pytest.fixture(scope="module")
def bot_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotEnv]:
    """Start the fake Slack and the bot's HTTP server on a synced sandbox org."""
    path: Path = tmp_path_factory.mktemp("bot") / "bot.db"
    with FakeSlack() as slack:
        rt = make_runtime(f"sqlite:///{path}", slack)
        rt.upgrade()
        people = add_slack_people(slack, sync_sandbox(rt))
        rt.load_config_goals()
        client = rt.slack_client()
        rt.match_slack_users(client)
        bolt = rt.bolt_app(client, socket_mode=False)
        server = make_http_server(bolt, "127.0.0.1", 0)
        serve_in_thread(server)
        sender = SlackSender(f"http://127.0.0.1:{server.server_port}", SECRET, slack)
        try:
            yield BotEnv(slack, sender, rt, server, people)
        finally:
            server.shutdown()
            server.server_close()
            rt.engine.dispose()
            rt.read_engine.dispose()
