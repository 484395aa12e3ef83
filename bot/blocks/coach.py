"""The /coach brief: diagnosis, 1:1 questions, whom to shadow, notes, and the note button."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

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

from bot.blocks.common import STATUS_EMOJI, Message, clip, day_range, number, percent
from bot.ids import ActionId, BlockId
from domain.attention import TeamRow as AttentionRow
from domain.brief import Outlook
from domain.coaching import NoteView
from domain.diagnosis import DEFAULT_STEPS
from domain.outlook import expected_value_method, quarter_name
from domain.questions import CoachBrief

if TYPE_CHECKING:
    from bot.service import TeamGlance

SINGULAR = {
    "prospecting": "prospecting touch",
    "conversations": "conversation",
    "meaningful_conversations": "meaningful conversation",
    "opportunities_created": "opportunity created",
}
BASIS_SHORT = {"rep": "rep's own", "peers": "peers'", "crm": "CRM stage probability"}
DIRECTION_WORDS = {"up": "up", "down": "down", "flat": "flat", "unknown": "too few weeks"}
PROBLEM_HINT = {
    "not_enough_data": "Not enough data yet to compare this rep with the team.",
    "no_weak_step": "At or near the team median on every step with enough data.",
}


def diagnosis_text(brief: CoachBrief) -> str:
    """Return the diagnosis in one sentence: the weak step and the rep against the median."""
    d = brief.diagnosis
    if d.weak_step is None:
        return PROBLEM_HINT.get(d.status, d.message)
    step = next((s for s in d.steps if s.kpi == d.weak_step), None)
    name = d.weak_step.replace("_", " ")
    detail = name
    if step is not None and step.rep_value is not None and step.team_median is not None:
        source = next(
            (f.source for f in DEFAULT_STEPS if f.kpi == step.kpi and f.source is not None), None
        )
        if source is None:
            detail = (
                f"{name}: {step.rep_value:.1f} a working day against a team median of "
                f"{step.team_median:.1f}"
            )
        else:
            detail = (
                f"{name} per {SINGULAR.get(source, source.replace('_', ' '))}: "
                f"{100 * step.rep_value:.0f}% against a team median of "
                f"{100 * step.team_median:.0f}%"
            )
    return f"Weak step: *{d.problem}* ({detail})."


def shadow_text(brief: CoachBrief) -> str | None:
    """Return who to shadow, mentioning them when they are linked to Slack."""
    shadow = brief.diagnosis.shadow
    if shadow is None:
        return None
    who = f"<@{brief.shadow_slack_id}>" if brief.shadow_slack_id else shadow.name
    return f"Shadow {who}, the strongest on the team at this step."


def note_line(note: NoteView) -> str:
    """Return one note as a short line."""
    first = note.text.strip().splitlines()[0] if note.text.strip() else "(empty)"
    follow = f" · follow up {note.follow_up_on}" if note.follow_up_on and not note.done else ""
    return f"{note.created_at[:10]} {note.template} by {note.manager}: {first[:120]}{follow}"


def _unit(kpi: str) -> str:
    return "$" if kpi.endswith("amount") else ""


def _label(kpi: str, labels: Mapping[str, str]) -> str:
    return labels.get(kpi, kpi.replace("_", " ").capitalize())


def past_text(outlook: Outlook, labels: Mapping[str, str]) -> str:
    """Return last quarter's results against goal and rank, one KPI a line."""
    past = outlook.past
    lines = []
    for r in past.results:
        unit = _unit(r.kpi)
        goal = (
            f" of {number(round(r.goal, 2), unit)} goal ({percent(r.percent_of_goal)})"
            if r.goal
            else " (no goal)"
        )
        rank = f" · #{r.rank} of {r.of}" if r.rank is not None and r.of > 1 else ""
        lines.append(f"{_label(r.kpi, labels)}: {number(r.actual, unit)}{goal}{rank}")
    span = day_range(past.range.start, past.range.end)
    return f"*Last quarter ({quarter_name(past.range)}, {span})*\n" + "\n".join(lines)


def pipeline_text(outlook: Outlook) -> str:
    """Return the open pipeline by stage with each stage's expected value."""
    p = outlook.pipeline
    if not p.stages:
        return "*Open pipeline now*\nNo open deals."
    lines = []
    for s in p.stages:
        rate = f"{s.win_rate:.0%} win rate, {BASIS_SHORT[s.basis]}" if s.basis else "no rate yet"
        value = number(s.expected_value, "$") if s.expected_value is not None else "—"
        deals = "deal" if s.open_count == 1 else "deals"
        lines.append(
            f"{s.stage}: {s.open_count} {deals}, {number(s.open_amount, '$')} "
            f"→ {value} expected ({rate})"
        )
    lines.append(
        f"*Total: {p.open_count} deals, {number(p.open_amount, '$')}; "
        f"expected value {number(p.expected_value, '$')}*"
    )
    return "*Open pipeline now*\n" + "\n".join(lines)


def direction_text(outlook: Outlook, labels: Mapping[str, str]) -> str:
    """Return each KPI's weekly values, oldest first, and its direction."""
    if not outlook.trend_weeks:
        return "*Direction*\nNo complete week since the rep started yet."
    first, last = outlook.trend_weeks[0], outlook.trend_weeks[-1]
    lines = []
    for t in outlook.direction:
        unit = _unit(t.kpi)
        values = " · ".join(number(v, unit) for v in t.values)
        word = DIRECTION_WORDS[t.direction]
        lines.append(f"{t.arrow} {_label(t.kpi, labels)} {word}: {values}")
    weeks = len(outlook.trend_weeks)
    head = f"*Direction (last {weeks} weeks, {day_range(first.start, last.end)})*"
    return head + "\n" + "\n".join(lines)


def coach_message(brief: CoachBrief, labels: Mapping[str, str] | None = None) -> Message:
    """Return the /coach message with the button that opens the note modal."""
    labels = labels or {}
    rep = brief.rep
    window = day_range(brief.window.start, brief.window.end)
    questions = "\n".join(f"{i}. {q}" for i, q in enumerate(brief.questions, start=1))
    notes = "\n".join(f"• {note_line(n)}" for n in brief.notes) or "No notes yet."
    follow_ups = "\n".join(f"• {note_line(n)}" for n in brief.follow_ups) or "None open."
    shadow = shadow_text(brief)
    blocks: list[Block] = [
        HeaderBlock(text=f"Coaching brief: {rep.name}"[:150]),
        ContextBlock(elements=[MarkdownTextObject(text=f"Compared with the team over {window}.")]),
        SectionBlock(text=MarkdownTextObject(text=clip(diagnosis_text(brief)))),
    ]
    if shadow:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=shadow)))
    sections: list[str] = []
    if brief.outlook is not None:
        sections = [
            past_text(brief.outlook, labels),
            pipeline_text(brief.outlook),
            direction_text(brief.outlook, labels),
        ]
        blocks.append(DividerBlock())
        blocks += [SectionBlock(text=MarkdownTextObject(text=clip(t))) for t in sections]
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=clip(
                            f"Expected value: {expected_value_method(brief.outlook.pipeline)}."
                        )
                    )
                ]
            )
        )
    blocks += [
        SectionBlock(text=MarkdownTextObject(text=clip(f"*Questions for your 1:1*\n{questions}"))),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=clip(f"*Recent notes*\n{notes}"))),
        SectionBlock(text=MarkdownTextObject(text=clip(f"*Open follow-ups*\n{follow_ups}"))),
        ActionsBlock(
            block_id=BlockId.COACH_ACTIONS,
            elements=[
                ButtonElement(
                    text="Add a coaching note",
                    action_id=ActionId.OPEN_NOTE_MODAL,
                    value=str(rep.id),
                    style="primary",
                )
            ],
        ),
    ]
    text = "\n".join(
        [
            f"Coaching brief for {rep.name} (compared with the team over {window}).",
            diagnosis_text(brief).replace("*", ""),
            *([shadow] if shadow else []),
            *(t.replace("*", "") for t in sections),
            "Questions for your 1:1:",
            questions,
            f"Recent notes: {len(brief.notes)}; open follow-ups: {len(brief.follow_ups)}.",
        ]
    )
    return Message(text, blocks)


def step_table(brief: CoachBrief) -> str:
    """Return each funnel step against the team median, for the text export."""
    rows = []
    for step in brief.diagnosis.steps:
        mine = "—" if step.rep_value is None else f"{step.rep_value:.2f}"
        team = "—" if step.team_median is None else f"{step.team_median:.2f}"
        rows.append(f"{step.kpi}: rep {mine} / team {team} ({number(step.peers)} peers)")
    return "\n".join(rows)


MAX_TEAM_ROWS = 45


def pace_summary(row: AttentionRow, labels: Mapping[str, str]) -> str:
    """Return the rep's pace on each KPI with a goal: "Prospecting 48/60 · Wins 0/1"."""
    parts = []
    for kpi, p in row.signals.paces.items():
        unit = _unit(kpi)
        parts.append(
            f"{STATUS_EMOJI[str(p.status)]} {_label(kpi, labels)} "
            f"{number(p.actual, unit)}/{number(p.expected_to_date, unit)}"
        )
    return " · ".join(parts) or "No goals set for these KPIs."


def weak_step_text(row: AttentionRow) -> str:
    """Return the rep's weak step in a few words."""
    d = row.signals.diagnosis
    if d is None or d.weak_step is None:
        return PROBLEM_HINT.get(d.status, "") if d else ""
    return f"weak step: {d.problem}"


def team_message(view: TeamGlance) -> Message:
    """Return the team at a glance: who most needs attention first, each with why."""
    glance, labels = view.glance, view.labels
    rows = glance.rows
    title = "Your team at a glance" if view.scope.startswith("your") else "Team at a glance"
    intro = (
        f"{len(rows)} reps ({view.scope}), who most needs attention first, as of "
        f"{day_range(glance.as_of, glance.as_of)}. Pace is actual/expected so far "
        "(activity KPIs this week, results this month)."
    )
    blocks: list[Block] = [
        HeaderBlock(text=title),
        ContextBlock(elements=[MarkdownTextObject(text=intro)]),
    ]
    if not rows:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="No active reps to show yet. Reporting lines come from the CRM sync."
                )
            )
        )
    lines = []
    for n, row in enumerate(rows, start=1):
        rep_id = row.signals.rep_id
        who = row.signals.name
        step = weak_step_text(row)
        line = f"*{n}. {who}* — {row.why}"
        lines.append(f"{n}. {who} — {row.why}")
        if n > MAX_TEAM_ROWS:
            continue
        body = f"{line}\n{pace_summary(row, labels)}" + (f"\n_{step}_" if step else "")
        blocks.append(
            SectionBlock(
                block_id=f"{BlockId.TEAM_ROW}:{rep_id}",
                text=MarkdownTextObject(text=clip(body)),
                accessory=ButtonElement(
                    text="Open brief", action_id=ActionId.OPEN_BRIEF, value=str(rep_id)
                ),
            )
        )
    if len(rows) > MAX_TEAM_ROWS:
        rest = ", ".join(r.signals.name for r in rows[MAX_TEAM_ROWS:])
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=clip(f"…and {len(rows) - MAX_TEAM_ROWS} more, in order: {rest}")
                )
            )
        )
    text = "\n".join([f"{title}: {intro}", *lines])
    return Message(text, blocks)
