"""Coaching rules: templates, who may coach and read notes, and change since a note."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from domain.coaching import (
    TEMPLATES,
    KpiChange,
    Role,
    UnknownTemplate,
    Viewer,
    can_coach,
    can_read_note,
    change_line,
    compose_note,
    escape_mrkdwn,
    follow_up_is_due,
    follow_up_key,
    scorecard_change,
    template,
    text_pieces,
)

REP, MANAGER, DIRECTOR, OTHER_MANAGER, ADMIN = 10, 2, 1, 3, 99
CHAIN = [MANAGER, DIRECTOR]


def test_every_template_but_blank_has_prompts() -> None:
    assert {t.key for t in TEMPLATES} == {
        "one_on_one",
        "deal_review",
        "skill_practice",
        "performance_plan",
        "blank",
    }
    assert all(t.prompts for t in TEMPLATES if t.key != "blank")
    with pytest.raises(UnknownTemplate, match="Templates: one_on_one"):
        template("pep_talk")


def test_compose_keeps_markup_and_drops_empty_prompts() -> None:
    note = compose_note(template("one_on_one"), ["*Closed* <@U1>'s deal", "", "  ", "Call 5 VPs"])
    assert note == (
        "*Wins since we last met*\n*Closed* <@U1>'s deal\n\n*Commitments for next week*\nCall 5 VPs"
    )
    assert compose_note(template("blank"), [], "free text") == "free text"


@pytest.mark.parametrize(
    ("viewer", "allowed"),
    [
        (Viewer(MANAGER, Role.MANAGER), True),
        (Viewer(DIRECTOR, Role.MANAGER), True),
        (Viewer(ADMIN, Role.ADMIN), True),
        (Viewer(OTHER_MANAGER, Role.MANAGER), False),
        (Viewer(11, Role.REP), False),
        (Viewer(REP, Role.REP), False),
    ],
)
def test_only_the_manager_chain_and_admins_may_coach(viewer: Viewer, allowed: bool) -> None:
    assert can_coach(viewer, REP, CHAIN) is allowed


def test_a_rep_reads_only_notes_shared_with_them() -> None:
    me = Viewer(REP, Role.REP)
    assert can_read_note(me, rep_id=REP, shared_with_rep=True, rep_managers=CHAIN)
    assert not can_read_note(me, rep_id=REP, shared_with_rep=False, rep_managers=CHAIN)
    assert can_read_note(
        Viewer(DIRECTOR, Role.MANAGER), rep_id=REP, shared_with_rep=False, rep_managers=CHAIN
    )
    assert not can_read_note(
        Viewer(OTHER_MANAGER, Role.MANAGER), rep_id=REP, shared_with_rep=True, rep_managers=CHAIN
    )


def test_scorecard_change_compares_kpi_by_kpi() -> None:
    then = {"kpis": {"wins": {"actual": 1, "goal": 4}, "prospecting": {"actual": 50, "goal": None}}}
    now = {"kpis": {"wins": {"actual": 3, "goal": 4}, "prospecting": {"actual": 80}}}
    changes = {c.kpi: c for c in scorecard_change(then, now)}
    assert changes["wins"].delta == 2
    assert changes["wins"].then_percent == 25.0
    assert changes["wins"].now_percent == 75.0
    assert changes["prospecting"].now_percent is None


def test_a_follow_up_is_due_from_the_managers_morning_of_its_date() -> None:
    due, morning = date(2026, 11, 24), time(8, 30)
    assert not follow_up_is_due(due, datetime(2026, 11, 23, 23, 0), morning)
    assert not follow_up_is_due(due, datetime(2026, 11, 24, 8, 29), morning)
    assert follow_up_is_due(due, datetime(2026, 11, 24, 8, 30), morning)
    assert follow_up_is_due(due, datetime(2026, 11, 25, 6, 0), morning)  # missed: send at once
    assert follow_up_key(7, due) == "followup:7:2026-11-24"


@pytest.mark.parametrize("limit", [40, 100, 3000])
def test_long_marked_up_text_splits_into_pieces_that_join_back_exactly(limit: int) -> None:
    typed = ("*Bold* _it_ <@U123> & `code` > quote\n" + "word " * 30) * 40
    escaped = escape_mrkdwn(typed)
    pieces = text_pieces(escaped, limit)
    assert "".join(pieces) == escaped
    assert all(0 < len(p) <= limit for p in pieces)
    for piece in pieces:  # no entity is cut in two
        assert not piece.endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))
    assert text_pieces("") == [""]
    assert escape_mrkdwn("<@U1> & >") == "&lt;@U1&gt; &amp; &gt;"


def test_a_change_line_says_then_now_and_the_pace_change() -> None:
    change = KpiChange("wins", 1, 3, 25.0, 75.0, "behind", "ahead")
    assert (
        change_line(change, "Wins")
        == "Wins: 1 (25% of goal) → 3 (75% of goal) ▲, pace behind → ahead"
    )
    flat = KpiChange("calls", 2.5, 2.5, None, None, "no_goal", "no_goal")
    assert change_line(flat, "Calls") == "Calls: 2.5 → 2.5 ="
