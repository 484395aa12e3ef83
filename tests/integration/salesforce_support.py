"""Helpers shared by the Salesforce integration tests and the bench: clock, sync, state, and an
independent KPI count computed straight from the fake org's rows (not through domain.kpis)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlmodel import Session

from domain.kpis import default_kpis
from domain.ports import SyncStore
from integrations.salesforce.client import SalesforceCredentials
from integrations.salesforce.options import SalesforceOptions
from integrations.salesforce.source import SalesforceSource
from jobs.sync import SyncSummary, run_sync
from storage.db import session_scope
from storage.models import Activity, DailySnapshot, Opportunity, Rep, StageChange, SyncState
from storage.sync_store import SqlSyncStore
from tests.fakes.salesforce import OUTCOME_FIELD, FakeSalesforce

TZ = "America/New_York"
NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A settable clock shared by the fake org, the source and the sync job."""

    now: datetime = NOW
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def options(**overrides: Any) -> SalesforceOptions:
    """Connector options for tests: the fake's outcome field, small batches."""
    values: dict[str, Any] = {"event_outcome_field": OUTCOME_FIELD, "batch_size": 200}
    values.update(overrides)
    return SalesforceOptions(**values)


def session_source(fake: FakeSalesforce, clock: Clock, **overrides: Any) -> SalesforceSource:
    """A source logged in by session id (SALESFORCE_INSTANCE_URL + SALESFORCE_ACCESS_TOKEN)."""
    token = fake.new_session()
    return SalesforceSource(
        SalesforceCredentials(instance_url=fake.url, access_token=token),
        options(**overrides),
        session=fake.session(),
        sleep=clock.sleep,
        clock=clock,
    )


def uow_for(engine: Engine):  # type: ignore[no-untyped-def]
    @contextmanager
    def uow() -> Iterator[SyncStore]:
        with session_scope(engine) as session:
            yield SqlSyncStore(session, org_timezone=TZ)

    return uow


def sync(engine: Engine, source: SalesforceSource, clock: Clock) -> SyncSummary:
    """Run the real sync job (pages committed one by one, then the roll-up)."""
    return run_sync(source, uow_for(engine), default_kpis(), now=clock)


def state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Return everything a sync writes (except cursors), in a comparable form."""
    with Session(engine) as session:

        def rows(query: Any) -> list[tuple[Any, ...]]:
            return sorted(tuple(r) for r in session.execute(query))

        return {
            "reps": rows(
                select(Rep.crm_user_id, Rep.email, Rep.manager_crm_id, Rep.role, Rep.active)
            ),
            "activities": rows(
                select(
                    Activity.crm_id,
                    Activity.day,
                    Activity.kind,
                    Activity.duration_s,
                    Activity.direction,
                    Activity.outcome,
                    Activity.contact_title,
                    Activity.is_deleted,
                )
            ),
            "opportunities": rows(
                select(
                    Opportunity.crm_id,
                    Opportunity.stage,
                    Opportunity.stage_order,
                    Opportunity.is_won,
                    Opportunity.is_deleted,
                )
            ),
            "stage_changes": rows(
                select(StageChange.crm_id, StageChange.from_stage, StageChange.to_stage)
            ),
            "snapshots": snapshot_totals(session),
        }


def snapshot_totals(session: Session) -> list[tuple[Any, ...]]:
    """Return (rep crm id, day, kpi, value) for every non-zero snapshot."""
    query = (
        select(Rep.crm_user_id, DailySnapshot.day, DailySnapshot.kpi, DailySnapshot.value)
        .join(Rep, Rep.id == DailySnapshot.rep_id)
        .where(DailySnapshot.value != 0)
    )
    return sorted(tuple(r) for r in session.execute(query))


def snapshots(engine: Engine) -> dict[tuple[str, date, str], float]:
    """Return the DailySnapshot values keyed by (rep crm id, day, kpi)."""
    with Session(engine) as session:
        return {(r[0], r[1], r[2]): r[3] for r in snapshot_totals(session)}


def cursors(engine: Engine) -> dict[str, str | None]:
    with Session(engine) as session:
        return dict(session.execute(select(SyncState.object, SyncState.cursor)).all())  # type: ignore[arg-type]


# the independent count -----------------------------------------------------------------------

SENIOR = re.compile(
    r"\b(VP|Vice President|Director|Head of|Chief|C[A-Z]O|President|Founder|Owner)\b", re.I
)
NOT_HELD = {"No Show", "Canceled", "Rescheduled"}


def expected_kpis(fake: FakeSalesforce, tz_name: str = TZ) -> dict[tuple[str, date, str], float]:
    """Apply DESIGN.md's default KPI rules to the org's rows, written from scratch."""
    tz = ZoneInfo(tz_name)
    reps = {u["Id"] for u in fake.rows("User") if u["UserType"] == "Standard"}
    titles = {r["Id"]: r["Title"] for s in ("Contact", "Lead") for r in fake.rows(s)}
    counts: Counter[tuple[str, date, str]] = Counter()

    def local(at: datetime) -> date:
        return at.astimezone(tz).date()

    for t in fake.rows("Task"):  # archived tasks are still history; deleted ones are gone
        if t["OwnerId"] not in reps or not t["IsClosed"]:
            continue
        kind = {"Call": "call", "Email": "email", "LinkedIn": "linkedin"}.get(t["TaskSubtype"]) or {
            "Call": "call",
            "Email": "email",
            "LinkedIn": "linkedin",
        }.get(t["Type"] or "")
        if kind is None:
            continue
        day = local(t["CompletedDateTime"]) if t["CompletedDateTime"] else t["ActivityDate"]
        key = (t["OwnerId"], day)
        seconds = t["CallDurationInSeconds"] or 0
        if not (kind == "call" and t["CallType"] == "Inbound"):
            counts[(*key, "prospecting")] += 1
        if kind == "call" and seconds >= 60:
            counts[(*key, "conversations")] += 1
            if seconds >= 300 and SENIOR.search(titles.get(t["WhoId"]) or ""):
                counts[(*key, "meaningful_conversations")] += 1
    for e in fake.rows("Event"):
        if e["OwnerId"] not in reps or e.get(OUTCOME_FIELD) in NOT_HELD:
            continue
        day = e["ActivityDate"] if e["IsAllDayEvent"] else local(e["StartDateTime"])
        counts[(e["OwnerId"], day, "conversations")] += 1
        if SENIOR.search(titles.get(e["WhoId"]) or ""):
            counts[(e["OwnerId"], day, "meaningful_conversations")] += 1
    order = {s["ApiName"]: s["SortOrder"] for s in fake.rows("OpportunityStage")}
    opps = {o["Id"]: o for o in fake.rows("Opportunity") if o["OwnerId"] in reps}
    for o in opps.values():
        counts[(o["OwnerId"], local(o["CreatedDate"]), "opportunities_created")] += 1
    moves: dict[tuple[str, date], list[dict[str, Any]]] = defaultdict(list)
    for h in fake.rows("OpportunityFieldHistory"):
        if h["OpportunityId"] in opps and h["Field"] == "StageName":
            moves[(h["OpportunityId"], local(h["CreatedDate"]))].append(h)
    won_on: dict[str, tuple[datetime, date]] = {}
    for (opp_id, day), day_moves in moves.items():
        day_moves.sort(key=lambda h: h["CreatedDate"])
        first, last = day_moves[0], day_moves[-1]
        owner = opps[opp_id]["OwnerId"]
        for h in day_moves:
            if h["NewValue"] == "Closed Won" and (
                opp_id not in won_on or h["CreatedDate"] > won_on[opp_id][0]
            ):
                won_on[opp_id] = (h["CreatedDate"], day)
        if last["NewValue"] == "Closed Lost":
            continue
        if last["NewValue"] == "Closed Won" or order[last["NewValue"]] > order[first["OldValue"]]:
            counts[(owner, day, "opportunities_advanced")] += 1
    for opp_id, o in opps.items():
        if not o["IsWon"]:
            continue
        day = won_on[opp_id][1] if opp_id in won_on else o["CloseDate"]
        counts[(o["OwnerId"], day, "wins")] += 1
        counts[(o["OwnerId"], day, "won_amount")] += o["Amount"] or 0
    return {k: v for k, v in counts.items() if v}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
