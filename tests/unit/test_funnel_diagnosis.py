"""Stage win rates, diagnosis of the weak funnel step, the prescription and ramp."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.diagnosis import DiagnosisRules, RepFunnel, diagnose
from domain.funnel import OpportunityPath, StageInfo, conversion, open_pipeline, stage_win_rates
from domain.prescription import prescribe, team_rates
from domain.ramp import Hire, cumulative_by_week, ramp, weeks_ahead

STAGES = [
    StageInfo("default", "Discovery", 1),
    StageInfo("default", "Demo", 2),
    StageInfo("default", "Proposal", 3),
    StageInfo("default", "Closed Won", 4, is_closed=True, is_won=True),
    StageInfo("default", "Closed Lost", 5, is_closed=True),
]


def path(
    i: int,
    furthest: int | None,
    *,
    won: bool = False,
    closed: bool = True,
    stage: str = "Closed Lost",
    amount: float = 100,
) -> OpportunityPath:
    return OpportunityPath(i, 1, "default", furthest, stage, closed, won, amount)


def test_stage_reached_win_rates_lift_with_each_stage() -> None:
    paths = [
        path(1, 3, won=True, stage="Closed Won"),
        path(2, 3),
        path(3, 2),
        path(4, 1),
        path(5, None),  # no history, no snapshot: reached only the first stage
        path(6, 2, closed=False, stage="Demo"),  # open: does not dilute the rates
    ]
    rates = {r.stage: r for r in stage_win_rates(STAGES, paths)}
    assert (rates["Discovery"].reached_closed, rates["Discovery"].won) == (5, 1)
    assert rates["Demo"].win_rate == pytest.approx(1 / 3)
    assert rates["Proposal"].win_rate == pytest.approx(1 / 2)
    assert rates["Proposal"].lift() == "moving to Proposal lifts the win rate from 33% to 50%"
    assert "Closed Won" not in rates


def test_a_skipped_stage_counts_as_reached() -> None:
    # Straight from Discovery to Proposal, then won: Demo was skipped but got past.
    paths = [path(1, 3, won=True, stage="Closed Won"), path(2, 1)]
    rates = {r.stage: r for r in stage_win_rates(STAGES, paths)}
    assert rates["Demo"].reached_closed == 1 and rates["Demo"].win_rate == 1.0
    assert rates["Discovery"].win_rate == 0.5


def test_open_pipeline_by_stage_with_expected_value() -> None:
    paths = [
        path(1, 3, won=True, stage="Closed Won"),
        path(2, 3),
        path(3, 3, closed=False, stage="Proposal", amount=1000),
        path(4, 1, closed=False, stage="Discovery", amount=500),
    ]
    rates = stage_win_rates(STAGES, paths)
    by_stage = {p.stage: p for p in open_pipeline(STAGES, paths, rates)}
    assert by_stage["Proposal"].open_amount == 1000
    assert by_stage["Proposal"].expected_value == pytest.approx(500)
    assert by_stage["Demo"].open_count == 0
    assert by_stage["Discovery"].expected_value == pytest.approx(250)


def test_conversion_rates_from_totals() -> None:
    rates = conversion({"conversations": 200, "opportunities_created": 20, "wins": 5})
    assert rates.conversation_to_win == pytest.approx(0.025)
    assert rates.opportunity_to_win == pytest.approx(0.25)
    assert conversion({}).opportunity_to_win is None


TYPICAL = {
    "prospecting": 600,
    "conversations": 180,
    "meaningful_conversations": 60,
    "opportunities_created": 20,
    "wins": 6,
}


def funnel(rep_id: int, name: str, **changes: float) -> RepFunnel:
    return RepFunnel(rep_id, name, {**TYPICAL, **changes}, working_days=60)


TEAM = [
    funnel(10, "Pat", wins=7),
    funnel(11, "Quinn", opportunities_created=24, wins=6),
    funnel(12, "Ray", meaningful_conversations=70, wins=5),
    funnel(13, "Sam", prospecting=660),
]


@pytest.mark.parametrize(
    ("rep", "weak", "problem"),
    [
        (funnel(1, "Closer", opportunities_created=40, wins=2), "wins", "closing"),
        (
            funnel(1, "Qualifier", opportunities_created=6, wins=4),
            "opportunities_created",
            "qualifying or prospecting",
        ),
        (
            funnel(
                1,
                "Targeter",
                prospecting=900,
                conversations=270,
                meaningful_conversations=20,
                opportunities_created=8,
                wins=2,
            ),
            "meaningful_conversations",
            "targeting",
        ),
        (
            funnel(
                1,
                "Quiet",
                prospecting=200,
                conversations=60,
                meaningful_conversations=20,
                opportunities_created=7,
                wins=2,
            ),
            "prospecting",
            "prospecting volume",
        ),
    ],
)
def test_diagnosis_names_the_step_that_holds_the_rep_back(
    rep: RepFunnel, weak: str, problem: str
) -> None:
    result = diagnose(rep, [*TEAM, rep])
    assert result.status == "weak_step"
    assert result.weak_step == weak
    assert result.problem == problem
    assert result.shadow is not None and result.shadow.rep_id != rep.rep_id
    assert weak in result.message


def test_shadow_is_the_peer_strongest_at_the_weak_step() -> None:
    rep = funnel(1, "Closer", opportunities_created=40, wins=2)
    result = diagnose(rep, TEAM)
    assert result.shadow is not None and result.shadow.name == "Pat"  # 7 wins of 20 opps


def test_a_team_of_one_has_not_enough_data() -> None:
    solo = funnel(1, "Solo", wins=1)
    result = diagnose(solo, [solo])
    assert result.status == "not_enough_data"
    assert result.weak_step is None
    assert "not enough data yet" in result.message


def test_too_few_events_is_not_enough_data() -> None:
    newbie = RepFunnel(1, "New", {"prospecting": 3}, working_days=2)
    assert diagnose(newbie, TEAM).status == "not_enough_data"


def test_a_rep_at_the_median_everywhere_has_no_weak_step() -> None:
    rep = funnel(1, "Median")
    result = diagnose(rep, TEAM, DiagnosisRules(min_gap=1.5))
    assert result.status == "no_weak_step" and result.weak_step is None


def test_prescription_works_the_revenue_goal_backwards() -> None:
    rates = team_rates(TYPICAL)
    plan = prescribe(
        revenue_goal=120_000,
        average_deal_size=20_000,
        working_days=20,
        rates=rates,
        actual_per_week={"wins": 1, "prospecting": 100},
    )
    assert plan.wins_needed == pytest.approx(6)
    need = {step.kpi: step.needed_per_week for step in plan.steps}
    assert need["wins"] == pytest.approx(1.5)
    assert need["opportunities_created"] == pytest.approx(1.5 / 0.3)
    assert need["meaningful_conversations"] == pytest.approx(5 / (1 / 3))
    assert need["conversations"] == pytest.approx(15 * 3)
    assert need["prospecting"] == pytest.approx(45 / 0.3)
    gaps = {step.kpi: step.gap_per_week for step in plan.steps}
    assert gaps["prospecting"] == pytest.approx(50)
    assert gaps["wins"] == pytest.approx(0.5)


def test_prescription_stops_where_no_history_exists() -> None:
    plan = prescribe(revenue_goal=100, average_deal_size=10, working_days=5, rates={"wins": None})
    assert [s.needed_per_week for s in plan.steps][:2] == [10, None]
    assert plan.note
    assert prescribe(revenue_goal=1, average_deal_size=None, working_days=5, rates={}).steps == []


def hire(rep_id: int, start: date, per_day: float) -> Hire:
    return Hire(rep_id, f"h{rep_id}", start, {start + timedelta(d): per_day for d in range(400)})


def test_ramp_compares_a_class_with_earlier_hires_at_the_same_week() -> None:
    as_of = date(2026, 11, 23)
    earlier = [hire(1, date(2025, 1, 6), 1.0), hire(2, date(2025, 3, 3), 1.0)]
    cohort = [hire(3, as_of - timedelta(days=28), 2.0), hire(4, as_of - timedelta(days=29), 2.0)]
    report = ramp("opportunities_created", cohort, earlier, as_of)
    assert report.week == 4
    assert report.class_value == 56 and report.typical_value == 28
    assert report.weeks_ahead == pytest.approx(4)
    assert report.message == "4 weeks ahead of pace for a typical onboarding class"
    assert cumulative_by_week(cohort[0], 2) == [14, 28]


def test_weeks_ahead_reads_the_typical_curve() -> None:
    curve = [10.0, 20.0, 30.0]
    assert weeks_ahead(15, 2, curve) == pytest.approx(-0.5)
    assert weeks_ahead(40, 1, curve) == pytest.approx(2)  # past the curve: a lower bound
    assert ramp("x", [], [], date(2026, 1, 1)).message == "no hires in this class"
