"""Pure pieces of the bot: parsing, the leaderboard window, pace bars, questions, matching."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from datetime import date

import pytest

from bot.blocks.common import number, pace_bar
from bot.blocks.leaderboard import window
from bot.charts import TrendSeries, cumulative, render_trend
from bot.parsing import parse_board, parse_email, parse_mention, parse_period, parse_target
from domain.errors import BadInput, NotAllowed
from domain.identity import coachable_rep, match_reps
from domain.leaderboard import Ranked, Standing
from domain.ports import LinkChange, RepProfile, SlackMember
from domain.questions import questions_for
from domain.timeutil import Period

METRICS = ["activity_score", "prospecting", "meaningful_conversations", "won_amount", "wins"]


def test_periods_parse_with_aliases_and_refuse_nonsense() -> None:
    assert parse_period("") is Period.WEEK
    assert parse_period(" Month ") is Period.MONTH
    assert parse_period("q") is Period.QUARTER
    with pytest.raises(BadInput, match="/mystats day"):
        parse_period("fortnight")


def test_leaderboard_arguments_in_any_order_and_by_prefix() -> None:
    assert parse_board("", METRICS).metric is None
    args = parse_board("month meaningful", METRICS)
    assert (args.metric, args.period) == ("meaningful_conversations", Period.MONTH)
    assert parse_board("won amount quarter", METRICS).metric == "won_amount"
    with pytest.raises(BadInput, match="Try one of"):
        parse_board("calls", METRICS)


def test_mentions_and_emails_as_slack_escapes_them() -> None:
    assert parse_mention("<@U01ABC|sally>") == "U01ABC"
    assert parse_mention("<@W9> please") == "W9"
    assert parse_mention("@sally") is None
    assert parse_email("<mailto:Sally@X.com|Sally@X.com>") == "sally@x.com"
    assert parse_email("not-an-email") is None
    assert parse_target("$1,500") == 1500
    assert parse_target("-3") is None
    assert parse_target("nan") is None


def board(n: int) -> list[Ranked]:
    return [Ranked(Standing(i, f"Rep {i}", 10 - i, 10), 100.0 - i, i + 1) for i in range(n)]


def test_window_keeps_the_top_and_the_places_around_the_viewer() -> None:
    lines = board(20)
    shown = window(lines, viewer_id=12)
    ids = [line.standing.rep_id if line else None for line in shown]
    assert ids == [0, 1, 2, 3, 4, None, 10, 11, 12, 13, 14]
    assert [x.standing.rep_id for x in window(lines, viewer_id=3) if x] == [0, 1, 2, 3, 4, 5]
    assert None not in window(lines, viewer_id=None)


def test_pace_bar_and_numbers() -> None:
    assert pace_bar(50) == "█████░░░░░"
    assert pace_bar(30, 70) == "███░░░┃░░░"
    assert pace_bar(250) == "██████████"
    assert pace_bar(None) == "░" * 10
    assert number(12500, "$") == "$12k"
    assert number(3.5) == "3.5"
    assert number(1234) == "1,234"
    assert number(None) == "—"


def test_questions_are_three_to_five_and_about_the_weak_step() -> None:
    for step in ("prospecting", "conversations", "meaningful_conversations",
                 "opportunities_created", "opportunities_advanced", "wins", None):  # fmt: skip
        assert 3 <= len(questions_for(step)) <= 5
    assert any("VP" in q for q in questions_for("meaningful_conversations"))


def test_trend_chart_is_a_png() -> None:
    days = [date(2026, 11, d) for d in range(16, 23)]
    series = TrendSeries("Prospecting", days, {days[0]: 5, days[2]: 7}, dict.fromkeys(days[:5], 12))
    assert cumulative(days[:3], series.values) == [5, 5, 12]
    assert render_trend("Your week", [series], days[3]).startswith(b"\x89PNG")


def test_a_trend_chart_leaves_no_garbage_for_a_later_pause() -> None:
    """The figure's reference cycles are freed by the chart itself, not by whichever request
    the next full collection lands in."""
    days = [date(2026, 11, d) for d in range(1, 31)]
    series = [
        TrendSeries(f"KPI {n}", days, dict.fromkeys(days[:19], n + 1.0), dict.fromkeys(days, 3.0))
        for n in range(4)
    ]
    render_trend("Your month", series, days[18])  # first draw loads fonts and caches
    gc.collect()
    before = len(gc.get_objects())
    gc.disable()  # so nothing but the chart itself could have collected its cycles
    try:
        render_trend("Your month", series, days[18])
        left = len(gc.get_objects()) - before
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0
    assert left < 100  # a figure is some 12,000 objects


class FakeDirectory:
    """Just enough of the Directory port for the identity rules."""

    def __init__(self, reps: Sequence[RepProfile], managers: dict[int, list[int]]) -> None:
        self.reps = {r.id: r for r in reps}
        self.managers = managers
        self.links: list[tuple[int, str, str | None]] = []

    def by_id(self, rep_id: int) -> RepProfile | None:
        return self.reps.get(rep_id)

    def managers_of(self, rep_id: int) -> list[int]:
        return self.managers.get(rep_id, [])

    def unmatched(self) -> list[RepProfile]:
        return list(self.reps.values())

    def link(self, rep_id: int, slack_user_id: str, timezone: str | None) -> LinkChange:
        self.links.append((rep_id, slack_user_id, timezone))
        return LinkChange(rep_id, slack_user_id, True)


class FakeSlackDirectory:
    def __init__(self, members: dict[str, SlackMember]) -> None:
        self.members = members

    def lookup_by_email(self, email: str) -> SlackMember | None:
        return self.members.get(email)

    def info(self, user_id: str) -> SlackMember | None:
        return next((m for m in self.members.values() if m.user_id == user_id), None)


ANN = RepProfile(1, "ann@x.com", "Ann")
MAX = RepProfile(2, "max@x.com", "Max", role="manager")
EVE = RepProfile(3, "eve@x.com", "Eve", role="manager")
ADA = RepProfile(4, "ada@x.com", "Ada")


def test_coaching_is_for_managers_up_the_chain_and_admins_with_one_refusal() -> None:
    d = FakeDirectory([ANN, MAX, EVE, ADA], {1: [2]})
    assert coachable_rep(MAX, 1, d, ()) == ANN  # type: ignore[arg-type]
    assert coachable_rep(ADA, 1, d, ["ADA@x.com"]) == ANN  # type: ignore[arg-type]
    refusals = set()
    for viewer, target in ((EVE, 1), (ANN, 1), (ANN, 2), (MAX, 99), (None, 1)):
        with pytest.raises(NotAllowed) as refused:
            coachable_rep(viewer, target, d, ())  # type: ignore[arg-type]
        refusals.add(str(refused.value))
    assert len(refusals) == 1


def test_matching_links_by_email_with_the_zone_from_users_info() -> None:
    d = FakeDirectory([ANN, MAX, ADA], {})
    slack = FakeSlackDirectory(
        {
            "ann@x.com": SlackMember("UANN", "ann@x.com", "Ann", "Europe/Paris"),
            "ada@x.com": SlackMember("UADA", "ada@x.com", "Ada", deleted=True),
        }
    )
    report = match_reps(d, slack)  # type: ignore[arg-type]
    assert d.links == [(1, "UANN", "Europe/Paris")]
    assert [r.name for r in report.unmatched] == ["Max", "Ada"]
