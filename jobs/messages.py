"""Block Kit for scheduled messages: the daily nudge and the weekly manager digest.

Pure functions from domain values to (fallback text, blocks). They live in jobs/ because jobs
may not import bot/; they import only slack_sdk's block models and the domain, so the lead can
move them to bot/blocks/ unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

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

from domain.nudges import KpiResult, NudgeAction, NudgeContent, NudgeKind
from domain.ports import FollowUp

Rendered = tuple[str, list[dict[str, object]]]
STATUS_ICON = {"ahead": "🟢", "on_track": "🟢", "behind": "🟠", "no_goal": "⚪"}
MAX_LINES = 8


def _n(value: float | None) -> str:
    if value is None:
        return "—"
    rounded = round(value, 1)
    return f"{int(rounded):,}" if rounded == int(rounded) else f"{rounded:,.1f}"


def _day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%b}"


def _dump(blocks: Sequence[Block]) -> list[dict[str, object]]:
    return [b.to_dict() for b in blocks]


def nudge_buttons(content: NudgeContent) -> ActionsBlock:
    """Return the nudge's buttons; ``value`` carries the nudge date the snooze counts from."""
    value = content.local_date.isoformat()
    switch = (
        ButtonElement(text="Daily nudges instead", action_id=NudgeAction.DAILY.value, value=value)
        if content.kind is NudgeKind.WEEKLY
        else ButtonElement(
            text="Weekly digest instead", action_id=NudgeAction.WEEKLY.value, value=value
        )
    )
    return ActionsBlock(
        block_id="nudge_actions",
        elements=[
            ButtonElement(text="Snooze a day", action_id=NudgeAction.SNOOZE_DAY.value, value=value),
            switch,
            ButtonElement(text="Stop nudges", action_id=NudgeAction.OFF.value, value=value),
        ],
    )


@lru_cache(maxsize=64)
def _buttons_json(local_date: date, kind: NudgeKind) -> str:
    """Return the buttons' Block Kit as JSON: the same for every rep nudged that day."""
    content = NudgeContent(rep_id=0, rep_name="", local_date=local_date, kind=kind)
    return json.dumps(nudge_buttons(content).to_dict())


def _buttons(content: NudgeContent) -> dict[str, object]:
    """Return the nudge's buttons as a dict (a fresh one: built and validated once a day)."""
    found: dict[str, object] = json.loads(_buttons_json(content.local_date, content.kind))
    return found


def nudge_message(content: NudgeContent) -> Rendered:
    """Render a rep's nudge: yesterday against goal, today's target, streak, one suggestion."""
    if content.welcome:
        return welcome_message(content)
    first = content.rep_name.split()[0] if content.rep_name.strip() else "there"
    title = (
        f"Good morning {first} — your week ahead"
        if content.kind is NudgeKind.WEEKLY
        else f"Good morning {first}"
    )
    blocks: list[Block] = [HeaderBlock(text=title)]
    text_parts = [title + "."]
    if content.previous_day is not None and content.results:
        lines = [_result_line(r) for r in content.results[:MAX_LINES]]
        label = "Last week" if content.kind is NudgeKind.WEEKLY else _day(content.previous_day)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{label}*\n" + "\n".join(lines))))
        text_parts.append(f"{label}: " + "; ".join(_plain_result(r) for r in content.results))
    behind = content.behind
    if behind:
        targets = "\n".join(
            f"• {r.label}: *{_n(r.needed_today)}* today to get back on pace" for r in behind
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Today*\n{targets}")))
        text_parts.append("Today: " + "; ".join(f"{_n(r.needed_today)} {r.label}" for r in behind))
    elif content.results:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=f"*Today*\nYou are on pace {content.period_label}. 👏")
            )
        )
        text_parts.append(f"You are on pace {content.period_label}.")
    if content.streak:
        streak = (
            f"🔥 {content.streak} working day{'s' if content.streak != 1 else ''} in a row on goal"
        )
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=streak)]))
        text_parts.append(streak + ".")
    if content.suggestion:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=f"*One thing to try*\n{content.suggestion}"))
        )
        text_parts.append(f"Try: {content.suggestion}")
    return " ".join(text_parts), [*_dump(blocks), _buttons(content)]


def welcome_message(content: NudgeContent) -> Rendered:
    """Render the first nudge of a rep with no data yet: a welcome, not a row of zeros."""
    first = content.rep_name.split()[0] if content.rep_name.strip() else "there"
    text = (
        f"Welcome to Pacesetter, {first}! Once your CRM activity syncs, this morning message "
        "will show yesterday against your goals, what today needs to stay on pace, and your "
        "streak. Try /mystats any time."
    )
    blocks = [
        HeaderBlock(text=f"Welcome to Pacesetter, {first} 👋"),
        SectionBlock(text=MarkdownTextObject(text=text)),
        nudge_buttons(content),
    ]
    return text, _dump(blocks)


def _result_line(result: KpiResult) -> str:
    icon = STATUS_ICON.get(result.status, "⚪")
    goal = f" of {_n(result.goal)}" if result.goal is not None else ""
    return f"{icon} {result.label}: *{_n(result.actual)}*{goal}"


def _plain_result(result: KpiResult) -> str:
    goal = f"/{_n(result.goal)}" if result.goal is not None else ""
    return f"{result.label} {_n(result.actual)}{goal}"


@dataclass(frozen=True, slots=True)
class TeamKpi:
    """The team's pacing on one KPI this week."""

    kpi: str
    label: str
    actual: float
    expected: float | None
    goal: float | None
    behind: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestContent:
    """A manager's weekly digest as values."""

    manager_name: str
    week_start: date
    as_of: date
    team_size: int
    kpis: tuple[TeamKpi, ...] = ()
    follow_ups: tuple[FollowUp, ...] = field(default_factory=tuple)


def digest_message(content: DigestContent) -> Rendered:
    """Render the weekly digest: team pacing by KPI, who is behind on what, follow-ups due."""
    title = f"Your team's week — {content.week_start:%d %b} to {content.as_of:%d %b}"
    blocks: list[Block] = [HeaderBlock(text=title)]
    text_parts = [f"{title} ({content.team_size} reps)."]
    lines = []
    for k in content.kpis:
        expected = f" (expected {_n(k.expected)} by now)" if k.expected is not None else ""
        goal = f" of {_n(k.goal)}" if k.goal is not None else ""
        lines.append(f"• {k.label}: *{_n(k.actual)}*{goal}{expected}")
    if lines:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="*Team pacing*\n" + "\n".join(lines)))
        )
        text_parts.append(
            "Team: " + "; ".join(f"{k.label} {_n(k.actual)}/{_n(k.goal)}" for k in content.kpis)
        )
    behind = [k for k in content.kpis if k.behind]
    if behind:
        who = "\n".join(f"• {k.label}: {', '.join(k.behind[:10])}" for k in behind)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Behind pace*\n{who}")))
        text_parts.append(
            "Behind: " + "; ".join(f"{k.label}: {', '.join(k.behind)}" for k in behind)
        )
    else:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="Nobody is behind pace. 🎉")))
        text_parts.append("Nobody is behind pace.")
    if content.follow_ups:
        items = "\n".join(
            f"• {f.rep_name} — due {f.due:%d %b}: {f.text[:120]}" for f in content.follow_ups[:10]
        )
        blocks.append(DividerBlock())
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=f"*Coaching follow-ups due*\n{items}"))
        )
        text_parts.append(f"{len(content.follow_ups)} coaching follow-up(s) due.")
    return " ".join(text_parts), _dump(blocks)
