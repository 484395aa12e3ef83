"""Coaching rules: templates, who may coach and read notes, and change since a note."""

from __future__ import annotations

import pytest

from domain.coaching import (
    TEMPLATES,
    Role,
    UnknownTemplate,
    Viewer,
    can_coach,
    can_read_note,
    compose_note,
    scorecard_change,
    template,
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
