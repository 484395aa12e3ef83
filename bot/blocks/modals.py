"""The modals: a coaching note, and a goal for a rep, a team or everyone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
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
from domain.coaching import TEMPLATES, template
from domain.goals import Scope
from domain.ports import RepProfile
from domain.timeutil import Period

SCOPE_LABELS = {Scope.REP: "A rep", Scope.TEAM: "A team", Scope.EVERYONE: "Everyone"}


SHARE_OPTION = Option(value="share", label="Share with rep")
NOTE_INPUT_CHARS = 3000


def prompt_block_id(template_key: str, index: int) -> str:
    """Return the block id of a template's ``index``-th prompt (unique per template)."""
    return f"{BlockId.NOTE_PROMPT}_{template_key}_{index}"


def note_modal(rep: RepProfile, template_key: str = TEMPLATES[0].key) -> View:
    """Return the coaching-note modal for ``rep`` laid out for one template.

    The template select dispatches its choice at once, and the listener redraws the modal
    with that template's own prompts (views.update); the rep id and the template shown ride
    in private_metadata, so the saved note matches the prompts the manager answered.
    """
    chosen = template(template_key)
    selected = Option(value=chosen.key, label=chosen.label)
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"A note about *{rep.name}*, saved with their scorecard as of now. "
                "Only their managers and admins can read it, unless you share it with them."
            )
        ),
        InputBlock(
            block_id=BlockId.NOTE_TEMPLATE,
            label="Kind of conversation",
            dispatch_action=True,
            element=StaticSelectElement(
                action_id=InputId.NOTE_TEMPLATE,
                options=[Option(value=t.key, label=t.label) for t in TEMPLATES],
                initial_option=selected,
            ),
        ),
    ]
    blocks += [
        InputBlock(
            block_id=prompt_block_id(chosen.key, index),
            label=prompt[:2000],
            optional=True,
            element=PlainTextInputElement(
                action_id=InputId.NOTE_PROMPT, multiline=True, max_length=NOTE_INPUT_CHARS
            ),
        )
        for index, prompt in enumerate(chosen.prompts)
    ]
    blocks += [
        InputBlock(
            block_id=BlockId.NOTE_TEXT,
            label="Notes" if chosen.prompts else "Note",
            optional=bool(chosen.prompts),
            hint="Slack formatting such as *bold* and _italic_ is kept as typed.",
            element=PlainTextInputElement(
                action_id=InputId.NOTE_TEXT, multiline=True, max_length=NOTE_INPUT_CHARS
            ),
        ),
        InputBlock(
            block_id=BlockId.NOTE_ACTIONS,
            label="Agreed actions",
            optional=True,
            element=PlainTextInputElement(
                action_id=InputId.NOTE_ACTIONS,
                multiline=True,
                max_length=NOTE_INPUT_CHARS,
                placeholder="Who does what by when",
            ),
        ),
        InputBlock(
            block_id=BlockId.NOTE_FOLLOW_UP,
            label="Follow up on",
            optional=True,
            hint="On that morning you get a DM with this note and how their numbers moved.",
            element=DatePickerElement(action_id=InputId.NOTE_FOLLOW_UP),
        ),
        InputBlock(
            block_id=BlockId.NOTE_SHARE,
            label="Visibility",
            optional=True,
            element=CheckboxesElement(action_id=InputId.NOTE_SHARE, options=[SHARE_OPTION]),
        ),
    ]
    return View(
        type="modal",
        callback_id=CallbackId.COACHING_NOTE,
        private_metadata=json.dumps({"rep_id": rep.id, "template": chosen.key}),
        title="Coaching note",
        submit="Save note",
        close="Cancel",
        blocks=blocks,
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
