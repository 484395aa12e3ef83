"""`SalesforceSource`: the CrmSource over Salesforce's REST query API.

Incremental reads use a keyset over (SystemModstamp, Id) with an overlap window for records
committed late. A cursor (per SOQL object) remembers the last record stored and when the query
that returned it ran (``q``). Everything stamped before ``q - overlap`` had committed when that
query ran, so if the last record is older than that the next run resumes exactly after it
(keyset); otherwise it re-reads from ``q - overlap`` (overlap) and upserts by Id, so nothing
committed late is skipped and nothing is duplicated.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from simple_salesforce.format import format_soql

from domain.ports import SourceCheck, SyncAborted, SyncPage
from domain.records import CrmObject, CrmRecord
from integrations.salesforce import mapper
from integrations.salesforce.client import (
    NOT_CONFIGURED,
    QueryPage,
    SalesforceClient,
    SalesforceCredentials,
    SalesforceError,
)
from integrations.salesforce.options import SalesforceOptions

SOURCE_NAME = "salesforce"
DELETED_LOG_REACH = timedelta(days=15) - timedelta(hours=1)  # Salesforce keeps about 15 days
ACTIVITY_FIELDS = ("Id", "OwnerId", "WhoId", "Who.Title", "WhatId", "Subject", "Type")


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """One SOQL object read incrementally: its fields, stamp field and fixed filter."""

    sobject: str
    fields: tuple[str, ...]
    stamp: str = "SystemModstamp"
    include_deleted: bool = True
    where: str | None = None
    deletions: bool = True
    """False when rows follow their parent into the recycle bin (history): keep them as records."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where a read stopped: the last stored record's (stamp, Id) and when its query ran."""

    ts: datetime | None
    id: str | None
    queried_at: datetime

    def to_json(self) -> dict[str, str | None]:
        """Return the JSON form stored inside a cursor."""
        return {
            "ts": self.ts.isoformat() if self.ts else None,
            "id": self.id,
            "q": self.queried_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Position:
        """Parse the JSON form stored inside a cursor."""
        return cls(
            ts=datetime.fromisoformat(data["ts"]) if data.get("ts") else None,
            id=data.get("id"),
            queried_at=datetime.fromisoformat(data["q"]),
        )


def keyset_start(position: Position | None, *, overlap: timedelta, full: bool) -> Position | None:
    """Return ``position`` when a read may resume exactly after it (no late commit possible)."""
    if position is None or full or position.ts is None or position.id is None:
        return None
    return position if position.ts < position.queried_at - overlap else None


def build_soql(
    spec: QuerySpec, position: Position | None, *, overlap: timedelta, full: bool = False
) -> str:
    """Return the SOQL for ``spec`` after ``position``; values go through format_soql only."""
    clauses = [spec.where] if spec.where else []
    start = keyset_start(position, overlap=overlap, full=full)
    stamp = spec.stamp
    if start is not None and start.ts is not None:
        clauses.append(
            format_soql(
                f"({stamp} > {{ts}} OR ({stamp} = {{ts}} AND Id > {{id}}))",
                ts=_floor_second(start.ts),
                id=start.id,
            )
        )
    elif position is not None and not full:
        safe_before = position.queried_at - overlap
        since = safe_before if position.ts is None else min(position.ts, safe_before)
        clauses.append(format_soql(f"{stamp} >= {{since}}", since=_floor_second(since)))
    # Identifiers are code constants or validated API names; every value went through format_soql.
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    select = f"SELECT {', '.join(spec.fields)} FROM {spec.sobject}"  # noqa: S608
    return f"{select}{where} ORDER BY {spec.stamp} ASC, Id ASC"


def _floor_second(value: datetime) -> datetime:
    # format_soql drops sub-second digits; flooring keeps the comparison on the safe side.
    return value.astimezone(UTC).replace(microsecond=0)


class SalesforceSource:
    """Reads users, stages, opportunities, stage history and activities from Salesforce."""

    name = SOURCE_NAME

    def __init__(
        self,
        credentials: SalesforceCredentials,
        options: SalesforceOptions | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.options = options or SalesforceOptions()
        self.client = SalesforceClient(credentials, self.options, session=session, sleep=sleep)
        self.clock = clock
        self.activities = mapper.ActivityMapper(self.options)
        self._stage_orders: dict[str, int] | None = None

    # CrmSource -----------------------------------------------------------------------------

    def objects(self) -> Sequence[CrmObject]:
        """Return the objects in sync order: owners and stages before what refers to them."""
        return (
            CrmObject.USERS,
            CrmObject.STAGES,
            CrmObject.OPPORTUNITIES,
            CrmObject.STAGE_CHANGES,
            CrmObject.ACTIVITIES,
        )

    def pages(
        self, obj: CrmObject, cursor: str | None, *, full: bool = False
    ) -> Iterator[SyncPage]:
        """Yield pages of ``obj`` changed since ``cursor`` (everything when ``full``)."""
        if obj is CrmObject.STAGES:
            yield from self._stage_pages()
            return
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        for spec in self.specs(obj):
            saved = state.get(spec.sobject)
            position = Position.from_json(saved) if saved and "q" in saved and not full else None
            to_record = self._mapping(spec, obj)
            for records, deleted, new_position, calls in self._read(spec, position, full=full):
                state[spec.sobject] = {**state.get(spec.sobject, {}), **new_position.to_json()}
                yield SyncPage(
                    object=obj,
                    records=[to_record(r) for r in records],
                    deleted_ids=deleted,
                    cursor=json.dumps(state, sort_keys=True),
                    api_calls=calls,
                )
            if self.options.deleted_log and spec.deletions and spec.include_deleted:
                yield self._deleted_log_page(obj, spec, state)

    def _deleted_log_page(self, obj: CrmObject, spec: QuerySpec, state: dict[str, Any]) -> SyncPage:
        """Read ``/sobjects/X/deleted/`` since the last check: records purged from the recycle
        bin before a sync saw them never show up in queryAll."""
        entry = state.setdefault(spec.sobject, {})
        end = self._now()
        since = entry.get("d")
        if since is None:  # a first read: the queryAll just done covered everything up to now
            entry["d"] = end.isoformat()
            return SyncPage(object=obj, cursor=json.dumps(state, sort_keys=True))
        start = max(datetime.fromisoformat(since), end - DELETED_LOG_REACH)
        if end - start < timedelta(minutes=2):
            return SyncPage(object=obj)
        self.client.ensure_allowance()
        before = self.client.calls
        result = self.client.deleted(spec.sobject, start, end)
        ids = [str(r["id"]) for r in result.get("deletedRecords", [])]
        covered = mapper.parse_datetime(result.get("latestDateCovered")) or end
        entry["d"] = covered.isoformat()
        return SyncPage(
            object=obj,
            deleted_ids=ids,
            cursor=json.dumps(state, sort_keys=True),
            api_calls=self.client.calls - before,
        )

    def _now(self) -> datetime:
        server = self.client.server_time
        local = self.clock()
        return min(local, server) if server else local

    def check(self) -> SourceCheck:
        """Log in and read the org's limits; report the login method and the API allowance."""
        method = self.client.method
        if method is None:
            return SourceCheck(self.name, configured=False, ok=False, detail=NOT_CONFIGURED)
        extra = {"login_method": method.value}
        try:
            limits = self.client.limits()
        except (SalesforceError, SyncAborted, requests.RequestException) as exc:
            return SourceCheck(
                self.name,
                configured=True,
                ok=False,
                detail=f"{method.value} login configured but not working: {exc}",
                extra=extra,
            )
        extra["instance"] = self.client.connect().sf_instance
        daily = limits.get("DailyApiRequests") or {}
        if "Max" in daily:
            extra["daily_api_requests"] = f"{daily.get('Remaining')}/{daily.get('Max')} remaining"
        return SourceCheck(
            self.name,
            configured=True,
            ok=True,
            detail=f"Logged in to {extra['instance']} with {method.value} login",
            extra=extra,
        )

    # queries -------------------------------------------------------------------------------

    def specs(self, obj: CrmObject) -> tuple[QuerySpec, ...]:
        """Return the SOQL objects read for ``obj``."""
        opts = self.options
        if obj is CrmObject.USERS:
            team = (opts.team_field,) if opts.team_field else ()
            return (
                QuerySpec(
                    "User",
                    _fields(
                        ("Id", "Name", "Email", "ManagerId", "IsActive", "Title", "CreatedDate"),
                        team,
                        ("SystemModstamp",),
                    ),
                    include_deleted=False,
                    where=format_soql("UserType IN {types}", types=list(opts.user_types)),
                ),
            )
        if obj is CrmObject.OPPORTUNITIES:
            return (
                QuerySpec(
                    "Opportunity",
                    (
                        "Id",
                        "Name",
                        "OwnerId",
                        "Amount",
                        "StageName",
                        "CloseDate",
                        "IsClosed",
                        "IsWon",
                        "CreatedDate",
                        "IsDeleted",
                        "SystemModstamp",
                    ),
                ),
            )
        if obj is CrmObject.STAGE_CHANGES:
            return (
                QuerySpec(
                    "OpportunityFieldHistory",
                    ("Id", "OpportunityId", "Field", "OldValue", "NewValue", "CreatedDate"),
                    stamp="CreatedDate",
                    where=format_soql("Field = {field}", field="StageName"),
                    # Read deleted opportunities' history too, so an undelete finds it stored.
                    deletions=False,
                ),
            )
        if obj is CrmObject.ACTIVITIES:
            outcome = (opts.event_outcome_field,) if opts.event_outcome_field else ()
            return (
                QuerySpec(
                    "Task",
                    _fields(
                        ACTIVITY_FIELDS,
                        (
                            "TaskSubtype",
                            "CallType",
                            "CallDurationInSeconds",
                            "Status",
                            "IsClosed",
                            "ActivityDate",
                            "CompletedDateTime",
                            "CreatedDate",
                            "IsDeleted",
                            "SystemModstamp",
                        ),
                    ),
                ),
                QuerySpec(
                    "Event",
                    _fields(
                        ACTIVITY_FIELDS,
                        (
                            "StartDateTime",
                            "ActivityDateTime",
                            "ActivityDate",
                            "IsAllDayEvent",
                            "DurationInMinutes",
                            "CreatedDate",
                            "IsDeleted",
                            "SystemModstamp",
                        ),
                        outcome,
                    ),
                ),
            )
        raise ValueError(f"Salesforce does not sync {obj}")

    def _read(
        self, spec: QuerySpec, position: Position | None, *, full: bool
    ) -> Iterator[tuple[list[dict[str, Any]], list[str], Position, int]]:
        """Yield (live rows, deleted ids, position after the page, API calls) per page."""
        overlap = timedelta(minutes=self.options.overlap_minutes)
        soql = build_soql(spec, position, overlap=overlap, full=full)
        after = keyset_start(position, overlap=overlap, full=full)
        self.client.ensure_allowance()
        calls_before = self.client.calls
        local_time = self.clock()
        page: QueryPage = self.client.query(soql, include_deleted=spec.include_deleted)
        # The earlier of our clock and the server's Date header: a skewed clock on either side
        # can only make the overlap window wider, never narrower.
        server_time = self.client.server_time
        queried_at = min(local_time, server_time) if server_time else local_time
        while True:
            rows = page.records
            if after is not None:
                # SOQL literals carry whole seconds: drop what the keyset already covered.
                rows = [r for r in rows if self._key(spec, r) > (after.ts, after.id)]
            gone = {r["Id"] for r in rows if mapper.is_deleted(r)} if spec.deletions else set()
            live, deleted = rows, []
            if gone:
                live = [r for r in rows if r["Id"] not in gone]
                deleted = [r["Id"] for r in rows if r["Id"] in gone]
            if rows:
                last = rows[-1]
                position = Position(mapper.parse_datetime(last[spec.stamp]), last["Id"], queried_at)
            elif position is None:
                position = Position(None, None, queried_at)
            else:
                position = Position(position.ts, position.id, queried_at)
            calls = self.client.calls - calls_before
            yield live, deleted, position, calls
            if page.next_url is None:
                return
            self.client.ensure_allowance()
            calls_before = self.client.calls
            page = self.client.query_more(page.next_url)

    @staticmethod
    def _key(spec: QuerySpec, raw: Mapping[str, Any]) -> tuple[datetime | None, str]:
        return mapper.parse_datetime(raw[spec.stamp]), str(raw["Id"])

    def _mapping(self, spec: QuerySpec, obj: CrmObject) -> Callable[[dict[str, Any]], CrmRecord]:
        """Return the function mapping one row of ``spec`` (chosen once per query, not per row)."""
        if obj is CrmObject.USERS:
            return lambda raw: mapper.map_user(raw, self.options)
        if obj is CrmObject.OPPORTUNITIES:
            return lambda raw: mapper.map_opportunity(raw, self._orders())
        if spec.sobject == "Task":
            return self.activities.task
        if spec.sobject == "Event":
            return self.activities.event
        return self._stage_change

    @staticmethod
    def _stage_change(raw: dict[str, Any]) -> CrmRecord:
        change = mapper.map_stage_change(raw)
        if change is None:
            raise SalesforceError(f"OpportunityFieldHistory {raw.get('Id')} is not a stage change")
        return change

    # stages --------------------------------------------------------------------------------

    STAGE_SOQL = (
        "SELECT Id, ApiName, MasterLabel, SortOrder, IsActive, IsClosed, IsWon, "
        "DefaultProbability FROM OpportunityStage ORDER BY SortOrder ASC, Id ASC"
    )

    def _stage_pages(self) -> Iterator[SyncPage]:
        """Read the whole (small) stage list every sync; it has no useful change stamp."""
        self.client.ensure_allowance()
        before = self.client.calls
        stages = [mapper.map_stage(r) for r in self._all(self.STAGE_SOQL)]
        self._stage_orders = {s.stage: s.order for s in stages}
        yield SyncPage(
            object=CrmObject.STAGES, records=stages, api_calls=self.client.calls - before
        )

    def _orders(self) -> dict[str, int]:
        if self._stage_orders is None:
            self._stage_orders = {
                s.stage: s.order for s in map(mapper.map_stage, self._all(self.STAGE_SOQL))
            }
        return self._stage_orders

    def _all(self, soql: str) -> list[dict[str, Any]]:
        page = self.client.query(soql)
        rows = list(page.records)
        while page.next_url:
            page = self.client.query_more(page.next_url)
            rows.extend(page.records)
        return rows


def _fields(*groups: tuple[str, ...]) -> tuple[str, ...]:
    """Concatenate field lists, dropping repeats (SOQL rejects a field selected twice)."""
    return tuple(dict.fromkeys(f for group in groups for f in group))
