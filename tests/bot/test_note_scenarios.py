"""Coaching notes over real signed requests: each template's modal, one note per form, the
frozen scorecard, the follow-up DM on its date with "Mark done", and who may see what."""

from __future__ import annotations

import json
import time
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

import app
from bot.blocks.modals import prompt_block_id
from bot.ids import ActionId, BlockId, CallbackId, InputId
from domain.coaching import TEMPLATES, follow_up_key
from domain.kpis import default_kpis
from integrations.sandbox import SandboxOrg, SandboxSource
from jobs.sync import run_sync
from storage.models import CoachingNote, Delivery, Rep
from tests.bot.conftest import NOW, TZ, BotEnv
from tests.fakes.slack import TEAM_ID, Call

FOLLOW_UP_DAY = date(2026, 11, 24)  # the Tuesday after NOW, a Thursday
MARKUP = "*Bold* _it_ ~strike~ `code` <@U123> <https://x.io|link> & > quote ünïcødé 🚀\n"


def rep_id(env: BotEnv, email: str) -> int:
    with Session(env.rt.engine) as session:
        rep = session.exec(select(Rep).where(Rep.email == email)).one()
        assert rep.id is not None
        return rep.id


def notes_about(env: BotEnv, email: str) -> list[CoachingNote]:
    with Session(env.rt.engine) as session:
        return list(
            session.exec(
                select(CoachingNote)
                .where(CoachingNote.rep_id == rep_id(env, email))
                .order_by(CoachingNote.id)  # type: ignore[arg-type]
            )
        )


def interaction(env: BotEnv, payload: dict[str, Any]) -> None:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    answer = env.sender.post(body, "application/x-www-form-urlencoded")
    assert answer.status_code == 200, answer.text


def stored_view(env: BotEnv, key: str, ready: Any = lambda view: True) -> dict[str, Any]:
    """Return the view the fake Slack stored under ``key`` once ``ready`` (it records the
    call a moment before it stores the view)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        view = env.slack.views.get(key)
        if view is not None and ready(view):
            return dict(view)
        time.sleep(0.01)
    raise AssertionError(f"no view stored under {key}")


def open_note_modal(env: BotEnv, manager: str, rep_email: str) -> dict[str, Any]:
    """Click "Add a coaching note" (as the /coach brief offers it); return the opened view."""
    before = len(env.slack.calls_to("views.open"))
    value = str(rep_id(env, rep_email))
    assert env.sender.block_action(manager, ActionId.OPEN_NOTE_MODAL, value).ok
    call = env.slack.wait_for("views.open", before + 1)[-1]
    return stored_view(env, call.body["trigger_id"])


def choose_template(env: BotEnv, manager: str, view: dict[str, Any], key: str) -> dict[str, Any]:
    """Pick ``key`` in the template select (a static_select block action from the modal)."""
    before = len(env.slack.calls_to("views.update"))
    label = next(t.label for t in TEMPLATES if t.key == key)
    interaction(
        env,
        {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "pacesetter-test"},
            "user": {"id": manager, "team_id": TEAM_ID},
            "api_app_id": "A0PACE",
            "trigger_id": f"trigger-select-{time.time()}",
            "container": {"type": "view", "view_id": view["id"]},
            "view": {**view, "state": {"values": {}}},
            "actions": [
                {
                    "type": "static_select",
                    "action_id": InputId.NOTE_TEMPLATE,
                    "block_id": BlockId.NOTE_TEMPLATE,
                    "selected_option": {
                        "text": {"type": "plain_text", "text": label},
                        "value": key,
                    },
                    "action_ts": str(time.time()),
                }
            ],
        },
    )
    call = env.slack.wait_for("views.update", before + 1)[-1]
    assert call.body["view_id"] == view["id"]
    return stored_view(
        env, view["id"], lambda v: json.loads(v["private_metadata"])["template"] == key
    )


def note_values(
    view: dict[str, Any],
    *,
    answers: list[str] | None = None,
    text: str | None = None,
    actions: str | None = None,
    follow_up: str | None = None,
    share: bool = False,
) -> dict[str, Any]:
    """Return the state.values Slack sends for the note modal as filled in."""
    key = json.loads(view["private_metadata"])["template"]
    values: dict[str, Any] = {
        BlockId.NOTE_TEMPLATE: {
            InputId.NOTE_TEMPLATE: {"type": "static_select", "selected_option": {"value": key}}
        },
        BlockId.NOTE_TEXT: {InputId.NOTE_TEXT: {"type": "plain_text_input", "value": text}},
        BlockId.NOTE_ACTIONS: {
            InputId.NOTE_ACTIONS: {"type": "plain_text_input", "value": actions}
        },
        BlockId.NOTE_FOLLOW_UP: {
            InputId.NOTE_FOLLOW_UP: {"type": "datepicker", "selected_date": follow_up}
        },
        BlockId.NOTE_SHARE: {
            InputId.NOTE_SHARE: {
                "type": "checkboxes",
                "selected_options": [{"value": "share"}] if share else [],
            }
        },
    }
    for index, answer in enumerate(answers or []):
        values[prompt_block_id(key, index)] = {
            InputId.NOTE_PROMPT: {"type": "plain_text_input", "value": answer}
        }
    return values


def saved_dm(env: BotEnv, manager: str, count: int) -> list[Call]:
    return env.slack.wait_for(
        "chat.postMessage",
        count,
        where=lambda c: (
            c.body.get("channel") == manager
            and c.body.get("text", "").startswith("Saved your coaching note")
        ),
    )


def labels(view: dict[str, Any]) -> list[str]:
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def home_of(env: BotEnv, user: str) -> dict[str, Any]:
    """Open the App Home tab as ``user`` and return the view the bot published."""

    def theirs(call: Call) -> bool:
        return bool(call.body["user_id"] == user)

    before = len([c for c in env.slack.calls_to("views.publish") if theirs(c)])
    assert env.sender.event({"type": "app_home_opened", "user": user, "tab": "home"}).ok
    return dict(env.slack.wait_for("views.publish", before + 1, where=theirs)[-1].body["view"])


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


def unescape(text: str) -> str:
    return text.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")


# writing a note from each template ---------------------------------------------------------


@pytest.mark.parametrize("key", [t.key for t in TEMPLATES])
def test_each_template_shows_its_own_prompts_and_saves_its_note(bot_env: BotEnv, key: str) -> None:
    morgan = bot_env.people["Morgan Lee"]
    chosen = next(t for t in TEMPLATES if t.key == key)
    opened = open_note_modal(bot_env, morgan, "john.miller@example.com")
    view = choose_template(bot_env, morgan, opened, key)
    assert view["callback_id"] == CallbackId.COACHING_NOTE
    shown = labels(view)
    assert [p for p in shown if p in chosen.prompts] == list(chosen.prompts)
    others = {p for t in TEMPLATES if t.key != key for p in t.prompts} - set(chosen.prompts)
    assert not others & set(shown)
    assert {"Agreed actions", "Follow up on", "Visibility"} <= set(shown)

    before = len(notes_about(bot_env, "john.miller@example.com"))
    confirmations = len(saved_dm(bot_env, morgan, 0))
    answers = [f"{key} answer {i}" for i in range(len(chosen.prompts))]
    values = note_values(
        view,
        answers=answers,
        text=f"Free text for {key}",
        actions="John: 20 dials before 10am",
        follow_up="2026-11-26",
        share=key == "skill_practice",
    )
    assert bot_env.sender.view_submission(morgan, view, values).status_code == 200
    saved_dm(bot_env, morgan, confirmations + 1)
    notes = notes_about(bot_env, "john.miller@example.com")
    assert len(notes) == before + 1
    note = notes[-1]
    assert note.template == key
    for prompt, answer in zip(chosen.prompts, answers, strict=True):
        assert f"*{prompt}*\n{answer}" in note.text
    assert note.text.endswith(f"Free text for {key}")
    assert note.actions == "John: 20 dials before 10am"
    assert note.follow_up_on == date(2026, 11, 26)
    assert note.shared_with_rep is (key == "skill_practice")
    assert note.manager_id == rep_id(bot_env, "morgan.lee@example.com")
    assert note.scorecard is not None
    assert note.scorecard["rep"] == "john.miller@example.com"
    assert note.submission_key == f"slack:{TEAM_ID}:{view['id']}"


def test_a_resent_or_double_submitted_form_stores_one_note(bot_env: BotEnv) -> None:
    morgan = bot_env.people["Morgan Lee"]
    view = open_note_modal(bot_env, morgan, "carl.novak@example.com")
    values = note_values(view, answers=["Booked 3 demos"], text="Keep going")
    confirmations = len(saved_dm(bot_env, morgan, 0))
    for _ in range(3):
        assert bot_env.sender.view_submission(morgan, view, values).status_code == 200
    saved_dm(bot_env, morgan, confirmations + 1)
    time.sleep(0.5)  # the lazy listeners of the two repeats have had time to run
    assert len(notes_about(bot_env, "carl.novak@example.com")) == 1
    assert len(saved_dm(bot_env, morgan, 0)) == confirmations + 1


def test_an_empty_note_or_a_past_follow_up_is_sent_back_with_what_to_fix(bot_env: BotEnv) -> None:
    morgan = bot_env.people["Morgan Lee"]
    view = choose_template(
        bot_env, morgan, open_note_modal(bot_env, morgan, "wen.weber@example.com"), "blank"
    )
    answer = bot_env.sender.view_submission(
        morgan, view, note_values(view, text="  ", follow_up="2026-11-02")
    )
    assert answer.json()["response_action"] == "errors"
    errors = answer.json()["errors"]
    assert set(errors) == {BlockId.NOTE_TEXT, BlockId.NOTE_FOLLOW_UP}
    assert "today or a later date" in errors[BlockId.NOTE_FOLLOW_UP]
    assert notes_about(bot_env, "wen.weber@example.com") == []


# who may see and write what ----------------------------------------------------------------


def test_a_manager_of_another_team_is_refused_everywhere(bot_env: BotEnv) -> None:
    riley, morgan = bot_env.people["Riley Shah"], bot_env.people["Morgan Lee"]
    john_id = str(rep_id(bot_env, "john.miller@example.com"))
    opened = len(bot_env.slack.calls_to("views.open"))
    replies = len(bot_env.slack.calls_to("response"))
    assert bot_env.sender.block_action(riley, ActionId.OPEN_NOTE_MODAL, john_id).ok
    refusal = bot_env.slack.wait_for("response", replies + 1)[-1]
    assert "managers" in refusal.body["text"] and "John" not in refusal.body["text"]
    assert len(bot_env.slack.calls_to("views.open")) == opened

    # A submission forged for John (the modal Morgan would get) is refused and stores nothing.
    forged = open_note_modal(bot_env, morgan, "john.miller@example.com")
    forged["id"] = "VFORGED"
    before = len(notes_about(bot_env, "john.miller@example.com"))
    values = note_values(forged, answers=["Riley was here"], text="Riley was here")
    assert bot_env.sender.view_submission(riley, forged, values).status_code == 200
    told = bot_env.slack.wait_for(
        "chat.postMessage", where=lambda c: c.body.get("channel") == riley
    )[-1]
    assert "managers" in told.body["text"]
    assert len(notes_about(bot_env, "john.miller@example.com")) == before

    shown = json.dumps(home_of(bot_env, riley))
    assert "Riley was here" not in shown and "John Miller" not in shown
    assert "Free text for one_on_one" not in shown


def test_a_rep_sees_only_the_notes_shared_with_them(bot_env: BotEnv) -> None:
    morgan, carl = bot_env.people["Morgan Lee"], bot_env.people["Carl Novak"]
    view = choose_template(
        bot_env, morgan, open_note_modal(bot_env, morgan, "carl.novak@example.com"), "blank"
    )
    count = len(saved_dm(bot_env, morgan, 0))
    private = note_values(view, text="Private: thinking about a performance plan")
    bot_env.sender.view_submission(morgan, view, private)
    saved_dm(bot_env, morgan, count + 1)
    view = choose_template(
        bot_env, morgan, open_note_modal(bot_env, morgan, "carl.novak@example.com"), "blank"
    )
    shared = note_values(view, text="Shared: great discovery calls", share=True)
    bot_env.sender.view_submission(morgan, view, shared)
    saved_dm(bot_env, morgan, count + 2)

    home = json.dumps(home_of(bot_env, carl))
    assert "Notes from your manager" in home
    assert "Shared: great discovery calls" in home
    assert "Private" not in home and "Booked 3 demos" not in home
    manager_home = json.dumps(home_of(bot_env, morgan))
    assert "Your recent coaching notes" in manager_home
    assert "Private: thinking about a performance plan" in manager_home


def test_a_3000_character_note_with_slack_markup_is_stored_and_shown_intact(
    bot_env: BotEnv,
) -> None:
    morgan, wen = bot_env.people["Morgan Lee"], bot_env.people["Wen Weber"]
    typed = (MARKUP * 60)[:2999].rstrip()
    typed += "!" * (3000 - len(typed))
    assert len(typed) == 3000
    view = choose_template(
        bot_env, morgan, open_note_modal(bot_env, morgan, "wen.weber@example.com"), "blank"
    )
    count = len(saved_dm(bot_env, morgan, 0))
    bot_env.sender.view_submission(morgan, view, note_values(view, text=typed, share=True))
    saved_dm(bot_env, morgan, count + 1)
    (note,) = notes_about(bot_env, "wen.weber@example.com")
    assert note.text == typed

    blocks = home_of(bot_env, wen)["blocks"]
    start = next(
        i
        for i, b in enumerate(blocks)
        if b.get("text", {}).get("text") == "Notes from your manager"
    )
    pieces = [t for t in section_texts(blocks[start:]) if len(t) > 0]
    assert all(len(p) <= 3000 for p in pieces)
    assert unescape("".join(pieces)) == typed
    assert "&lt;@U123&gt;" in "".join(pieces)  # shown as typed, not turned into a mention


# the frozen scorecard and the follow-up DM -------------------------------------------------


def test_the_follow_up_dm_comes_on_its_date_with_the_change_and_mark_done_works_once(
    bot_env: BotEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    morgan, riley = bot_env.people["Morgan Lee"], bot_env.people["Riley Shah"]
    view = open_note_modal(bot_env, morgan, "john.miller@example.com")
    count = len(saved_dm(bot_env, morgan, 0))
    values = note_values(
        view,
        answers=["Two wins", "Meaningful conversations"],
        actions="Book 5 VP meetings",
        follow_up=FOLLOW_UP_DAY.isoformat(),
    )
    bot_env.sender.view_submission(morgan, view, values)
    saved_dm(bot_env, morgan, count + 1)
    note = notes_about(bot_env, "john.miller@example.com")[-1]
    assert note.follow_up_on == FOLLOW_UP_DAY and note.scorecard is not None
    frozen = json.loads(json.dumps(note.scorecard))

    # Time passes and the CRM gets more activity; the live scorecard moves, the note's does not.
    clock = app.DemoClock(NOW)
    bot_env.rt.clock = clock
    try:
        clock.advance(5, at=datetime.min.time().replace(hour=7), tz=TZ)  # Tue 07:00 New York
        org = SandboxOrg(seed=11, reps=10, history_days=21, timezone=TZ)
        run_sync(
            SandboxSource(org, now=clock.now), bot_env.rt.sync_store, default_kpis(), now=clock.now
        )
        live = bot_env.rt.follow_up_unit
        with live() as unit:
            john = unit.cards.store.rep_by_email("john.miller@example.com")
            assert john is not None
            today = unit.scorecard(john, clock.now())
        assert today["kpis"] != frozen["kpis"]
        (still,) = [n for n in notes_about(bot_env, "john.miller@example.com") if n.id == note.id]
        assert still.scorecard == frozen

        # 07:00 in New York: not yet the manager's morning, so nothing is sent.
        runner = bot_env.rt.job_runner()
        assert runner.run("followups", manual=True).detail.startswith("0 follow-up DMs queued")
        assert not [
            c
            for c in bot_env.slack.calls_to("chat.postMessage")
            if c.body.get("text", "").startswith("Follow-up:")
        ]
    finally:
        bot_env.rt.clock = None

    # 09:00 in New York on the due date: `pacesetter jobs run followups` sends the DM once.
    nine = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    monkeypatch.setenv("DATABASE_URL", bot_env.rt.settings.database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", bot_env.slack.api_url)
    monkeypatch.setenv("PACESETTER_NOW", nine.isoformat())
    for expected in ("1 follow-up DMs queued", "0 follow-up DMs queued"):
        with pytest.raises(SystemExit) as done:
            app.main(["jobs", "run", "followups"])
        assert done.value.code == 0
        assert expected in capsys.readouterr().out
    dms = [
        c
        for c in bot_env.slack.calls_to("chat.postMessage")
        if c.body.get("text", "").startswith("Follow-up: John Miller")
    ]
    assert len(dms) == 1 and dms[0].body["channel"] == morgan
    blocks = dms[0].body["blocks"]
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    text = "\n".join(section_texts(blocks))
    assert "Two wins" in text and "Book 5 VP meetings" in text
    assert "*Since the note* (week to date then → now)" in text
    assert "Prospecting:" in text and "→" in text
    button = blocks[-1]["elements"][0]
    assert (button["action_id"], button["value"]) == (ActionId.FOLLOW_UP_DONE, str(note.id))
    with Session(bot_env.rt.engine) as session:
        keys = session.exec(select(Delivery.key).where(Delivery.key.startswith("followup:"))).all()  # type: ignore[attr-defined]
    assert keys == [follow_up_key(note.id or 0, FOLLOW_UP_DAY)]

    # Riley (another team) cannot close it; Morgan can, and a second click changes nothing.
    replies = len(bot_env.slack.calls_to("response"))
    bot_env.sender.block_action(
        riley, ActionId.FOLLOW_UP_DONE, str(note.id), channel_id="D" + riley
    )
    refused = bot_env.slack.wait_for("response", replies + 1)[-1]
    assert "Only the rep's managers" in refused.body["text"]
    assert not notes_about(bot_env, "john.miller@example.com")[-1].done

    bot_env.sender.block_action(
        morgan, ActionId.FOLLOW_UP_DONE, str(note.id), channel_id="D" + morgan
    )
    first = bot_env.slack.wait_for("response", replies + 2)[-1]
    assert first.body["replace_original"] in (True, "true")
    assert first.body["text"].startswith("Follow-up: John Miller — done")
    assert "Mark done" not in json.dumps(first.body.get("blocks"))
    closed = next(n for n in notes_about(bot_env, "john.miller@example.com") if n.id == note.id)
    assert closed.done and closed.done_at is not None
    assert closed.done_by_id == rep_id(bot_env, "morgan.lee@example.com")

    bot_env.sender.block_action(
        morgan, ActionId.FOLLOW_UP_DONE, str(note.id), channel_id="D" + morgan
    )
    second = bot_env.slack.wait_for("response", replies + 3)[-1]
    assert "already done" in json.dumps(second.body)
    again = next(n for n in notes_about(bot_env, "john.miller@example.com") if n.id == note.id)
    assert (again.done_at, again.done_by_id) == (closed.done_at, closed.done_by_id)


def test_the_managers_home_lists_open_follow_ups_with_overdue_marked(bot_env: BotEnv) -> None:
    morgan = bot_env.people["Morgan Lee"]
    with Session(bot_env.rt.engine) as session:
        session.add(
            CoachingNote(
                manager_id=rep_id(bot_env, "morgan.lee@example.com"),
                rep_id=rep_id(bot_env, "wen.weber@example.com"),
                template="one_on_one",
                text="Check the call-opener practice",
                follow_up_on=NOW.date() - timedelta(days=3),
                created_at=NOW - timedelta(days=10),
            )
        )
        session.commit()
    home = home_of(bot_env, morgan)
    start = next(
        i
        for i, b in enumerate(home["blocks"])
        if b.get("text", {}).get("text") == "Open coaching follow-ups"
    )
    follow_ups = [
        b for b in home["blocks"][start + 1 :] if b["type"] == "section" and "accessory" in b
    ]
    overdue = next(b for b in follow_ups if "Check the call-opener" in b["text"]["text"])
    assert "*overdue* since Mon 16 Nov" in overdue["text"]["text"]
    assert overdue["accessory"]["action_id"] == ActionId.FOLLOW_UP_DONE
    due_later = next(b for b in follow_ups if "one_on_one answer 0" in b["text"]["text"])
    assert "due Thu 26 Nov" in due_later["text"]["text"]
    assert "overdue" not in due_later["text"]["text"]

    # "Mark done" on the Home tab closes it and publishes the tab again without it.
    before = len(
        [c for c in bot_env.slack.calls_to("views.publish") if c.body["user_id"] == morgan]
    )
    bot_env.sender.block_action(
        morgan, ActionId.FOLLOW_UP_DONE, overdue["accessory"]["value"], view=home
    )
    republished = bot_env.slack.wait_for(
        "views.publish", before + 1, where=lambda c: c.body["user_id"] == morgan
    )[-1].body["view"]
    assert "Check the call-opener" not in json.dumps(
        [b for b in republished["blocks"] if "accessory" in b]
    )


def test_notes_export_as_another_teams_manager_is_refused(
    bot_env: BotEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", bot_env.rt.settings.database_url)
    args = ["notes", "export", "--rep", "john.miller@example.com", "--format", "json"]
    with pytest.raises(SystemExit) as done:
        app.main([*args, "--as", "riley.shah@example.com"])
    assert done.value.code != 0
    assert "not john.miller@example.com's manager" in capsys.readouterr().err.replace("\n", " ")
    with pytest.raises(SystemExit) as done:
        app.main([*args, "--as", "morgan.lee@example.com"])
    assert done.value.code == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {"shared_with_rep", "actions", "done_at"} <= set(rows[0])
    with pytest.raises(SystemExit) as done:
        app.main([*args, "--as", "john.miller@example.com"])
    assert done.value.code == 0
    own = json.loads(capsys.readouterr().out)
    assert own and all(row["shared_with_rep"] for row in own)


def test_mystats_notes_shows_a_rep_only_what_was_shared_with_them(bot_env: BotEnv) -> None:
    carl, riley = bot_env.people["Carl Novak"], bot_env.people["Riley Shah"]
    before = len(bot_env.slack.calls_to("response"))
    assert bot_env.sender.command("/mystats", "notes", carl).status_code == 200
    reply = bot_env.slack.wait_for("response", before + 1)[-1].body
    shown = json.dumps(reply)
    assert "Shared: great discovery calls" in shown
    assert "Private" not in shown and "Booked 3 demos" not in shown
    assert bot_env.sender.command("/mystats", "notes", riley).status_code == 200
    empty = bot_env.slack.wait_for("response", before + 2)[-1].body
    assert empty["text"] == "No coaching notes have been shared with you yet."
