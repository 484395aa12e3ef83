"""Injection: values from config, stored cursors, the CLI and Slack never change a query.

SOQL is checked against what the fake Salesforce received, parsed by its SOQL parser: the WHERE
tree has the same shape as with a harmless value and the hostile value is one literal, intact.
HubSpot search bodies are checked as the fake HubSpot received them. SQL through slash command
text and CLI options is bound, never spliced: the stored rows survive and the value round-trips.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

import app
from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.options import HubSpotOptions
from integrations.salesforce.source import Position, QuerySpec, build_soql
from storage.db import make_engine
from storage.models import Contest, Rep
from tests.conftest import truncate_all
from tests.fakes import hubspot as fake_hubspot
from tests.fakes.hubspot import FakeClock, FakeHubSpot, Portal
from tests.fakes.salesforce import FakeSalesforce
from tests.fakes.soql import BoolOp, Compare, InList, Like, Not, parse
from tests.integration.salesforce_support import Clock, session_source, sync
from tests.reliability.conftest import RelEnv, Resender, running_bot

HOSTILE = [
    "Standard' OR UserType != 'x",
    "x\\' OR Id != null OR Name = \\'",
    "'); DELETE FROM Opportunity; --",
    'a\nb\r\tc"d',
    "%_*?",
    "Standard) OR (IsActive = true",
    "ünïcødé 🚀 \u202e",
]


def shape(node: Any) -> Any:
    """Return a WHERE tree with every literal value blanked: what the query *does*."""
    if isinstance(node, Compare):
        return ("cmp", node.field, node.op)
    if isinstance(node, InList):
        return ("in", node.field, len(node.values), node.negate)
    if isinstance(node, Like):
        return ("like", node.field)
    if isinstance(node, Not):
        return ("not", shape(node.operand))
    if isinstance(node, BoolOp):
        return (node.op, tuple(shape(o) for o in node.operands))
    return node


def literals(node: Any) -> list[Any]:
    """Return every literal value in a WHERE tree, in order."""
    if isinstance(node, Compare):
        return [node.value]
    if isinstance(node, InList):
        return list(node.values)
    if isinstance(node, Like):
        return [node.pattern]
    if isinstance(node, Not):
        return literals(node.operand)
    if isinstance(node, BoolOp):
        return [v for o in node.operands for v in literals(o)]
    return []


# Salesforce ----------------------------------------------------------------------------------


def user_queries(fake: FakeSalesforce) -> list[str]:
    return [q for q in fake.queries if " FROM User" in q]


def first_sync_user_queries(engine: Engine, user_types: list[str]) -> list[str]:
    """Run a first sync (empty database) with ``user_types``; return the User queries sent."""
    truncate_all(engine)
    clock = Clock()
    fake = FakeSalesforce(clock=clock).start()
    try:
        source = session_source(fake, clock, user_types=user_types, event_outcome_field=None)
        sync(engine, source, clock)
    finally:
        fake.stop()
    return user_queries(fake)


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """SOQL does not depend on the database: one SQLite file is enough here."""
    shutil.copy(sqlite_template, tmp_path / "sf.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'sf.db'}")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_config_values_reach_soql_as_one_escaped_literal(
    sqlite_engine: Engine, hostile: str
) -> None:
    (baseline,) = first_sync_user_queries(sqlite_engine, ["Standard"])
    sent = first_sync_user_queries(sqlite_engine, [hostile])
    assert len(sent) == 1
    tree = parse(sent[0]).where
    assert shape(tree) == shape(parse(baseline).where)
    assert hostile in literals(tree)
    assert "Standard" not in literals(tree)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_tampered_cursor_id_stays_a_literal(hostile: str) -> None:
    spec = QuerySpec(
        sobject="Opportunity",
        fields=("Id", "Name", "SystemModstamp"),
        stamp="SystemModstamp",
        where="IsDeleted = false",
    )
    queried = datetime(2026, 11, 20, 12, tzinfo=UTC)
    old = queried - timedelta(hours=2)
    harmless = parse(
        build_soql(
            spec, Position(old, "006000000000001AAA", queried), overlap=timedelta(minutes=10)
        )
    )
    tampered = parse(
        build_soql(spec, Position(old, hostile, queried), overlap=timedelta(minutes=10))
    )
    assert shape(tampered.where) == shape(harmless.where)
    assert hostile in literals(tampered.where)
    assert tampered.sobject == "Opportunity" and tampered.fields == harmless.fields


# HubSpot -------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hubspot_filter_values_travel_as_json_strings(
    hostile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[dict[str, Any]] = []
    real_search = fake_hubspot.search

    def recording(portal: Portal, object_type: str, body: Any) -> dict[str, Any]:
        received.append(json.loads(json.dumps(body)))
        return real_search(portal, object_type, body)

    monkeypatch.setattr(fake_hubspot, "search", recording)
    clock = FakeClock()
    with FakeHubSpot(Portal()) as fake:
        client = HubSpotClient(
            fake.portal.token,
            base_url=fake.url,
            options=HubSpotOptions(index_lag_s=0),
            clock=clock.monotonic,
            sleep=clock.sleep,
        )
        filters = [
            [
                {"propertyName": "hs_object_id", "operator": "GT", "value": hostile},
                {"propertyName": "hubspot_owner_id", "operator": "EQ", "value": "42"},
            ]
        ]
        client.search("calls", filters, sort="hs_object_id", properties=["hs_timestamp"], limit=10)
    (body,) = received
    assert body["filterGroups"] == [{"filters": filters[0]}]  # same groups, same filters
    assert body["filterGroups"][0]["filters"][0]["value"] == hostile  # value intact


# SQL through Slack and the CLI ---------------------------------------------------------------

SQL_HOSTILE = [
    "'; DROP TABLE rep; --",
    "show x' OR '1'='1",
    "cancel 1; DELETE FROM contest",
    'show " OR 1=1 --',
    "show %",
    "show _",
]


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelEnv]:
    path = tmp_path_factory.mktemp("inject") / "bot.db"
    with running_bot(f"sqlite:///{path}") as env:
        yield env


def table_counts(env: RelEnv) -> tuple[int, int]:
    with Session(env.rt.engine) as session:
        reps = session.exec(select(func.count()).select_from(Rep)).one()
        contests = session.exec(select(func.count()).select_from(Contest)).one()
    return int(reps), int(contests)


@pytest.mark.parametrize("text", SQL_HOSTILE)
def test_sql_in_command_text_is_only_ever_a_value(bot: RelEnv, text: str) -> None:
    resender = Resender(bot.slack)
    before = table_counts(bot)
    morgan = bot.people["Morgan Lee"]
    for command in ("/contest", "/leaderboard", "/mystats", "/coach", "/pacesetter"):
        replies = len(bot.slack.calls_to("response"))
        assert resender.send(bot.sender.app_url, resender.command_body(command, text, morgan)).ok
        reply = bot.slack.wait_for("response", replies + 1)[-1].body["text"]
        assert "error id" not in reply, reply
    if text.startswith("show "):
        assert f"No contest '{text[5:]}'" in reply_for(bot, resender, f"/contest {text}")
    assert table_counts(bot) == before


def reply_for(env: RelEnv, resender: Resender, line: str) -> str:
    command, _, text = line.partition(" ")
    replies = len(env.slack.calls_to("response"))
    resender.send(
        env.sender.app_url, resender.command_body(command, text, env.people["Carl Novak"])
    )
    return str(env.slack.wait_for("response", replies + 1)[-1].body["text"])


@pytest.mark.parametrize(
    "email",
    ["x' OR '1'='1", "john.miller@example.com' --", "%@example.com", "_ohn.miller@example.com"],
)
def test_cli_rep_emails_match_only_exactly(
    bot: RelEnv, email: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", bot.database_url)
    monkeypatch.setenv("PACESETTER_NOW", "2026-11-19T21:00:00+00:00")
    monkeypatch.delenv("PACESETTER_CONFIG", raising=False)
    for args in (["stats", "--rep", email, "--json"], ["notes", "export", "--rep", email]):
        with pytest.raises(SystemExit) as done:
            app.main(args)
        out = capsys.readouterr()
        assert done.value.code == 2, out
        assert "john.miller" not in out.out  # no one else's data came back
        assert "Traceback" not in out.err
