"""`pacesetter doctor` against the fake Slack: database, auth.test, sources, unmatched reps."""

from __future__ import annotations

from pathlib import Path

import pytest

import app
from tests.bot.conftest import NOW, TZ, make_runtime, slack_id, sync_sandbox
from tests.fakes.slack import FakeSlack


def test_doctor_links_reps_by_email_and_lists_the_unmatched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'doctor.db'}"
    with FakeSlack() as slack:
        rt = make_runtime(url, slack)
        rt.upgrade()
        org = sync_sandbox(rt)
        people = org.people(NOW.date())
        for person in people[:-1]:
            slack.add_user(slack_id(person.user.crm_id), person.user.email, person.user.name, TZ)
        rt.engine.dispose()
        for key, value in {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-doctor",
            "SLACK_API_URL": slack.api_url,
            "PACESETTER_NOW": NOW.isoformat(),
        }.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("PACESETTER_CONFIG", raising=False)
        with pytest.raises(SystemExit) as exit_:
            app.main(["doctor"])
        out = capsys.readouterr().out
        assert exit_.value.code == 0, out
        assert "Slack: Pacesetter Test" in out
        assert f"linked {len(people) - 1} reps" in out
        assert "1 reps have no Slack user" in out and people[-1].user.email in out
        assert slack.calls_to("auth.test")
        assert len(slack.calls_to("users.lookupByEmail")) == len(people)


def test_demo_prints_the_board_ranked_by_activity_score_like_slack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("DATABASE_URL", "PACESETTER_CONFIG", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PACESETTER_NOW", NOW.isoformat())
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit_:
        app.main(["demo"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0, out
    board = out[out.index("Leaderboard — activity score") :]
    board = board[: board.index("Score: 100")]
    rows = [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in board.splitlines()
        if line.startswith("│")
    ]
    assert len(rows) == 20, board
    scores = [float(row[2]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    ranks = [int(row[0]) for row in rows]
    assert ranks[0] == 1 and ranks == sorted(ranks)
    # Ties share a rank; otherwise the rank is the position.
    for position, (rank, score) in enumerate(zip(ranks, scores, strict=True), start=1):
        assert rank == position or score == scores[rank - 1]


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "--rep", "ann@example.com"],
        ["coach", "--rep", "ann@example.com"],
        ["notes", "export", "--rep", "ann@example.com", "--format", "json"],
        ["contest", "list"],
    ],
)
def test_a_database_without_tables_gets_one_line_saying_to_upgrade(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.delenv("PACESETTER_CONFIG", raising=False)
    with pytest.raises(SystemExit) as exit_:
        app.main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "run `pacesetter db upgrade`" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3  # one sentence, wrapped at most


def test_other_database_errors_are_not_disguised_as_a_missing_schema() -> None:
    import sqlalchemy.exc

    locked = sqlalchemy.exc.OperationalError("UPDATE rep", {}, Exception("database is locked"))
    assert app.schema_problem(locked) is None
    missing = sqlalchemy.exc.ProgrammingError(
        "SELECT", {}, Exception('relation "rep" does not exist\nLINE 1: ...')
    )
    problem = app.schema_problem(missing)
    assert problem is not None and 'relation "rep" does not exist' in problem
