"""manifest.yml and the handlers agree: every command in it is handled, every handler is in it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import app
from bot.ids import Command
from tests.bot.conftest import BotEnv

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def manifest() -> dict[str, object]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def manifest_commands() -> set[str]:
    features = manifest()["features"]
    assert isinstance(features, dict)
    return {c["command"] for c in features["slash_commands"]}


def registered_commands(env: BotEnv) -> set[str]:
    """Return the commands the running app has a listener for, read from Bolt's matchers."""
    found = set()
    for listener in env.server.get_app().app._listeners:  # type: ignore[attr-defined]
        for matcher in listener.matchers:
            func = getattr(matcher, "func", None)
            for cell in getattr(func, "__closure__", None) or ():
                value = cell.cell_contents
                if isinstance(value, str) and value.startswith("/"):
                    found.add(value)
    return found


def test_every_manifest_command_has_a_handler_and_every_handler_is_in_the_manifest(
    bot_env: BotEnv,
) -> None:
    assert manifest_commands() == {str(c) for c in Command}
    assert registered_commands(bot_env) == manifest_commands()


@pytest.mark.parametrize("command", sorted(manifest_commands()))
def test_each_manifest_command_is_answered_over_http(bot_env: BotEnv, command: str) -> None:
    answer = bot_env.sender.command(command, "help", bot_env.people["Dana Reyes"])
    assert answer.status_code == 200, f"{command}: {answer.status_code} {answer.text}"


def test_manifest_asks_for_the_least_it_needs() -> None:
    data = manifest()
    scopes = set(data["oauth_config"]["scopes"]["bot"])  # type: ignore[index]
    assert scopes == {
        "commands",
        "chat:write",
        "chat:write.public",  # contest posts to a channel the bot was not added to
        "im:write",
        "im:history",  # the outbox looks up a nudge whose send was in doubt
        "channels:history",  # ... and a contest post in a public channel
        "groups:history",  # ... or in a private channel the bot was invited to
        "channels:join",  # reading a public channel's history needs membership
        "users:read",
        "users:read.email",
        "files:write",
    }
    settings = data["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]  # type: ignore[index]
    assert settings["interactivity"]["is_enabled"] is True  # type: ignore[index]
    assert data["features"]["app_home"]["home_tab_enabled"] is True  # type: ignore[index]


def test_pacesetter_manifest_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        app.main(["manifest"])
    assert exit_.value.code == 0
    assert yaml.safe_load(capsys.readouterr().out) == manifest()
