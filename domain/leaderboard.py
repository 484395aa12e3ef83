"""Leaderboards: rank reps by percent of goal (fair across quotas) or by raw count.

Ties share a rank and the next rank skips (competition ranking: 1, 1, 3). Reps are equal
when their scores are equal after rounding to 0.01, so float noise never splits a tie.
In percent mode, reps with no goal for the KPI are listed after everyone ranked, without a
rank. Ranks are computed over everyone, so a rep's rank does not depend on who looks; reps
who opted out of public boards are then hidden from everyone but themselves and their
managers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.pacing import percent

TIE_PRECISION = 2


class RankBy(StrEnum):
    """What a leaderboard orders by."""

    PERCENT = "percent"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class Standing:
    """One rep's line on a board before ranking."""

    rep_id: int
    name: str
    actual: float
    goal: float | None = None
    public_opt_out: bool = False
    manager_id: int | None = None


@dataclass(frozen=True, slots=True)
class Ranked:
    """A ranked line: the score ranked on, its rank (None when unranked), and the standing."""

    standing: Standing
    score: float | None
    rank: int | None


def score_of(standing: Standing, by: RankBy) -> float | None:
    """Return what ``standing`` is ranked on: percent of goal, or the raw actual."""
    if by is RankBy.COUNT:
        return standing.actual
    return percent(standing.actual, standing.goal)


def rank(standings: Sequence[Standing], by: RankBy = RankBy.PERCENT) -> list[Ranked]:
    """Rank ``standings`` best first with competition ranking; ties ordered by name."""
    scored = [(s, score_of(s, by)) for s in standings]
    ranked_part = sorted(
        ((s, v) for s, v in scored if v is not None),
        key=lambda item: (-round(item[1], TIE_PRECISION), item[0].name.casefold(), item[0].rep_id),
    )
    out: list[Ranked] = []
    previous: float | None = None
    current = 0
    for position, (standing, value) in enumerate(ranked_part, start=1):
        key = round(value, TIE_PRECISION)
        if key != previous:
            current, previous = position, key
        out.append(Ranked(standing, value, current))
    unranked = sorted(
        (s for s, v in scored if v is None), key=lambda s: (s.name.casefold(), s.rep_id)
    )
    out.extend(Ranked(s, None, None) for s in unranked)
    return out


def competition_ranks(scores: Mapping[int, float | None]) -> dict[int, int | None]:
    """Return each rep's rank for rep -> score, exactly as ``rank`` numbers its lines.

    The same ranking (best first, ties after rounding to 0.01 share a rank, the next rank
    skips, no score means no rank) without building a line per rep: rank tables rank every
    rep on every KPI after each sync, 70,000 lines at 10,000 reps.
    """
    out: dict[int, int | None] = dict.fromkeys(scores)
    keyed = sorted(
        (-round(value, TIE_PRECISION), rep_id)
        for rep_id, value in scores.items()
        if value is not None
    )
    previous: float | None = None
    current = 0
    for position, (key, rep_id) in enumerate(keyed, start=1):
        if key != previous:
            current, previous = position, key
        out[rep_id] = current
    return out


def visible_to(
    board: Sequence[Ranked], viewer_id: int | None, managed: Collection[int] = ()
) -> list[Ranked]:
    """Return the lines ``viewer_id`` may see: public reps, themselves and reps they manage."""
    return [
        line
        for line in board
        if not line.standing.public_opt_out
        or line.standing.rep_id == viewer_id
        or line.standing.rep_id in managed
    ]


def rank_of(board: Sequence[Ranked], rep_id: int) -> Ranked | None:
    """Return ``rep_id``'s line of ``board``."""
    for line in board:
        if line.standing.rep_id == rep_id:
            return line
    return None
