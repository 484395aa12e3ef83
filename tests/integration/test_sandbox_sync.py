"""The sandbox org synced end to end: crash safety, incremental days, and the stats CLI."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

import app
from domain.kpis import default_kpis
from domain.ports import CrmSource, SourceCheck, SyncPage, SyncStore
from domain.records import CrmObject
from integrations.sandbox import SandboxOrg, SandboxSource
from jobs.sync import run_sync
from storage.db import session_scope
from storage.models import Activity, DailySnapshot, Opportunity, Rep, StageChange, SyncState
from storage.sync_store import SqlSyncStore
from tests.conftest import truncate_all

TZ = "America/New_York"
NOW = datetime(2026, 11, 19, 21, 0, tzinfo=UTC)  # a Thursday afternoon in New York


def make_org() -> SandboxOrg:
    return SandboxOrg(seed=11, reps=10, history_days=21, timezone=TZ)


def uow_for(engine: Engine):  # type: ignore[no-untyped-def]
    @contextmanager
    def uow() -> Iterator[SyncStore]:
        with session_scope(engine) as session:
            yield SqlSyncStore(session, org_timezone=TZ)

    return uow


class Crash(RuntimeError):
    """Injected failure."""


class CrashingSource:
    """Wraps a source and raises after ``pages_before_crash`` pages have been yielded."""

    def __init__(self, inner: CrmSource, pages_before_crash: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.remaining = pages_before_crash

    def objects(self) -> Sequence[CrmObject]:
        return self.inner.objects()

    def check(self) -> SourceCheck:
        return self.inner.check()

    def pages(
        self, obj: CrmObject, cursor: str | None, *, full: bool = False
    ) -> Iterator[SyncPage]:
        for page in self.inner.pages(obj, cursor, full=full):
            if self.remaining == 0:
                raise Crash(f"injected failure before a page of {obj.value}")
            self.remaining -= 1
            yield page


def state(engine: Engine) -> dict[str, object]:
    """Return everything a sync writes, in a comparable form."""
    with Session(engine) as session:

        def rows(query):  # type: ignore[no-untyped-def]
            return sorted(tuple(r) for r in session.execute(query))

        return {
            "reps": rows(select(Rep.crm_user_id, Rep.email, Rep.manager_crm_id, Rep.role)),
            "activities": rows(
                select(Activity.crm_id, Activity.day, Activity.kind, Activity.is_deleted)
            ),
            "opportunities": rows(
                select(Opportunity.crm_id, Opportunity.stage, Opportunity.is_won)
            ),
            "stage_changes": rows(select(StageChange.crm_id, StageChange.to_stage)),
            "snapshots": rows(
                select(
                    DailySnapshot.rep_id, DailySnapshot.day, DailySnapshot.kpi, DailySnapshot.value
                )
            ),
            "cursors": rows(select(SyncState.object, SyncState.cursor)),
        }


def sync(engine: Engine, source: CrmSource, now: datetime) -> None:
    run_sync(source, uow_for(engine), default_kpis(), now=lambda: now)


def test_a_crash_between_pages_loses_and_duplicates_nothing(engine: Engine) -> None:
    reference_org = make_org()
    sync(engine, SandboxSource(reference_org, now=lambda: NOW, page_size=397), NOW)
    expected = state(engine)
    total_pages = sum(
        1
        for obj in SandboxSource(reference_org, now=lambda: NOW, page_size=397).objects()
        for _ in SandboxSource(reference_org, now=lambda: NOW, page_size=397).pages(obj, None)
    )
    assert total_pages > 10

    for crash_after in (0, 3, total_pages // 2, total_pages - 1):
        if engine.dialect.name == "postgresql":
            truncate_all(engine)
        else:
            with engine.begin() as conn:
                for table in (
                    "dailysnapshot",
                    "dirtyday",
                    "pipelinesnapshot",
                    "stagechange",
                    "activity",
                    "opportunity",
                    "pipelinestage",
                    "syncstate",
                    "rep",
                ):
                    conn.exec_driver_sql(f"DELETE FROM {table}")
        crashing = CrashingSource(
            SandboxSource(make_org(), now=lambda: NOW, page_size=397), crash_after
        )
        with pytest.raises(Crash):
            sync(engine, crashing, NOW)
        sync(engine, SandboxSource(make_org(), now=lambda: NOW, page_size=397), NOW)
        assert state(engine) == expected, f"state differs after a crash after {crash_after} pages"


def test_a_new_day_adds_activity_and_keeps_the_past(engine: Engine) -> None:
    org = make_org()
    sync(engine, SandboxSource(org, now=lambda: NOW), NOW)
    before = state(engine)
    later = NOW + timedelta(days=1)
    sync(engine, SandboxSource(org, now=lambda: later), later)
    after = state(engine)
    old = {row[0] for row in before["activities"]}  # type: ignore[attr-defined]
    new = {row[0] for row in after["activities"]}  # type: ignore[attr-defined]
    assert old <= new
    assert any("20261120" in crm_id for crm_id in new - old)


SENIOR = re.compile(
    r"\b(VP|Vice President|Director|Head of|Chief|C[A-Z]O|President|Founder|Owner)\b", re.I
)


def independent_week_counts(
    org: SandboxOrg, now: datetime, email: str, start: date, end: date
) -> dict[str, float]:
    """Count DESIGN.md's KPIs straight from the simulated org, without domain.kpis."""
    tz = ZoneInfo(TZ)
    sim = org.simulate(now)
    owner = next(u.crm_id for u in sim.users if u.email == email)
    gone = {crm_id for crm_id, at in sim.deleted_activities if at <= now}
    counts: Counter[str] = Counter()
    for a in sim.activities:
        if a.owner_crm_id != owner or a.crm_id in gone or a.occurred_at is None:
            continue
        if not start <= a.occurred_at.astimezone(tz).date() <= end:
            continue
        kind = a.kind.value
        held = kind == "meeting" and a.outcome not in ("no_show", "canceled", "rescheduled")
        if kind in ("call", "email", "linkedin") and a.direction != "inbound":
            counts["prospecting"] += 1
        if (kind == "call" and (a.duration_s or 0) >= 60) or held:
            counts["conversations"] += 1
        if ((kind == "call" and (a.duration_s or 0) >= 300) or held) and SENIOR.search(
            a.contact_title or ""
        ):
            counts["meaningful_conversations"] += 1
    order = {
        "Prospecting": 1,
        "Qualification": 2,
        "Needs Analysis": 3,
        "Proposal": 4,
        "Negotiation": 5,
        "Closed Won": 6,
        "Closed Lost": 7,
    }
    mine = {o.crm_id: o for o in sim.opportunities if o.owner_crm_id == owner}
    for o in mine.values():
        if start <= o.created_at.astimezone(tz).date() <= end:
            counts["opportunities_created"] += 1
    by_opp_day: dict[tuple[str, date], list] = defaultdict(list)  # type: ignore[type-arg]
    for c in sim.stage_changes:
        if c.opportunity_crm_id in mine:
            by_opp_day[(c.opportunity_crm_id, c.changed_at.astimezone(tz).date())].append(c)
    last_win: dict[str, date] = {}
    for (opp_id, day), changes in sorted(by_opp_day.items(), key=lambda kv: kv[0][1]):
        changes.sort(key=lambda c: c.changed_at)
        final = changes[-1].to_stage
        if any(c.to_stage == "Closed Won" for c in changes):
            last_win[opp_id] = day
        if not start <= day <= end or final == "Closed Lost":
            continue
        if final == "Closed Won" or order[final] > order[changes[0].from_stage]:
            counts["opportunities_advanced"] += 1
    for opp_id, day in last_win.items():
        if mine[opp_id].is_won and start <= day <= end:
            counts["wins"] += 1
            counts["won_amount"] += mine[opp_id].amount or 0
    return dict(counts)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    config = tmp_path / "pacesetter.yml"
    config.write_text(
        f"org:\n  timezone: {TZ}\nsandbox:\n  seed: 11\n  reps: 10\n  history_days: 21\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PACESETTER_CONFIG", str(config))
    monkeypatch.setenv("PACESETTER_NOW", NOW.isoformat())
    return database_url


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        app.main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_stats_json_agrees_with_an_independent_count(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["sync", "--source", "sandbox"], capsys)
    assert code == 0, err
    week_start, as_of = date(2026, 11, 16), date(2026, 11, 19)
    checked = 0
    for email in ("john.miller@example.com", "sally.chen@example.com", "mark.davis@example.com"):
        code, out, err = run_cli(
            ["stats", "--rep", email, "--period", "week", "--as-of", as_of.isoformat(), "--json"],
            capsys,
        )
        assert code == 0, err
        report = json.loads(out)
        assert report["rep"] == email
        assert report["period"]["start"] == week_start.isoformat()
        expected = independent_week_counts(make_org(), NOW, email, week_start, as_of)
        got = {name: kpi["actual"] for name, kpi in report["kpis"].items() if kpi["actual"]}
        assert got == pytest.approx(expected), email
        assert set(report["kpis"]["prospecting"]) >= {
            "actual",
            "goal",
            "expected_to_date",
            "status",
        }
        checked += sum(expected.values())
    assert checked > 100


def test_bad_input_gets_one_line_and_a_non_zero_exit(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(["sync"], capsys)
    code, _, err = run_cli(["stats", "--rep", "nobody@example.com"], capsys)
    assert code == 2 and err.startswith("error: No rep with email 'nobody@example.com'")
    code, _, err = run_cli(
        ["stats", "--rep", "sally.chen@example.com", "--as-of", "2026-02-30"], capsys
    )
    assert code == 2 and "--as-of '2026-02-30' is not a date; use YYYY-MM-DD" in err
    code, _, err = run_cli(["stats", "--rep", "sally.chen@example.com", "--period", "year"], capsys)
    assert code == 2 and "period 'year' is not one of: day, week, month, quarter" in err
    assert all(len(e.strip().splitlines()) == 1 for e in [err])
