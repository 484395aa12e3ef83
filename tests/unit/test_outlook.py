"""The brief's past, current and direction math on hand-built cases."""

from __future__ import annotations

from datetime import date

import pytest

from domain.funnel import OpportunityPath, StageInfo, stage_win_rates
from domain.outlook import (
    expected_value_method,
    pipeline_outlook,
    previous_quarter,
    quarter_name,
    quarter_results,
    rank_among,
    slope,
    trend,
    trend_weeks,
)
from domain.timeutil import DateRange

STAGES = [
    StageInfo("p", "Discovery", 1, probability=0.1),
    StageInfo("p", "Proposal", 2, probability=0.5),
    StageInfo("p", "Won", 3, is_closed=True, is_won=True),
    StageInfo("p", "Lost", 4, is_closed=True),
]


def path(n: int, rep: int, furthest: int, stage: str, *, won: bool | None = None,
         amount: float = 0.0) -> OpportunityPath:  # fmt: skip
    closed = won is not None
    return OpportunityPath(n, rep, "p", furthest, stage, closed, bool(won), amount)


def test_previous_quarter_crosses_the_year() -> None:
    assert previous_quarter(date(2026, 11, 19)) == DateRange(date(2026, 7, 1), date(2026, 9, 30))
    q = previous_quarter(date(2026, 2, 3))
    assert q == DateRange(date(2025, 10, 1), date(2025, 12, 31))
    assert quarter_name(q) == "2025-Q4"


def test_quarter_results_against_goal_and_ranked_with_ties() -> None:
    totals = {1: {"wins": 3.0, "prospecting": 90.0}, 2: {"wins": 5.0}, 3: {"wins": 3.0}}
    rows = quarter_results(1, ["wins", "prospecting"], totals, [1, 2, 3, 4], {"wins": 6.0})
    wins, prospecting = rows
    assert (wins.actual, wins.goal, wins.percent_of_goal) == (3.0, 6.0, 50.0)
    assert (wins.rank, wins.of) == (2, 4)  # 5 beats 3; the other 3 ties; rep 4 has 0
    assert (prospecting.rank, prospecting.goal, prospecting.percent_of_goal) == (1, None, None)
    assert rank_among(9, {1: 2.0}) is None


def test_trend_weeks_are_complete_iso_weeks_before_this_one_and_skip_before_start() -> None:
    weeks = trend_weeks(date(2026, 11, 19), 3)  # a Thursday
    assert [w.start for w in weeks] == [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9)]
    assert weeks[-1].end == date(2026, 11, 15)
    started = trend_weeks(date(2026, 11, 19), 3, since=date(2026, 10, 28))
    assert [w.start for w in started] == [date(2026, 11, 2), date(2026, 11, 9)]


def test_slope_is_least_squares() -> None:
    assert slope([1, 2, 3, 4]) == pytest.approx(1.0)
    assert slope([10, 0, 10, 0]) == pytest.approx(-2.0)


def test_trend_direction_from_the_fitted_change_relative_to_the_mean() -> None:
    weeks = trend_weeks(date(2026, 11, 19), 4)
    rising = trend("prospecting", weeks, [100, 110, 120, 130])
    # slope 10/week, over 3 steps = 30, mean 115 -> +26% > 15%
    assert rising.direction == "up" and rising.arrow == "↗"
    assert rising.change == pytest.approx(30 / 115)
    falling = trend("prospecting", weeks, [130, 120, 110, 100])
    assert falling.direction == "down" and falling.arrow == "↘"
    steady = trend("prospecting", weeks, [100, 104, 98, 103])
    assert steady.direction == "flat"
    assert trend("wins", weeks, [0, 0, 0, 0]).direction == "flat"
    assert trend("wins", weeks[:2], [1, 5]).direction == "unknown"


def test_expected_value_prefers_the_reps_rate_then_peers_then_crm() -> None:
    # Rep 1: 5 closed deals that reached Discovery (2 won), only 1 that reached Proposal.
    rep_closed = [path(n, 1, 1, "Lost", won=False) for n in range(3)]
    rep_closed += [path(3, 1, 2, "Won", won=True), path(4, 1, 2, "Won", won=True)]
    peer_closed = [path(10 + n, 2, 2, "Won", won=n < 3) for n in range(6)]  # 3 of 6 at Proposal
    rep_open = [
        path(20, 1, 1, "Discovery", amount=1000.0),
        path(21, 1, 1, "Discovery", amount=3000.0),
        path(22, 1, 2, "Proposal", amount=10_000.0),
    ]
    everything = rep_closed + peer_closed + rep_open
    rep_rates = stage_win_rates(STAGES, everything, rep_id=1)
    peer_rates = stage_win_rates(STAGES, [p for p in everything if p.rep_id == 2])
    outlook = pipeline_outlook(STAGES, rep_open, rep_rates, peer_rates, min_closed=5)
    discovery, proposal = outlook.stages
    # Discovery: all 5 of the rep's closed deals reached it, 2 won -> 40 % of 4,000.
    assert (discovery.basis, discovery.open_count, discovery.open_amount) == ("rep", 2, 4000.0)
    assert discovery.win_rate == pytest.approx(0.4)
    assert discovery.expected_value == pytest.approx(1600.0)
    # Proposal: the rep has 2 closed deals there (< 5), so peers' 3 of 6 -> 50 % of 10,000.
    assert (proposal.basis, proposal.closed_sample) == ("peers", 6)
    assert proposal.expected_value == pytest.approx(5000.0)
    assert outlook.expected_value == pytest.approx(6600.0)
    assert (outlook.open_count, outlook.open_amount) == (3, 14_000.0)
    assert outlook.bases == ["rep", "peers"]
    assert "rep's own" in expected_value_method(outlook)


def test_expected_value_falls_back_to_the_crm_probability_and_then_to_nothing() -> None:
    rep_open = [path(1, 1, 2, "Proposal", amount=2000.0)]
    crm = pipeline_outlook(STAGES, rep_open, [], [], min_closed=5)
    assert crm.stages[0].basis == "crm"
    assert crm.expected_value == pytest.approx(1000.0)
    assert "stage probability stated in the CRM" in expected_value_method(crm)
    bare = [StageInfo("p", "Proposal", 2), StageInfo("p", "Won", 3, is_closed=True, is_won=True)]
    none = pipeline_outlook(bare, rep_open, [], [], min_closed=5)
    assert none.stages[0].expected_value is None and none.stages[0].basis is None
    assert (none.expected_value, none.unweighted_amount) == (0.0, 2000.0)
    assert expected_value_method(pipeline_outlook(bare, [], [], [])) == "no open deals"
