"""What scheduled jobs read and write outside the outbox: job runs, nudge targets, freezing.

Keyword-only, session-owning-caller style: nothing here commits; the job runner's unit of work
does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Table, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from domain.ports import FollowUp, JobRunInfo, ManagerTarget, NudgeTarget
from domain.timeutil import local_day, zone
from storage.models import CoachingNote, DailySnapshot, Delivery, JobRun, Rep
from storage.requests import SqlRequestLedger

NUDGE_PREFIX = "nudge:"


def _t(model: object) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


class SqlJobStore:
    """Implements the JobRunStore and NudgeStore ports on a session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # job runs ------------------------------------------------------------------------------

    def start(
        self, job_id: str, slot: str, *, now: datetime, stale_before: datetime | None = None
    ) -> bool:
        """Claim the slot (insert if absent); False when another run already has it.

        A `running` row older than ``stale_before`` is taken over by one conditional UPDATE:
        the database re-checks the condition under the row lock, so of two instances racing
        for a dead runner's slot exactly one wins.
        """
        if self._insert_run(job_id, slot, status="running", detail=None, now=now):
            return True
        if stale_before is None:
            return False
        t = _t(JobRun)
        reclaimed = self.session.execute(
            update(t)
            .where(
                t.c.job_id == job_id,
                t.c.slot == slot,
                t.c.status == "running",
                t.c.started_at < stale_before,
            )
            .values(started_at=now, detail="reclaimed: the previous runner never finished")
            .returning(t.c.id)
        ).first()
        return reclaimed is not None

    def finish(self, job_id: str, slot: str, *, status: str, detail: str, now: datetime) -> None:
        """Record how a claimed run ended."""
        t = _t(JobRun)
        self.session.execute(
            update(t)
            .where(t.c.job_id == job_id, t.c.slot == slot)
            .values(status=status, detail=detail[:4000], finished_at=now)
        )

    def skip(self, job_id: str, slot: str, *, detail: str, now: datetime) -> bool:
        """Record a slot missed beyond the grace window; False if it was already recorded."""
        return self._insert_run(job_id, slot, status="skipped", detail=detail, now=now)

    def latest(self, job_id: str) -> JobRunInfo | None:
        """Return the most recently started run of ``job_id``."""
        t = _t(JobRun)
        row = self.session.execute(
            select(t).where(t.c.job_id == job_id).order_by(t.c.started_at.desc()).limit(1)
        ).first()
        if row is None:
            return None
        return JobRunInfo(
            job_id=row.job_id,
            slot=row.slot,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            detail=row.detail,
        )

    def _insert_run(
        self, job_id: str, slot: str, *, status: str, detail: str | None, now: datetime
    ) -> bool:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        values = {
            "job_id": job_id,
            "slot": slot,
            "started_at": now,
            "status": status,
            "detail": detail,
            "finished_at": now if status == "skipped" else None,
        }
        statement = (
            insert(_t(JobRun))
            .values(values)
            .on_conflict_do_nothing(index_elements=["job_id", "slot"])
            .returning(_t(JobRun).c.id)
        )
        return self.session.execute(statement).first() is not None

    # nudges --------------------------------------------------------------------------------

    def nudge_targets(self, *, sent_since: datetime) -> list[NudgeTarget]:
        """Return active sellers with a Slack id, with the local date of their last nudge."""
        rep, delivery = _t(Rep), _t(Delivery)
        last: dict[int, date] = {}
        for (key,) in self.session.execute(
            select(delivery.c.key).where(
                delivery.c.key.startswith(NUDGE_PREFIX), delivery.c.created_at >= sent_since
            )
        ):
            parsed = _parse_nudge_key(key)
            if parsed is not None and (parsed[0] not in last or last[parsed[0]] < parsed[1]):
                last[parsed[0]] = parsed[1]
        rows = self.session.execute(
            select(rep)
            .where(
                rep.c.active.is_(True),
                rep.c.role == "rep",
                rep.c.slack_user_id.is_not(None),
                rep.c.slack_user_id != "",
            )
            .order_by(rep.c.id)
        )
        return [
            NudgeTarget(
                rep_id=row.id,
                slack_user_id=row.slack_user_id,
                name=row.name,
                email=row.email,
                timezone=row.timezone,
                nudge_time=row.nudge_time,
                nudge_mode=row.nudge_mode,
                snoozed_until=row.snoozed_until,
                last_sent=last.get(row.id),
                team=row.team,
                manager_id=row.manager_id,
            )
            for row in rows
        ]

    def managers(self) -> list[ManagerTarget]:
        """Return active managers with a Slack id and at least one active report."""
        rep = _t(Rep)
        reports: dict[int, list[int]] = defaultdict(list)
        for row in self.session.execute(
            select(rep.c.id, rep.c.manager_id).where(
                rep.c.active.is_(True), rep.c.manager_id.is_not(None)
            )
        ):
            reports[row.manager_id].append(row.id)
        if not reports:
            return []
        rows = self.session.execute(
            select(rep)
            .where(
                rep.c.id.in_(sorted(reports)),
                rep.c.active.is_(True),
                rep.c.slack_user_id.is_not(None),
                rep.c.slack_user_id != "",
            )
            .order_by(rep.c.id)
        )
        return [
            ManagerTarget(
                rep_id=row.id,
                slack_user_id=row.slack_user_id,
                name=row.name,
                timezone=row.timezone,
                report_ids=tuple(sorted(reports[row.id])),
            )
            for row in rows
        ]

    def follow_ups_due(self, manager_id: int, *, until: date) -> list[FollowUp]:
        """Return the manager's open coaching follow-ups due on or before ``until``."""
        note, rep = _t(CoachingNote), _t(Rep)
        rows = self.session.execute(
            select(note.c.rep_id, rep.c.name, note.c.follow_up_on, note.c.text)
            .join(rep, rep.c.id == note.c.rep_id)
            .where(
                note.c.manager_id == manager_id,
                note.c.done.is_(False),
                note.c.follow_up_on.is_not(None),
                note.c.follow_up_on <= until,
            )
            .order_by(note.c.follow_up_on, rep.c.name)
        )
        return [
            FollowUp(rep_id=r.rep_id, rep_name=r.name, due=r.follow_up_on, text=r.text)
            for r in rows
        ]

    def has_history(self, rep_ids: Sequence[int]) -> set[int]:
        """Return which of ``rep_ids`` have any daily snapshot at all."""
        # One index probe per rep (EXISTS), not a DISTINCT over two years of their rows.
        rep, snap = _t(Rep), _t(DailySnapshot)
        any_row = select(snap.c.id).where(snap.c.rep_id == rep.c.id).exists()
        found: set[int] = set()
        ids = list(rep_ids)
        for start in range(0, len(ids), 900):
            found.update(
                self.session.execute(
                    select(rep.c.id).where(rep.c.id.in_(ids[start : start + 900]), any_row)
                ).scalars()
            )
        return found

    def set_nudge_preferences(
        self, rep_id: int, *, mode: str | None = None, snoozed_until: date | None = None
    ) -> None:
        """Change a rep's nudge mode and/or snooze (what the nudge buttons do)."""
        values: dict[str, object] = {}
        if mode is not None:
            values["nudge_mode"] = mode
        if snoozed_until is not None:
            values["snoozed_until"] = snoozed_until
        if values:
            self.session.execute(update(_t(Rep)).where(_t(Rep).c.id == rep_id).values(**values))

    def prune_request_claims(self, *, now: datetime) -> int:
        """Forget Slack request claims too old for any resend (commands no longer prune)."""
        return SqlRequestLedger(self.session).prune(now=now)

    def freeze_past_days(self, *, now: datetime, org_timezone: str) -> int:
        """Mark every snapshot before its rep's local today frozen; return how many changed."""
        rep, snap = _t(Rep), _t(DailySnapshot)
        by_zone: dict[str, list[int]] = defaultdict(list)
        for row in self.session.execute(select(rep.c.id, rep.c.timezone)):
            by_zone[zone(row.timezone, org_timezone).key].append(row.id)
        changed = 0
        for zone_name, ids in by_zone.items():
            today = local_day(now.astimezone(UTC), zone(zone_name))
            for start in range(0, len(ids), 900):
                result = self.session.execute(
                    update(snap)
                    .where(
                        and_(
                            snap.c.rep_id.in_(ids[start : start + 900]),
                            snap.c.day < today,
                            snap.c.frozen.is_(False),
                        )
                    )
                    .values(frozen=True)
                )
                changed += int(getattr(result, "rowcount", 0) or 0)
        return changed


def _parse_nudge_key(key: str) -> tuple[int, date] | None:
    try:
        _, rep_id, day = key.split(":", 2)
        return int(rep_id), date.fromisoformat(day)
    except ValueError:
        return None
