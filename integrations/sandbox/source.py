"""The sandbox org behind the `CrmSource` protocol, incremental by modification time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from domain.ports import SourceCheck, SyncPage
from domain.records import (
    ActivityRecord,
    CrmObject,
    CrmRecord,
    OpportunityRecord,
    StageChangeRecord,
)
from integrations.sandbox.org import STAGES, SandboxOrg, Simulation

PAGE_SIZE = 1000
_END = "\uffff"


class SandboxSource:
    """Yields the simulated org's records changed since a cursor of (time, id)."""

    name = "sandbox"

    def __init__(self, org: SandboxOrg, *, now: Callable[[], datetime], page_size: int = PAGE_SIZE):
        self.org = org
        self.now = now
        self.page_size = page_size
        self._cache: tuple[datetime, str | None, Simulation] | None = None

    def objects(self) -> Sequence[CrmObject]:
        """Return the objects in sync order: people, stages, deals, history, activities."""
        return (
            CrmObject.USERS,
            CrmObject.STAGES,
            CrmObject.OPPORTUNITIES,
            CrmObject.STAGE_CHANGES,
            CrmObject.ACTIVITIES,
        )

    def check(self) -> SourceCheck:
        """The sandbox is always configured and reachable."""
        return SourceCheck(
            source=self.name,
            configured=True,
            ok=True,
            detail=f"simulated org, seed {self.org.seed}, {self.org.rep_count} reps",
        )

    def pages(
        self, obj: CrmObject, cursor: str | None, *, full: bool = False
    ) -> Iterator[SyncPage]:
        """Yield pages of records modified after ``cursor`` and up to now."""
        now = self.now()
        after = None if full or cursor is None else _parse(cursor)
        if obj is CrmObject.USERS:
            yield SyncPage(obj, records=self._simulation(now, after).users, api_calls=1)
            return
        if obj is CrmObject.STAGES:
            yield SyncPage(obj, records=STAGES, api_calls=1)
            return
        sim = self._simulation(now, after)
        records: list[tuple[datetime, str, CrmRecord]] = []
        deleted: list[tuple[datetime, str]] = []
        if obj is CrmObject.OPPORTUNITIES:
            records = [(_modified(o), o.crm_id, o) for o in sim.opportunities]
        elif obj is CrmObject.STAGE_CHANGES:
            records = [(c.changed_at, c.crm_id, c) for c in sim.stage_changes]
        elif obj is CrmObject.ACTIVITIES:
            gone = {crm_id: at for crm_id, at in sim.deleted_activities if at <= now}
            for a in sim.activities:
                deleted_at = gone.get(a.crm_id)
                seen_before = after is not None and (_modified(a), a.crm_id) <= after
                if deleted_at is None:
                    records.append((_modified(a), a.crm_id, a))
                elif seen_before and (after is None or (deleted_at, a.crm_id) > after):
                    deleted.append((deleted_at, a.crm_id))
        changes = sorted(
            [(at, key, rec) for at, key, rec in records if after is None or (at, key) > after]
            + [(at, key, None) for at, key in deleted],
            key=lambda item: (item[0], item[1]),
        )
        if not changes:
            yield SyncPage(obj, cursor=_format(now, _END), api_calls=1)
            return
        for start in range(0, len(changes), self.page_size):
            chunk = changes[start : start + self.page_size]
            last = start + self.page_size >= len(changes)
            at, key, _ = chunk[-1]
            yield SyncPage(
                obj,
                records=[rec for _, _, rec in chunk if rec is not None],
                deleted_ids=[key for _, key, rec in chunk if rec is None],
                cursor=_format(now, _END) if last else _format(at, key),
                api_calls=1,
            )

    def _simulation(self, now: datetime, after: tuple[datetime, str] | None) -> Simulation:
        since = None if after is None else (after[0] - timedelta(days=2)).date()
        if self._cache is not None and self._cache[0] == now and self._cache[1] == str(since):
            return self._cache[2]
        sim = self.org.simulate(now, since_day=since)
        self._cache = (now, str(since), sim)
        return sim


def _modified(record: ActivityRecord | OpportunityRecord | StageChangeRecord) -> datetime:
    if isinstance(record, StageChangeRecord):
        return record.changed_at
    value = record.modified_at
    if value is None:
        raise ValueError(f"sandbox record {record.crm_id} has no modification time")
    return value


def _format(at: datetime, key: str) -> str:
    return json.dumps({"at": at.isoformat(), "id": key})


def _parse(cursor: str) -> tuple[datetime, str]:
    data = json.loads(cursor)
    return datetime.fromisoformat(data["at"]), str(data["id"])
