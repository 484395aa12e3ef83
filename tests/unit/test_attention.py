"""Who most needs attention and why: the points of each reason, and the order they give."""

from __future__ import annotations

import math
from datetime import date

import pytest

from domain.attention import (
    ON_PACE,
    FollowUpState,
    RampLag,
    RepSignals,
    assess,
    attention_order,
)
from domain.calendar import Progress, WorkCalendar
from domain.diagnosis import Diagnosis, Shadow, StepComparison
from domain.glance import settled_progress, span_name
from domain.pacing import Pace, Status
from domain.timeutil import Period


def behind(actual: float, expected: float) -> Pace:
    status = Status.BEHIND if actual < 0.9 * expected else Status.ON_TRACK
    return Pace(actual, expected * 2, expected, status, None, None, None, 3)


def weak(kpi: str, problem: str, gap: float) -> Diagnosis:
    step = StepComparison(kpi, problem, 0.1, 0.1 * gap, gap, 3, True)
    return Diagnosis(1, "weak_step", kpi, problem, Shadow(2, "Peer", 0.3), [step])


def signals(name: str, **kwargs: object) -> RepSignals:
    base: dict[str, object] = {"paces": {}, "period_of": {}, "diagnosis": None}
    base.update(kwargs)
    return RepSignals(hash(name) % 1000, name, **base)  # type: ignore[arg-type]


LABELS = {"conversations": "Conversations", "prospecting": "Prospecting"}


def test_behind_pace_says_actual_of_expected_and_scores_the_shortfall() -> None:
    row = assess(
        signals(
            "Ann",
            paces={"conversations": behind(12, 30), "prospecting": behind(58, 60)},
            period_of={"conversations": "week"},
        ),
        LABELS,
    )
    assert row.why == "behind on conversations: 12 of 30 expected this week"
    assert row.attention == pytest.approx(1 - 12 / 30)  # prospecting is on track: no points
    assert [r.kind for r in row.reasons] == ["behind"]


def test_closing_with_plenty_of_pipeline_and_without() -> None:
    plenty = assess(
        signals(
            "Bo",
            diagnosis=weak("wins", "closing", 3.0),
            open_amount=90_000.0,
            peer_open_median=50_000.0,
        )
    )
    assert plenty.why == "plenty of pipeline, few wins: closing"
    assert plenty.attention == pytest.approx(1.0)  # (3 - 1) / 2
    thin = assess(
        signals(
            "Bo",
            diagnosis=weak("wins", "closing", 1.5),
            open_amount=10_000.0,
            peer_open_median=50_000.0,
        )
    )
    assert thin.why == "few wins from opportunities: closing"
    assert thin.attention == pytest.approx(0.25)


def test_other_weak_steps_name_the_gap_and_the_problem() -> None:
    row = assess(signals("Cy", diagnosis=weak("conversations", "connecting", 2.0)), LABELS)
    assert row.why == "weak step conversations (team median 2.0x theirs): connecting"
    none_yet = assess(signals("Cy", diagnosis=weak("conversations", "connecting", math.inf)))
    assert "none yet" in none_yet.why and none_yet.attention == 1.0


def test_overdue_follow_ups_and_ramp_lag() -> None:
    follow = assess(signals("Di", follow_ups=FollowUpState(3, 2, date(2026, 11, 12))))
    assert follow.why == "2 overdue follow-ups since Nov 12"
    assert follow.attention == pytest.approx(1.25)
    one = assess(signals("Di", follow_ups=FollowUpState(1, 1, date(2026, 11, 2))))
    assert one.why == "overdue follow-up since Nov 2"
    hire = assess(signals("Ed", ramp=RampLag("prospecting", 2.4)), LABELS)
    assert hire.why == "new hire ramping behind curve: 2 weeks behind on prospecting"
    assert hire.attention == pytest.approx(0.6)
    assert assess(signals("Ed", ramp=RampLag("prospecting", 0.5))).reasons == []


def test_the_team_is_sorted_by_summed_points_then_name() -> None:
    team = [
        signals("Zed"),
        signals("amy", follow_ups=FollowUpState(1, 1, date(2026, 11, 1))),
        signals("Bob", paces={"conversations": behind(12, 30)},
                diagnosis=weak("wins", "closing", 2.0)),  # 0.6 + 0.5
        signals("Al", follow_ups=FollowUpState(1, 1, date(2026, 11, 3))),
    ]  # fmt: skip
    rows = attention_order(team, LABELS)
    assert [r.signals.name for r in rows] == ["Bob", "Al", "amy", "Zed"]
    assert rows[0].attention == pytest.approx(1.1)
    assert rows[0].why.startswith("behind on conversations")
    assert rows[-1].why == ON_PACE and rows[-1].attention == 0


def test_a_monday_morning_is_paced_on_last_week_and_says_so() -> None:
    monday, friday = date(2026, 11, 23), date(2026, 11, 20)
    assert span_name(Period.WEEK, friday, monday) == "last week"
    assert span_name(Period.WEEK, date(2026, 11, 18), date(2026, 11, 19)) == "this week"
    assert span_name(Period.MONTH, friday, monday) == "this month"
    row = assess(
        signals(
            "Ann",
            paces={"conversations": behind(12, 30)},
            period_of={"conversations": "week"},
            span_of={"conversations": "last week"},
        ),
        LABELS,
    )
    assert row.why == "behind on conversations: 12 of 30 expected last week"


def test_the_glance_paces_to_the_end_of_the_last_finished_working_day() -> None:
    calendar = WorkCalendar()
    monday_morning = Progress(date(2026, 11, 23), 0.1)
    assert settled_progress(calendar, monday_morning) == Progress(date(2026, 11, 20), 1.0)
    evening = Progress(date(2026, 11, 24), 1.0)
    assert settled_progress(calendar, evening) == evening
