"""Coaching notes on both databases: visibility, follow-ups, and long marked-up text intact."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect

import app
from domain.coaching import NoteDraft, Role, SavedNote, Viewer
from storage import migrate
from storage.db import session_scope
from storage.models import CoachingNote, Rep
from storage.notes import (
    add_note,
    follow_ups_due,
    follow_ups_to_remind,
    manager_chain,
    mark_done,
    mark_reminded,
    note_for,
    notes_about,
    open_follow_ups,
    save_note,
    written_by,
)

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
            slack_user_id="UMAN",
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


def draft(ids: dict[str, int], key: str | None, text: str = "n", **extra: object) -> NoteDraft:
    return NoteDraft(
        rep_id=ids["rep"],
        template="one_on_one",
        text=text,
        submission_key=key,
        **extra,  # type: ignore[arg-type]
    )


def test_one_note_per_submitted_form_even_when_two_submissions_race(engine: Engine) -> None:
    ids = org(engine)
    with session_scope(engine) as session:
        first = save_note(
            session, draft(ids, "slack:T:V1"), manager_id=ids["manager"], scorecard=None, now=NOW
        )
        again = save_note(
            session,
            draft(ids, "slack:T:V1", "resent"),
            manager_id=ids["manager"],
            scorecard=None,
            now=NOW,
        )
        other = save_note(
            session, draft(ids, "slack:T:V2"), manager_id=ids["manager"], scorecard=None, now=NOW
        )
        unkeyed = [
            save_note(session, draft(ids, None), manager_id=ids["manager"], scorecard=None, now=NOW)
            for _ in range(2)
        ]
    assert first.created and not again.created and again.id == first.id
    assert other.created and other.id != first.id
    assert all(s.created for s in unkeyed) and unkeyed[0].id != unkeyed[1].id

    # Two instances handle the same resend at once: the second waits for the first and finds it.
    results: list[SavedNote] = []
    holding = threading.Event()
    with session_scope(engine) as session:
        results.append(
            save_note(
                session,
                draft(ids, "slack:T:V3"),
                manager_id=ids["manager"],
                scorecard=None,
                now=NOW,
            )
        )

        def second() -> None:
            holding.set()
            with session_scope(engine) as other_session:
                results.append(
                    save_note(
                        other_session,
                        draft(ids, "slack:T:V3", "twin"),
                        manager_id=ids["manager"],
                        scorecard=None,
                        now=NOW,
                    )
                )

        racer = threading.Thread(target=second)
        racer.start()
        holding.wait(5)
        time.sleep(0.2)  # the second submission is now blocked on the first's transaction
    racer.join(10)
    assert [r.created for r in results] == [True, False]
    assert results[0].id == results[1].id
    with session_scope(engine) as session:
        texts = [n.text for n in notes_about(session, rep_id=ids["rep"], viewer=None)]
    assert "twin" not in texts and "resent" not in texts and len(texts) == 5


def test_mark_done_once_reads_for_the_home_tab_and_reminders(engine: Engine) -> None:
    ids = org(engine)
    manager, other, rep = (
        Viewer(ids["manager"], Role.MANAGER),
        Viewer(ids["other"], Role.MANAGER),
        Viewer(ids["rep"], Role.REP),
    )
    due = date(2026, 11, 30)
    with session_scope(engine) as session:
        private = save_note(
            session,
            draft(ids, "k1", "private", follow_up_on=due),
            manager_id=ids["manager"],
            scorecard=None,
            now=NOW,
        ).id
        shared = save_note(
            session,
            draft(ids, "k2", "shared", shared_with_rep=True),
            manager_id=ids["manager"],
            scorecard=None,
            now=NOW,
        ).id
    with session_scope(engine) as session:
        assert note_for(session, note_id=private, viewer=other) is None
        assert note_for(session, note_id=private, viewer=rep) is None
        assert note_for(session, note_id=shared, viewer=rep) is not None
        assert [n.id for n in written_by(session, manager_id=ids["manager"], limit=5)] == [
            shared,
            private,
        ]
        assert [n.id for n in open_follow_ups(session, manager_id=ids["manager"], limit=5)] == [
            private
        ]
        assert follow_ups_to_remind(session, until=due - timedelta(days=1)) == []
    with session_scope(engine) as session:
        (reminder,) = follow_ups_to_remind(session, until=due)
        assert reminder.note.id == private and reminder.manager_slack_id == "UMAN"
        assert reminder.rep.email == "r@x.com"
        mark_reminded(session, note_id=private, due=due)
    with session_scope(engine) as session:
        assert follow_ups_to_remind(session, until=due) == []
        assert mark_done(session, note_id=private, viewer=other, now=NOW) is None
        assert mark_done(session, note_id=private, viewer=rep, now=NOW) is None
        assert mark_done(session, note_id=private, viewer=manager, now=NOW) is True
    later = NOW + timedelta(hours=1)
    with session_scope(engine) as session:
        assert (
            mark_done(
                session, note_id=private, viewer=Viewer(ids["director"], Role.MANAGER), now=later
            )
            is False
        )
        view = note_for(session, note_id=private, viewer=manager)
        assert view is not None and view.done
        assert view.done_at is not None and view.done_at.startswith("2026-11-23T15:00")
        assert open_follow_ups(session, manager_id=ids["manager"], limit=5) == []
        row = session.get(CoachingNote, private)
        assert row is not None and row.done_by_id == ids["manager"]


def test_the_follow_up_columns_migrate_down_and_up(engine: Engine) -> None:
    migrate.downgrade(engine, "0001")
    columns = {c["name"] for c in inspect(engine).get_columns("coachingnote")}
    assert "submission_key" not in columns and "shared_with_rep" in columns
    migrate.upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("coachingnote")}
    assert {"submission_key", "reminded_for", "done_at", "done_by_id"} <= columns
    ids = org(engine)
    with session_scope(engine) as session:
        assert save_note(
            session, draft(ids, "k"), manager_id=ids["manager"], scorecard=None, now=NOW
        ).created
