"""What `/contest` and `pacesetter contest` do: draft, dry run, launch, find, cancel.

A draft resolves the participants and freezes what scoring needs (goal over the window, or
baseline) so the dry run shows exactly what the launched contest will score.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.calendar import WorkCalendar
from domain.contests import (
    Contest,
    ContestError,
    ContestRules,
    Scoring,
    Standings,
    Status,
    contest_slug,
    improvement_denominators,
    resolve_participants,
    standings,
)
from domain.goals import Goal, GoalSubject, TargetResolver
from domain.ports import ContestStore
from domain.timeutil import local_day


def draft(
    rules: ContestRules,
    *,
    store: ContestStore,
    goals: Sequence[Goal],
    calendar: WorkCalendar,
    created_by: str | None,
    now: datetime,
) -> Contest:
    """Return the contest these rules make, with participants and denominators frozen."""
    people = resolve_participants(rules.participants, store.people())
    denominators: dict[int, float] = {}
    if rules.scoring is Scoring.PERCENT:
        resolver = TargetResolver([g for g in goals if g.kpi == rules.kpi], calendar)
        for p in people:
            target = resolver.target(
                rules.kpi, GoalSubject(p.email, p.team, p.start_date), rules.window
            )
            if target is not None and target.total > 0:
                denominators[p.id] = target.total
        if not denominators:
            raise ContestError(
                f"Nobody taking part has a goal for {rules.kpi} in the window; set one with "
                f"`pacesetter goal set` or score by count."
            )
    elif rules.scoring is Scoring.IMPROVEMENT:
        history = store.daily_values([p.id for p in people], rules.baseline_range(), kpi=rules.kpi)
        denominators = improvement_denominators(people, history, rules)
    return Contest(rules, people, denominators, created_by=created_by, created_at=now)


def dry_run(contest: Contest, *, store: ContestStore, now: datetime, tz: ZoneInfo) -> Standings:
    """Return who would be winning on current data (nothing is stored or posted)."""
    rules = contest.rules
    daily = store.daily_values([p.id for p in contest.participants], rules.window, kpi=rules.kpi)
    return standings(contest, daily, as_of_day=local_day(now, tz), data_as_of=store.data_as_of())


def launch(contest: Contest, *, store: ContestStore, now: datetime) -> Contest:
    """Store the contest as active; its rules are frozen from here on."""
    if any(
        c.rules.name.casefold() == contest.rules.name.casefold()
        for c in store.contests(statuses=[Status.ACTIVE])
    ):
        raise ContestError(
            f"A running contest is already called '{contest.rules.name}'; pick another name."
        )
    stored = store.add_contest(contest, now=now)
    assert stored.id is not None
    store.add_event(
        stored.id,
        key="launched",
        kind="launched",
        at=now,
        data={"by": contest.created_by or "", "participants": len(contest.participants)},
    )
    return stored


MAX_ID_DIGITS = 9


def find(store: ContestStore, ref: str) -> Contest:
    """Return the contest with id ``ref`` or that name (the running one first)."""
    wanted = ref.strip().lstrip("#")
    # ASCII digits only ("²".isdigit() is true) and no longer than any id can be.
    if wanted.isascii() and wanted.isdigit() and len(wanted) <= MAX_ID_DIGITS:
        found = store.contest(int(wanted))
        if found is not None:
            return found
    slug = contest_slug(wanted)
    matches = [c for c in store.contests() if contest_slug(c.rules.name) == slug]
    if not matches:
        raise ContestError(f"No contest '{ref}'. `/contest list` shows them.")
    matches.sort(key=lambda c: (c.status is not Status.ACTIVE, -(c.id or 0)))
    return matches[0]


def cancel(store: ContestStore, ref: str, *, by: str | None, now: datetime) -> Contest:
    """Cancel a running contest; nobody wins and the channel is told."""
    contest = find(store, ref)
    if contest.status is not Status.ACTIVE or contest.id is None:
        raise ContestError(
            f"Contest '{contest.rules.name}' is {contest.status}; nothing to cancel."
        )
    store.set_status(contest.id, Status.CANCELED)
    store.add_event(contest.id, key="canceled", kind="canceled", at=now, data={"by": by or ""})
    return find(store, str(contest.id))
