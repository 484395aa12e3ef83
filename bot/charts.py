"""Trend chart images for /mystats: cumulative actual against the goal's pace line.

Rendered with matplotlib's Agg backend into PNG bytes; imported lazily so the bot starts fast.
"""

from __future__ import annotations

import gc
import io
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class TrendSeries:
    """One KPI over a period: the value of each day and the goal's expected share per day."""

    label: str
    days: Sequence[date]
    values: Mapping[date, float]
    goal_shares: Mapping[date, float] | None = None


def cumulative(days: Sequence[date], values: Mapping[date, float]) -> list[float]:
    """Return the running total of ``values`` over ``days``."""
    total = 0.0
    out = []
    for day in days:
        total += values.get(day, 0.0)
        out.append(total)
    return out


def warm_up() -> threading.Thread:
    """Import matplotlib on a background thread, so the first `/mystats` chart is not slowed.

    The import costs about a second on an idle machine and several on a busy one; done at
    start-up it is paid before a rep asks, without delaying the bot's readiness.
    """

    def load() -> None:
        from matplotlib.backends import backend_agg  # noqa: F401
        from matplotlib.figure import Figure

        Figure()  # font cache and rc defaults are loaded on first use

    thread = threading.Thread(target=load, name="pacesetter-chart-warm-up", daemon=True)
    thread.start()
    return thread


def render_trend(title: str, series: Sequence[TrendSeries], as_of: date) -> bytes:
    """Draw one small panel per KPI (cumulative actual solid, goal pace dashed) as PNG."""
    png = _draw(title, series, as_of)
    # A figure is a web of reference cycles (12,000 objects) that only the cycle collector
    # frees. Left to it, charts pile up until one full collection walks them all, a pause of
    # 100-150 ms in whichever request it lands; collected here, once the figure is
    # unreachable and after the reply was sent, it is a few milliseconds for this chart alone.
    gc.collect()
    return png


def _draw(title: str, series: Sequence[TrendSeries], as_of: date) -> bytes:
    # The object-oriented API, not pyplot: pyplot keeps global state that listener threads
    # drawing at once would share, and its figures must be closed or they are kept.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = max(1, len(series))
    cols = 2 if panels > 1 else 1
    rows = (panels + cols - 1) // cols
    height = 2.4 * rows + 0.6
    fig = Figure(figsize=(4.2 * cols, height), dpi=100)
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=12, fontweight="bold")
    for index, item in enumerate(series, start=1):
        ax = fig.add_subplot(rows, cols, index)
        shown = [d for d in item.days if d <= as_of]
        xs = [d.day for d in item.days]
        ax.plot(
            [d.day for d in shown],
            cumulative(shown, item.values),
            color="#1f77b4",
            linewidth=2,
            label="actual",
        )
        if item.goal_shares:
            ax.plot(
                xs,
                cumulative(item.days, item.goal_shares),
                color="#888888",
                linestyle="--",
                linewidth=1.2,
                label="goal pace",
            )
        ax.set_title(item.label, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    if series:
        fig.axes[0].legend(fontsize=8, loc="upper left")
    # Fixed margins (in inches, turned into fractions) instead of tight_layout, which measured
    # every tick label of every panel and took a third of the drawing time.
    fig.subplots_adjust(
        left=0.55 / (4.2 * cols),
        right=1 - 0.15 / (4.2 * cols),
        bottom=0.35 / height,
        top=1 - 0.65 / height,
        wspace=0.2,
        hspace=0.4,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
