"""Coaching notes on both databases: visibility, follow-ups, and long marked-up text intact."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

import app
from domain.coaching import Role, Viewer
from storage.db import session_scope
from storage.models import Rep
from storage.notes import add_note, follow_ups_due, manager_chain, mark_done, notes_about

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def org(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        director = Rep(source="t", crm_user_id="D", name="Dir", email="d@x.com", role="manager")
        session.add(director)
        session.flush()
        manager = Rep(
            source="t",
            crm_user_id="M",
            name="Man",
            email="m@x.com",
            role="manager",
            manager_id=director.id,
        )
        other = Rep(
            source="t",
            crm_user_id="O",
            name="Oth",
            email="o@x.com",
            role="manager",
            manager_id=director.id,
        )
        session.add_all([manager, other])
        session.flush()
        rep = Rep(source="t", crm_user_id="R", name="Rep", email="r@x.com", manager_id=manager.id)
        session.add(rep)
        session.flush()
        return {"director": director.id, "manager": manager.id, "other": other.id, "rep": rep.id}  # type: ignore[dict-item]


def test_visibility_follow_ups_and_text_kept_intact(engine: Engine) -> None:
    ids = org(engine)
    long_text = ("*Bold* _it_ <@U123> `code` > quote & <https://x.io|link> ünïcødé 🚀 " * 50)[:3000]
    with session_scope(engine) as session:
        assert manager_chain(session, rep_id=ids["rep"]) == [ids["manager"], ids["director"]]
        add_note(
            session,
            manager_id=ids["manager"],
            rep_id=ids["rep"],
            template="one_on_one",
            text=long_text,
            now=NOW,
            scorecard={"kpis": {"wins": {"actual": 1}}},
            follow_up_on=date(2026, 11, 30),
        )
        add_note(
            session,
            manager_id=ids["manager"],
            rep_id=ids["rep"],
            template="blank",
            text="shared",
            now=NOW,
            shared_with_rep=True,
        )
    with session_scope(engine) as session:
        as_manager = notes_about(
            session, rep_id=ids["rep"], viewer=Viewer(ids["manager"], Role.MANAGER)
        )
        as_director = notes_about(
            session, rep_id=ids["rep"], viewer=Viewer(ids["director"], Role.MANAGER)
        )
        as_other = notes_about(
            session, rep_id=ids["rep"], viewer=Viewer(ids["other"], Role.MANAGER)
        )
        as_rep = notes_about(session, rep_id=ids["rep"], viewer=Viewer(ids["rep"], Role.REP))
        assert len(as_manager) == len(as_director) == 2
        assert as_other == []
        assert [n.text for n in as_rep] == ["shared"]
        private = next(n for n in as_manager if n.template == "one_on_one")
        assert private.text == long_text
        assert len(private.text) == 3000
        assert private.scorecard == {"kpis": {"wins": {"actual": 1}}}
        assert follow_ups_due(session, day=date(2026, 11, 29)) == []
        due = follow_ups_due(session, day=date(2026, 11, 30))
        assert [n.id for n in due] == [private.id]
        assert not mark_done(session, note_id=private.id, viewer=Viewer(ids["other"], Role.MANAGER))
        assert mark_done(session, note_id=private.id, viewer=Viewer(ids["manager"], Role.MANAGER))
    with session_scope(engine) as session:
        assert follow_ups_due(session, day=date(2026, 12, 31)) == []


def test_notes_export_as_csv_and_json(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = org(engine)
    text = 'Line one, with "quotes"\nLine two <@U1>'
    with session_scope(engine) as session:
        add_note(
            session,
            manager_id=ids["manager"],
            rep_id=ids["rep"],
            template="deal_review",
            text=text,
            now=NOW,
            scorecard={"kpis": {"wins": {"actual": 2, "goal": 4}}},
        )
    monkeypatch.setenv("DATABASE_URL", database_url)
    with pytest.raises(SystemExit) as done:
        app.main(["notes", "export", "--rep", "r@x.com", "--format", "csv"])
    assert done.value.code == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["text"] == text
    assert rows[0]["scorecard"] == "wins=2/4"
    assert rows[0]["manager"] == "m@x.com"
    with pytest.raises(SystemExit):
        app.main(["notes", "export", "--rep", "r@x.com", "--format", "json"])
    exported = json.loads(capsys.readouterr().out)
    assert exported[0]["scorecard"] == {"kpis": {"wins": {"actual": 2, "goal": 4}}}
    with pytest.raises(SystemExit) as done:
        app.main(["notes", "export", "--rep", "r@x.com", "--format", "pdf"])
    assert done.value.code == 2
