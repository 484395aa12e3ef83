"""Reading modal submissions into typed requests, or per-field errors Slack shows inline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from bot.ids import BlockId, InputId
from bot.parsing import parse_date, parse_target
from bot.service import GoalRequest
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
