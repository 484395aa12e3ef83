"""The YAML config and environment: defaults, overrides, and errors that say which key and why."""

from __future__ import annotations

from pathlib import Path

import pytest

import app
from config import ConfigError, load_app_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pacesetter.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_the_design_defaults() -> None:
    config = load_app_config(None)
    assert [d.name for d in config.kpi_definitions()] == [
        "prospecting",
        "conversations",
        "meaningful_conversations",
        "opportunities_created",
        "opportunities_advanced",
        "wins",
        "won_amount",
    ]


def test_a_kpi_can_be_overridden_disabled_and_added(tmp_path: Path) -> None:
    config = load_app_config(
        write(
            tmp_path,
            """
kpis:
  conversations:
    rules:
      - kinds: [call]
        min_duration_s: 120
  won_amount:
    enabled: false
  demos:
    source: activities
    label: Demos held
    rules:
      - kinds: [meeting]
        include_outcomes: [completed]
""",
        )
    )
    by_name = {d.name: d for d in config.kpi_definitions()}
    assert by_name["conversations"].rules[0].min_duration_s == 120
    assert by_name["conversations"].label == "Conversations"
    assert "won_amount" not in by_name
    assert by_name["demos"].label == "Demos held"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("org:\n  timezone: Mars/Olympus\n", "key `org.timezone`"),
        ("goals:\n  - kpi: wins\n    period: year\n    target: 3\n", "key `goals[0].period`"),
        ("goals:\n  - kpi: wins\n    period: week\n    target: lots\n", "key `goals[0].target`"),
        ("schedule:\n  nudge_time: '08:30'\n", "key `schedule`: is not a known setting"),
        ("kpis:\n  calls:\n    rules: []\n", "kpis.calls.source: a new KPI needs a source"),
        (
            "kpis:\n  conversations:\n    rules:\n"
            "      - kinds: [call]\n        title_pattern: '(VP'\n",
            "is not a valid regular expression",
        ),
        ("org: [\n", "not valid YAML at line"),
        ("- just\n- a list\n", "the top level must be a mapping"),
    ],
)
def test_a_broken_config_says_which_key_and_why(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as error:
        load_app_config(write(tmp_path, text))
    assert message in str(error.value)


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_app_config(tmp_path / "nope.yml")


def test_the_cli_reports_config_and_database_problems_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PACESETTER_CONFIG", str(write(tmp_path, "org:\n  timezone: Nowhere\n")))
    with pytest.raises(SystemExit) as exit_info:
        app.main(["stats", "--rep", "a@b.c"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "key `org.timezone`" in err

    monkeypatch.delenv("PACESETTER_CONFIG")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(SystemExit) as exit_info:
        app.main(["stats", "--rep", "a@b.c"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Cannot reach the database" in err and "Check DATABASE_URL" in err

    monkeypatch.setenv("DATABASE_URL", "not a url")
    with pytest.raises(SystemExit):
        app.main(["stats", "--rep", "a@b.c"])
    assert "is not a database URL" in capsys.readouterr().err


def test_placeholder_slack_secrets_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "changeme")
    with pytest.raises(SystemExit):
        app.main(["stats", "--rep", "a@b.c"])
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err
