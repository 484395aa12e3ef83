"""The /coach brief: diagnosis, 1:1 questions, whom to shadow, notes, and the note button."""

from __future__ import annotations

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

from bot.blocks.common import Message, clip, day_range, number
from bot.ids import ActionId, BlockId
from domain.coaching import NoteView
from domain.diagnosis import DEFAULT_STEPS
from domain.questions import CoachBrief

SINGULAR = {
    "prospecting": "prospecting touch",
    "conversations": "conversation",
    "meaningful_conversations": "meaningful conversation",
    "opportunities_created": "opportunity created",
}
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


def coach_message(brief: CoachBrief) -> Message:
    """Return the /coach message with the button that opens the note modal."""
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
