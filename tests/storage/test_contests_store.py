"""The contest store on SQLite and PostgreSQL: frozen launch data, unique events, SQL reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from domain.contests import Contest, ContestRules, ParticipantSpec, Rule, Scoring, Status
from domain.timeutil import DateRange
from storage.contests import SqlContestStore
from storage.db import session_scope
from storage.models import DailySnapshot, Opportunity, Rep

NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)
MON = date(2026, 11, 16)


def seed(engine: Engine) -> list[int]:
    with session_scope(engine) as session:
        reps = [
            Rep(source="s", crm_user_id=f"u{i}", name=n, email=f"{n.lower()}@x.com", team=t)
            for i, (n, t) in enumerate([("Ana", "East"), ("Bo", "East"), ("Cy", "West")])
        ]
        reps.append(Rep(source="s", crm_user_id="m", name="Max", email="max@x.com", role="manager"))
        session.add_all(reps)
        session.flush()
        ids = [r.id for r in reps if r.id is not None]
        for day in range(3):
            for kpi, value in (("prospecting", 2.0 + day), ("wins", 1.0)):
                session.add(
                    DailySnapshot(
                        rep_id=ids[0], day=MON + timedelta(days=day), kpi=kpi, value=value
                    )
                )
        session.add(
            DailySnapshot(rep_id=ids[1], day=MON - timedelta(days=1), kpi="prospecting", value=9)
        )
        for crm_id, amount, won, closed in (
            ("big", 80_000.0, True, MON),
            ("small", 500.0, True, MON),
            ("old", 90_000.0, True, MON - timedelta(days=30)),
            ("lost", 90_000.0, False, MON),
        ):
            session.add(
                Opportunity(
                    source="s",
                    crm_id=crm_id,
                    rep_id=ids[1],
                    name=crm_id,
                    amount=amount,
                    stage="x",
                    created_at=NOW,
                    close_date=closed,
                    is_closed=True,
                    is_won=won,
                )
            )
        return ids


def test_contest_round_trip_events_and_reads(engine: Engine) -> None:
    ids = seed(engine)
    rules = ContestRules(
        name="Sprint",
        kpi="prospecting",
        rule=Rule.FIRST_TO,
        target=10,
        start=MON,
        end=MON + timedelta(days=4),
        channel="#sales",
        scoring=Scoring.PERCENT,
        participants=ParticipantSpec.parse("team:East"),
        team_contest=True,
        prizes=("$100", "$50"),
    )
    with session_scope(engine) as session:
        store = SqlContestStore(session)
        people = store.people()
        assert [p.name for p in people] == ["Ana", "Bo", "Cy"]  # the manager does not compete
        stored = store.add_contest(
            Contest(rules, tuple(people[:2]), {ids[0]: 40.0, ids[1]: 10.0}, created_by="cli"),
            now=NOW,
        )
        assert stored.id is not None
        contest_id = stored.id
        assert store.add_event(contest_id, key="won", kind="won", at=NOW, data={"a": [1]})
        assert not store.add_event(contest_id, key="won", kind="won", at=NOW, data={"a": [2]})
        store.add_event(contest_id, key="standings:x", kind="standings", at=NOW, data={})
    with session_scope(engine) as session:
        store = SqlContestStore(session)
        again = store.contest(contest_id)
        assert again is not None
        assert again.rules == rules
        assert [p.id for p in again.participants] == ids[:2]
        assert again.denominators == {ids[0]: 40.0, ids[1]: 10.0}
        assert [e.key for e in store.events(contest_id)] == ["won", "standings:x"]
        assert store.events(contest_id, kind="won")[0].data == {"a": [1]}
        store.set_status(contest_id, Status.FINISHED)
    with session_scope(engine) as session:
        store = SqlContestStore(session)
        assert store.contests(statuses=[Status.ACTIVE]) == []
        assert [c.status for c in store.contests()] == [Status.FINISHED]
        window = DateRange(MON, MON + timedelta(days=4))
        assert store.daily_values(ids, window, kpi="prospecting") == {
            ids[0]: {MON: 2.0, MON + timedelta(days=1): 3.0, MON + timedelta(days=2): 4.0}
        }
        deals = store.won_deals(since=MON - timedelta(days=7), min_amount=50_000)
        assert [(d.crm_id, d.amount, d.rep_id) for d in deals] == [("big", 80_000.0, ids[1])]
