"""Parsing what people type after a slash command into typed values, or a BadInput that says
what to type instead."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.errors import BadInput
from domain.timeutil import Period

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
PERIOD_ALIASES = {
    "today": Period.DAY,
    "d": Period.DAY,
    "w": Period.WEEK,
    "wtd": Period.WEEK,
    "m": Period.MONTH,
    "mtd": Period.MONTH,
    "q": Period.QUARTER,
    "qtd": Period.QUARTER,
}


def words(text: str | None) -> list[str]:
    """Split command text on whitespace."""
    return (text or "").split()


def as_period(word: str) -> Period | None:
    """Return the period ``word`` names, or None."""
    lowered = word.lower()
    if lowered in PERIOD_ALIASES:
        return PERIOD_ALIASES[lowered]
    try:
        return Period(lowered)
    except ValueError:
        return None


def parse_period(text: str | None, default: Period = Period.WEEK) -> Period:
    """Parse `/mystats [day|week|month|quarter]`."""
    parts = words(text)
    if not parts:
        return default
    period = as_period(parts[0])
    if period is None or len(parts) > 1:
        raise BadInput(
            f"I didn't understand “{(text or '').strip()}”. Try `/mystats`, `/mystats day`, "
            "`/mystats month` or `/mystats quarter`."
        )
    return period


@dataclass(frozen=True)
class BoardArgs:
    """What /leaderboard was asked for."""

    metric: str | None
    period: Period


def parse_board(text: str | None, metrics: Sequence[str]) -> BoardArgs:
    """Parse `/leaderboard [kpi] [period]` in either order; KPI names may use spaces."""
    metric: str | None = None
    period = Period.WEEK
    rest: list[str] = []
    for word in words(text):
        found = as_period(word)
        if found is not None:
            period = found
        else:
            rest.append(word)
    if rest:
        wanted = "_".join(rest).lower().replace("-", "_")
        matches = [m for m in metrics if m == wanted] or [
            m for m in metrics if m.startswith(wanted)
        ]
        if len(matches) != 1:
            raise BadInput(
                f"I don't know the KPI “{' '.join(rest)}”. Try one of: {', '.join(metrics)}."
            )
        metric = matches[0]
    return BoardArgs(metric, period)


def parse_mention(text: str | None) -> str | None:
    """Return the Slack user id of the first @mention in ``text`` (escaped by Slack)."""
    found = MENTION.search(text or "")
    return found.group(1) if found else None


def parse_email(word: str) -> str | None:
    """Return the email in ``word`` (plain, or Slack's <mailto:...> form), or None."""
    found = MAILTO.search(word)
    candidate = (found.group(1) if found else word).strip().lower()
    return candidate if EMAIL.match(candidate) else None


def parse_target(text: str | None) -> float | None:
    """Parse a goal target: a non-negative number, commas and a leading $ allowed."""
    cleaned = (text or "").strip().replace(",", "").removeprefix("$")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_date(text: str | None) -> date | None:
    """Parse YYYY-MM-DD (as Slack's date picker sends it), or None."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
