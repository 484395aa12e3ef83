"""The sandbox org's personas are diagnosed correctly, and the scorecard CLI works end to end."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

import app
from integrations.sandbox import PERSONAS
from storage.db import make_engine, session_scope
from storage.metrics import SqlMetricsStore

NOW = "2026-11-19T21:00:00+00:00"  # a Thursday afternoon in New York
CONFIG = """
org:
  timezone: America/New_York
  holidays: [2026-11-26]
sandbox:
  seed: 7
  reps: 20
  history_days: 120
goals:
  - {kpi: prospecting, period: day, target: 40}
  - {kpi: conversations, period: week, target: 40}
  - {kpi: wins, period: month, target: 3}
  - {kpi: won_amount, period: quarter, target: 225000}
"""


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Sync the sandbox org once into a SQLite file shared by this module's tests."""
    folder = tmp_path_factory.mktemp("scorecards")
    config = folder / "pacesetter.yml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'p.db'}",
        "PACESETTER_CONFIG": str(config),
        "PACESETTER_NOW": NOW,
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        with pytest.raises(SystemExit) as done:
            app.main(["sync", "--source", "sandbox"])
        assert done.value.code == 0
    return env


@pytest.fixture
def cli(
    synced: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):  # type: ignore[no-untyped-def]
    for key, value in synced.items():
        monkeypatch.setenv(key, value)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            app.main(list(args))
        out, err = capsys.readouterr()
        return int(exit_info.value.code or 0), out, err

    return run


@pytest.mark.parametrize("email", sorted(e for e, step in PERSONAS.items() if step))
def test_each_persona_is_diagnosed_with_its_weak_step(cli, email: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("coach", "--rep", email, "--json")
    assert code == 0, err
    brief = json.loads(out)
    assert brief["weak_step"] == PERSONAS[email], brief["message"]
    assert brief["status"] == "weak_step"
    assert brief["shadow"]["email"] != email
    assert brief["funnel"]["stages"], "stage win rates from the synced history"
    assert brief["prescription"]["steps"][0]["kpi"] == "wins"


def test_stage_win_rates_rise_through_the_funnel(cli) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = cli("coach", "--rep", "carl.novak@example.com", "--json")
    rates = [s["team_win_rate"] for s in json.loads(out)["funnel"]["stages"]]
    known = [r for r in rates if r is not None]
    assert len(known) >= 3
    assert known == sorted(known), rates


def test_stats_json_carries_goal_pace_status_and_rank(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(
        "stats", "--rep", "sally.chen@example.com", "--period", "week", "--json",
        "--as-of", "2026-11-19",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    prospecting = report["kpis"]["prospecting"]
    assert prospecting["goal"] == 200  # 40 a day for the 5 working days
    assert prospecting["expected_to_date"] == 160
    assert prospecting["status"] in {"ahead", "on_track", "behind"}
    assert report["kpis"]["meaningful_conversations"]["status"] == "no_goal"
    assert report["rank"]["prospecting"]["by"] == "percent"
    assert report["rank"]["meaningful_conversations"]["by"] == "count"  # nobody has a goal
    assert all(r["position"] >= 1 for r in report["rank"].values())
    assert report["scores"]["activity_score"]["value"] is not None


def test_goal_set_and_list_from_the_cli(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(
        "goal", "set", "--kpi", "wins", "--period", "month", "--target", "6",
        "--rep", "John.Miller@example.com", "--from", "2026-11-16",
    )  # fmt: skip
    assert code == 0, err
    assert "wins 6 per month for rep john.miller@example.com" in " ".join(out.split())
    _, out, _ = cli("goal", "list", "--json")
    goals = json.loads(out)
    assert {"kpi": "wins", "scope": "rep", "for": "john.miller@example.com"}.items() <= goals[
        -1
    ].items()
    _, out, _ = cli(
        "stats", "--rep", "john.miller@example.com", "--period", "month", "--json",
        "--as-of", "2026-11-30",
    )  # fmt: skip
    # 20 working days (Thanksgiving off): 10 at 3/20 a day, then 10 at 6/20.
    assert json.loads(out)["kpis"]["wins"]["goal"] == pytest.approx(
        (10 * 3 + 10 * 6) / 20, abs=0.01
    )
    code, _, err = cli("goal", "set", "--kpi", "winz", "--period", "month", "--target", "1")
    assert code == 2 and "Unknown KPI 'winz'" in err
    code, _, err = cli(
        "goal", "set", "--kpi", "wins", "--period", "month", "--target", "1", "--team", "East",
        "--everyone",
    )  # fmt: skip
    assert code == 2 and "only one of" in err


def test_a_new_hire_class_is_compared_with_earlier_hires(cli, synced: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(synced["DATABASE_URL"])
    with session_scope(engine) as session:
        newest = max(SqlMetricsStore(session).reps(), key=lambda r: r.start_date or date.min)
    engine.dispose()
    code, out, err = cli("coach", "--rep", newest.email, "--json", "--as-of", "2026-11-19")
    assert code == 0, err
    ramp = {r["kpi"]: r for r in json.loads(out)["ramp"]}
    prospecting = ramp["prospecting"]
    assert prospecting["class_size"] >= 2 and prospecting["earlier_hires"] >= 2
    assert prospecting["week"] == 3
    assert prospecting["typical_value"] > 0 and prospecting["weeks_ahead"] is not None
    assert "typical onboarding class" in prospecting["message"]
    _, out, _ = cli("coach", "--rep", "john.miller@example.com", "--json")
    assert json.loads(out)["ramp"] is None  # a veteran has no ramp


def test_coach_as_a_manager_includes_the_notes_they_may_read(cli, synced: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from storage.db import make_engine, session_scope
    from storage.notes import add_note
    from storage.queries import rep_by_email

    engine = make_engine(synced["DATABASE_URL"])
    with session_scope(engine) as session:
        john = rep_by_email(session, email="john.miller@example.com")
        manager = session.get(type(john), john.manager_id)
        assert manager is not None
        add_note(
            session,
            manager_id=manager.id or 0,
            rep_id=john.id or 0,
            template="deal_review",
            text="Push the Acme deal to Negotiation",
            now=datetime(2026, 11, 18, tzinfo=UTC),
        )
        manager_email = manager.email
    engine.dispose()
    code, out, err = cli(
        "coach", "--rep", "john.miller@example.com", "--json", "--as", manager_email
    )
    assert code == 0, err
    assert [n["text"] for n in json.loads(out)["notes"]] == ["Push the Acme deal to Negotiation"]
    code, out, err = cli("coach", "--rep", "john.miller@example.com", "--json")
    assert "notes" not in json.loads(out)
    code, _, err = cli(
        "coach", "--rep", "john.miller@example.com", "--as", "sally.chen@example.com"
    )
    assert code == 2
    assert "not john.miller@example.com's manager or an admin" in err
