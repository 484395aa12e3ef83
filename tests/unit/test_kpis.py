"""The KPI rules of DESIGN.md pinned on hand-built cases."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.kpis import (
    ActivityClassifier,
    ActivityFact,
    KpiCatalog,
    OpportunityFact,
    StageMoveFact,
    UnknownKpi,
    default_kpis,
    rollup,
)

DAY = date(2026, 11, 23)
KPIS = default_kpis()


def values(**facts: object) -> dict[str, float]:
    """Roll up the given facts for rep 1 on DAY and return {kpi: value}."""
    result = rollup(KPIS, **facts)  # type: ignore[arg-type]
    return {kpi: v for (rep, day, kpi), v in result.items() if rep == 1 and day == DAY}


def call(seconds: int, title: str | None = None, direction: str = "outbound") -> ActivityFact:
    return ActivityFact(
        1, DAY, "call", duration_s=seconds, direction=direction, contact_title=title
    )


def meeting(outcome: str | None = "completed", title: str | None = None) -> ActivityFact:
    return ActivityFact(1, DAY, "meeting", outcome=outcome, contact_title=title)


@pytest.mark.parametrize(
    ("seconds", "conversation"), [(0, 0), (59, 0), (60, 1), (61, 1), (299, 1), (300, 1)]
)
def test_a_call_is_a_conversation_from_sixty_seconds(seconds: int, conversation: int) -> None:
    got = values(activities=[call(seconds)])
    assert got.get("conversations", 0) == conversation
    assert got["prospecting"] == 1


@pytest.mark.parametrize(
    ("seconds", "title", "meaningful"),
    [
        (299, "VP of Sales", 0),
        (300, "VP of Sales", 1),
        (900, "Vice President, Finance", 1),
        (900, "Director of IT", 1),
        (900, "Head of Procurement", 1),
        (900, "Chief Revenue Officer", 1),
        (900, "CFO", 1),
        (900, "President", 1),
        (900, "Co-Founder", 1),
        (900, "Owner", 1),
        (900, "Sales Manager", 0),
        (900, "Account Executive", 0),
        (900, "Office Manager", 0),
        (900, None, 0),
    ],
)
def test_meaningful_conversations_need_five_minutes_and_a_senior_title(
    seconds: int, title: str | None, meaningful: int
) -> None:
    assert (
        values(activities=[call(seconds, title)]).get("meaningful_conversations", 0) == meaningful
    )


def test_inbound_calls_are_not_prospecting_but_can_be_conversations() -> None:
    got = values(activities=[call(120, direction="inbound")])
    assert got.get("prospecting", 0) == 0
    assert got["conversations"] == 1


def test_emails_and_linkedin_touches_are_prospecting_only() -> None:
    got = values(
        activities=[
            ActivityFact(1, DAY, "email", direction="outbound"),
            ActivityFact(1, DAY, "linkedin"),
            ActivityFact(1, DAY, "task"),
        ]
    )
    assert got == {"prospecting": 2}


@pytest.mark.parametrize(
    ("outcome", "held"),
    [
        ("completed", 1),
        (None, 1),
        ("scheduled", 0),
        ("no_show", 0),
        ("canceled", 0),
        ("rescheduled", 0),
    ],
)
def test_only_held_meetings_are_conversations(outcome: str | None, held: int) -> None:
    got = values(activities=[meeting(outcome, "VP Marketing")])
    assert got.get("conversations", 0) == held
    assert got.get("meaningful_conversations", 0) == held


def test_activities_land_on_their_own_rep_and_day() -> None:
    other_day = date(2026, 11, 24)
    result = rollup(
        KPIS,
        activities=[
            call(90),
            ActivityFact(2, DAY, "call", duration_s=90),
            ActivityFact(1, other_day, "email"),
        ],
    )
    assert result[(1, DAY, "conversations")] == 1
    assert result[(2, DAY, "conversations")] == 1
    assert result[(1, other_day, "prospecting")] == 1


def opp(
    opp_id: int, *, won: bool = False, amount: float = 1000.0, close: date | None = None
) -> OpportunityFact:
    return OpportunityFact(opp_id, 1, DAY, amount, won, close)


def move(
    opp_id: int,
    frm: int | None,
    to: int | None,
    at: float,
    *,
    won: bool = False,
    lost: bool = False,
    day: date = DAY,
) -> StageMoveFact:
    return StageMoveFact(opp_id, 1, day, at, frm, to, won, lost)


def test_opportunities_count_on_their_creation_day() -> None:
    assert values(opportunities=[opp(1), opp(2)])["opportunities_created"] == 2


def test_an_advance_counts_once_per_opportunity_per_day_even_with_skips() -> None:
    got = values(stage_moves=[move(1, 1, 2, 1.0), move(1, 2, 4, 2.0), move(2, 2, 4, 3.0)])
    assert got["opportunities_advanced"] == 2


def test_a_stage_moved_backwards_is_not_an_advance() -> None:
    assert "opportunities_advanced" not in values(stage_moves=[move(1, 3, 2, 1.0)])


def test_back_and_forth_on_one_day_is_not_an_advance() -> None:
    got = values(stage_moves=[move(1, 3, 2, 1.0), move(1, 2, 3, 2.0)])
    assert "opportunities_advanced" not in got


def test_closed_won_advances_and_closed_lost_does_not() -> None:
    got = values(
        opportunities=[opp(1, won=True, amount=5000), opp(2)],
        stage_moves=[move(1, 5, 6, 1.0, won=True), move(2, 5, 7, 2.0, lost=True)],
    )
    assert got["opportunities_advanced"] == 1
    assert got["wins"] == 1
    assert got["won_amount"] == 5000


def test_a_win_without_history_falls_back_to_the_close_date() -> None:
    got = values(opportunities=[opp(1, won=True, amount=700, close=DAY)])
    assert got["wins"] == 1
    assert got["won_amount"] == 700


def test_a_reopened_opportunity_is_not_a_win() -> None:
    got = values(
        opportunities=[opp(1, won=False, close=DAY)],
        stage_moves=[move(1, 5, 6, 1.0, won=True), move(1, 6, 5, 2.0)],
    )
    assert "wins" not in got


def test_a_win_counts_on_the_day_it_last_became_won() -> None:
    earlier = date(2026, 11, 20)
    result = rollup(
        KPIS,
        opportunities=[opp(1, won=True)],
        stage_moves=[
            move(1, 5, 6, 1.0, won=True, day=earlier),
            move(1, 6, 5, 2.0, day=earlier),
            move(1, 5, 6, 3.0, won=True),
        ],
    )
    assert (1, earlier, "wins") not in result
    assert result[(1, DAY, "wins")] == 1


def test_keep_limits_the_output_to_the_days_asked_for() -> None:
    result = rollup(
        KPIS, activities=[call(90), ActivityFact(1, date(2026, 1, 1), "email")], keep={1: [DAY]}
    )
    assert {key[1] for key in result} == {DAY}


def test_unknown_kpi_names_the_valid_ones() -> None:
    with pytest.raises(UnknownKpi, match="Valid KPIs: prospecting, conversations"):
        KpiCatalog().get("calls")


SHAPES = st.tuples(
    st.sampled_from(["call", "email", "meeting", "linkedin", "task"]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=1000)),
    st.sampled_from([None, "inbound", "outbound", "internal"]),
    st.sampled_from([None, "completed", "no_show", "scheduled", "canceled"]),
    st.sampled_from([None, "", "VP Sales", "Engineer", "Head of IT", "vice president", "CFO"]),
)


@given(st.lists(SHAPES, max_size=40))
def test_the_classifier_answers_as_the_definitions_do_whatever_it_memoised(
    shapes: list[tuple[object, ...]],
) -> None:
    """Shapes seen before are answered from the memo: the answer must not change."""
    classifier = ActivityClassifier(KPIS)
    for shape in shapes + shapes:
        fact = ActivityFact(3, DAY, *shape)  # type: ignore[arg-type]
        expected = tuple(d.name for d in KPIS if d.counts(fact))
        assert classifier.names_for(shape) == expected
        assert classifier.names(fact) == expected


def test_the_classifier_memo_is_bounded() -> None:
    classifier = ActivityClassifier(KPIS)
    classifier.MEMO_LIMIT = 10
    for seconds in range(50):
        assert classifier.names_for(("call", seconds, "outbound", None, None))[0] == "prospecting"
    assert len(classifier._decided) == 10
    assert classifier.names_for(("call", 49, "outbound", None, None)) == ("prospecting",)
