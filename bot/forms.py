"""Reading modal submissions into typed requests, or per-field errors Slack shows inline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from bot.blocks.modals import SHARE_OPTION, prompt_block_id
from bot.ids import BlockId, InputId
from bot.parsing import parse_date, parse_target
from bot.service import GoalRequest
from domain.coaching import NoteDraft, UnknownTemplate, compose_note, template
from domain.goals import Scope
from domain.timeutil import Period


def _value(values: dict[str, Any], block: str, element: str) -> dict[str, Any]:
    return dict((values.get(block) or {}).get(element) or {})


def _selected(values: dict[str, Any], block: str, element: str) -> str | None:
    option = _value(values, block, element).get("selected_option") or {}
    return option.get("value")


TEAM_MAX = 255  # the modal's max_length for a team name


E = TypeVar("E", Scope, Period)


def _choice(kind: type[E], value: str | None, default: E) -> E | None:
    """Return the option ``value`` names (``default`` when none), or None when unknown."""
    try:
        return kind(value) if value else default
    except ValueError:
        return None


def read_goal(
    values: dict[str, Any], kpis: Sequence[str] | None = None
) -> GoalRequest | dict[str, str]:
    """Return the goal the modal describes, or {block_id: what to fix}.

    Options a real modal cannot send (an unknown scope, period or KPI, an overlong team) are
    field errors too: a request is only trusted as far as its values check out.
    """
    errors: dict[str, str] = {}
    chosen_scope = _selected(values, BlockId.GOAL_SCOPE, InputId.GOAL_SCOPE)
    scope = _choice(Scope, chosen_scope, Scope.REP)
    rep = _value(values, BlockId.GOAL_REP, InputId.GOAL_REP).get("selected_user")
    team = (_value(values, BlockId.GOAL_TEAM, InputId.GOAL_TEAM).get("value") or "").strip()
    kpi = _selected(values, BlockId.GOAL_KPI, InputId.GOAL_KPI)
    period = _choice(
        Period, _selected(values, BlockId.GOAL_PERIOD, InputId.GOAL_PERIOD), Period.WEEK
    )
    if scope is None:
        errors[BlockId.GOAL_SCOPE] = "Pick who the goal is for: a rep, a team or everyone."
        scope = Scope.REP
    if period is None:
        errors[BlockId.GOAL_PERIOD] = "Pick a period: day, week, month or quarter."
        period = Period.WEEK
    if kpi and kpis is not None and kpi not in kpis:
        errors[BlockId.GOAL_KPI] = "Pick a KPI from the list."
    if scope is Scope.TEAM and len(team) > TEAM_MAX:
        errors[BlockId.GOAL_TEAM] = f"Use at most {TEAM_MAX} characters for the team's name."
    target = parse_target(_value(values, BlockId.GOAL_TARGET, InputId.GOAL_TARGET).get("value"))
    start = parse_date(_value(values, BlockId.GOAL_FROM, InputId.GOAL_FROM).get("selected_date"))
    if scope is Scope.REP and not rep:
        errors[BlockId.GOAL_REP] = "Pick the rep this goal is for."
    if scope is Scope.TEAM and not team:
        errors[BlockId.GOAL_TEAM] = "Type the team's name as the CRM has it."
    if not kpi:
        errors[BlockId.GOAL_KPI] = "Pick a KPI."
    if target is None:
        errors[BlockId.GOAL_TARGET] = "Type a number of 0 or more, e.g. 60."
    if errors or kpi is None or target is None:
        return errors
    return GoalRequest(
        kpi=kpi,
        period=period,
        target=target,
        scope=scope,
        rep_slack_id=rep if scope is Scope.REP else None,
        team=team if scope is Scope.TEAM else None,
        valid_from=start,
    )


def read_note(
    view: dict[str, Any], today: date, submission_key: str | None
) -> NoteDraft | dict[str, str]:
    """Return the note the modal describes, or {block_id: what to fix}.

    The template is the one the modal was drawn for (private_metadata), so each answer is
    stored under the prompt the manager saw; a form from before the prompts existed names
    its template in the select instead.
    """
    values = view.get("state", {}).get("values", {})
    meta = json.loads(view.get("private_metadata") or "{}")
    key = meta.get("template") or _selected(values, BlockId.NOTE_TEMPLATE, InputId.NOTE_TEMPLATE)
    try:
        chosen = template(str(key or "blank"))
    except UnknownTemplate:
        chosen = template("blank")
    answers = [
        _value(values, prompt_block_id(chosen.key, i), InputId.NOTE_PROMPT).get("value") or ""
        for i in range(len(chosen.prompts))
    ]
    free = _value(values, BlockId.NOTE_TEXT, InputId.NOTE_TEXT).get("value") or ""
    actions = _value(values, BlockId.NOTE_ACTIONS, InputId.NOTE_ACTIONS).get("value") or ""
    follow_up = parse_date(
        _value(values, BlockId.NOTE_FOLLOW_UP, InputId.NOTE_FOLLOW_UP).get("selected_date")
    )
    shared = any(
        option.get("value") == SHARE_OPTION.value
        for option in _value(values, BlockId.NOTE_SHARE, InputId.NOTE_SHARE).get("selected_options")
        or []
    )
    text = compose_note(chosen, answers, free)
    errors: dict[str, str] = {}
    if not text:
        errors[BlockId.NOTE_TEXT] = (
            "Write something: answer a prompt above or type your notes here."
            if chosen.prompts
            else "Write the note before saving."
        )
    if follow_up is not None and follow_up < today:
        errors[BlockId.NOTE_FOLLOW_UP] = "Pick today or a later date for the follow-up."
    if errors:
        return errors
    return NoteDraft(
        rep_id=int(meta["rep_id"]),
        template=chosen.key,
        text=text,
        actions=actions.strip(),
        follow_up_on=follow_up,
        shared_with_rep=shared,
        submission_key=submission_key,
    )
