"""The App Home tab: the rep's week; a manager also sees their team's pacing grid."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.common import STATUS_EMOJI, percent
from bot.blocks.notes import coaching_home_blocks
from bot.blocks.scorecard import scorecard_blocks
from bot.ids import ActionId
from bot.service import HomeView, TeamRow

MAX_TEAM_ROWS = 40
HELP = (
    "`/mystats [day|week|month|quarter]` your scorecard · `/leaderboard [kpi] [period]` "
    "the board · `/pacesetter optout` hide yourself from public boards"
)
MANAGER_HELP = "`/coach @rep` a coaching brief · `/goal` set a goal"


def team_row(row: TeamRow) -> str:
    """Return one report's pacing: a status dot and percent of goal per KPI."""
    cells = [
        f"{STATUS_EMOJI[str(line.pace.status)]} {line.label} {percent(line.pace.percent_of_goal)}"
        for line in row.card.lines.values()
    ]
    return f"*{row.rep.name}*\n" + "  ".join(cells)


def home_view(home: HomeView) -> View:
    """Return the Home tab view."""
    blocks: list[Block] = scorecard_blocks(home.card)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=HELP)]))
    if home.team:
        blocks += [
            DividerBlock(),
            HeaderBlock(text="Your team this week"),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=":large_green_circle: ahead · :large_blue_circle: on track · "
                        ":red_circle: behind · :white_circle: no goal — percent of the week's goal"
                    )
                ]
            ),
        ]
        blocks += [
            SectionBlock(text=MarkdownTextObject(text=team_row(row)[:2900]))
            for row in home.team[:MAX_TEAM_ROWS]
        ]
        if len(home.team) > MAX_TEAM_ROWS:
            more = len(home.team) - MAX_TEAM_ROWS
            blocks.append(
                ContextBlock(elements=[MarkdownTextObject(text=f"…and {more} more reps.")])
            )
    if home.coaching is not None:
        blocks += coaching_home_blocks(home.coaching)
    if home.can_set_goals:
        blocks += [
            ContextBlock(elements=[MarkdownTextObject(text=MANAGER_HELP)]),
            ActionsBlock(
                elements=[ButtonElement(text="Set a goal", action_id=ActionId.OPEN_GOAL_MODAL)]
            ),
        ]
    return View(type="home", blocks=blocks[:100])


def unlinked_home_view() -> View:
    """Return the Home tab for someone not matched to a rep."""
    return View(
        type="home",
        blocks=[
            HeaderBlock(text="Welcome to Pacesetter"),
            SectionBlock(
                text=MarkdownTextObject(
                    text="I can't find you among the reps synced from the CRM yet. Ask a "
                    "Pacesetter admin to link you with `/pacesetter link @you you@company.com`."
                )
            ),
        ],
    )
