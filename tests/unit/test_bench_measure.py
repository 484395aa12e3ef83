"""The benchmarks' figure-against-floor arithmetic: percentiles, ratios and verdicts."""

from __future__ import annotations

import pytest

from bench.measure import Comparison, percentile


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(100, 0, -1)]  # 1..100, unordered
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7
    assert percentile([1.0, 2.0, 3.0], 99) == 3
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_ratio_and_verdict_against_the_floor() -> None:
    within = Comparison("board", 29.0, 10.0, max_ratio=3)
    assert within.ratio == pytest.approx(2.9)
    assert within.passed is True
    assert "| 2.90x | ≤ 3x floor | pass |" in within.row()
    over = Comparison("board", 31.0, 10.0, max_ratio=3)
    assert over.passed is False
    assert over.row().endswith("| MISS |")
    assert Comparison("no floor", 5.0, None, max_ratio=3).passed is False
    assert Comparison("no floor", 5.0, 0.0).ratio is None
    timed = Comparison("nudges", 9.5, None, unit="s", max_figure=10)
    assert timed.passed is True
    assert "< 10 s" in timed.row()
    assert Comparison("storage", 900.0, 70.0, "B").passed is None
