"""Bench mode of the Salesforce fake: an org of any size of activities, served by a child process.

Tasks and Events are generated rows (``FakeSalesforce.add_generated``): row i is a
deterministic function of i, so an org of a million activities holds none of them in memory.
Users, stages, contacts and opportunities are ordinary (small) rows. ``serve_in_process`` runs
the fake in a child process so a benchmark measures the sync's memory and CPU alone; the parent
asks the child for the API calls it counted.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.fakes.salesforce import OUTCOME_FIELD, STAGES, TITLES, FakeSalesforce

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
HISTORY = timedelta(days=730)
EVENT_SHARE = 10  # one activity in ten is an Event
TASK_KINDS = (
    ("Call", "Call"),
    ("Call", None),
    ("Email", "Email"),
    ("Task", "LinkedIn"),
    ("LinkedIn", None),
    ("Task", "Call"),
    ("Task", "Other"),
    ("List Email", None),
)
CALL_TYPES = ("Outbound", "Inbound", None, "Internal", "Outbound")
DURATIONS = (0, 30, 59, 60, 120, 299, 300, 900, 45, 600, 75)
OUTCOMES = (None, "Completed", "No Show", "Canceled", "Rescheduled", None, "Completed")


@dataclass(frozen=True)
class ScaleOrg:
    """What a generated org holds, with the counts a benchmark and a test check against."""

    activities: int
    tasks: int
    events: int
    reps: int
    users: int  # Standard users the sync reads (reps, managers, the VP)
    stages: int
    opportunities: int
    stage_changes: int

    @property
    def deleted_tasks(self) -> int:
        """Return how many generated Tasks are in the recycle bin."""
        return sum(1 for i in range(self.tasks) if is_deleted(i))

    @property
    def deleted_events(self) -> int:
        """Return how many generated Events are in the recycle bin."""
        return sum(1 for i in range(self.events) if is_deleted(i))

    @property
    def live_activities(self) -> int:
        """Return the activities a full sync stores as live (the rest arrive as deletions)."""
        return self.activities - self.deleted_tasks - self.deleted_events

    def minimum_pages(self, page: int = 2000) -> int:
        """Return the fewest query pages a full sync can take (queryAll includes the bin)."""
        counts = (
            self.users,
            self.stages,
            self.opportunities,
            self.stage_changes,
            self.tasks,
            self.events,
        )
        return sum(max(1, math.ceil(n / page)) for n in counts)


def is_deleted(index: int) -> bool:
    """Say whether generated row ``index`` (of Tasks or Events) is in the recycle bin."""
    return index % 211 == 5


def _mix(index: int, salt: int) -> int:
    """Return a cheap deterministic hash of ``index`` (Knuth's multiplicative hash)."""
    return ((index + salt) * 2654435761) & 0xFFFFFFFF


def seed_scale_org(
    fake: FakeSalesforce, *, activities: int, reps: int = 200, now: datetime = NOW
) -> ScaleOrg:
    """Fill ``fake`` with ``reps`` reps, two years of ``activities`` generated Tasks and Events,
    contacts with titles, and a few deals per rep with stage history."""
    fake.add_field("Event", OUTCOME_FIELD)
    start = now - HISTORY - timedelta(days=30)
    seeded_at = now - HISTORY - timedelta(days=1)
    for name, order, closed, won, prob in STAGES:
        fake.insert(
            "OpportunityStage",
            stamp=seeded_at,
            ApiName=name,
            MasterLabel=name,
            SortOrder=order,
            IsActive=True,
            IsClosed=closed,
            IsWon=won,
            DefaultProbability=prob,
        )
    vp = fake.insert(
        "User",
        stamp=seeded_at,
        Name="Vera Boss",
        Username="vera@acme.test",
        Email="vera@acme.test",
        IsActive=True,
        Title="VP Sales",
        Department="Sales",
        UserType="Standard",
        CreatedDate=start,
    )
    teams = max(1, reps // 10)
    managers = [
        fake.insert(
            "User",
            stamp=seeded_at,
            Name=f"Manager {m}",
            Username=f"manager{m}@acme.test",
            Email=f"manager{m}@acme.test",
            ManagerId=vp,
            IsActive=True,
            Title="Sales Manager",
            Department=f"Team {m}",
            UserType="Standard",
            CreatedDate=start,
        )
        for m in range(teams)
    ]
    rep_ids = [
        fake.insert(
            "User",
            stamp=seeded_at,
            Name=f"Rep {r}",
            Username=f"rep{r}@acme.test",
            Email=f"rep{r}@acme.test",
            ManagerId=managers[r % teams],
            IsActive=True,
            Title="Account Executive",
            Department=f"Team {r % teams}",
            UserType="Standard",
            CreatedDate=start,
        )
        for r in range(reps)
    ]
    contacts = [
        fake.insert("Contact", stamp=seeded_at, Name=f"Contact {c}", Title=TITLES[c % len(TITLES)])
        for c in range(max(50, reps * 2))
    ]
    opportunities, stage_changes = _seed_deals(fake, rep_ids, now)
    events = activities // EVENT_SHARE
    tasks = activities - events
    task_step = HISTORY / max(1, tasks)
    event_step = HISTORY / max(1, events)
    history_start = now - HISTORY

    def stamp(index: int, step: timedelta) -> datetime:
        # Three rows share each whole second, as a data load stamps them: keyset ties.
        at = history_start + step * (index - index % 3)
        return at.replace(microsecond=0)

    def task(index: int) -> dict[str, Any]:
        h = _mix(index, 0)
        subtype, type_ = TASK_KINDS[h % len(TASK_KINDS)]
        closed = (h >> 4) % 7 != 0
        at = stamp(index, task_step)
        is_call = subtype == "Call" or (subtype == "Task" and type_ == "Call")
        return {
            "OwnerId": rep_ids[(h >> 8) % reps],
            "WhoId": contacts[(h >> 16) % len(contacts)] if (h >> 12) % 5 else None,
            "WhatId": opportunities[(h >> 20) % len(opportunities)] if h % 9 == 0 else None,
            "Subject": f"{subtype} {type_}",
            "TaskSubtype": subtype,
            "Type": type_,
            "CallType": CALL_TYPES[(h >> 24) % len(CALL_TYPES)] if is_call else None,
            "CallDurationInSeconds": DURATIONS[(h >> 6) % len(DURATIONS)] if is_call else None,
            "Status": "Completed" if closed else "Not Started",
            "IsClosed": closed,
            "ActivityDate": at.date(),
            "CompletedDateTime": at - timedelta(minutes=h % 50) if closed and h % 5 else None,
            "CreatedDate": at - timedelta(minutes=5),
            "LastModifiedDate": at,
            "SystemModstamp": at,
            "IsDeleted": is_deleted(index),
            "IsArchived": index % 307 == 11,
        }

    def event(index: int) -> dict[str, Any]:
        h = _mix(index, 7)
        at = stamp(index, event_step)
        all_day = h % 10 == 0
        minutes = (15, 30, 45, 60)[(h >> 4) % 4]
        begins = at + timedelta(days=1)
        return {
            "OwnerId": rep_ids[(h >> 8) % reps],
            "WhoId": contacts[(h >> 16) % len(contacts)] if (h >> 12) % 4 else None,
            "WhatId": opportunities[(h >> 20) % len(opportunities)] if h % 3 == 0 else None,
            "Subject": "Meeting",
            "Type": "Meeting",
            "StartDateTime": None if all_day else begins,
            "ActivityDateTime": None if all_day else begins,
            "EndDateTime": None if all_day else begins + timedelta(minutes=minutes),
            "ActivityDate": begins.date(),
            "IsAllDayEvent": all_day,
            "DurationInMinutes": 1440 if all_day else minutes,
            "CreatedDate": at - timedelta(hours=1),
            "LastModifiedDate": at,
            "SystemModstamp": at,
            "IsDeleted": is_deleted(index),
            "IsArchived": False,
            OUTCOME_FIELD: OUTCOMES[(h >> 24) % len(OUTCOMES)],
        }

    fake.add_generated("Task", tasks, task)
    fake.add_generated("Event", events, event)
    return ScaleOrg(
        activities=activities,
        tasks=tasks,
        events=events,
        reps=reps,
        users=1 + teams + reps,
        stages=len(STAGES),
        opportunities=len(opportunities),
        stage_changes=stage_changes,
    )


def _seed_deals(fake: FakeSalesforce, rep_ids: list[str], now: datetime) -> tuple[list[str], int]:
    """Give each rep three deals a month apart, each moved along part of the pipeline."""
    paths = (
        ("Qualification", "Needs Analysis", "Proposal", "Negotiation", "Closed Won"),
        ("Qualification", "Needs Analysis", "Closed Lost"),
        ("Qualification", "Proposal"),
    )
    opportunities: list[str] = []
    changes = 0
    for r, rep in enumerate(rep_ids):
        for k, path in enumerate(paths):
            created = now - timedelta(days=30 * (k + 1) + r % 20, hours=r % 7)
            opp = fake.insert(
                "Opportunity",
                stamp=created,
                Name=f"Deal {r}-{k}",
                OwnerId=rep,
                Amount=float(1000 + 500 * ((r * 7 + k) % 150)),
                StageName="Prospecting",
                CloseDate=(created + timedelta(days=45)).date(),
                IsClosed=False,
                IsWon=False,
                CreatedDate=created,
            )
            opportunities.append(opp)
            at = created
            for target in path:
                at += timedelta(days=3, hours=r % 5)
                fake.change_stage(opp, target, at)
                changes += 1
    return opportunities, changes


# serving from a child process ----------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """What the child's fake counted since the last reset."""

    api_calls: int
    busy_s: float
    queries: list[tuple[bool, str]]
    """(include deleted, SOQL) of each query run, in order: what a floor replays."""


class FakeOrgProcess:
    """A handle on a fake org served by a child process: its URL, CA, a session and counters."""

    def __init__(self, conn: Connection, hello: dict[str, Any]) -> None:
        self._conn = conn
        self.url: str = hello["url"]
        self.ca_file: str = hello["ca_file"]
        self.token: str = hello["token"]
        self.org = ScaleOrg(**hello["org"])

    def session(self) -> requests.Session:
        """Return a requests session trusting the fake's CA."""
        session = requests.Session()
        session.verify = self.ca_file
        session.trust_env = False
        return session

    def stats(self) -> Stats:
        """Return the calls and query texts counted since the last reset."""
        self._conn.send("stats")
        return Stats(**self._conn.recv())

    def reset(self) -> None:
        """Zero the counters (between the sync and the floor of one run)."""
        self._conn.send("reset")
        self._conn.recv()


@contextmanager
def serve_in_process(
    *, activities: int, reps: int = 200, page: int | None = None, now: datetime = NOW
) -> Iterator[FakeOrgProcess]:
    """Run a generated org of ``activities`` in a child process for the ``with`` block;
    ``page`` caps the records per page (Salesforce's default batch is 2,000)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=_serve,
        args=(child, activities, reps, page, now),
        name="fake-salesforce",
        daemon=True,
    )
    process.start()
    try:
        if not parent.poll(120):
            raise RuntimeError("the fake Salesforce process did not start within 120 s")
        hello = parent.recv()
        if "error" in hello:
            raise RuntimeError(f"the fake Salesforce process failed: {hello['error']}")
        yield FakeOrgProcess(parent, hello)
    finally:
        if process.is_alive():
            with suppress(BrokenPipeError, OSError):
                parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)
        parent.close()


def _serve(conn: Connection, activities: int, reps: int, page: int | None, now: datetime) -> None:
    try:
        fake = FakeSalesforce(clock=lambda: now, daily_limit=10_000_000, max_batch=page).start()
        org = seed_scale_org(fake, activities=activities, reps=reps, now=now)
    except Exception as exc:  # reported to the parent, which raises it
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
        return
    conn.send(
        {"url": fake.url, "ca_file": fake.ca_file, "token": fake.new_session(), "org": asdict(org)}
    )
    try:
        while True:
            try:
                command = conn.recv()
            except EOFError:
                break
            if command == "stats":
                conn.send(
                    {
                        "api_calls": fake.api_calls,
                        "busy_s": fake.busy_s,
                        "queries": _first_pages(fake.log),
                    }
                )
            elif command == "reset":
                fake.api_calls = 0
                fake.busy_s = 0.0
                fake.queries.clear()
                fake.log.clear()
                conn.send("ok")
            else:
                break
    finally:
        fake.stop()


def _first_pages(log: list[tuple[str, str, int]]) -> list[tuple[bool, str]]:
    """Return (queryAll?, SOQL) of each query the log shows, in the order they ran."""
    found = []
    for _, path, status in log:
        parts = urlsplit(path)
        soql = parse_qs(parts.query).get("q")
        if soql and status == 200:
            found.append(("/queryAll" in parts.path, soql[0]))
    return found
