"""SQL reads for the office-TV board: contests, contest wins and recent big deals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, col

from domain.timeutil import DateRange
from domain.tv import ContestView, ContestWin, WonDeal
from storage.models import Contest, ContestEvent, Opportunity, Rep, StageChange

HIDDEN_STATUSES = ("draft", "canceled", "cancelled", "deleted")
WIN_EVENT_KINDS = ("won", "winner", "contest_won")
RECENTLY_ENDED = timedelta(days=1)


class SqlTvEvents:
    """The TvEvents port over the contest and opportunity tables of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def contests(self, day: date) -> list[ContestView]:
        """Return contests running on ``day`` or ended yesterday, oldest start first."""
        rows = self.session.execute(
            select(Contest)
            .where(
                col(Contest.start_day) <= day,
                col(Contest.end_day) >= day - RECENTLY_ENDED,
                col(Contest.status).not_in(HIDDEN_STATUSES),
            )
            .order_by(col(Contest.start_day), col(Contest.id))
        ).scalars()
        return [
            ContestView(
                id=c.id or 0,
                name=c.name,
                kpi=c.kpi,
                window=DateRange(c.start_day, c.end_day),
                participant_ids=self._participants(c.participants),
                prize=c.prize,
                target=c.target,
            )
            for c in rows
        ]

    def _participants(self, spec: str) -> frozenset[int] | None:
        """Resolve `all`, `team:NAME` or a comma list of emails to rep ids."""
        spec = (spec or "all").strip()
        if spec.lower() == "all":
            return None
        if spec.lower().startswith("team:"):
            query = select(col(Rep.id)).where(func.lower(col(Rep.team)) == spec[5:].strip().lower())
        else:
            emails = [e.strip().lower() for e in spec.split(",") if e.strip()]
            query = select(col(Rep.id)).where(col(Rep.email).in_(emails))
        return frozenset(i for i in self.session.execute(query).scalars() if i is not None)

    def contest_wins(self, since: datetime) -> list[ContestWin]:
        """Return win events (kind won/winner) recorded since ``since``."""
        rows = self.session.execute(
            select(ContestEvent, Contest)
            .join(Contest, col(Contest.id) == col(ContestEvent.contest_id))
            .where(col(ContestEvent.kind).in_(WIN_EVENT_KINDS), col(ContestEvent.at) >= since)
            .order_by(col(ContestEvent.at))
        ).all()
        wins = []
        for event, contest in rows:
            rep_id = self._winner(event.data or {})
            if rep_id is not None:
                wins.append(
                    ContestWin(contest.id or 0, contest.name, rep_id, event.at, contest.prize)
                )
        return wins

    def _winner(self, data: dict[str, object]) -> int | None:
        for key in ("rep_id", "winner_rep_id", "winner_id"):
            value = data.get(key)
            if isinstance(value, int):
                return value
        email = data.get("email") or data.get("winner_email")
        if isinstance(email, str):
            return self.session.execute(
                select(col(Rep.id)).where(col(Rep.email) == email.lower())
            ).scalar_one_or_none()
        return None

    def won_deals(self, since: datetime, *, min_amount: float) -> list[WonDeal]:
        """Return won opportunities of at least ``min_amount`` that closed since ``since``."""
        won_at = (
            select(
                col(StageChange.opportunity_crm_id),
                col(StageChange.source),
                func.max(StageChange.changed_at).label("at"),
            )
            .join(
                Opportunity,
                (col(Opportunity.crm_id) == col(StageChange.opportunity_crm_id))
                & (col(Opportunity.source) == col(StageChange.source))
                & (col(Opportunity.stage) == col(StageChange.to_stage)),
            )
            .where(col(Opportunity.is_won).is_(True), col(StageChange.is_deleted).is_(False))
            .group_by(col(StageChange.opportunity_crm_id), col(StageChange.source))
            .subquery()
        )
        rows = self.session.execute(
            select(Opportunity, won_at.c.at)
            .outerjoin(
                won_at,
                (won_at.c.opportunity_crm_id == col(Opportunity.crm_id))
                & (won_at.c.source == col(Opportunity.source)),
            )
            .where(
                col(Opportunity.is_won).is_(True),
                col(Opportunity.is_deleted).is_(False),
                col(Opportunity.amount) >= min_amount,
                col(Opportunity.close_date) >= since.date() - timedelta(days=1),
            )
        ).all()
        deals = []
        for opp, at in rows:
            when = at or datetime.combine(opp.close_date or since.date(), time(12), UTC)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            if when >= since:
                deals.append(WonDeal(opp.id or 0, opp.rep_id, float(opp.amount or 0), when))
        return deals
