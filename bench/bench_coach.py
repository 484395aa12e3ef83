"""Measure `/coach` at scale: the team glance for a manager with 50 reports and a director
with 250, and one rep's brief sections, with the SQL statements each one issues.

Reuses bench_scorecards.py's bulk loader (reps with ``--days`` of daily snapshots), puts 50
reps under each of ``--managers`` managers and the managers under one director, then times
``domain.glance.team_glance`` and ``domain.brief.brief_outlook`` over the real
``storage.metrics`` / ``storage.coach_reads`` queries. The statement count shows the glance
does not loop queries per rep: it stays the same for 50 and 250 reports.

    uv run python bench/bench_coach.py                       # 1,000 reps, 400 days, SQLite
    uv run python bench/bench_coach.py --postgres
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scorecards as loader
from sqlalchemy import event, text

from domain.brief import BriefRules, brief_outlook, peer_group
from domain.glance import team_glance
from domain.scorecard import ScorecardRules, Scorecards
from storage import migrate
from storage.coach_reads import SqlCoachReads
from storage.db import make_engine, session_scope
from storage.directory import SqlDirectory
from storage.metrics import SqlMetricsStore

WHEN = datetime(2026, 11, 19, 21, 0, tzinfo=UTC)
PER_MANAGER = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--managers", type=int, default=5)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with loader.database(args.postgres) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        rep_ids = loader.insert_reps(engine, args.reps)
        rows = loader.insert_snapshots(engine, rep_ids, args.days)
        with engine.begin() as conn:
            director = conn.execute(
                text("UPDATE rep SET role = 'manager' WHERE id = :id RETURNING id"),
                {"id": rep_ids[0]},
            ).scalar_one()
            managers = rep_ids[1 : 1 + args.managers]
            conn.execute(
                text("UPDATE rep SET role = 'manager', manager_id = :d WHERE id = :id"),
                [{"d": director, "id": m} for m in managers],
            )
            sellers = rep_ids[1 + args.managers :]
            conn.execute(
                text("UPDATE rep SET manager_id = :m WHERE id = :id"),
                [
                    {"m": managers[n // PER_MANAGER], "id": rep}
                    for n, rep in enumerate(sellers[: PER_MANAGER * args.managers])
                ],
            )
        print(f"{engine.dialect.name}: {args.reps} reps, {rows:,} snapshot rows")
        statements = [0]

        @event.listens_for(engine, "before_cursor_execute")
        def count(*_: object) -> None:
            statements[0] += 1

        results: dict[str, tuple[float, float, int]] = {}
        with session_scope(engine) as session:
            cards = Scorecards(SqlMetricsStore(session), loader.GOALS, rules=ScorecardRules())
            reads = SqlCoachReads(session)
            directory = SqlDirectory(session)
            rules = BriefRules()

            def measure(name: str, fn: Callable[[], object]) -> None:
                before = statements[0]
                fn()
                issued = statements[0] - before
                median, worst = loader.timed(fn, args.repeat)
                results[name] = (median, worst, issued)

            team = directory.reports_of(managers[0])
            everyone_below = directory.reports_of(director)
            measure(
                f"team glance, manager with {len(team)} reports",
                lambda: team_glance(cards, reads, team, WHEN, rules),
            )
            measure(
                f"team glance, director with {len(everyone_below)} below",
                lambda: team_glance(cards, reads, everyone_below, WHEN, rules),
            )
            rep = team[0]
            peers = peer_group(cards, rep, rules)
            measure(
                "brief sections (quarter, pipeline, 6-week trend), one rep",
                lambda: brief_outlook(cards, reads, rep, peers, WHEN.date()),
            )
        engine.dispose()
    print(f"| measurement ({engine.dialect.name}, {args.reps} reps) | median ms | worst ms "
          "| SQL statements |")  # fmt: skip
    print("|---|---|---|---|")
    for name, (median, worst, issued) in results.items():
        print(f"| {name} | {median:.0f} | {worst:.0f} | {issued} |")


if __name__ == "__main__":
    main()
