"""Generate a large sales org straight into a database, in the tables sync + snapshot fill.

Sizes: M = 1,000 reps (SQLite), L = 10,000 reps (PostgreSQL); two years of daily history;
50-100 activities a rep a working day. What is written:

- ``rep``: reps in teams of 10 under managers, managers under one VP, Slack ids already
  matched, a mix of time zones, nudge modes and times (as the sync + Slack matching leave them);
- ``goal``: the org's default goals plus one team goal;
- ``pipelinestage``: one pipeline of four open stages, Closed Won and Closed Lost;
- the *raw window* (month to date by default): every ``activity`` row (50-100 a rep a working
  day), the ``opportunity`` rows created or won in it with their ``stagechange`` rows, a few
  older open opportunities per rep, and ``pipelinesnapshot`` rows for each day of the window;
  the window's ``dailysnapshot`` rows are rolled up from those facts by ``domain.kpis.rollup``
  (the function the snapshot job uses), so the real roll-up reproduces them exactly;
- the *history* before the window: ``dailysnapshot`` rows only (frozen, sparse like real
  roll-ups, drawn from the same activity mix). Two years of raw activity for 10,000 reps
  would be ~390 M rows, more than this machine should hold for a benchmark; past days are
  only ever read from the snapshots, so the history keeps just those.

Bulk writes: COPY on PostgreSQL, executemany on one raw SQLite connection. A marker row in
``syncstate`` (source ``bench``, object ``generated_org``) records the spec; a database that
already holds the same org is reused, so benches run again in seconds.

    uv run python bench/generate_org.py --size M --database-url sqlite:///bench-m.db
    uv run python bench/generate_org.py --size L \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/pacesetter_bench_l
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, func, insert, select, text

from domain.kpis import ActivityFact, OpportunityFact, StageMoveFact, default_kpis, rollup
from domain.timeutil import local_day
from storage import migrate
from storage.db import make_engine
from storage.models import Goal, PipelineStage, Rep, SyncState

SOURCE = "bench"
MARKER_OBJECT = "generated_org"
AS_OF = date(2026, 11, 19)  # the bot tests' frozen Thursday (tests/bot/conftest.py NOW)
TEAM_SIZE = 10
ZONES = (
    ("America/New_York", 50),
    ("America/Chicago", 15),
    ("America/Los_Angeles", 15),
    ("Europe/London", 10),
    ("Asia/Kolkata", 5),
    ("Australia/Sydney", 5),
)
# (kind, weight): calls, emails, LinkedIn touches and meetings in a working day.
KIND_MIX = (("call", 40), ("email", 40), ("linkedin", 12), ("meeting", 8))
TITLES = ("VP Sales", "Director of IT", "Head of Finance", "Engineer", "Analyst", "Manager", None)
STAGES = (
    ("Prospect", 1, False, False),
    ("Qualify", 2, False, False),
    ("Proposal", 3, False, False),
    ("Negotiation", 4, False, False),
    ("Closed Won", 5, True, True),
    ("Closed Lost", 6, True, False),
)
GOALS = (
    ("prospecting", "day", 40.0, "everyone", None),
    ("conversations", "week", 40.0, "everyone", None),
    ("meaningful_conversations", "week", 10.0, "everyone", None),
    ("opportunities_created", "week", 3.0, "everyone", None),
    ("opportunities_advanced", "week", 8.0, "everyone", None),
    ("wins", "month", 3.0, "everyone", None),
    ("won_amount", "month", 75000.0, "everyone", None),
    ("wins", "quarter", 9.0, "everyone", None),
    ("prospecting", "day", 50.0, "team", "Team 0001"),
)
# History (days before the raw window): (kpi, chance a working day has it, mean when it has).
# The activity KPIs follow from KIND_MIX and TITLES at ~75 activities a day (see _history_row).
HISTORY_OUTCOMES = (
    ("opportunities_created", 0.35, 1.5),
    ("opportunities_advanced", 0.6, 2.0),
    ("wins", 0.08, 1.0),
)


@dataclass(frozen=True)
class OrgSpec:
    """What to generate; equal specs give byte-for-byte equal data (seeded)."""

    reps: int
    days: int = 730
    as_of: date = AS_OF
    raw_days: int | None = None  # None: month to date
    per_day_min: int = 50
    per_day_max: int = 100
    seed: int = 7

    @property
    def raw_start(self) -> date:
        """Return the first day with raw facts (the month's first day by default)."""
        if self.raw_days is None:
            start = self.as_of.replace(day=1)
        else:
            start = self.as_of - timedelta(days=self.raw_days - 1)
        return max(start, self.first_day)

    @property
    def first_day(self) -> date:
        """Return the first day of history."""
        return self.as_of - timedelta(days=self.days - 1)

    @property
    def sync_time(self) -> datetime:
        """Return the instant of the org's last sync: 21:00 UTC on the as-of day."""
        return datetime.combine(self.as_of, datetime.min.time(), UTC) + timedelta(hours=21)

    def marker(self) -> str:
        """Return the spec as the JSON stored in the marker row."""
        return json.dumps({k: str(v) for k, v in asdict(self).items()}, sort_keys=True)


SIZES = {"M": OrgSpec(reps=1_000), "L": OrgSpec(reps=10_000)}


@dataclass(frozen=True)
class GeneratedOrg:
    """Row counts of a generated org, and whether an existing database was reused."""

    reused: bool
    seconds: float
    counts: dict[str, int]


def working_days(first: date, last: date) -> list[date]:
    """Return the Monday-to-Friday days from ``first`` to ``last``."""
    days = (last - first).days + 1
    return [first + timedelta(n) for n in range(days) if (first + timedelta(n)).weekday() < 5]


def rep_email(n: int) -> str:
    """Return the email of generated rep number ``n`` (0-based)."""
    return f"rep{n:06d}@bench.example"


def rep_slack_id(n: int) -> str:
    """Return the Slack id of generated rep number ``n``."""
    return f"UB{n:07d}"


# reading the marker ---------------------------------------------------------------------


def existing_marker(engine: Engine) -> str | None:
    """Return the spec JSON of the org already in the database, if any."""
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT cursor FROM syncstate WHERE source = :source AND object = :object"),
            {"source": SOURCE, "object": MARKER_OBJECT},
        ).scalar()
        return str(found) if found is not None else None


def ensure_org(engine: Engine, spec: OrgSpec) -> GeneratedOrg:
    """Generate ``spec`` into ``engine``'s database unless that org is already there."""
    started = time.perf_counter()
    migrate.upgrade(engine)
    found = existing_marker(engine)
    if found == spec.marker():
        return GeneratedOrg(True, time.perf_counter() - started, table_counts(engine))
    if found is not None:
        raise SystemExit(
            f"{engine.url.render_as_string(hide_password=True)} holds another generated org "
            f"({found}); use a fresh database URL or remove that one first."
        )
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(Rep)).scalar_one():
            raise SystemExit(
                "the database already has reps that this generator did not write; "
                "give it an empty database (it never mixes its org into real data)"
            )
    generate(engine, spec)
    return GeneratedOrg(False, time.perf_counter() - started, table_counts(engine))


def table_counts(engine: Engine) -> dict[str, int]:
    """Return the row count of each table the generator writes."""
    names = (
        "rep",
        "goal",
        "pipelinestage",
        "opportunity",
        "stagechange",
        "pipelinesnapshot",
        "activity",
        "dailysnapshot",
    )
    with engine.connect() as conn:
        return {n: int(conn.execute(text(f"SELECT count(*) FROM {n}")).scalar_one()) for n in names}


# generation -----------------------------------------------------------------------------


@dataclass
class _Person:
    n: int
    id: int
    crm_id: str
    zone: str
    team: str
    skill: float


def generate(engine: Engine, spec: OrgSpec) -> None:
    """Write the whole org (see the module docstring); the caller checked the db is empty."""
    rng = random.Random(spec.seed)
    people = _write_people(engine, spec, rng)
    _write_goals_and_stages(engine)
    raw = engine.raw_connection()
    try:
        writer = _BulkWriter(raw, engine.dialect.name)
        writer.prepare()
        raw_days = working_days(spec.raw_start, spec.as_of)
        raw_set = set(raw_days)
        history_days = [d for d in working_days(spec.first_day, spec.as_of) if d not in raw_set]
        _write_history(writer, spec, people, history_days, rng)
        _write_raw_window(writer, spec=spec, people=people, days=raw_days, rng=rng)
        raw.commit()
        writer.finish()
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        rows = [
            {
                "source": SOURCE,
                "object": obj,
                "cursor": None,
                "last_success": spec.sync_time,
                "api_calls": 0,
            }
            for obj in ("users", "opportunities", "activities")
        ]
        rows.append({**rows[0], "object": MARKER_OBJECT, "cursor": spec.marker()})
        conn.execute(insert(SyncState), rows)


def _write_people(engine: Engine, spec: OrgSpec, rng: random.Random) -> list[_Person]:
    """Insert a VP, a manager per team of 10 and the reps; return the reps."""
    zones = [z for z, weight in ZONES for _ in range(weight)]
    teams = max(1, spec.reps // TEAM_SIZE)
    start = spec.first_day - timedelta(days=200)
    rows: list[dict[str, Any]] = [
        _rep_row(
            1,
            crm_id="VP",
            name="Vera Vice",
            email="vp@bench.example",
            manager=None,
            team=None,
            role="manager",
            zone=ZONES[0][0],
        )
    ]
    for t in range(teams):
        rows.append(
            _rep_row(
                2 + t,
                crm_id=f"M{t:05d}",
                name=f"Manager {t:05d}",
                email=f"manager{t:05d}@bench.example",
                manager=("VP", 1),
                team=f"Team {t:04d}",
                role="manager",
                zone=zones[t % len(zones)],
            )
        )
    people = []
    first_rep_id = 2 + teams
    for n in range(spec.reps):
        t = n % teams
        zone = zones[rng.randrange(len(zones))]
        row = _rep_row(
            first_rep_id + n,
            crm_id=f"R{n:06d}",
            name=f"Rep {n:06d}",
            email=rep_email(n),
            manager=(f"M{t:05d}", 2 + t),
            team=f"Team {t:04d}",
            role="rep",
            zone=zone,
        )
        row.update(
            slack_user_id=rep_slack_id(n),
            start_date=start if n % 40 else spec.as_of - timedelta(days=45),  # some ramping
            public_opt_out=n % 50 == 0,
            nudge_mode="weekly" if n % 16 == 0 else "off" if n % 25 == 0 else "daily",
            nudge_time="09:15" if n % 5 == 0 else None,
            snoozed_until=spec.as_of + timedelta(days=2) if n % 33 == 0 else None,
        )
        rows.append(row)
        people.append(
            _Person(
                n, first_rep_id + n, row["crm_user_id"], zone, row["team"], rng.uniform(0.6, 1.4)
            )
        )
    with engine.begin() as conn:
        conn.execute(insert(Rep), rows)
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('rep', 'id'), max(id)) FROM rep")
            )
    return people


def _rep_row(
    rep_id: int,
    *,
    crm_id: str,
    name: str,
    email: str,
    manager: tuple[str, int] | None,
    team: str | None,
    role: str,
    zone: str,
) -> dict[str, Any]:
    return {
        "id": rep_id,
        "source": SOURCE,
        "crm_user_id": crm_id,
        "name": name,
        "email": email,
        "slack_user_id": f"UBM{rep_id:06d}" if role == "manager" else None,
        "manager_crm_id": manager[0] if manager else None,
        "manager_id": manager[1] if manager else None,
        "team": team,
        "title": "Account Executive" if role == "rep" else "Sales Manager",
        "role": role,
        "timezone": zone,
        "start_date": date(2023, 1, 2),
        "active": True,
        "public_opt_out": False,
        "nudge_mode": "daily",
        "nudge_time": None,
        "snoozed_until": None,
    }


def _write_goals_and_stages(engine: Engine) -> None:
    created = datetime(2024, 1, 1, tzinfo=UTC)
    goals = [
        {
            "kpi": kpi,
            "period": period,
            "target": target,
            "scope": scope,
            "scope_value": value,
            "valid_from": None,
            "valid_to": None,
            "origin": "cli",
            "created_by": "vp@bench.example",
            "created_at": created,
        }
        for kpi, period, target, scope, value in GOALS
    ]
    stages = [
        {
            "source": SOURCE,
            "pipeline": "default",
            "stage": stage,
            "order": order,
            "is_closed": closed,
            "is_won": won,
            "probability": None,
        }
        for stage, order, closed, won in STAGES
    ]
    with engine.begin() as conn:
        conn.execute(insert(Goal), goals)
        conn.execute(insert(PipelineStage), stages)


def _history_row(
    person: _Person, day: date, per_day: int, rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    """Yield one history day's snapshot rows, as the activity mix would roll up."""
    n = round(per_day * (0.7 + 0.3 * person.skill))
    calls = round(n * 0.40 * rng.uniform(0.8, 1.2))
    meetings = round(n * 0.08 * rng.uniform(0.5, 1.5))
    prospecting = round(n * 0.92 * rng.uniform(0.8, 1.05))
    conversations = round(calls * 0.2 * rng.uniform(0.7, 1.3)) + meetings
    meaningful = round(conversations * 0.3 * rng.uniform(0.5, 1.5))
    for kpi, value in (
        ("prospecting", prospecting),
        ("conversations", conversations),
        ("meaningful_conversations", meaningful),
    ):
        if value:
            yield person.id, day, kpi, float(value), True
    for kpi, chance, mean in HISTORY_OUTCOMES:
        if rng.random() < chance * person.skill:
            value = max(1, round(mean * rng.uniform(0.5, 1.5)))
            yield person.id, day, kpi, float(value), True
            if kpi == "wins":
                amount = float(value * round(25_000 * rng.uniform(0.4, 1.6)))
                yield person.id, day, "won_amount", amount, True


def _write_history(
    writer: _BulkWriter,
    spec: OrgSpec,
    people: Sequence[_Person],
    days: Sequence[date],
    rng: random.Random,
) -> None:
    def rows() -> Iterator[tuple[Any, ...]]:
        for person in people:
            for day in days:
                per_day = rng.randint(spec.per_day_min, spec.per_day_max)
                yield from _history_row(person, day, per_day, rng)

    writer.write("dailysnapshot", ("rep_id", "day", "kpi", "value", "frozen"), rows())


def _local(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(
        UTC
    )


def _write_raw_window(
    writer: _BulkWriter,
    *,
    spec: OrgSpec,
    people: Sequence[_Person],
    days: Sequence[date],
    rng: random.Random,
) -> None:
    """Write the window's raw facts and the snapshots rolled up from them, rep by rep."""
    definitions = default_kpis()
    orders = {
        stage: (order, closed and won, closed and not won) for stage, order, closed, won in STAGES
    }
    next_opp = [1]
    activities: list[tuple[Any, ...]] = []
    snapshots: list[tuple[Any, ...]] = []
    pipeline: list[tuple[Any, ...]] = []
    opportunities: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    activity_columns = (
        "source", "crm_id", "owner_crm_id", "rep_id", "kind", "occurred_at", "day", "duration_s",
        "direction", "outcome", "contact_title", "opportunity_crm_id", "is_deleted", "modified_at",
    )  # fmt: skip
    kinds = [k for k, weight in KIND_MIX for _ in range(weight)]

    def flush() -> None:
        writer.write("activity", activity_columns, iter(activities))
        for table, rows in (("opportunity", opportunities), ("stagechange", changes)):
            if rows:
                writer.write(table, list(rows[0]), (tuple(r.values()) for r in rows))
        writer.write(
            "pipelinesnapshot",
            ("day", "opportunity_id", "rep_id", "stage", "stage_order", "amount"),
            iter(pipeline),
        )
        writer.write("dailysnapshot", ("rep_id", "day", "kpi", "value", "frozen"), iter(snapshots))
        for batch in (activities, snapshots, pipeline, opportunities, changes):
            batch.clear()

    for person in people:
        facts: list[ActivityFact] = []
        for day in days:
            for k in range(rng.randint(spec.per_day_min, spec.per_day_max)):
                kind = kinds[rng.randrange(len(kinds))]
                duration = (
                    rng.choice((0, 20, 45, 90, 200, 420)) if kind in ("call", "meeting") else None
                )
                direction = "inbound" if kind == "call" and rng.random() < 0.1 else "outbound"
                outcome = (
                    ("completed", "no_show", "scheduled")[
                        rng.randrange(3) if rng.random() < 0.3 else 0
                    ]
                    if kind == "meeting"
                    else "completed"
                )
                title = TITLES[rng.randrange(len(TITLES))]
                at = _local(day, 8 + k % 10, k % 60, person.zone)
                activities.append(
                    (SOURCE, f"A{person.n}-{day:%Y%m%d}-{k}", person.crm_id, person.id, kind, at,
                     day, duration, direction, outcome, title, None, False, at)
                )  # fmt: skip
                facts.append(
                    ActivityFact(person.id, day, kind, duration, direction, outcome, title)
                )
        opp_facts, moves = _opportunities(
            spec,
            person=person,
            days=days,
            rng=rng,
            next_id=next_opp,
            orders=orders,
            opportunities=opportunities,
            changes=changes,
            pipeline=pipeline,
        )
        values = rollup(
            definitions,
            activities=facts,
            opportunities=opp_facts,
            stage_moves=moves,
            keep={person.id: days},
        )
        # Days before the rep's local today are frozen; today stays live (as the roll-up does).
        today = local_day(spec.sync_time, ZoneInfo(person.zone))
        for (rep_id, day, kpi), value in sorted(values.items()):
            snapshots.append((rep_id, day, kpi, value, day < today))
        if len(activities) >= 200_000:
            flush()
    flush()


def _opportunities(
    spec: OrgSpec,
    *,
    person: _Person,
    days: Sequence[date],
    rng: random.Random,
    next_id: list[int],
    orders: dict[str, tuple[int, bool, bool]],
    opportunities: list[dict[str, Any]],
    changes: list[dict[str, Any]],
    pipeline: list[tuple[Any, ...]],
) -> tuple[list[OpportunityFact], list[StageMoveFact]]:
    """Create the rep's opportunities of the window (and a few older open ones)."""
    facts: list[OpportunityFact] = []
    moves: list[StageMoveFact] = []
    # (id, stage per window day) for the pipeline snapshots
    open_paths: list[tuple[int, float, dict[date, str]]] = []

    def add(created: date, stage: str, amount: float, won_on: date | None) -> int:
        opp_id = next_id[0]
        next_id[0] += 1
        crm_id = f"O{opp_id}"
        order = orders[stage][0]
        opportunities.append(
            {
                "id": opp_id, "source": SOURCE, "crm_id": crm_id, "owner_crm_id": person.crm_id,
                "rep_id": person.id, "name": f"Deal {opp_id}", "amount": amount, "stage": stage,
                "stage_order": order, "pipeline": "default",
                "created_at": _local(created, 11, 0, person.zone), "created_day": created,
                "close_date": won_on, "is_closed": won_on is not None, "is_won": won_on is not None,
                "is_deleted": False, "modified_at": _local(won_on or created, 12, 0, person.zone),
            }
        )  # fmt: skip
        if created >= days[0]:
            facts.append(
                OpportunityFact(opp_id, person.id, created, amount, won_on is not None, won_on)
            )
        elif won_on is not None:
            facts.append(OpportunityFact(opp_id, person.id, created, amount, True, won_on))
        return opp_id

    def move(opp_id: int, day: date, frm: str, to: str, minute: int) -> None:
        at = _local(day, 15, minute, person.zone)
        changes.append(
            {
                "source": SOURCE, "crm_id": f"H{opp_id}-{to}", "opportunity_crm_id": f"O{opp_id}",
                "from_stage": frm, "to_stage": to, "changed_at": at, "inferred": False,
                "is_deleted": False,
            }
        )  # fmt: skip
        f, t = orders[frm], orders[to]
        moves.append(StageMoveFact(opp_id, person.id, day, at.timestamp(), f[0], t[0], t[1], t[2]))

    for index, day in enumerate(days):
        if rng.random() < 0.35 * person.skill:  # a new opportunity
            amount = float(round(25_000 * rng.uniform(0.4, 1.6)))
            later = days[index + 1 :]
            advance = later[rng.randrange(len(later))] if later and rng.random() < 0.5 else None
            stage = "Qualify" if advance else "Prospect"
            opp_id = add(day, stage, amount, None)
            if advance:
                move(opp_id, advance, "Prospect", "Qualify", index % 60)
            path = {
                d: ("Qualify" if advance and d >= advance else "Prospect") for d in days if d >= day
            }
            open_paths.append((opp_id, amount, path))
        if rng.random() < 0.08 * person.skill:  # an older deal closes won today
            amount = float(round(25_000 * rng.uniform(0.4, 1.6)))
            created = days[0] - timedelta(days=rng.randint(20, 90))
            opp_id = add(created, "Closed Won", amount, day)
            move(opp_id, day, "Negotiation", "Closed Won", 30)
    for _ in range(3):  # older open deals that sit in the pipeline all month
        stage = ("Qualify", "Proposal", "Negotiation")[rng.randrange(3)]
        amount = float(round(25_000 * rng.uniform(0.4, 1.6)))
        created = days[0] - timedelta(days=rng.randint(10, 120))
        opp_id = add(created, stage, amount, None)
        open_paths.append((opp_id, amount, dict.fromkeys(days, stage)))
    for opp_id, amount, path in open_paths:
        for day, stage in path.items():
            pipeline.append((day, opp_id, person.id, stage, orders[stage][0], amount))
    return facts, moves


class _BulkWriter:
    """Bulk rows into one table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw, self.dialect = raw, dialect
        self.cursor = raw.cursor()

    def prepare(self) -> None:
        if self.dialect == "sqlite":
            # A bulk load, not the app's settings: skip fsyncs and give the index pages room.
            self.cursor.execute("PRAGMA synchronous=OFF")
            self.cursor.execute("PRAGMA cache_size=-1000000")
            self.cursor.execute("BEGIN")

    def write(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        count = 0
        if self.dialect == "postgresql":
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with self.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(tuple(_sqlite_value(v) for v in row))
            if len(batch) >= 50_000:
                self.cursor.executemany(sql, batch)
                count += len(batch)
                batch.clear()
        self.cursor.executemany(sql, batch)
        return count + len(batch)

    def finish(self) -> None:
        if self.dialect == "postgresql":
            # Ids were written explicitly: move the sequence past them for later inserts.
            self.cursor.execute(
                "SELECT setval(pg_get_serial_sequence('opportunity', 'id'), "
                "coalesce(max(id), 1)) FROM opportunity"
            )
            self.cursor.execute("ANALYZE")
        else:
            self.cursor.execute("ANALYZE")
            self.cursor.execute("PRAGMA synchronous=NORMAL")


def _sqlite_value(value: Any) -> Any:
    """Store a value the way SQLAlchemy's SQLite types do (ISO dates, naive UTC instants)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--reps", type=int, help="override the size's rep count")
    parser.add_argument("--days", type=int, help="override the days of history (730)")
    args = parser.parse_args(argv)
    spec = SIZES[args.size]
    if args.reps or args.days:
        spec = OrgSpec(reps=args.reps or spec.reps, days=args.days or spec.days)
    engine = make_engine(args.database_url)
    result = ensure_org(engine, spec)
    verb = "reused" if result.reused else "generated"
    print(
        f"{verb} in {result.seconds:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in result.counts.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
