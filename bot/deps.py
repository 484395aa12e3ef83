"""What the bot is given by app.py: a unit of work over the stores, services and settings.

The bot never builds a store or a client itself; ``create_app`` receives a ``BotDeps``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.brief import BriefRules
from domain.calendar import WorkCalendar
from domain.ports import (
    CoachingStore,
    CoachReads,
    ContestStore,
    Directory,
    GoalStore,
    MetricsStore,
    SlackDirectory,
)


@dataclass(frozen=True)
class Stores:
    """The ports one unit of work offers, all bound to the same transaction."""

    directory: Directory
    metrics: MetricsStore
    goals: GoalStore
    coaching: CoachingStore
    contests: ContestStore
    coach_reads: CoachReads


UnitOfWork = Callable[[], AbstractContextManager[Stores]]


@dataclass(frozen=True)
class BotDeps:
    """Everything the listeners need, wired by app.py.

    ``uow`` commits on exit (writes); ``read_uow`` is for lookups on the acknowledgement
    path and must not wait on a writer (e.g. a sync in progress).
    """

    uow: UnitOfWork
    read_uow: UnitOfWork
    slack_directory: SlackDirectory
    scorecards: Callable[[Stores], Any]
    now: Callable[[], datetime]
    kpi_names: tuple[str, ...] = ()
    kpi_labels: dict[str, str] = field(default_factory=dict)
    admins: frozenset[str] = frozenset()
    org_timezone: str = "UTC"
    charts: bool = True
    calendar: WorkCalendar = field(default_factory=WorkCalendar)

    brief_rules: BriefRules = field(default_factory=BriefRules)
    # Stores what a nudge button does (rep id, action id, nudge date) and says it back.
    nudge_action: Callable[[int, str, date], str] | None = None
    # Claims a Slack request's key; False when a copy of it was handled already (bot/dedupe.py).
    claim_request: Callable[[str], bool] | None = None
