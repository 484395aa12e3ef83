"""The benchmark org generator writes what the real roll-up would, on SQLite and PostgreSQL.

A tiny org (5 reps, 30 days) keeps the generator from rotting silently: its month-to-date
snapshots must be exactly what the real roll-up computes from its raw facts, its pipeline
snapshot what the snapshot job records, and a second call must reuse the database.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, insert, select, text
from sqlmodel import col

from bench.generate_org import OrgSpec, ensure_org, working_days
from domain.kpis import default_kpis
from storage.db import session_scope
from storage.models import Activity, DailySnapshot, DirtyDay, PipelineSnapshot, Rep
from storage.sync_store import SqlSyncStore

SPEC = OrgSpec(reps=5, days=30)


def _snapshots(engine: Engine, since: object) -> set[tuple[object, ...]]:
    snap = DailySnapshot
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                col(snap.rep_id), col(snap.day), col(snap.kpi), col(snap.value), col(snap.frozen)
            ).where(col(snap.day) >= since)
        )
        return {tuple(r) for r in rows}


def _pipeline(engine: Engine, day: object) -> set[tuple[object, ...]]:
    ps = PipelineSnapshot
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                col(ps.opportunity_id), col(ps.rep_id), col(ps.stage), col(ps.stage_order),
                col(ps.amount),
            ).where(col(ps.day) == day)
        )  # fmt: skip
        return {tuple(r) for r in rows}


def test_generated_window_matches_the_real_rollup_and_is_reused(engine: Engine) -> None:
    first = ensure_org(engine, SPEC)
    assert not first.reused
    assert first.counts["rep"] == 1 + 1 + SPEC.reps  # VP, one manager, the reps

    window = working_days(SPEC.raw_start, SPEC.as_of)
    generated = _snapshots(engine, SPEC.raw_start)
    generated_pipeline = _pipeline(engine, SPEC.as_of)
    assert generated and generated_pipeline

    with engine.begin() as conn:
        rep_ids = list(conn.execute(select(col(Rep.id)).where(col(Rep.role) == "rep")).scalars())
        pairs = [{"rep_id": r, "day": d} for r in rep_ids for d in window]
        conn.execute(insert(DirtyDay), pairs)
    with session_scope(engine) as session:
        store = SqlSyncStore(session)
        assert store.rollup_dirty(default_kpis(), now=SPEC.sync_time, limit=10_000) == len(pairs)
        store.snapshot_pipeline(SPEC.as_of)
    assert _snapshots(engine, SPEC.raw_start) == generated
    assert _pipeline(engine, SPEC.as_of) == generated_pipeline

    again = ensure_org(engine, SPEC)
    assert again.reused
    assert again.counts == first.counts


def test_generated_history_and_hierarchy_are_consistent(engine: Engine) -> None:
    ensure_org(engine, SPEC)
    history = set(working_days(SPEC.first_day, SPEC.raw_start - timedelta(days=1)))
    snap, act = DailySnapshot, Activity
    with engine.connect() as conn:
        before = list(
            conn.execute(
                select(col(snap.rep_id), col(snap.day), col(snap.frozen))
                .distinct()
                .where(col(snap.day) < SPEC.raw_start)
            )
        )
        per_day = list(
            conn.execute(
                select(col(act.rep_id), col(act.day), func.count()).group_by(
                    col(act.rep_id), col(act.day)
                )
            )
        )
        orphans = conn.execute(
            text(
                "SELECT count(*) FROM rep r LEFT JOIN rep m ON m.id = r.manager_id "
                "WHERE r.role = 'rep' AND (m.id IS NULL OR m.role <> 'manager' "
                "OR m.team <> r.team OR r.slack_user_id IS NULL)"
            )
        ).scalar_one()
    assert history and {day for _, day, _ in before} == history
    assert all(frozen for _, _, frozen in before)
    assert len(per_day) == SPEC.reps * len(working_days(SPEC.raw_start, SPEC.as_of))
    assert all(SPEC.per_day_min <= count <= SPEC.per_day_max for _, _, count in per_day)
    assert orphans == 0
