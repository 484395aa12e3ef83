"""HubSpot synced end to end through run_sync into SQLite and PostgreSQL, checked by an oracle.

The oracle recomputes the default KPIs of DESIGN.md straight from the fake portal's rows with
its own simple code (no mapper, no domain roll-up), and the DailySnapshot totals must equal it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from domain.kpis import default_kpis
from domain.ports import SyncStore
from integrations.hubspot.client import HubSpotApiError, HubSpotClient
from integrations.hubspot.options import HubSpotOptions
from integrations.hubspot.source import HubSpotSource
from jobs.sync import SyncSummary, run_sync
from storage.db import session_scope
from storage.models import Activity, DailySnapshot, Opportunity, Rep, StageChange, SyncState
from storage.sync_store import SqlSyncStore
from tests.conftest import truncate_all
from tests.fakes.hubspot import (
    FakeClock,
    FakeHubSpot,
    FakeRecord,
    Portal,
    SeedSummary,
    seed_portal,
    to_ms,
)

LINKEDIN_CALL_TYPES = ["LinkedIn"]
SENIOR_WORDS = {"vp", "director", "chief", "president", "founder", "owner"}
C_LEVEL = re.compile(r"^c[a-z]o$")
Key = tuple[str, date, str]


# the oracle -------------------------------------------------------------------------------------


def _day(ms: int) -> date:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).date()


def _ms(record: FakeRecord, prop: str) -> int:
    value = record.numeric(prop)
    assert value is not None, (record.id, prop)
    return int(value)


def _senior(title: str | None) -> bool:
    text = (title or "").lower()
    words = re.findall(r"[a-z]+", text)
    return "head of" in text or any(w in SENIOR_WORDS or C_LEVEL.match(w) for w in words)


def expected_kpis(portal: Portal) -> dict[Key, float]:
    """Count the default KPIs per (rep email, UTC day, kpi) from the portal's live rows."""
    emails = {oid: o["email"] for oid, o in portal.owners.items() if o["type"] == "PERSON"}
    contacts = portal.objects["contacts"]
    totals: dict[Key, float] = defaultdict(float)

    def add(record: FakeRecord, kpi: str, day: date | None = None, value: float = 1) -> None:
        email = emails.get(record.properties.get("hubspot_owner_id", ""))
        if email:
            totals[(email, day or _day(_ms(record, "hs_timestamp")), kpi)] += value

    def senior_contact(kind: str, record: FakeRecord) -> bool:
        linked = portal.associations.get((kind, "contacts"), {}).get(record.id, [])
        return any(_senior(contacts[c].properties.get("jobtitle")) for c in linked)

    for call in portal.live("calls"):
        p = call.properties
        linkedin = p.get("hs_activity_type") in LINKEDIN_CALL_TYPES
        if p.get("hs_call_direction") != "INBOUND":
            add(call, "prospecting")
        millis = int(p.get("hs_call_duration") or 0)
        if not linkedin and millis >= 60_000:
            add(call, "conversations")
        if not linkedin and millis >= 300_000 and senior_contact("calls", call):
            add(call, "meaningful_conversations")
    for email in portal.live("emails"):
        if email.properties.get("hs_email_direction") == "EMAIL":
            add(email, "prospecting")
    for meeting in portal.live("meetings"):
        if meeting.properties.get("hs_meeting_outcome") in (None, "", "COMPLETED"):
            add(meeting, "conversations")
            if senior_contact("meetings", meeting):
                add(meeting, "meaningful_conversations")
    for task in portal.live("tasks"):
        if task.properties.get("hs_task_type") == "LINKED_IN":
            add(task, "prospecting")
    stages: dict[tuple[str, str], tuple[int, bool, bool]] = {}
    for pipeline in portal.pipelines:
        for stage in pipeline["stages"]:
            closed = stage["metadata"]["isClosed"] == "true"
            won = closed and float(stage["metadata"]["probability"]) == 1.0
            stages[(pipeline["id"], stage["id"])] = (stage["displayOrder"], won, closed and not won)
    for deal in portal.live("deals"):
        p = deal.properties
        add(deal, "opportunities_created", _day(_ms(deal, "createdate")))
        pipeline = p["pipeline"]
        history = deal.history["dealstage"]
        by_day: dict[date, list[tuple[str | None, str]]] = defaultdict(list)
        previous: str | None = None
        last_win: int | None = None
        for value, ts in history:
            by_day[_day(ts)].append((previous, value))
            if stages[(pipeline, value)][1]:
                last_win = ts
            previous = value
        for day, moves in by_day.items():
            start, end = moves[0][0], moves[-1][1]
            _, end_won, end_lost = stages[(pipeline, end)]
            if end_lost:
                continue
            if end_won or (
                start is not None and stages[(pipeline, end)][0] > stages[(pipeline, start)][0]
            ):
                add(deal, "opportunities_advanced", day)
        if stages[(pipeline, p["dealstage"])][1]:
            day = _day(last_win) if last_win is not None else _day(_ms(deal, "closedate"))
            add(deal, "wins", day)
            add(deal, "won_amount", day, float(p.get("amount") or 0))
    return {k: v for k, v in totals.items() if v}


# harness ---------------------------------------------------------------------------------------


def uow_for(engine: Engine) -> Callable[[], Any]:
    @contextmanager
    def uow() -> Iterator[SyncStore]:
        with session_scope(engine) as session:
            yield SqlSyncStore(session, org_timezone="UTC")

    return uow


def make_source(fake: FakeHubSpot, seed: SeedSummary, now: datetime) -> HubSpotSource:
    options = HubSpotOptions(
        teams=seed.teams, linkedin_call_types=LINKEDIN_CALL_TYPES, index_lag_s=0
    )
    clock = FakeClock()
    client = HubSpotClient(
        fake.portal.token,
        base_url=fake.url,
        options=options,
        clock=clock.monotonic,
        sleep=clock.sleep,
    )
    return HubSpotSource(client, options, now=lambda: now)


def sync(engine: Engine, fake: FakeHubSpot, seed: SeedSummary, now: datetime) -> SyncSummary:
    return run_sync(make_source(fake, seed, now), uow_for(engine), default_kpis(), now=lambda: now)


def snapshot_totals(engine: Engine) -> dict[Key, float]:
    with Session(engine) as session:
        rows = session.execute(
            select(Rep.email, DailySnapshot.day, DailySnapshot.kpi, DailySnapshot.value).join(
                Rep, Rep.id == DailySnapshot.rep_id
            )
        )
        return {(r.email, r.day, r.kpi): r.value for r in rows if r.value}


def stored_state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a sync writes, without surrogate ids, in a comparable form."""
    snapshots = sorted(snapshot_totals(engine).items())
    with Session(engine) as session:

        def rows(query: Any) -> list[tuple[Any, ...]]:
            return sorted((tuple(r) for r in session.execute(query)), key=repr)

        return {
            "reps": rows(
                select(Rep.crm_user_id, Rep.email, Rep.team, Rep.manager_crm_id, Rep.active)
            ),
            "activities": rows(
                select(
                    Activity.crm_id,
                    Activity.kind,
                    Activity.occurred_at,
                    Activity.duration_s,
                    Activity.direction,
                    Activity.outcome,
                    Activity.contact_title,
                    Activity.owner_crm_id,
                    Activity.is_deleted,
                )
            ),
            "opportunities": rows(
                select(
                    Opportunity.crm_id,
                    Opportunity.stage,
                    Opportunity.stage_order,
                    Opportunity.amount,
                    Opportunity.is_won,
                    Opportunity.is_deleted,
                )
            ),
            "stage_changes": rows(
                select(StageChange.crm_id, StageChange.from_stage, StageChange.to_stage)
            ),
            "cursors": rows(select(SyncState.object, SyncState.cursor)),
            "snapshots": snapshots,
        }


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(Portal()) as server:
        yield server


def live_engagements(portal: Portal) -> int:
    return sum(len(portal.live(t)) for t in ("calls", "emails", "meetings", "tasks"))


# tests -----------------------------------------------------------------------------------------


def test_more_than_10k_changed_calls_sync_completely_and_match_the_oracle(
    engine: Engine, fake: FakeHubSpot
) -> None:
    seed = seed_portal(
        fake.portal,
        reps=12,
        calls=8_000,
        bulk_calls=2_600,  # a bulk import: 2,600 calls modified in one millisecond
        emails=700,
        meetings=400,
        tasks=400,
        deals=150,
        contacts=500,
        days=21,
    )
    assert len(fake.portal.live("calls")) > 10_000
    now = seed.end + timedelta(hours=2)
    summary = sync(engine, fake, seed, now)
    expected = expected_kpis(fake.portal)
    assert snapshot_totals(engine) == expected
    assert {k[2] for k in expected} == {d.name for d in default_kpis()}
    with Session(engine) as session:
        stored = session.execute(select(Activity.crm_id)).scalars().all()
    assert len(stored) == live_engagements(fake.portal)
    assert fake.counts["status:400"] == 0
    # keyset search: about one request per 200 records, and no page read twice
    searched = 10_600 + 700 + 400 + 400
    assert fake.counts["search"] <= (searched / 200) * 1.2 + 20
    assert summary.api_calls == fake.requests()


def test_edits_archivals_and_stage_moves_show_up_after_the_next_run(
    engine: Engine, fake: FakeHubSpot
) -> None:
    portal = fake.portal
    seed = seed_portal(
        portal,
        reps=6,
        calls=700,
        bulk_calls=250,
        emails=200,
        meetings=120,
        tasks=120,
        deals=40,
        contacts=150,
        days=10,
    )
    first = seed.end + timedelta(hours=1)
    sync(engine, fake, seed, first)
    assert snapshot_totals(engine) == expected_kpis(portal)

    at = to_ms(seed.end + timedelta(hours=2))
    calls = sorted(portal.live("calls"), key=lambda r: r.id)
    owners = sorted(seed.owners.values())
    # edits: a short call becomes long, an inbound one outbound, one changes owner
    short = next(c for c in calls if int(c.properties["hs_call_duration"]) < 60_000)
    portal.update("calls", short.id, {"hs_call_duration": "420000"}, at_ms=at)
    inbound = next(c for c in calls if c.properties["hs_call_direction"] == "INBOUND")
    portal.update("calls", inbound.id, {"hs_call_direction": "OUTBOUND"}, at_ms=at)
    moved = calls[5]
    new_owner = next(o for o in owners if o != moved.properties["hubspot_owner_id"])
    portal.update("calls", moved.id, {"hubspot_owner_id": new_owner}, at_ms=at + 1)
    held = next(
        m for m in portal.live("meetings") if m.properties.get("hs_meeting_outcome") == "COMPLETED"
    )
    portal.update("meetings", held.id, {"hs_meeting_outcome": "NO_SHOW"}, at_ms=at + 2)
    # archivals
    for call in calls[10:16]:
        portal.archive("calls", call.id, at_ms=at + 3)
    for email in portal.live("emails")[:3]:
        portal.archive("emails", email.id, at_ms=at + 3)
    deals = sorted(portal.live("deals"), key=lambda r: r.id)
    portal.archive("deals", deals[0].id, at_ms=at + 4)
    # stage moves: one wins, one is lost, one advances
    open_deals = [
        d
        for d in deals[1:]
        if d.properties["dealstage"] in ("appointmentscheduled", "qualifiedtobuy", "90001")
    ]
    winner, loser, mover = open_deals[:3]
    win_stage = "closedwon" if winner.properties["pipeline"] == "default" else "90003"
    lose_stage = "closedlost" if loser.properties["pipeline"] == "default" else "90004"
    next_stage = "presentationscheduled" if mover.properties["pipeline"] == "default" else "90002"
    portal.update("deals", winner.id, {"dealstage": win_stage}, at_ms=at + 5)
    portal.update("deals", loser.id, {"dealstage": lose_stage}, at_ms=at + 5)
    portal.update("deals", mover.id, {"dealstage": next_stage}, at_ms=at + 6)
    # a contact is promoted: the long calls with them become meaningful conversations
    links = portal.associations[("calls", "contacts")]
    contacts = portal.objects["contacts"]
    promoted = next(
        linked[0]
        for call in calls[20:]
        if int(call.properties["hs_call_duration"]) >= 300_000
        and call.properties.get("hs_activity_type") not in LINKEDIN_CALL_TYPES
        and (linked := links.get(call.id))
        and not any(_senior(contacts[c].properties.get("jobtitle")) for c in linked)
    )
    before_promotion = expected_kpis(portal)
    portal.update("contacts", promoted, {"jobtitle": "VP Sales"}, at_ms=at + 7)
    assert expected_kpis(portal) != before_promotion
    # and new activity
    for n in range(30):
        portal.create(
            "calls",
            {
                "hs_timestamp": seed.end + timedelta(hours=1, minutes=n),
                "hubspot_owner_id": owners[n % len(owners)],
                "hs_call_direction": "OUTBOUND",
                "hs_call_duration": str(90_000 + n),
            },
            at_ms=at + 10,
        )

    second = seed.end + timedelta(days=1)
    summary = sync(engine, fake, seed, second)
    assert snapshot_totals(engine) == expected_kpis(portal)
    assert summary.deleted >= 6 + 3 + 1
    with Session(engine) as session:
        deleted = set(session.execute(select(Activity.crm_id).where(Activity.is_deleted)).scalars())
        won = session.execute(
            select(Opportunity.is_won).where(Opportunity.crm_id == str(winner.id))
        ).scalar_one()
    assert {str(c.id) for c in calls[10:16]} <= deleted
    assert won

    # a run with nothing new costs a few requests and changes nothing
    before = fake.requests()
    state = stored_state(engine)
    idle = sync(engine, fake, seed, second + timedelta(minutes=30))
    assert idle.deleted == 0  # archivals already applied are not reported again
    assert stored_state(engine)["snapshots"] == state["snapshots"]
    assert fake.requests() - before <= 25


@pytest.mark.parametrize(("kind", "successes"), [("search", 7), ("associations", 4)])
def test_an_interrupted_run_resumes_to_the_same_result(
    engine: Engine, fake: FakeHubSpot, kind: str, successes: int
) -> None:
    seed = seed_portal(
        fake.portal,
        reps=6,
        calls=1_000,
        bulk_calls=450,
        emails=200,
        meetings=100,
        tasks=100,
        deals=40,
        contacts=150,
        days=10,
    )
    now = seed.end + timedelta(hours=1)
    sync(engine, fake, seed, now)
    uninterrupted = stored_state(engine)

    truncate_all(engine)
    fake.break_after(kind, successes)
    with pytest.raises(HubSpotApiError):
        sync(engine, fake, seed, now)
    partial = stored_state(engine)
    assert 0 < len(partial["activities"]) < len(uninterrupted["activities"])
    fake.heal()
    sync(engine, fake, seed, now)
    assert stored_state(engine) == uninterrupted
    assert snapshot_totals(engine) == expected_kpis(fake.portal)


def test_a_daily_limit_stops_the_sync_cleanly_and_the_next_run_finishes(
    engine: Engine, fake: FakeHubSpot
) -> None:
    seed = seed_portal(fake.portal, reps=4, calls=300, emails=60, meetings=30, tasks=30, deals=20)
    now = seed.end + timedelta(hours=1)
    fake.inject(429, kind="search", policy="DAILY")
    stopped = sync(engine, fake, seed, now)
    assert stopped.stopped is not None
    assert "daily" in stopped.stopped
    with Session(engine) as session:
        assert session.execute(select(Activity.id)).first() is None
        assert session.execute(select(Rep.id)).first() is not None  # owners came first
    finished = sync(engine, fake, seed, now)
    assert finished.stopped is None
    assert snapshot_totals(engine) == expected_kpis(fake.portal)


@pytest.mark.heavy
@pytest.mark.parametrize("successes", range(1, 20, 2))
def test_interrupted_at_many_search_pages_then_resumed_matches_the_oracle(
    engine: Engine, fake: FakeHubSpot, successes: int
) -> None:
    seed = seed_portal(
        fake.portal,
        reps=5,
        calls=1_500,
        bulk_calls=700,
        emails=300,
        meetings=150,
        tasks=150,
        deals=60,
        contacts=200,
        days=10,
    )
    now = seed.end + timedelta(hours=1)
    fake.break_after("search", successes)
    with pytest.raises(HubSpotApiError):
        sync(engine, fake, seed, now)
    fake.heal()
    sync(engine, fake, seed, now)
    assert snapshot_totals(engine) == expected_kpis(fake.portal)
    with Session(engine) as session:
        stored = session.execute(select(Activity.crm_id)).scalars().all()
    assert len(stored) == len(set(stored)) == live_engagements(fake.portal)
