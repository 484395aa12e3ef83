"""The /leaderboard message: the top of the board and, always, the places around the viewer."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.common import Message, clip, day_range, number, percent
from bot.service import Board
from domain.leaderboard import RankBy, Ranked
from domain.timeutil import period_range

TOP = 5
AROUND = 2
GAP = "…"


def window(
    lines: Sequence[Ranked], viewer_id: int | None, top: int = TOP, around: int = AROUND
) -> list[Ranked | None]:
    """Return the top ``top`` lines and ``around`` either side of the viewer; None marks a gap."""
    keep = set(range(min(top, len(lines))))
    mine = next((i for i, line in enumerate(lines) if line.standing.rep_id == viewer_id), None)
    if mine is not None:
        keep.update(range(max(0, mine - around), min(len(lines), mine + around + 1)))
    out: list[Ranked | None] = []
    previous = -1
    for index in sorted(keep):
        if index != previous + 1:
            out.append(None)
        out.append(lines[index])
        previous = index
    return out


def line_text(line: Ranked, board: Board, unit: str = "") -> str:
    """Return one place on the board, e.g. '3. Sally Chen — 112% (34 of 30)'."""
    s = line.standing
    place = f"{line.rank}." if line.rank is not None else "–"
    if board.by is RankBy.COUNT:
        score = number(s.actual, unit)
    elif s.goal is None:
        score = f"{number(s.actual, unit)} (no goal)"
    else:
        score = f"{percent(line.score)} ({number(s.actual, unit)} of {number(s.goal, unit)})"
    you = " ← you" if s.rep_id == board.viewer_id else ""
    return f"{place} {s.name} — {score}{you}"


def heading(board: Board) -> str:
    """Return the board's title, e.g. 'Leaderboard: Meaningful conversations, this week'."""
    rng = period_range(board.period, board.as_of)
    return f"Leaderboard: {board.label}, {board.period} of {day_range(rng.start, rng.end)}"


def explanation(board: Board) -> str:
    """Say how the board is ranked."""
    if board.fallback_to_count:
        return "Nobody has a goal for this KPI yet, so this is ranked by count."
    if board.by is RankBy.COUNT:
        return "Ranked by count."
    return "Ranked by percent of goal, so different quotas compare fairly."


def leaderboard_message(board: Board, unit: str = "") -> Message:
    """Return the /leaderboard message."""
    if not board.lines:
        text = f"{heading(board)}: nobody is on this board yet (no reps synced, or all opted out)."
        return Message(text, [SectionBlock(text=MarkdownTextObject(text=text))])
    rows = [
        GAP if line is None else line_text(line, board, unit)
        for line in window(board.lines, board.viewer_id)
    ]
    body = "\n".join(rows)
    mine = next((line for line in board.lines if line.standing.rep_id == board.viewer_id), None)
    footer = f"{explanation(board)} {board.total} reps shown; reps who opted out are hidden."
    blocks: list[Block] = [
        HeaderBlock(text=heading(board)[:150]),
        SectionBlock(text=MarkdownTextObject(text=clip("```" + body + "```"))),
        ContextBlock(elements=[MarkdownTextObject(text=footer)]),
    ]
    summary = (
        f"you are {mine.rank or 'unranked'} of {board.total}" if mine else f"{board.total} reps"
    )
    text = f"{heading(board)} — {summary}.\n{body}\n{explanation(board)}"
    return Message(text, blocks)
