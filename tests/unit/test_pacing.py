"""Working days, goal resolution and pacing on hand-built cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import Progress, WorkCalendar, elapsed, previous_working_day
from domain.goals import Goal, GoalSubject, InvalidGoal, Scope, TargetResolver, winning_goal
from domain.pacing import Status, pace, percent, status_for
from domain.timeutil import DateRange, Period, period_range

NOV = period_range(Period.MONTH, date(2026, 11, 10))  # Nov 2026: 1st is a Sunday
THANKSGIVING = date(2026, 11, 26)
CAL = WorkCalendar(holidays=frozenset({THANKSGIVING}))
ANN = GoalSubject("ann@example.com", team="East")


def month_goal(target: float, **kw: object) -> Goal:
    return Goal("prospecting", Period.MONTH, target, **kw)  # type: ignore[arg-type]


def test_working_days_skip_weekends_and_holidays() -> None:
    assert WorkCalendar().count(NOV) == 21
    assert CAL.count(NOV) == 20
    assert not CAL.is_working_day(THANKSGIVING)
    assert previous_working_day(CAL, date(2026, 11, 30)) == date(2026, 11, 27)
    assert previous_working_day(CAL, date(2026, 11, 27)) == date(2026, 11, 25)


def test_working_days_are_remembered_per_calendar_and_handed_out_as_new_lists() -> None:
    days = CAL.working_days(NOV)
    days.clear()  # a caller's change does not reach the next caller
    assert len(CAL.working_days(NOV)) == 20
    assert len(WorkCalendar().working_days(NOV)) == 21  # another calendar, its own days
    assert THANKSGIVING not in CAL.working_days(NOV)
    assert CAL.working_days(DateRange(NOV.end, NOV.start)) == []


def test_day_fraction_follows_working_hours() -> None:
    assert CAL.day_fraction(time(8, 0)) == 0.0
    assert CAL.day_fraction(time(13, 0)) == 0.5
    assert CAL.day_fraction(time(20, 0)) == 1.0


def test_progress_is_taken_in_the_reps_zone() -> None:
    # 03:00 UTC on Tuesday is still Monday 22:00 in New York: Monday's day is over.
    now = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
    progress = Progress.at(now, ZoneInfo("America/New_York"), CAL)
    assert progress == Progress(date(2026, 11, 2), 1.0)
    tokyo = Progress.at(now, ZoneInfo("Asia/Tokyo"), CAL)
    assert tokyo == Progress(date(2026, 11, 3), 0.375)  # 12:00 in Tokyo, 3 of 8 hours


def test_pacing_on_the_first_working_day_morning() -> None:
    target = TargetResolver([month_goal(200)], CAL).target("prospecting", ANN, NOV)
    time_ = elapsed(CAL, NOV, Progress(date(2026, 11, 2), 0.0))
    result = pace(0, target, time_)
    assert result.goal == 200
    assert result.expected_to_date == 0
    assert result.status is Status.ON_TRACK
    assert result.remaining_working_days == 20
    assert result.needed_per_day == 10
    assert pace(3, target, time_).status is Status.AHEAD


def test_pacing_on_the_first_working_day_at_noon() -> None:
    target = TargetResolver([month_goal(200)], CAL).target("prospecting", ANN, NOV)
    time_ = elapsed(CAL, NOV, Progress(date(2026, 11, 2), 0.5))
    assert pace(5, target, time_).expected_to_date == pytest.approx(5)
    assert pace(5, target, time_).status is Status.ON_TRACK
    assert pace(4, target, time_).status is Status.BEHIND
    assert pace(6, target, time_).status is Status.AHEAD


def test_pacing_on_the_last_working_day() -> None:
    target = TargetResolver([month_goal(200)], CAL).target("prospecting", ANN, NOV)
    end_of_month = elapsed(CAL, NOV, Progress.end_of(date(2026, 11, 30)))
    done = pace(190, target, end_of_month)
    assert done.expected_to_date == pytest.approx(200)
    assert done.remaining_working_days == 0
    assert done.needed_per_day is None
    assert done.status is Status.ON_TRACK
    assert done.percent_of_goal == pytest.approx(95)
    morning = elapsed(CAL, NOV, Progress(date(2026, 11, 30), 0.0))
    assert morning.remaining_days == 1
    assert pace(180, target, morning).needed_per_day == pytest.approx(20)
    assert pace(180, target, morning).expected_to_date == pytest.approx(190)


def test_holiday_carries_no_share_of_the_goal() -> None:
    target = TargetResolver([month_goal(200)], CAL).target("prospecting", ANN, NOV)
    assert target is not None
    assert THANKSGIVING not in target.shares
    before = elapsed(CAL, NOV, Progress.end_of(date(2026, 11, 25)))
    on_holiday = elapsed(CAL, NOV, Progress(THANKSGIVING, 0.9))
    assert before.elapsed == on_holiday.elapsed == 18
    assert pace(170, target, on_holiday).expected_to_date == pytest.approx(180)
    assert on_holiday.remaining_days == 2


def test_goal_changing_mid_period_is_prorated_by_working_days() -> None:
    goals = [
        month_goal(200, valid_to=date(2026, 11, 13), id=1),
        month_goal(400, valid_from=date(2026, 11, 16), id=2),
    ]
    target = TargetResolver(goals, CAL).target("prospecting", ANN, NOV)
    assert target is not None
    # 10 working days at 200/20 and 10 (Thanksgiving off) at 400/20.
    assert target.total == pytest.approx(100 + 200)
    assert target.shares[date(2026, 11, 13)] == pytest.approx(10)
    assert target.shares[date(2026, 11, 16)] == pytest.approx(20)
    mid = elapsed(CAL, NOV, Progress.end_of(date(2026, 11, 17)))
    assert pace(0, target, mid).expected_to_date == pytest.approx(100 + 40)


def test_rep_starting_mid_period_is_asked_only_for_their_days() -> None:
    late = GoalSubject("new@example.com", start_date=date(2026, 11, 16))
    target = TargetResolver([month_goal(200)], CAL).target("prospecting", late, NOV)
    assert target is not None
    assert target.total == pytest.approx(100)
    assert min(target.shares) == date(2026, 11, 16)
    early = elapsed(CAL, NOV, Progress.end_of(date(2026, 11, 13)))
    assert pace(0, target, early).expected_to_date == 0
    assert pace(0, target, early).status is Status.ON_TRACK


def test_weekly_goal_read_over_a_month_and_daily_goal_over_a_week() -> None:
    weekly = Goal("wins", Period.WEEK, 5)
    target = TargetResolver([weekly], WorkCalendar()).target("wins", ANN, NOV)
    assert target is not None
    assert target.total == pytest.approx(21)  # 21 working days at 1 a day
    daily = Goal("wins", Period.DAY, 2)
    week = period_range(Period.WEEK, date(2026, 11, 25))
    target = TargetResolver([daily], CAL).target("wins", ANN, week)
    assert target is not None
    assert target.total == 8  # Thanksgiving off


def test_precedence_rep_over_team_over_everyone() -> None:
    everyone = Goal("wins", Period.MONTH, 10, id=1)
    team = Goal("wins", Period.MONTH, 8, Scope.TEAM, "east", id=2)
    mine = Goal("wins", Period.MONTH, 6, Scope.REP, "ANN@example.com", id=3)
    day = date(2026, 11, 10)
    assert winning_goal([everyone, team, mine], day) is mine
    assert winning_goal([everyone, team], day) is team
    west = GoalSubject("bob@example.com", team="West")
    resolver = TargetResolver([everyone, team, mine], CAL)
    bob = resolver.target("wins", west, NOV)
    ann = resolver.target("wins", ANN, NOV)
    assert bob is not None and bob.total == pytest.approx(10)
    assert ann is not None and ann.total == pytest.approx(6)


def test_no_goal_in_force_means_no_goal() -> None:
    old = month_goal(100, valid_to=date(2026, 10, 31))
    assert TargetResolver([old], CAL).target("prospecting", ANN, NOV) is None
    saturday = DateRange(date(2026, 11, 7), date(2026, 11, 7))
    daily = Goal("prospecting", Period.DAY, 40)
    assert TargetResolver([daily], CAL).target("prospecting", ANN, saturday) is None
    result = pace(12, None, elapsed(CAL, NOV, Progress.end_of(date(2026, 11, 10))))
    assert result.status is Status.NO_GOAL and result.goal is None


def test_invalid_goals_say_what_to_change() -> None:
    with pytest.raises(InvalidGoal, match="0 or more"):
        Goal("wins", Period.DAY, -1)
    with pytest.raises(InvalidGoal, match="needs the team"):
        Goal("wins", Period.DAY, 1, Scope.TEAM)
    with pytest.raises(InvalidGoal, match="before it starts"):
        Goal("wins", Period.DAY, 1, valid_from=date(2026, 2, 1), valid_to=date(2026, 1, 1))


def test_status_band_is_configurable() -> None:
    assert status_for(85, 100, band=0.1) is Status.BEHIND
    assert status_for(85, 100, band=0.2) is Status.ON_TRACK
    assert status_for(111, 100, band=0.1) is Status.AHEAD


@given(
    st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=0.01, max_value=1e6),
)
def test_percent_of_goal_is_monotonic_in_actuals(a: float, b: float, goal: float) -> None:
    low, high = sorted((a, b))
    p_low, p_high = percent(low, goal), percent(high, goal)
    assert p_low is not None and p_high is not None
    assert p_low <= p_high


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=200))
def test_status_is_monotonic_in_actuals(a: int, b: int) -> None:
    order = {Status.BEHIND: 0, Status.ON_TRACK: 1, Status.AHEAD: 2}
    low, high = sorted((a, b))
    assert order[status_for(low, 100)] <= order[status_for(high, 100)]


SIGNATURE_GOALS = [
    Goal("prospecting", Period.DAY, 40),
    Goal("wins", Period.MONTH, 3),
    Goal("prospecting", Period.DAY, 50, Scope.TEAM, "East"),
    Goal("wins", Period.MONTH, 5, Scope.TEAM, "west"),
    Goal("conversations", Period.WEEK, 30, Scope.REP, "Ann@X.com"),
]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ann@x.com", "ANN@x.com", "bob@x.com", "cy@x.com"]),
            st.sampled_from([None, "East", "east", "West", "North"]),
            st.sampled_from([None, date(2026, 11, 2), date(2026, 11, 9)]),
        ),
        min_size=2,
        max_size=6,
    )
)
def test_reps_share_a_signature_exactly_when_the_same_goals_apply_from_the_same_start(
    people: list[tuple[str, str | None, date | None]],
) -> None:
    resolver = TargetResolver(SIGNATURE_GOALS, WorkCalendar())
    month = period_range(Period.MONTH, date(2026, 11, 16))
    subjects = [GoalSubject(email, team, start) for email, team, start in people]
    for a in subjects:
        for b in subjects:
            same_goals = [g.applies_to(a) for g in SIGNATURE_GOALS] == [
                g.applies_to(b) for g in SIGNATURE_GOALS
            ]
            same = same_goals and a.start_date == b.start_date
            assert (resolver.signature(a) == resolver.signature(b)) is same
            if same:  # and so every target is the same, whichever of them asked first
                for kpi in ("prospecting", "wins", "conversations"):
                    assert resolver.target(kpi, a, month) == resolver.target(kpi, b, month)
    for subject in subjects:  # the shared memo gives what a resolver of one's own gives
        alone = TargetResolver(SIGNATURE_GOALS, WorkCalendar())
        for kpi in ("prospecting", "wins", "conversations"):
            assert resolver.target(kpi, subject, month) == alone.target(kpi, subject, month)
