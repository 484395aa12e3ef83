"""Funnel analytics: conversion to wins, and the win rate of opportunities by stage reached.

An opportunity *reached* a stage when it was ever in that stage or any later open stage of
its pipeline (a skipped stage counts as reached: the deal got past it), and a won deal
reached every open stage. Its furthest open stage comes from stage history, from daily
pipeline snapshots where history is missing, and at least its current stage; a deal with
none of these reached only its pipeline's first stage. The win rate of a stage is won /
closed among the deals that reached it, so open deals never dilute it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StageInfo:
    """A stage's place in its pipeline."""

    pipeline: str
    stage: str
    order: int
    is_closed: bool = False
    is_won: bool = False
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class OpportunityPath:
    """How far an opportunity got and where it is now."""

    opportunity_id: int
    rep_id: int | None
    pipeline: str
    furthest_open_order: int | None
    current_stage: str
    is_closed: bool
    is_won: bool
    amount: float | None = None


@dataclass(frozen=True, slots=True)
class StageWinRate:
    """Of the closed deals that reached ``stage``, how many were won."""

    pipeline: str
    stage: str
    order: int
    reached_closed: int
    won: int
    win_rate: float | None
    previous_rate: float | None = None

    def lift(self) -> str | None:
        """Say how reaching this stage changes the win rate, e.g. "27% -> 65%"."""
        if self.win_rate is None or self.previous_rate is None:
            return None
        return (
            f"moving to {self.stage} lifts the win rate from "
            f"{self.previous_rate:.0%} to {self.win_rate:.0%}"
        )


@dataclass(frozen=True, slots=True)
class StagePipeline:
    """Open deals sitting in a stage: count, amount and amount weighted by the stage rate."""

    pipeline: str
    stage: str
    order: int
    open_count: int
    open_amount: float
    win_rate: float | None
    expected_value: float | None


def open_stages(stages: Sequence[StageInfo], pipeline: str) -> list[StageInfo]:
    """Return the open stages of ``pipeline`` in order."""
    return sorted(
        (s for s in stages if s.pipeline == pipeline and not s.is_closed), key=lambda s: s.order
    )


def reached(path: OpportunityPath, stage: StageInfo, first_order: int) -> bool:
    """Say whether ``path`` got to ``stage`` (or beyond) in its pipeline."""
    if path.is_won:
        return True
    furthest = path.furthest_open_order if path.furthest_open_order is not None else first_order
    return furthest >= stage.order


def stage_win_rates(
    stages: Sequence[StageInfo],
    paths: Sequence[OpportunityPath],
    *,
    rep_id: int | None = None,
) -> list[StageWinRate]:
    """Return each open stage's stage-reached win rate, per pipeline, in stage order.

    With ``rep_id`` only that rep's deals count.
    """
    by_pipeline: dict[str, list[OpportunityPath]] = defaultdict(list)
    for path in paths:
        if path.is_closed and (rep_id is None or path.rep_id == rep_id):
            by_pipeline[path.pipeline].append(path)
    result: list[StageWinRate] = []
    for pipeline in sorted({s.pipeline for s in stages}):
        ordered = open_stages(stages, pipeline)
        if not ordered:
            continue
        previous: float | None = None
        for stage in ordered:
            got_there = [p for p in by_pipeline[pipeline] if reached(p, stage, ordered[0].order)]
            won = sum(1 for p in got_there if p.is_won)
            rate = won / len(got_there) if got_there else None
            count = len(got_there)
            result.append(
                StageWinRate(pipeline, stage.stage, stage.order, count, won, rate, previous)
            )
            previous = rate
    return result


def open_by_stage(
    paths: Sequence[OpportunityPath],
) -> tuple[defaultdict[tuple[str, str], int], defaultdict[tuple[str, str], float]]:
    """Return the open deals' count and amount per (pipeline, current stage)."""
    count: defaultdict[tuple[str, str], int] = defaultdict(int)
    amount: defaultdict[tuple[str, str], float] = defaultdict(float)
    for path in paths:
        if not path.is_closed:
            count[(path.pipeline, path.current_stage)] += 1
            amount[(path.pipeline, path.current_stage)] += path.amount or 0.0
    return count, amount


def open_pipeline(
    stages: Sequence[StageInfo], paths: Sequence[OpportunityPath], rates: Sequence[StageWinRate]
) -> list[StagePipeline]:
    """Return the open amount per stage and its expected value at the stage's win rate."""
    rate_of = {(r.pipeline, r.stage): r.win_rate for r in rates}
    count, amount = open_by_stage(paths)
    out: list[StagePipeline] = []
    for pipeline in sorted({s.pipeline for s in stages}):
        for stage in open_stages(stages, pipeline):
            key = (pipeline, stage.stage)
            rate = rate_of.get(key)
            value = amount[key] * rate if rate is not None else None
            out.append(
                StagePipeline(
                    pipeline, stage.stage, stage.order, count[key], amount[key], rate, value
                )
            )
    return out


def ratio(numerator: float, denominator: float) -> float | None:
    """Return numerator / denominator, or None when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else None


@dataclass(frozen=True, slots=True)
class Conversion:
    """The derived rates of DESIGN.md over some period's totals."""

    conversation_to_win: float | None
    opportunity_to_win: float | None


def conversion(totals: Mapping[str, float]) -> Conversion:
    """Return conversation-to-win and opportunity-to-win from KPI totals."""
    wins = totals.get("wins", 0.0)
    return Conversion(
        ratio(wins, totals.get("conversations", 0.0)),
        ratio(wins, totals.get("opportunities_created", 0.0)),
    )
