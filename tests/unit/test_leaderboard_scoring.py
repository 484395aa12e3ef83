"""Leaderboard ranking, visibility, composite scores, streaks and evenness."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.consistency import consistency, streak
from domain.leaderboard import RankBy, Standing, competition_ranks, rank, rank_of, visible_to
from domain.pacing import Pace, Status, percent
from domain.scoring import blend, composite


def s(rep_id: int, name: str, actual: float, goal: float | None = None, **kw: object) -> Standing:
    return Standing(rep_id, name, actual, goal, **kw)  # type: ignore[arg-type]


def test_percent_of_goal_ranking_is_fair_across_quotas() -> None:
    board = rank([s(1, "Ann", 50, 100), s(2, "Bob", 30, 40), s(3, "Cy", 80, 200)])
    assert [(line.standing.name, line.rank) for line in board] == [
        ("Bob", 1),
        ("Ann", 2),
        ("Cy", 3),
    ]
    raw = rank([s(1, "Ann", 50, 100), s(2, "Bob", 30, 40), s(3, "Cy", 80, 200)], RankBy.COUNT)
    assert [line.standing.name for line in raw] == ["Cy", "Ann", "Bob"]


def test_ties_share_a_rank_and_the_next_rank_skips() -> None:
    board = rank([s(1, "Zed", 10, 20), s(2, "Amy", 5, 10), s(3, "Bo", 3, 10), s(4, "Cy", 1, 10)])
    assert [(line.standing.name, line.rank) for line in board] == [
        ("Amy", 1),
        ("Zed", 1),
        ("Bo", 3),
        ("Cy", 4),
    ]


def test_float_noise_does_not_split_a_tie() -> None:
    board = rank([s(1, "A", 0.1 + 0.2, 1), s(2, "B", 0.3, 1)])
    assert [line.rank for line in board] == [1, 1]


def test_reps_without_a_goal_come_last_unranked_in_percent_mode() -> None:
    board = rank([s(1, "Ann", 5), s(2, "Bob", 1, 10)])
    assert [(line.standing.name, line.rank) for line in board] == [("Bob", 1), ("Ann", None)]


def test_opted_out_reps_are_seen_only_by_themselves_and_their_managers() -> None:
    board = rank(
        [
            s(1, "Ann", 9, 10, public_opt_out=True, manager_id=7),
            s(2, "Bob", 5, 10),
            s(3, "Cy", 1, 10),
        ]
    )
    public = visible_to(board, viewer_id=3)
    assert [line.standing.name for line in public] == ["Bob", "Cy"]
    assert [line.rank for line in public] == [2, 3]  # ranks do not depend on the viewer
    assert [line.standing.name for line in visible_to(board, viewer_id=1)] == ["Ann", "Bob", "Cy"]
    manager_view = visible_to(board, viewer_id=7, managed={1})
    assert [line.standing.name for line in manager_view] == ["Ann", "Bob", "Cy"]
    line = rank_of(board, 1)
    assert line is not None and line.rank == 1


def test_a_board_of_one() -> None:
    board = rank([s(1, "Solo", 0, 10)])
    assert [(line.rank, line.score) for line in board] == [(1, 0.0)]


standings = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=50),
        st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
    ),
    max_size=40,
)


@given(standings, st.sampled_from(list(RankBy)))
def test_ranks_are_a_permutation_with_competition_ranking(
    rows: list[tuple[int, int | None]], by: RankBy
) -> None:
    inputs = [s(i, f"r{i}", a, g) for i, (a, g) in enumerate(rows)]
    board = rank(inputs, by)
    assert sorted(line.standing.rep_id for line in board) == list(range(len(rows)))
    ranked = [line for line in board if line.rank is not None]
    for line in ranked:
        assert line.score is not None
        better = sum(
            1 for o in ranked if o.score is not None and round(o.score, 2) > round(line.score, 2)
        )
        assert line.rank == better + 1
    assert [line.rank for line in ranked] == sorted(line.rank for line in ranked if line.rank)
    assert all(line.rank is None for line in board[len(ranked) :])


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=500, allow_nan=False),
            st.one_of(st.none(), st.floats(min_value=-5, max_value=300, allow_nan=False)),
        ),
        max_size=40,
    ),
    st.sampled_from(list(RankBy)),
)
def test_competition_ranks_number_reps_as_the_board_does(
    rows: list[tuple[float, float | None]], by: RankBy
) -> None:
    """The rank tables' shortcut gives every rep the rank its board line has (float noise,
    zero and negative goals, no goal, empty boards included)."""
    inputs = [s(i, f"r{i % 3}", a, g) for i, (a, g) in enumerate(rows)]
    board = {line.standing.rep_id: line.rank for line in rank(inputs, by)}
    scores = {
        x.rep_id: x.actual if by is RankBy.COUNT else percent(x.actual, x.goal) for x in inputs
    }
    assert competition_ranks(scores) == board


def p(actual: float, expected: float | None) -> Pace:
    pct = None if not expected else 100 * actual / expected
    return Pace(actual, expected, expected, Status.ON_TRACK, None, pct, pct, 3)


def test_composite_is_a_weighted_capped_mean_and_explains_itself() -> None:
    score = composite(
        {"calls": p(50, 100), "meetings": p(9, 3), "wins": p(1, None)},
        {"calls": 1, "meetings": 3, "wins": 5},
    )
    # meetings is at 300 % but capped at 150 %; wins has no goal and is left out
    assert score.value == pytest.approx((50 * 1 + 150 * 3) / 4)
    assert [part.kpi for part in score.parts] == ["calls", "meetings"]
    assert "calls 50% x1" in score.explain()
    assert composite({"wins": p(1, None)}, {"wins": 1}).value is None
    assert blend([score, composite({}, {})]).value == score.value


def test_streak_counts_working_days_with_the_daily_goal_met() -> None:
    days = [date(2026, 11, 2) + timedelta(d) for d in range(5)]  # Mon..Fri
    goal = dict.fromkeys(days, 40.0)
    values = {days[0]: 10.0, days[1]: 40, days[2]: 41, days[3]: 50, days[4]: 45}
    assert streak(days, values, goal) == 4
    values[days[4]] = 39
    assert streak(days, values, goal) == 0
    assert streak([], values, goal) == 0


def test_consistency_scores_steady_work_above_bursts() -> None:
    days = [date(2026, 11, 2) + timedelta(d) for d in range(5)]
    steady = consistency(days, dict.fromkeys(days, 20.0))
    bursty = consistency(days, {days[0]: 100.0})
    assert steady.evenness == 100.0 and not steady.peaks
    assert bursty.evenness == 0.0
    assert bursty.peaks == [days[0]]
    assert consistency(days, {}).evenness is None
