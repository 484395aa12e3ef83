"""The modals: a coaching note, and a goal for a rep, a team or everyone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from slack_sdk.models.blocks import (
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.ids import BlockId, CallbackId, InputId
from domain.coaching import TEMPLATES
from domain.goals import Scope
from domain.ports import RepProfile
from domain.timeutil import Period

SCOPE_LABELS = {Scope.REP: "A rep", Scope.TEAM: "A team", Scope.EVERYONE: "Everyone"}


def note_modal(rep: RepProfile) -> View:
    """Return the coaching-note modal for ``rep`` (the rep id rides in private_metadata)."""
    prompts = "\n".join(
        f"*{t.label}*: {', '.join(t.prompts).lower()}" for t in TEMPLATES if t.prompts
    )
    return View(
        type="modal",
        callback_id=CallbackId.COACHING_NOTE,
        private_metadata=json.dumps({"rep_id": rep.id}),
        title="Coaching note",
        submit="Save note",
        close="Cancel",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"A private note about *{rep.name}*, saved with their scorecard as of "
                    "now. Only their managers and admins can read it."
                )
            ),
            InputBlock(
                block_id=BlockId.NOTE_TEMPLATE,
                label="Kind of conversation",
                element=StaticSelectElement(
                    action_id=InputId.NOTE_TEMPLATE,
                    options=[Option(value=t.key, label=t.label) for t in TEMPLATES],
                    initial_option=Option(value=TEMPLATES[0].key, label=TEMPLATES[0].label),
                ),
            ),
            InputBlock(
                block_id=BlockId.NOTE_TEXT,
                label="Note",
                element=PlainTextInputElement(
                    action_id=InputId.NOTE_TEXT, multiline=True, max_length=3000
                ),
            ),
            ContextBlock(elements=[MarkdownTextObject(text=prompts[:1900])]),
            InputBlock(
                block_id=BlockId.NOTE_FOLLOW_UP,
                label="Follow up on",
                optional=True,
                element=DatePickerElement(action_id=InputId.NOTE_FOLLOW_UP),
            ),
        ],
    )


def goal_modal(kpis: Sequence[tuple[str, str]], today: date) -> View:
    """Return the goal modal; ``kpis`` are (name, label) pairs."""
    return View(
        type="modal",
        callback_id=CallbackId.GOAL,
        title="Set a goal",
        submit="Save goal",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=BlockId.GOAL_SCOPE,
                label="Who is the goal for?",
                element=StaticSelectElement(
                    action_id=InputId.GOAL_SCOPE,
                    options=[
                        Option(value=s.value, label=label) for s, label in SCOPE_LABELS.items()
                    ],
                    initial_option=Option(value=Scope.REP.value, label=SCOPE_LABELS[Scope.REP]),
                ),
            ),
            InputBlock(
                block_id=BlockId.GOAL_REP,
                label="Rep (when the goal is for a rep)",
                optional=True,
                element=UserSelectElement(action_id=InputId.GOAL_REP),
            ),
            InputBlock(
                block_id=BlockId.GOAL_TEAM,
                label="Team (when the goal is for a team)",
                optional=True,
                element=PlainTextInputElement(action_id=InputId.GOAL_TEAM, max_length=255),
            ),
            InputBlock(
                block_id=BlockId.GOAL_KPI,
                label="KPI",
                element=StaticSelectElement(
                    action_id=InputId.GOAL_KPI,
                    options=[Option(value=name, label=label[:75]) for name, label in kpis][:100],
                ),
            ),
            InputBlock(
                block_id=BlockId.GOAL_PERIOD,
                label="Per",
                element=StaticSelectElement(
                    action_id=InputId.GOAL_PERIOD,
                    options=[Option(value=p.value, label=p.value) for p in Period],
                    initial_option=Option(value=Period.WEEK.value, label=Period.WEEK.value),
                ),
            ),
            InputBlock(
                block_id=BlockId.GOAL_TARGET,
                label="Target",
                element=PlainTextInputElement(action_id=InputId.GOAL_TARGET, placeholder="e.g. 60"),
            ),
            InputBlock(
                block_id=BlockId.GOAL_FROM,
                label="Starting",
                element=DatePickerElement(
                    action_id=InputId.GOAL_FROM, initial_date=today.isoformat()
                ),
            ),
        ],
    )
