"""The /mystats scorecard (and the App Home's): one line per KPI with pace bar and status."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.common import (
    STATUS_EMOJI,
    STATUS_WORDS,
    Message,
    as_of_text,
    clip,
    day_range,
    number,
    pace_bar,
    percent,
)
from domain.scorecard import KpiLine, Scorecard

PERIOD_WORDS = {
    "day": "today",
    "week": "this week",
    "month": "this month",
    "quarter": "this quarter",
}


def kpi_facts(line: KpiLine, ranked_reps: int, unit: str = "") -> str:
    """Return the one-line facts of a KPI: actual of goal, expected, need per day, rank, streak."""
    p = line.pace
    facts = [f"{number(p.actual, unit)} of {number(p.goal, unit)} ({percent(p.percent_of_goal)})"]
    if p.goal is None:
        facts = [f"{number(p.actual, unit)} (no goal set)"]
    if p.expected_to_date is not None:
        facts.append(f"expected by now {number(p.expected_to_date, unit)}")
    if p.needed_per_day is not None and p.goal is not None and p.actual < p.goal:
        facts.append(
            f"need {number(p.needed_per_day, unit)}/day for {p.remaining_working_days} days"
        )
    elif p.goal is not None and p.actual >= p.goal:
        facts.append("goal reached")
    if line.rank is not None:
        facts.append(f"rank {line.rank} of {ranked_reps}")
    if line.streak:
        facts.append(f"streak {line.streak} day{'s' if line.streak != 1 else ''}")
    return " · ".join(facts)


def _expected_percent(line: KpiLine) -> float | None:
    p = line.pace
    if p.goal is None or p.expected_to_date is None or p.goal <= 0:
        return None
    return 100.0 * p.expected_to_date / p.goal


def has_data(card: Scorecard) -> bool:
    """Say whether anything was recorded for the rep in the period."""
    return any(line.pace.actual for line in card.lines.values())


def title(card: Scorecard, whose: str = "Your") -> str:
    """Return the scorecard's heading, e.g. 'Your week: Nov 23 – Nov 29'."""
    return f"{whose} {card.period}: {day_range(card.range.start, card.range.end)}"


def scorecard_blocks(card: Scorecard, units: dict[str, str] | None = None) -> list[Block]:
    """Return the blocks of a scorecard (without the message wrapper)."""
    units = units or {}
    time = card.time
    scores = (
        f"Activity score {number(card.activity.value and round(card.activity.value))}"
        f" · Results score {number(card.results.value and round(card.results.value))}"
    )
    blocks: list[Block] = [
        HeaderBlock(text=title(card)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{time.elapsed:.1f} of {time.total} working days done · "
                    f"{time.remaining_days} left · {scores}"
                )
            ]
        ),
    ]
    if not has_data(card):
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"No activity recorded for you {PERIOD_WORDS.get(str(card.period), '')} "
                    "yet. Once your calls, emails and meetings sync from the CRM they show up here."
                )
            )
        )
    for line in card.lines.values():
        status = str(line.pace.status)
        bar = pace_bar(line.pace.percent_of_goal, _expected_percent(line))
        text = (
            f"*{line.label}*  {STATUS_EMOJI[status]} {STATUS_WORDS[status]}\n"
            f"`{bar}`  {kpi_facts(line, card.ranked_reps, units.get(line.kpi, ''))}"
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(text))))
    blocks.append(DividerBlock())
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=as_of_text(card.data_as_of))]))
    return blocks


def scorecard_text(card: Scorecard, units: dict[str, str] | None = None) -> str:
    """Return the plain-text fallback: the same facts, one KPI per line."""
    units = units or {}
    lines = [f"{title(card)} ({card.time.remaining_days} working days left)"]
    if not has_data(card):
        lines.append("No activity recorded for this period yet.")
    for line in card.lines.values():
        words = STATUS_WORDS[str(line.pace.status)]
        facts = kpi_facts(line, card.ranked_reps, units.get(line.kpi, ""))
        lines.append(f"• {line.label}: {facts} — {words}")
    lines.append(as_of_text(card.data_as_of) + ".")
    return "\n".join(lines)


def scorecard_message(card: Scorecard, units: dict[str, str] | None = None) -> Message:
    """Return the /mystats message."""
    return Message(scorecard_text(card, units), scorecard_blocks(card, units))


def chart_comment(card: Scorecard) -> str:
    """Return the comment posted with the trend chart image."""
    return f"Trend for {title(card)}: cumulative actual (solid) against goal pace (dashed)."
