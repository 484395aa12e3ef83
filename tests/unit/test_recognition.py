"""Recognition triggers: big deals, personal best weeks, streak milestones."""

from __future__ import annotations

from datetime import date, timedelta

from domain.calendar import WorkCalendar
from domain.recognition import (
    Trigger,
    WonDeal,
    big_deals,
    personal_best_week,
    streak,
    streak_milestone,
)
from domain.timeutil import DateRange

MON = date(2026, 11, 16)


def test_big_deals_at_or_above_the_amount_only() -> None:
    deals = [
        WonDeal("sandbox", "o1", "Acme", 60_000, 1, MON),
        WonDeal("sandbox", "o2", "Tiny", 900, 1, MON),
        WonDeal("sandbox", "o3", "Edge", 50_000, 2, MON),
    ]
    found = big_deals(deals, min_amount=50_000)
    assert [r.key for r in found] == ["recognition:deal:sandbox:o1", "recognition:deal:sandbox:o3"]
    assert found[0].trigger is Trigger.BIG_DEAL and "60,000" in found[0].detail


def weeks(*totals: float, first: date) -> dict[date, float]:
    """One value on the Wednesday of each week from ``first``."""
    return {first + timedelta(weeks=n, days=2): v for n, v in enumerate(totals)}


def test_personal_best_week_needs_history_and_must_beat_every_earlier_week() -> None:
    first = MON - timedelta(weeks=5)
    daily = weeks(10, 14, 12, 9, 13, 15, first=first)
    hit = personal_best_week(1, "prospecting", daily, week=MON, min_history_weeks=4)
    assert hit is not None and hit.key == "recognition:best_week:1:prospecting:2026-W47"
    tie = weeks(10, 15, 12, 9, 13, 15, first=first)
    assert personal_best_week(1, "prospecting", tie, week=MON, min_history_weeks=4) is None
    short = weeks(1, 20, first=MON - timedelta(weeks=1))
    assert personal_best_week(1, "prospecting", short, week=MON, min_history_weeks=4) is None


def test_streak_and_milestones_once_per_streak() -> None:
    cal = WorkCalendar()
    days = cal.working_days(DateRange(MON - timedelta(days=14), MON + timedelta(days=4)))
    daily = dict.fromkeys(days, 25.0)
    daily[days[-6]] = 3.0  # broken six working days before the end
    assert streak(days, daily, 20) == 5
    hit = streak_milestone(7, "prospecting", days, daily, minimum=20, milestones=(5, 10))
    assert hit is not None
    assert hit.key == f"recognition:streak:7:prospecting:{days[-5].isoformat()}:5"
    assert (
        streak_milestone(7, "prospecting", days[:-1], daily, minimum=20, milestones=(5, 10)) is None
    )
