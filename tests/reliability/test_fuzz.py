"""Fuzzing every slash command's text and every modal field over real signed HTTP requests.

Whatever is typed, the request is acknowledged with 200, nothing sent to Slack carries a stack
trace, an exception name or a file path, an error says what to do instead, and free text that
is stored (goal teams, contest names and prizes, coaching notes) comes back exactly as typed.
The fast variant runs a few dozen examples per surface; ``-m heavy`` runs hundreds.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from bot.ids import BlockId, CallbackId, InputId
from storage.models import CoachingNote, Contest, Goal
from tests.bot.test_contest_scenarios import contest_values
from tests.bot.test_scenarios import goal_values
from tests.fakes.slack import Call
from tests.reliability.conftest import RelEnv, Resender, running_bot, settle
from tests.reliability.test_slack_retries import note_values, note_view, open_view

FAST = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FAST_MODAL = settings(FAST, max_examples=5)
HEAVY = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
INTERNALS = re.compile(
    r"Traceback|File \"|\.py\b|site-packages|/work/|/usr/|\b[A-Z]\w*(?:Error|Exception)\b"
    r"|sqlalchemy|psycopg|sqlite3|NoneType|object has no attribute|line \d+"
)
# What a helpful refusal or correction points to: a command to type, a thing to pick or do.
HELPFUL = re.compile(
    r"`/|\bTry\b|\bUse\b|\bPick\b|\bType\b|\bGive\b|\bName\b|\bask\b|\bOnly\b|\bcan\b|"
    r"shows them|\bset\b|\bchoose\b|\bShorten\b|at most|Teams: \w|e\.g\.",
    re.IGNORECASE,
)
COMMANDS = ("/mystats", "/leaderboard", "/coach", "/goal", "/contest", "/pacesetter")

# Text people paste: emoji, right-to-left, zero-width joiners, 4-byte letters, Slack markup,
# quoting and SQL, format strings, and very long input.
SPECIALS = [
    "🚀💰🔥",
    "مرحبا بالعالم \u202eRTL\u202c",
    "a\u200bb\u200dc\ufeff",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛",
    "<@U0100|john> <!channel> <#C0SALES>",
    "'; DROP TABLE rep; --",
    '" OR 1=1 --',
    "%s %d {0} {name} ${HOME}",
    "show \u00b2",
    "show 99999999999999999999999",
    "cancel #1",
    "link <@UX> not-an-email",
    "week week week",
    "x" * 3100,
    "🚀" * 1600,
    "\t\n\r  ",
]
TEXT = st.one_of(
    st.sampled_from(SPECIALS),
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=60),
    st.builds(
        " ".join,
        st.lists(
            st.sampled_from(
                ["show", "list", "cancel", "week", "month", "day", "q", "prospecting", "help"]
            ),
            max_size=4,
        ),
    ),
)
FREE_TEXT = st.one_of(
    st.sampled_from([s for s in SPECIALS if s.strip()]),
    st.text(
        st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\x00"),
        min_size=1,
        max_size=80,
    ).filter(lambda s: s.strip() == s and bool(s)),
)


def all_text(call: Call) -> str:
    """Return everything a call put in front of a person: text, blocks, views, errors."""
    body = dict(call.body)
    body.pop("req", None)
    return json.dumps(body, ensure_ascii=False)


def check_reply(text: str) -> None:
    """Fail when ``text`` leaks internals, reports a crash, or refuses without a way forward."""
    leaked = INTERNALS.search(text)
    assert leaked is None, f"internal detail {leaked.group(0)!r} sent to Slack: {text[:300]}"
    assert "error id" not in text, f"an unexpected error reached the user: {text[:300]}"
    if ":warning:" in text:
        assert HELPFUL.search(text), f"a refusal that doesn't say what to do: {text[:300]}"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelEnv]:
    path = tmp_path_factory.mktemp("fuzz") / "bot.db"
    with running_bot(f"sqlite:///{path}") as started:
        # A workspace without files:write: after the first refused upload /mystats stops
        # drawing trend charts, so the fuzzing below is not queued behind chart rendering.
        started.slack.uploads_allowed = False
        resender = Resender(started.slack)
        body = resender.command_body("/mystats", "", started.people["Carl Novak"])
        resender.send(started.sender.app_url, body)
        started.slack.wait_for("files.getUploadURLExternal", timeout=30)
        settle(started.slack)
        yield started


def exchange(env: RelEnv, resender: Resender, command: str, text: str, user: str) -> list[Call]:
    """Send a command and return what Slack received for it (reply or opened modal)."""
    body = resender.command_body(command, text, user)
    number = urllib.parse.parse_qs(body)["trigger_id"][0].removeprefix("rtrigger-")
    answer = resender.send(env.sender.app_url, body)
    assert answer.status_code == 200, answer.text
    check_reply(answer.text)

    def for_this(call: Call) -> bool:
        return call.body.get("req") == number or call.body.get("trigger_id") == f"rtrigger-{number}"

    deadline = time.monotonic() + 30  # generous: the listener pool may be drawing charts
    while time.monotonic() < deadline:
        found = [c for c in list(env.slack.calls) if for_this(c)]
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"{command} {text[:40]!r} got no answer in Slack")


def fuzz_commands(env: RelEnv, resender: Resender, command: str, text: str) -> None:
    rep, manager = env.people["Carl Novak"], env.people["Morgan Lee"]
    for user in (rep, manager):
        for call in exchange(env, resender, command, text, user):
            check_reply(all_text(call))


@pytest.mark.parametrize("command", COMMANDS)
@FAST
@given(text=TEXT)
def test_any_command_text_gets_a_clean_answer(env: RelEnv, command: str, text: str) -> None:
    fuzz_commands(env, Resender(env.slack), command, text)


@pytest.mark.heavy
@pytest.mark.parametrize("command", COMMANDS)
@HEAVY
@given(text=TEXT)
def test_any_command_text_gets_a_clean_answer_heavy(env: RelEnv, command: str, text: str) -> None:
    fuzz_commands(env, Resender(env.slack), command, text)


# modals --------------------------------------------------------------------------------------


def submit(env: RelEnv, resender: Resender, user: str, view: dict[str, Any], values: Any) -> Any:
    """Submit a modal; check the acknowledgement and return its JSON (or None when empty)."""
    answer = resender.send(env.sender.app_url, resender.view_submission_body(user, view, values))
    assert answer.status_code == 200, answer.text
    check_reply(answer.text)
    return answer.json() if answer.text else None


def dm_after(env: RelEnv, user: str, before: int) -> Call:
    """Wait for the next DM to ``user`` after the first ``before`` of them."""
    calls = env.slack.wait_for(
        "chat.postMessage", before + 1, where=lambda c: c.body.get("channel") == user
    )
    return calls[before]


def dms_to(env: RelEnv, user: str) -> int:
    return sum(1 for c in env.slack.calls_to("chat.postMessage") if c.body.get("channel") == user)


GOAL_FIELDS = st.fixed_dictionaries(
    {
        "target": st.one_of(
            st.sampled_from(["60", "1,000", "$5", "-3", "nan", "inf", "1e309"]), TEXT
        ),
        "team": FREE_TEXT,
        "scope": st.sampled_from(["rep", "team", "everyone", "galaxy"]),
        "period": st.sampled_from(["week", "month", "day", "quarter", "fortnight"]),
        "kpi": st.sampled_from(["prospecting", "wins", "not_a_kpi", "'; --"]),
        "date": st.sampled_from(["2026-11-23", "2026-02-30", "tomorrow", None]),
    }
)


def fuzz_goal(
    env: RelEnv, resender: Resender, view: dict[str, Any], fields: dict[str, Any]
) -> None:
    dana, john = env.people["Dana Reyes"], env.people["John Miller"]
    values = goal_values(john, fields["target"])
    values[BlockId.GOAL_SCOPE][InputId.GOAL_SCOPE]["selected_option"]["value"] = fields["scope"]
    values[BlockId.GOAL_TEAM][InputId.GOAL_TEAM]["value"] = fields["team"]
    values[BlockId.GOAL_PERIOD][InputId.GOAL_PERIOD]["selected_option"]["value"] = fields["period"]
    values[BlockId.GOAL_KPI][InputId.GOAL_KPI]["selected_option"]["value"] = fields["kpi"]
    values[BlockId.GOAL_FROM][InputId.GOAL_FROM]["selected_date"] = fields["date"]
    before = dms_to(env, dana)
    ack = submit(env, resender, dana, view, values)
    if ack is not None and ack.get("response_action") == "errors":
        for message in ack["errors"].values():
            assert HELPFUL.search(message), message
        return
    reply = dm_after(env, dana, before).body["text"]
    check_reply(reply)
    if reply.startswith("Goal saved") and fields["scope"] == "team":
        with Session(env.rt.engine) as session:
            stored = session.exec(
                select(Goal.scope_value)
                .where(col(Goal.origin) == "slack")
                .order_by(col(Goal.id).desc())
            ).first()
        assert stored == fields["team"]  # stored exactly as typed


@FAST_MODAL
@given(fields=GOAL_FIELDS)
def test_any_goal_modal_input_is_saved_or_explained(env: RelEnv, fields: dict[str, Any]) -> None:
    resender = Resender(env.slack)
    view = open_view(env, resender, "/goal", env.people["Dana Reyes"], CallbackId.GOAL)
    fuzz_goal(env, resender, view, fields)


@pytest.mark.heavy
@HEAVY
@given(fields=GOAL_FIELDS)
def test_any_goal_modal_input_is_saved_or_explained_heavy(
    env: RelEnv, fields: dict[str, Any]
) -> None:
    resender = Resender(env.slack)
    view = open_view(env, resender, "/goal", env.people["Dana Reyes"], CallbackId.GOAL)
    fuzz_goal(env, resender, view, fields)


CONTEST_FIELDS = st.fixed_dictionaries(
    {
        "name": FREE_TEXT,
        "prizes": st.lists(FREE_TEXT.map(lambda s: s.replace("\n", " ").strip()), max_size=3),
        "rule": st.sampled_from(["most", "first-to", "threshold", "bogus"]),
        "target": st.one_of(st.none(), st.sampled_from(["50", "0", "-1", "lots", "1e400"]), TEXT),
        "who": st.sampled_from(["all", "team", "people", "martians"]),
        "team": FREE_TEXT,
        "scoring": st.sampled_from(["count", "percent", "improvement", "vibes"]),
        "start": st.sampled_from(["2026-11-16", "2026-11-30", "not a date", None]),
    }
)


def fuzz_contest(
    env: RelEnv, resender: Resender, view: dict[str, Any], fields: dict[str, Any]
) -> None:
    morgan = env.people["Morgan Lee"]
    values = contest_values(fields["rule"], fields["target"], fields["scoring"])
    values[BlockId.CONTEST_NAME][InputId.CONTEST_NAME]["value"] = fields["name"]
    values[BlockId.CONTEST_PRIZES][InputId.CONTEST_PRIZES]["value"] = "\n".join(fields["prizes"])
    values[BlockId.CONTEST_WHO][InputId.CONTEST_WHO]["selected_option"]["value"] = fields["who"]
    values[BlockId.CONTEST_TEAM][InputId.CONTEST_TEAM]["value"] = fields["team"]
    values[BlockId.CONTEST_START][InputId.CONTEST_START]["selected_date"] = fields["start"]
    preview = submit(env, resender, morgan, view, values)
    assert preview is not None
    if preview["response_action"] == "errors":
        for message in preview["errors"].values():
            assert HELPFUL.search(message), message
        return
    assert preview["response_action"] == "update"
    before = dms_to(env, morgan)
    assert submit(env, resender, morgan, {**preview["view"], "id": view["id"]}, {}) is None
    reply = dm_after(env, morgan, before).body["text"]
    check_reply(reply)
    if reply.startswith("Launched contest #"):
        contest_id = int(reply.split("#")[1].split()[0])
        with Session(env.rt.engine) as session:
            row = session.get(Contest, contest_id)
        assert row is not None and row.name == fields["name"].strip()
        prizes = [p for p in fields["prizes"] if p.strip()]
        assert (row.rules_json or {}).get("prizes", prizes) == prizes


@FAST_MODAL
@given(fields=CONTEST_FIELDS)
def test_any_contest_modal_input_launches_or_is_explained(
    env: RelEnv, fields: dict[str, Any]
) -> None:
    resender = Resender(env.slack)
    view = open_view(env, resender, "/contest", env.people["Morgan Lee"], CallbackId.CONTEST)
    fuzz_contest(env, resender, view, fields)


@pytest.mark.heavy
@HEAVY
@given(fields=CONTEST_FIELDS)
def test_any_contest_modal_input_launches_or_is_explained_heavy(
    env: RelEnv, fields: dict[str, Any]
) -> None:
    resender = Resender(env.slack)
    view = open_view(env, resender, "/contest", env.people["Morgan Lee"], CallbackId.CONTEST)
    fuzz_contest(env, resender, view, fields)


NOTE_TEXT = st.one_of(FREE_TEXT, st.sampled_from(["📝" * 1500, "ע" * 3000 + "\u200d🚀"]))


def fuzz_note(env: RelEnv, resender: Resender, view: dict[str, Any], text: str) -> None:
    morgan = env.people["Morgan Lee"]
    before = dms_to(env, morgan)
    assert submit(env, resender, morgan, view, note_values(text)) is None
    reply = dm_after(env, morgan, before).body["text"]
    check_reply(reply)
    with Session(env.rt.engine) as session:
        latest = session.exec(select(CoachingNote).order_by(col(CoachingNote.id).desc())).first()
    assert latest is not None and latest.text == text  # stored exactly, however long or odd


@pytest.fixture(scope="module")
def note_modal_view(env: RelEnv) -> dict[str, Any]:
    return note_view(env, Resender(env.slack), env.people["Morgan Lee"], env.people["John Miller"])


@FAST_MODAL
@given(text=NOTE_TEXT)
def test_any_note_text_is_stored_exactly(
    env: RelEnv, note_modal_view: dict[str, Any], text: str
) -> None:
    resender = Resender(env.slack)
    fuzz_note(env, resender, {**note_modal_view, "id": f"VN{resender.next_id()}"}, text)


@pytest.mark.heavy
@HEAVY
@given(text=NOTE_TEXT)
def test_any_note_text_is_stored_exactly_heavy(
    env: RelEnv, note_modal_view: dict[str, Any], text: str
) -> None:
    resender = Resender(env.slack)
    fuzz_note(env, resender, {**note_modal_view, "id": f"VN{resender.next_id()}"}, text)


# oversized and unicode input, explicitly -------------------------------------------------------

NAME = "🏆 Ünïcødé Cup: مرحبا \u202eRTL\u202c a\u200bb\u200dc 𝔘𝔫𝔦 👩🏽‍💻"
PRIZES = ["$300 💰 first", "𝟚nd: a day off 🌴 (עברית)", "z" * 800]


def test_unicode_contest_names_and_prizes_are_stored_exactly(env: RelEnv) -> None:
    resender = Resender(env.slack)
    morgan = env.people["Morgan Lee"]
    view = open_view(env, resender, "/contest", morgan, CallbackId.CONTEST)
    values = contest_values("most", None, "count")
    values[BlockId.CONTEST_NAME][InputId.CONTEST_NAME]["value"] = NAME
    values[BlockId.CONTEST_PRIZES][InputId.CONTEST_PRIZES]["value"] = "\n".join(PRIZES)
    preview = submit(env, resender, morgan, view, values)
    assert preview["response_action"] == "update", preview
    before = dms_to(env, morgan)
    submit(env, resender, morgan, {**preview["view"], "id": view["id"]}, {})
    assert dm_after(env, morgan, before).body["text"].startswith("Launched contest #")
    with Session(env.rt.engine) as session:
        row = session.exec(select(Contest).where(col(Contest.name) == NAME)).one()
    assert row.name == NAME
    assert (row.rules_json or {})["prizes"] == PRIZES


def test_oversized_modal_values_are_refused_with_the_limit(env: RelEnv) -> None:
    resender = Resender(env.slack)
    morgan, dana = env.people["Morgan Lee"], env.people["Dana Reyes"]
    view = open_view(env, resender, "/contest", morgan, CallbackId.CONTEST)
    values = contest_values("most", None, "count")
    values[BlockId.CONTEST_NAME][InputId.CONTEST_NAME]["value"] = "🚀" * 121
    values[BlockId.CONTEST_PRIZES][InputId.CONTEST_PRIZES]["value"] = "x" * 1001
    answer = submit(env, resender, morgan, view, values)
    assert answer["errors"] == {
        BlockId.CONTEST_NAME: "Use at most 120 characters for the name.",
        BlockId.CONTEST_PRIZES: "Use at most 1000 characters for the prizes.",
    }
    goal_view = open_view(env, resender, "/goal", dana, CallbackId.GOAL)
    goal = goal_values(None, "10")
    goal[BlockId.GOAL_SCOPE][InputId.GOAL_SCOPE]["selected_option"]["value"] = "team"
    goal[BlockId.GOAL_TEAM][InputId.GOAL_TEAM]["value"] = "t" * 256
    answer = submit(env, resender, dana, goal_view, goal)
    assert answer["errors"] == {
        BlockId.GOAL_TEAM: "Use at most 255 characters for the team's name."
    }


def test_a_long_unicode_note_is_stored_exactly(
    env: RelEnv, note_modal_view: dict[str, Any]
) -> None:
    text = ("Notes 📝 with עברית, a\u200dzero-width joiner and 𝔘𝔫𝔦. " * 80)[:3500]
    assert len(text) > 3000
    resender = Resender(env.slack)
    fuzz_note(env, resender, {**note_modal_view, "id": f"VN{resender.next_id()}"}, text)
