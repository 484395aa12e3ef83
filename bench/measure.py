"""Figures against floors: percentiles, the ratio to the floor, and the goal verdict.

Every scale benchmark prints a figure next to a floor measured in the same run (the least
the same work could cost), so the ratio, not the machine's speed, is what a goal judges.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) by the nearest-rank method."""
    if not values:
        raise ValueError("no values to take a percentile of")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Comparison:
    """A figure, its floor, and the goal on their ratio (``max_ratio``) or on the figure."""

    name: str
    figure: float
    floor: float | None
    unit: str = "ms"
    max_ratio: float | None = None
    max_figure: float | None = None

    @property
    def ratio(self) -> float | None:
        """Return figure / floor, or None without a (positive) floor."""
        if self.floor is None or self.floor <= 0:
            return None
        return self.figure / self.floor

    @property
    def passed(self) -> bool | None:
        """Say whether every goal set holds; None when no goal is set."""
        checks = []
        if self.max_ratio is not None:
            ratio = self.ratio
            checks.append(ratio is not None and ratio <= self.max_ratio)
        if self.max_figure is not None:
            checks.append(self.figure <= self.max_figure)
        return all(checks) if checks else None

    def goal_text(self) -> str:
        """Return the goal as the table shows it."""
        parts = []
        if self.max_ratio is not None:
            parts.append(f"≤ {self.max_ratio:g}x floor")
        if self.max_figure is not None:
            parts.append(f"< {self.max_figure:g} {self.unit}")
        return ", ".join(parts) or "—"

    def row(self) -> str:
        """Return the comparison as a Markdown table row."""
        floor = f"{self.floor:,.1f} {self.unit}" if self.floor is not None else "—"
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "—"
        verdict = {True: "pass", False: "MISS", None: "—"}[self.passed]
        return (
            f"| {self.name} | {self.figure:,.1f} {self.unit} | {floor} | {ratio} | "
            f"{self.goal_text()} | {verdict} |"
        )


HEADER = "| measurement | figure | floor | ratio | goal | result |\n|---|---|---|---|---|---|"


def timed_ms(fn: Callable[[], object], repeat: int) -> list[float]:
    """Return the wall time of each of ``repeat`` calls of ``fn``, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times
