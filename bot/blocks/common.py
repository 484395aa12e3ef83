"""Small formatting pieces shared by the Block Kit builders: numbers, pace bars, statuses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks import Block

STATUS_EMOJI = {
    "ahead": ":large_green_circle:",
    "on_track": ":large_blue_circle:",
    "behind": ":red_circle:",
    "no_goal": ":white_circle:",
}
STATUS_WORDS = {
    "ahead": "ahead of pace",
    "on_track": "on track",
    "behind": "behind pace",
    "no_goal": "no goal set",
}
BAR_CELLS = 10
MAX_SECTION_TEXT = 2900


@dataclass(frozen=True)
class Message:
    """A message: the plain-text fallback (notifications, screen readers) and its blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """Return the ``text`` and ``blocks`` arguments for chat.postMessage or respond()."""
        return {"text": self.text, "blocks": [b.to_dict() for b in self.blocks]}


def number(value: float | None, unit: str = "") -> str:
    """Format a count or an amount for people: 1,234 or $12.5k; a dash for nothing."""
    if value is None:
        return "—"
    if unit in ("$", "USD", "currency") or unit.startswith("$"):
        if abs(value) >= 1_000_000:
            return f"${value / 1_000_000:,.1f}M"
        if abs(value) >= 10_000:
            return f"${value / 1000:,.0f}k"
        return f"${value:,.0f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def pace_bar(percent_of_goal: float | None, percent_expected: float | None = None) -> str:
    """Draw progress to goal as 10 cells; a marker shows where pace says you should be."""
    if percent_of_goal is None:
        return "░" * BAR_CELLS
    filled = max(0, min(BAR_CELLS, round(percent_of_goal / 100 * BAR_CELLS)))
    cells = ["█"] * filled + ["░"] * (BAR_CELLS - filled)
    if percent_expected is not None:
        mark = max(0, min(BAR_CELLS - 1, round(percent_expected / 100 * BAR_CELLS) - 1))
        if mark >= filled:
            cells[mark] = "┃"
    return "".join(cells)


def percent(value: float | None) -> str:
    """Format a percentage without decimals, or a dash."""
    return "—" if value is None else f"{value:.0f}%"


def day_range(start: date, end: date) -> str:
    """Format a date range compactly: 'Nov 23' or 'Nov 23 – Nov 29'."""
    first = f"{start:%b} {start.day}"
    if start == end:
        return first
    return f"{first} – {end:%b} {end.day}"


def as_of_text(moment: datetime | None) -> str:
    """Say when the data was last synced, in UTC, or that it never was."""
    if moment is None:
        return "Data not synced yet"
    return f"Data as of {moment:%b} {moment.day}, {moment:%H:%M} UTC"


def clip(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """Keep ``text`` within Slack's section limit (3,000 characters)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
