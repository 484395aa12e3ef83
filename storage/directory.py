"""The Directory port on SQL: reps by Slack id or email, linking, and the reporting hierarchy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session, col

from domain.ports import LinkChange, RepProfile
from domain.timeutil import local_day, zone
from storage.metrics import PROFILE_COLUMNS
from storage.models import Activity, DirtyDay, Opportunity, Rep, StageChange

MAX_HIERARCHY_DEPTH = 32


@lru_cache(maxsize=1)
def _by_slack_id() -> Any:
    """Return the rep-by-Slack-id read (bound as ``slack_id``), built once."""
    return (
        select(*PROFILE_COLUMNS)
        .where(col(Rep.slack_user_id) == bindparam("slack_id"))
        .order_by(col(Rep.active).desc(), col(Rep.id))
        .limit(1)
    )


def profile(rep: Rep) -> RepProfile:
    """Return the domain view of a Rep row."""
    assert rep.id is not None
    return RepProfile(
        id=rep.id,
        email=rep.email,
        name=rep.name,
        team=rep.team,
        manager_id=rep.manager_id,
        timezone=rep.timezone,
        start_date=rep.start_date,
        public_opt_out=rep.public_opt_out,
        role=rep.role,
        active=rep.active,
    )


class SqlDirectory:
    """Reps and their Slack identities; one instance lives inside one session."""

    def __init__(self, session: Session, *, org_timezone: str = "UTC") -> None:
        self.session = session
        self.org_timezone = org_timezone

    def by_slack_id(self, slack_user_id: str) -> RepProfile | None:
        """Return the rep linked to ``slack_user_id`` (active ones first)."""
        # Plain columns on the connection from a statement built once, not an ORM object:
        # this runs for every command, and building either costs more than the query.
        row = self.session.connection().execute(_by_slack_id(), {"slack_id": slack_user_id})
        found = row.first()
        return RepProfile(*found) if found is not None else None

    def by_email(self, email: str) -> RepProfile | None:
        """Return the rep with ``email`` (case-insensitive), active ones first."""
        row = (
            self.session.execute(
                select(Rep)
                .where(func.lower(col(Rep.email)) == email.strip().lower())
                .order_by(col(Rep.active).desc(), col(Rep.id))
                .limit(1)
            )
            .scalars()
            .first()
        )
        return profile(row) if row is not None else None

    def by_id(self, rep_id: int) -> RepProfile | None:
        """Return the rep with id ``rep_id``."""
        row = self.session.get(Rep, rep_id)
        return profile(row) if row is not None else None

    def slack_ids(self, rep_ids: Sequence[int]) -> dict[int, str]:
        """Return the Slack user id of each linked rep of ``rep_ids``."""
        if not rep_ids:
            return {}
        rows = self.session.execute(
            select(col(Rep.id), col(Rep.slack_user_id)).where(
                col(Rep.id).in_(list(rep_ids)), col(Rep.slack_user_id).is_not(None)
            )
        )
        return {int(row[0]): str(row[1]) for row in rows}

    def unmatched(self) -> list[RepProfile]:
        """Return active reps with no Slack user, by name."""
        rows = self.session.execute(
            select(Rep)
            .where(col(Rep.active).is_(True), col(Rep.slack_user_id).is_(None))
            .order_by(col(Rep.name))
        ).scalars()
        return [profile(r) for r in rows]

    def managers_of(self, rep_id: int) -> list[int]:
        """Return the manager chain above ``rep_id``, nearest first (cycles are cut)."""
        chain: list[int] = []
        current = self.session.get(Rep, rep_id)
        while current is not None and current.manager_id is not None:
            if (
                current.manager_id in chain
                or current.manager_id == rep_id
                or len(chain) >= MAX_HIERARCHY_DEPTH
            ):
                break
            chain.append(current.manager_id)
            current = self.session.get(Rep, current.manager_id)
        return chain

    def reports_of(self, manager_id: int) -> list[RepProfile]:
        """Return the active reps under ``manager_id`` at any depth, by name."""
        found: dict[int, Rep] = {}
        frontier = [manager_id]
        for _ in range(MAX_HIERARCHY_DEPTH):
            if not frontier:
                break
            rows = self.session.execute(
                select(Rep).where(col(Rep.manager_id).in_(frontier))
            ).scalars()
            frontier = []
            for row in rows:
                if row.id is not None and row.id not in found and row.id != manager_id:
                    found[row.id] = row
                    frontier.append(row.id)
        return sorted(
            (profile(r) for r in found.values() if r.active), key=lambda p: (p.name, p.id)
        )

    def set_public_opt_out(self, rep_id: int, opt_out: bool) -> None:
        """Hide (or show again) the rep on public leaderboards."""
        self.session.execute(
            update(Rep).where(col(Rep.id) == rep_id).values(public_opt_out=opt_out)
        )

    def link(self, rep_id: int, slack_user_id: str, timezone: str | None) -> LinkChange:
        """Link the rep to the Slack user; when their zone changes, re-date their days."""
        rep = self.session.get(Rep, rep_id)
        if rep is None:
            raise LookupError(f"rep {rep_id} does not exist")
        # One Slack user is one rep: a fix by an admin moves the link, it never duplicates it.
        self.session.execute(
            update(Rep)
            .where(col(Rep.slack_user_id) == slack_user_id, col(Rep.id) != rep_id)
            .values(slack_user_id=None)
        )
        old_zone = rep.timezone
        rep.slack_user_id = slack_user_id
        changed = bool(timezone) and timezone != old_zone
        marked = 0
        if changed:
            rep.timezone = timezone
            self.session.add(rep)
            self.session.flush()
            marked = self.redate_rep(rep_id, old_zone=old_zone, new_zone=timezone)
        else:
            self.session.add(rep)
            self.session.flush()
        return LinkChange(rep_id, slack_user_id, changed, marked)

    def redate_rep(self, rep_id: int, *, old_zone: str | None, new_zone: str | None) -> int:
        """Recompute the local days of a rep's dated facts in ``new_zone``; mark days dirty.

        Activities and opportunities carry a stored ``day``; stage moves are placed on days
        at roll-up time. Every day a fact leaves or lands on is marked dirty (so is every day
        of a stage move, in both zones), and the next roll-up recomputes exactly those.
        Activities known only by date (Salesforce ``ActivityDate``) keep their date.
        """
        new_tz = zone(new_zone, self.org_timezone)
        old_tz = zone(old_zone, self.org_timezone)
        dirty: set[date] = set()
        activities = self.session.execute(
            select(col(Activity.id), col(Activity.occurred_at), col(Activity.day)).where(
                col(Activity.rep_id) == rep_id, col(Activity.occurred_at).is_not(None)
            )
        ).all()
        for activity_id, occurred_at, old_day in activities:
            new_day = local_day(occurred_at, new_tz)
            if new_day != old_day:
                self.session.execute(
                    update(Activity).where(col(Activity.id) == activity_id).values(day=new_day)
                )
                dirty.update(d for d in (old_day, new_day) if d is not None)
        opportunities = self.session.execute(
            select(
                col(Opportunity.id),
                col(Opportunity.crm_id),
                col(Opportunity.source),
                col(Opportunity.created_at),
                col(Opportunity.created_day),
            ).where(col(Opportunity.rep_id) == rep_id)
        ).all()
        for opp_id, _crm_id, _source, created_at, old_day in opportunities:
            new_day = local_day(created_at, new_tz)
            if new_day != old_day:
                self.session.execute(
                    update(Opportunity)
                    .where(col(Opportunity.id) == opp_id)
                    .values(created_day=new_day)
                )
                dirty.update(d for d in (old_day, new_day) if d is not None)
        dirty.update(self._stage_move_days({(o[2], o[1]) for o in opportunities}, old_tz, new_tz))
        self._mark_dirty(rep_id, dirty)
        return len(dirty)

    def _stage_move_days(
        self, keys: set[tuple[str, str]], old_tz: ZoneInfo, new_tz: ZoneInfo
    ) -> set[date]:
        if not keys:
            return set()
        days: set[date] = set()
        sources = {source for source, _ in keys}
        for source in sources:
            crm_ids = [crm_id for s, crm_id in keys if s == source]
            moves = self.session.execute(
                select(col(StageChange.changed_at)).where(
                    col(StageChange.source) == source,
                    col(StageChange.opportunity_crm_id).in_(crm_ids),
                )
            ).scalars()
            for changed_at in moves:
                days.add(local_day(changed_at, old_tz))
                days.add(local_day(changed_at, new_tz))
        return days

    def _mark_dirty(self, rep_id: int, days: set[date]) -> None:
        if not days:
            return
        existing = set(
            self.session.execute(
                select(col(DirtyDay.day)).where(
                    col(DirtyDay.rep_id) == rep_id, col(DirtyDay.day).in_(sorted(days))
                )
            ).scalars()
        )
        for day in sorted(days - existing):
            self.session.add(DirtyDay(rep_id=rep_id, day=day))
        self.session.flush()
