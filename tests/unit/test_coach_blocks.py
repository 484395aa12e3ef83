"""The /coach messages stay within Slack's limits whatever the team's size or the brief's length."""

from __future__ import annotations

from datetime import date

from bot.blocks.coach import MAX_TEAM_ROWS, coach_message, team_message
from bot.ids import ActionId
from bot.service import TeamGlance
from domain.attention import RepSignals, attention_order
from domain.brief import Outlook, PastQuarter
from domain.diagnosis import Diagnosis
from domain.glance import Glance
from domain.outlook import PipelineOutlook, QuarterResult, StageOutlook, trend, trend_weeks
from domain.pacing import Pace, Status
from domain.ports import RepProfile
from domain.questions import CoachBrief, questions_for
from domain.timeutil import DateRange

AS_OF = date(2026, 11, 19)


def big_team(size: int) -> TeamGlance:
    signals = [
        RepSignals(
            n,
            f"Rep {n:03d}",
            {"conversations": Pace(n % 7, 60, 30, Status.BEHIND, None, None, None, 2)},
            {"conversations": "week"},
            None,
        )
        for n in range(size)
    ]
    return TeamGlance(Glance(attention_order(signals), AS_OF, {}), "everyone", {}, {})


def test_a_team_of_sixty_fits_in_fifty_blocks_and_the_text_lists_everyone() -> None:
    message = team_message(big_team(60))
    blocks = [b.to_dict() for b in message.blocks]
    assert len(blocks) <= 50
    buttons = [b for b in blocks if b.get("accessory", {}).get("action_id") == ActionId.OPEN_BRIEF]
    assert len(buttons) == MAX_TEAM_ROWS
    assert blocks[-1]["text"]["text"].startswith(f"…and {60 - MAX_TEAM_ROWS} more, in order:")
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert sum(1 for line in message.text.splitlines() if " — behind on " in line) == 60


def test_a_long_brief_keeps_every_section_under_three_thousand_characters() -> None:
    rep = RepProfile(1, "a@x.com", "Ann")
    weeks = trend_weeks(AS_OF)
    stages = [
        StageOutlook("p", f"Stage {'x' * 80} {n}", n, 3, 1000.0, 0.5, "peers", 9, 500.0)
        for n in range(60)
    ]
    outlook = Outlook(
        PastQuarter(DateRange(date(2026, 7, 1), date(2026, 9, 30)),
                    [QuarterResult("wins", 1, 6, 16.7, 2, 4)]),
        PipelineOutlook(stages, 180, 60_000.0, 30_000.0, 0.0),
        [trend("wins", weeks, [1, 2, 3, 4, 5, 6])],
        weeks,
    )  # fmt: skip
    diagnosis = Diagnosis(1, "no_weak_step", None, None, None, [], "")
    brief = CoachBrief(
        rep, DateRange(AS_OF, AS_OF), diagnosis, questions_for(None), outlook=outlook
    )
    message = coach_message(brief, {"wins": "Wins"})
    blocks = [b.to_dict() for b in message.blocks]
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert "↗ Wins up: 1 · 2 · 3 · 4 · 5 · 6" in message.text
    assert "Wins: 1 of 6 goal (17%) · #2 of 4" in message.text
