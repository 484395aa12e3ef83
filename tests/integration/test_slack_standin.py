"""The Slack stand-in answers the real slack_sdk client and signs what it sends to Bolt."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import Ack, App, Respond, Say
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations.slack_standin import BOT_USER_ID, Member, SlackStandin
from tests.support.bolt_http import serve_bolt

TOKEN = "xoxb-standin-test"
SECRET = "standin-signing-secret"
PEOPLE = [
    Member("UREP0001", "Ava Stone", "ava.stone@example.com", "America/New_York", "AE", "East"),
    Member("UMGR0001", "Morgan Lee", "morgan.lee@example.com", "Europe/Berlin", "Manager", "East"),
]


@pytest.fixture
def standin() -> Iterator[SlackStandin]:
    commands = [
        {"command": "/mystats", "should_escape": False},
        {"command": "/coach", "should_escape": True},
    ]
    with SlackStandin(PEOPLE, token=TOKEN, signing_secret=SECRET, commands=commands) as running:
        yield running


@pytest.fixture
def client(standin: SlackStandin) -> WebClient:
    return WebClient(token=TOKEN, base_url=standin.api_url)


def test_identity_and_directory(client: WebClient) -> None:
    assert client.auth_test()["user_id"] == BOT_USER_ID
    user = client.users_lookupByEmail(email="AVA.stone@example.com")["user"]
    assert (user["id"], user["tz"], user["profile"]["email"]) == (
        "UREP0001",
        "America/New_York",
        "ava.stone@example.com",
    )
    assert client.users_info(user="UMGR0001")["user"]["tz"] == "Europe/Berlin"
    with pytest.raises(SlackApiError) as missing:
        client.users_lookupByEmail(email="nobody@example.com")
    assert missing.value.response["error"] == "users_not_found"


def test_bad_token_is_refused(standin: SlackStandin) -> None:
    with pytest.raises(SlackApiError) as refused:
        WebClient(token="xoxb-wrong", base_url=standin.api_url).auth_test()
    assert refused.value.response["error"] == "invalid_auth"


def test_dm_post_update_and_history(client: WebClient) -> None:
    dm = client.conversations_open(users="UREP0001")["channel"]["id"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Nudge*"}}]
    posted = client.chat_postMessage(channel=dm, text="Nudge", blocks=blocks)
    client.chat_update(channel=dm, ts=posted["ts"], text="Nudge (edited)", blocks=blocks)
    client.chat_postEphemeral(channel=dm, user="UREP0001", text="only you")
    history = client.conversations_history(channel=dm)["messages"]
    assert [m["text"] for m in history] == ["Nudge (edited)"]
    assert history[0]["blocks"] == blocks
    with pytest.raises(SlackApiError) as nothing:
        client.chat_postMessage(channel=dm)
    assert nothing.value.response["error"] == "no_text"


def test_channels_by_name_appear_and_unknown_ids_fail(client: WebClient) -> None:
    first = client.chat_postMessage(channel="#contest-october-calls", text="Standings")
    again = client.chat_postMessage(channel="contest-october-calls", text="Standings 2")
    assert first["channel"] == again["channel"]
    wins = client.chat_postMessage(channel="#sales-wins", text="Won!")["channel"]
    assert wins != first["channel"]
    with pytest.raises(SlackApiError) as unknown:
        client.chat_postMessage(channel="C99999999", text="x")
    assert unknown.value.response["error"] == "channel_not_found"


def test_files_upload_v2_shares_an_image(standin: SlackStandin, client: WebClient) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    dm = client.conversations_open(users="UREP0001")["channel"]["id"]
    result = client.files_upload_v2(
        channel=dm, content=png, filename="trend.png", title="Trend", initial_comment="Your trend"
    )
    file = result["file"]
    with urllib.request.urlopen(file["url_private"], timeout=5) as response:
        assert response.read() == png
        assert response.headers["Content-Type"] == "image/png"
    shared = client.conversations_history(channel=dm)["messages"][0]
    assert shared["text"] == "Your trend"
    assert shared["files"][0]["id"] == file["id"]


def test_views_publish_and_trigger_rules(standin: SlackStandin, client: WebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    assert client.views_publish(user_id="UREP0001", view=home)["view"]["type"] == "home"
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": []}
    with pytest.raises(SlackApiError) as invalid:
        client.views_open(trigger_id="123.456.abc", view=modal)
    assert invalid.value.response["error"] == "invalid_trigger_id"
    trigger = standin.workspace.new_trigger("UREP0001")
    opened = client.views_open(trigger_id=trigger, view=modal)["view"]
    with pytest.raises(SlackApiError) as exchanged:
        client.views_open(trigger_id=trigger, view=modal)
    assert exchanged.value.response["error"] == "exchanged_trigger_id"
    updated = client.views_update(
        view_id=opened["id"], view={**modal, "blocks": [{"type": "divider"}]}
    )
    assert updated["view"]["id"] == opened["id"]
    assert standin.state_for("UREP0001")["modal"]["blocks"] == [{"type": "divider"}]
    standin.workspace.trigger_ttl_s = 0.0
    late = standin.workspace.new_trigger("UREP0001")
    time.sleep(0.01)
    with pytest.raises(SlackApiError) as expired:
        client.views_open(trigger_id=late, view=modal)
    assert expired.value.response["error"] == "expired_trigger_id"


def _bolt(standin: SlackStandin, received: list[dict[str, Any]]) -> App:
    app = App(client=WebClient(token=TOKEN, base_url=standin.api_url), signing_secret=SECRET)

    @app.command("/mystats")
    def mystats(ack: Ack, body: dict[str, Any], say: Say) -> None:
        received.append(body)
        ack(text=f"Working on it, <@{body['user_id']}>")
        say(
            blocks=[
                {
                    "type": "section",
                    "block_id": "card",
                    "text": {"type": "mrkdwn", "text": "*Your week*"},
                    "accessory": {
                        "type": "button",
                        "action_id": "note",
                        "text": {"type": "plain_text", "text": "Add note"},
                        "value": "n1",
                    },
                }
            ],
            text="Your week",
        )

    @app.action("note")
    def note(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        received.append(body)
        client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "note_modal",
                "title": {"type": "plain_text", "text": "Note"},
                "submit": {"type": "plain_text", "text": "Save"},
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "text",
                        "label": {"type": "plain_text", "text": "Note"},
                        "element": {"type": "plain_text_input", "action_id": "value"},
                    }
                ],
            },
        )

    @app.view("note_modal")
    def save(ack: Ack, view: dict[str, Any], body: dict[str, Any], respond: Respond) -> None:
        received.append(body)
        text = view["state"]["values"]["text"]["value"]["value"]
        if not text:
            ack(response_action="errors", errors={"text": "Write something"})
            return
        ack()

    return app


def test_commands_actions_and_modals_are_signed_and_applied(standin: SlackStandin) -> None:
    received: list[dict[str, Any]] = []
    with serve_bolt(_bolt(standin, received)) as events_url:
        standin.set_events_url(events_url)
        forwarder = standin.forwarder
        assert forwarder.command("UREP0001", None, "/mystats week").error is None
        command = received[0]
        assert (command["command"], command["text"], command["user_id"]) == (
            "/mystats",
            "week",
            "UREP0001",
        )
        state = standin.state_for("UREP0001")
        dm = next(c for c in state["conversations"] if c["is_im"])
        texts = [(m["text"], m["ephemeral"]) for m in dm["messages"]]
        assert ("Working on it, <@UREP0001>", True) in texts
        card = _wait_for(
            lambda: next(
                (
                    m
                    for m in standin.state_for("UREP0001")["conversations"][-1]["messages"]
                    if m["text"] == "Your week"
                ),
                None,
            )
        )
        button = card["blocks"][0]["accessory"]
        forwarder.action(
            "UREP0001",
            action={
                "type": "button",
                "action_id": "note",
                "block_id": "card",
                "value": button["value"],
            },
            channel_id=dm["id"],
            message_ts=card["ts"],
        )
        modal = _wait_for(lambda: standin.state_for("UREP0001")["modal"])
        assert received[1]["container"]["message_ts"] == card["ts"]
        empty = {"text": {"value": {"type": "plain_text_input", "value": None}}}
        forwarder.submit("UREP0001", modal["id"], empty)
        assert standin.state_for("UREP0001")["modal"]["errors"] == {"text": "Write something"}
        filled = {"text": {"value": {"type": "plain_text_input", "value": "Great call"}}}
        forwarder.submit("UREP0001", modal["id"], filled)
        assert standin.state_for("UREP0001")["modal"] is None
        assert received[-1]["view"]["state"]["values"] == filled


def test_wrong_secret_is_rejected_and_shown(standin: SlackStandin) -> None:
    received: list[dict[str, Any]] = []
    app = _bolt(standin, received)
    with serve_bolt(app) as events_url:
        standin.set_events_url(events_url)
        standin.forwarder.verifier.signing_secret = "not-the-secret"
        delivery = standin.forwarder.command("UREP0001", None, "/mystats")
    assert delivery.status == 401 and received == []
    notices = standin.state_for("UREP0001")["notices"]
    assert notices[-1]["text"] == '/mystats failed with the error "http_401"'


def test_unreachable_bot_is_a_dispatch_failure(standin: SlackStandin) -> None:
    standin.set_events_url("http://127.0.0.1:9/slack/events")
    assert standin.forwarder.command("UREP0001", None, "/mystats").error == "dispatch_failed"


def _wait_for(probe: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_state_json_round_trips(standin: SlackStandin) -> None:
    json.dumps(standin.state_for("UMGR0001"))


def test_escaped_commands_turn_typed_mentions_into_user_links(standin: SlackStandin) -> None:
    forwarder = standin.forwarder
    assert forwarder.escape("@Ava Stone please") == "<@UREP0001|ava.stone> please"
    assert forwarder.escape("@morgan.lee") == "<@UMGR0001|morgan.lee>"
    assert forwarder.escape("@ava stonex") == "@ava stonex"


def test_unknown_commands_are_refused_like_slack(standin: SlackStandin) -> None:
    assert standin.forwarder.command("UREP0001", None, "/nope").error == "unknown_command"
    notice = standin.state_for("UREP0001")["notices"][-1]["text"]
    assert notice.startswith("/nope is not a valid command.")


def test_history_filters_by_time_and_returns_metadata_only_when_asked(client: WebClient) -> None:
    meta = {"event_type": "pacesetter_delivery", "event_payload": {"key": "nudge:1:2026-11-19"}}
    first = client.chat_postMessage(channel="UREP0001", text="one", metadata=meta)
    client.chat_postMessage(channel="UREP0001", text="two")
    dm = first["channel"]
    plain = client.conversations_history(channel=dm)["messages"]
    assert [m["text"] for m in plain] == ["two", "one"]
    assert "metadata" not in plain[1]
    full = client.conversations_history(channel=dm, include_all_metadata=True)["messages"]
    assert full[1]["metadata"] == meta
    later = client.conversations_history(channel=dm, oldest=first["ts"])["messages"]
    assert [m["text"] for m in later] == ["two"]
