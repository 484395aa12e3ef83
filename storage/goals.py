"""Goals as stored: added from the CLI (and Slack), or mirrored from the YAML config."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session, col

from domain.goals import Goal, Scope
from domain.timeutil import Period
from storage.models import Goal as GoalRow

CONFIG_ORIGIN = "config"


def _domain(row: GoalRow) -> Goal:
    return Goal(
        kpi=row.kpi,
        period=Period(row.period),
        target=row.target,
        scope=Scope(row.scope),
        scope_value=row.scope_value,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        id=row.id,
    )


def _row(goal: Goal, *, origin: str, created_by: str | None, now: datetime) -> GoalRow:
    value = (
        goal.scope_value.strip().lower()
        if goal.scope is Scope.REP and goal.scope_value
        else (goal.scope_value)
    )
    return GoalRow(
        kpi=goal.kpi,
        period=goal.period.value,
        target=goal.target,
        scope=goal.scope.value,
        scope_value=value,
        valid_from=goal.valid_from,
        valid_to=goal.valid_to,
        origin=origin,
        created_by=created_by,
        created_at=now,
    )


class SqlGoalStore:
    """``domain.ports.GoalStore`` over a session; the caller's unit of work commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def goals(self, *, kpi: str | None = None) -> list[Goal]:
        """Return the stored goals in id order, optionally of one KPI."""
        query = select(GoalRow).order_by(col(GoalRow.id))
        if kpi is not None:
            query = query.where(col(GoalRow.kpi) == kpi)
        return [_domain(r) for r in self.session.execute(query).scalars()]

    def add_goal(self, goal: Goal, *, origin: str, created_by: str | None, now: datetime) -> Goal:
        """Store ``goal`` and return it with its id."""
        row = _row(goal, origin=origin, created_by=created_by, now=now)
        self.session.add(row)
        self.session.flush()
        return _domain(row)

    def delete_goal(self, goal_id: int) -> bool:
        """Delete the goal with ``goal_id``; say whether it existed."""
        result = self.session.execute(delete(GoalRow).where(col(GoalRow.id) == goal_id))
        return bool(getattr(result, "rowcount", 0))

    def replace_config_goals(self, goals: Sequence[Goal], *, now: datetime) -> int:
        """Replace the goals mirrored from the YAML config (CLI and Slack goals stay)."""
        existing = [
            _domain(r)
            for r in self.session.execute(
                select(GoalRow).where(col(GoalRow.origin) == CONFIG_ORIGIN)
            ).scalars()
        ]
        if [_key(g) for g in existing] == [_key(g) for g in goals]:
            return 0
        self.session.execute(delete(GoalRow).where(col(GoalRow.origin) == CONFIG_ORIGIN))
        for goal in goals:
            self.session.add(_row(goal, origin=CONFIG_ORIGIN, created_by=None, now=now))
        self.session.flush()
        return len(goals)


def _key(goal: Goal) -> tuple[object, ...]:
    value = (
        goal.scope_value.lower()
        if goal.scope is Scope.REP and goal.scope_value
        else (goal.scope_value)
    )
    return (goal.kpi, goal.period, goal.target, goal.scope, value, goal.valid_from, goal.valid_to)
