"""Read queries shared by the CLI and the bot: reps and KPI totals aggregated in SQL."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from storage.models import DailySnapshot, Rep, SyncState


class UnknownRep(LookupError):
    """No rep has that email; the message suggests the closest known ones."""


def rep_by_email(session: Session, *, email: str) -> Rep:
    """Return the rep with ``email`` (case-insensitive) or raise UnknownRep with suggestions."""
    wanted = email.strip().lower()
    rep = session.execute(select(Rep).where(col(Rep.email) == wanted)).scalars().first()
    if rep is not None:
        return rep
    known = list(session.execute(select(col(Rep.email))).scalars())
    close = difflib.get_close_matches(wanted, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    if not known:
        hint = " The database has no reps yet: run `pacesetter sync` first."
    raise UnknownRep(f"No rep with email '{email}'.{hint}")


def active_sellers(session: Session) -> list[Rep]:
    """Return active reps who carry KPIs (role rep), by name."""
    return list(
        session.execute(
            select(Rep)
            .where(col(Rep.active).is_(True), col(Rep.role) == "rep")
            .order_by(col(Rep.name))
        ).scalars()
    )


def kpi_totals(
    session: Session, *, start: date, end: date, rep_ids: Sequence[int] | None = None
) -> dict[int, dict[str, float]]:
    """Return {rep: {kpi: total}} over the inclusive day range, summed in SQL."""
    query = (
        select(col(DailySnapshot.rep_id), col(DailySnapshot.kpi), func.sum(DailySnapshot.value))
        .where(col(DailySnapshot.day) >= start, col(DailySnapshot.day) <= end)
        .group_by(col(DailySnapshot.rep_id), col(DailySnapshot.kpi))
    )
    if rep_ids is not None:
        query = query.where(col(DailySnapshot.rep_id).in_(list(rep_ids)))
    totals: dict[int, dict[str, float]] = defaultdict(dict)
    for rep_id, kpi, total in session.execute(query):
        totals[rep_id][kpi] = float(total or 0)
    return dict(totals)


def data_as_of(session: Session) -> datetime | None:
    """Return the oldest last-successful-sync time across synced objects (the honest one)."""
    return (
        session.execute(
            select(col(SyncState.last_success))
            .where(col(SyncState.last_success).is_not(None))
            .order_by(col(SyncState.last_success))
            .limit(1)
        )
        .scalars()
        .first()
    )
