"""Contests and their events on the `Contest` and `ContestEvent` tables; the scoring reads.

A contest's rules and what was frozen at launch (participants, goal or baseline per person,
prize tiers) live in the row and its ``rules_json``; the row is never updated afterwards
except for its status, so a restart picks up exactly the contest that was launched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from domain.contests import (
    Contest,
    ContestRules,
    Participant,
    ParticipantSpec,
    Rule,
    Scoring,
    Status,
)
from domain.ports import ContestEventRecord
from domain.recognition import WonDeal
from domain.timeutil import DateRange
from storage.models import Contest as ContestRow
from storage.models import ContestEvent, DailySnapshot, Opportunity, Rep
from storage.queries import data_as_of

IN_CHUNK = 900


def _participant(rep: Rep) -> Participant:
    assert rep.id is not None
    return Participant(
        id=rep.id,
        name=rep.name,
        email=rep.email,
        team=rep.team,
        slack_user_id=rep.slack_user_id,
        public_opt_out=rep.public_opt_out,
        start_date=rep.start_date,
    )


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SqlContestStore:
    """``domain.ports.ContestStore`` over a session; the caller's unit of work commits."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def people(self) -> list[Participant]:
        """Return active sellers (role rep) by name."""
        query = (
            select(Rep)
            .where(col(Rep.active).is_(True), col(Rep.role) == "rep")
            .order_by(col(Rep.name), col(Rep.id))
        )
        return [_participant(r) for r in self.session.execute(query).scalars()]

    def add_contest(self, contest: Contest, *, now: datetime) -> Contest:
        """Insert the contest with its launch snapshot and return it with its id."""
        rules = contest.rules
        row = ContestRow(
            name=rules.name,
            kpi=rules.kpi,
            rule=rules.rule.value,
            target=rules.target,
            start_day=rules.start,
            end_day=rules.end,
            participants=rules.participants.text(),
            scoring=rules.scoring.value,
            team_contest=rules.team_contest,
            prize="\n".join(rules.prizes) or None,
            channel=rules.channel,
            status=Status.ACTIVE.value,
            created_by=contest.created_by,
            created_at=now,
            rules_json={
                "prizes": list(rules.prizes),
                "baseline_windows": rules.baseline_windows,
                "participant_ids": [p.id for p in contest.participants],
                "denominators": {str(k): v for k, v in contest.denominators.items()},
            },
        )
        self.session.add(row)
        self.session.flush()
        assert row.id is not None
        stored = self.contest(row.id)
        assert stored is not None
        return stored

    def contest(self, contest_id: int) -> Contest | None:
        """Return one contest."""
        row = self.session.get(ContestRow, contest_id)
        return None if row is None else self._contests([row])[0]

    def contests(self, *, statuses: Sequence[Status] | None = None) -> list[Contest]:
        """Return contests, newest first, optionally only in ``statuses``."""
        query = select(ContestRow).order_by(col(ContestRow.id).desc())
        if statuses is not None:
            query = query.where(col(ContestRow.status).in_([s.value for s in statuses]))
        return self._contests(list(self.session.execute(query).scalars()))

    def set_status(self, contest_id: int, status: Status) -> None:
        """Move a contest to ``status``."""
        self.session.execute(
            update(ContestRow).where(col(ContestRow.id) == contest_id).values(status=status.value)
        )

    def daily_values(
        self, rep_ids: Sequence[int], rng: DateRange, *, kpi: str
    ) -> dict[int, dict[date, float]]:
        """Return rep -> day -> value of ``kpi`` over ``rng`` (summed in SQL per rep and day)."""
        snap = DailySnapshot
        out: dict[int, dict[date, float]] = defaultdict(dict)
        ids = list(dict.fromkeys(rep_ids))
        for start in range(0, len(ids), IN_CHUNK):
            query = (
                select(col(snap.rep_id), col(snap.day), func.sum(snap.value))
                .where(
                    col(snap.kpi) == kpi,
                    col(snap.day) >= rng.start,
                    col(snap.day) <= rng.end,
                    col(snap.rep_id).in_(ids[start : start + IN_CHUNK]),
                )
                .group_by(col(snap.rep_id), col(snap.day))
            )
            for rep_id, day, value in self.session.execute(query):
                out[rep_id][day] = float(value or 0.0)
        return dict(out)

    def add_event(
        self, contest_id: int, *, key: str, kind: str, at: datetime, data: Mapping[str, object]
    ) -> bool:
        """Insert the event unless (contest, key) exists; return whether it was new."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        table: Table = ContestEvent.__table__  # type: ignore[attr-defined]
        statement = (
            insert(table)
            .values(contest_id=contest_id, key=key, kind=kind, at=at, data=dict(data))
            .on_conflict_do_nothing(index_elements=["contest_id", "key"])
            .returning(table.c.id)
        )
        return bool(self.session.execute(statement).all())

    def events(self, contest_id: int, *, kind: str | None = None) -> list[ContestEventRecord]:
        """Return a contest's events in the order they happened."""
        query = (
            select(ContestEvent)
            .where(col(ContestEvent.contest_id) == contest_id)
            .order_by(col(ContestEvent.id))
        )
        if kind is not None:
            query = query.where(col(ContestEvent.kind) == kind)
        return [
            ContestEventRecord(
                e.contest_id, e.key, e.kind, _aware(e.at) or e.at, dict(e.data or {})
            )
            for e in self.session.execute(query).scalars()
        ]

    def won_deals(self, *, since: date, min_amount: float) -> list[WonDeal]:
        """Return deals won (by close date) on or after ``since`` worth at least ``min_amount``."""
        query = (
            select(Opportunity)
            .where(
                col(Opportunity.is_won).is_(True),
                col(Opportunity.is_deleted).is_(False),
                col(Opportunity.rep_id).is_not(None),
                col(Opportunity.close_date) >= since,
                col(Opportunity.amount) >= min_amount,
            )
            .order_by(col(Opportunity.close_date), col(Opportunity.id))
        )
        return [
            WonDeal(o.source, o.crm_id, o.name, float(o.amount or 0), o.rep_id or 0, o.close_date)
            for o in self.session.execute(query).scalars()
            if o.close_date is not None
        ]

    def data_as_of(self) -> datetime | None:
        """Return when the oldest object's last successful sync finished."""
        return _aware(data_as_of(self.session))

    def _contests(self, rows: Sequence[ContestRow]) -> list[Contest]:
        wanted = {pid for row in rows for pid in _frozen(row).get("participant_ids", [])}
        reps = (
            {
                r.id: _participant(r)
                for r in self.session.execute(select(Rep).where(col(Rep.id).in_(wanted))).scalars()
            }
            if wanted
            else {}
        )
        return [_contest(row, reps) for row in rows]


def _frozen(row: ContestRow) -> dict[str, Any]:
    return dict(row.rules_json or {})


def _contest(row: ContestRow, reps: Mapping[int | None, Participant]) -> Contest:
    frozen = _frozen(row)
    rules = ContestRules(
        name=row.name,
        kpi=row.kpi,
        rule=Rule(row.rule),
        start=row.start_day,
        end=row.end_day,
        channel=row.channel,
        target=row.target,
        participants=ParticipantSpec.parse(row.participants),
        scoring=Scoring(row.scoring),
        team_contest=row.team_contest,
        prizes=tuple(frozen.get("prizes") or ()),
        baseline_windows=int(frozen.get("baseline_windows") or 3),
    )
    people = tuple(reps[pid] for pid in frozen.get("participant_ids", []) if pid in reps)
    denominators = {int(k): float(v) for k, v in (frozen.get("denominators") or {}).items()}
    return Contest(
        rules,
        people,
        denominators,
        id=row.id,
        status=Status(row.status),
        created_by=row.created_by,
        created_at=_aware(row.created_at),
    )
