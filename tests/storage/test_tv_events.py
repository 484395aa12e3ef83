"""The TV's SQL reads: contests by window and participants, win events, recent big deals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from storage.db import session_scope
from storage.models import Contest, ContestEvent, Opportunity, Rep, StageChange
from storage.tv import SqlTvEvents

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)


def _seed(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        ava = Rep(source="sandbox", crm_user_id="R1", name="Ava", email="ava@x.com", team="East")
        cy = Rep(source="sandbox", crm_user_id="R2", name="Cy", email="cy@x.com", team="West")
        s.add_all([ava, cy])
        s.flush()
        running = Contest(
            name="Blitz",
            kpi="conversations",
            rule="most",
            start_day=date(2026, 11, 16),
            end_day=date(2026, 11, 20),
            participants="team:east",
            channel="#blitz",
            status="active",
            prize="Lunch",
        )
        listed = Contest(
            name="Pair",
            kpi="wins",
            rule="most",
            start_day=date(2026, 11, 1),
            end_day=date(2026, 11, 18),
            participants="ava@x.com, CY@x.com",
            channel="#pair",
            status="finished",
        )
        old = Contest(
            name="Old",
            kpi="wins",
            rule="most",
            start_day=date(2026, 10, 1),
            end_day=date(2026, 10, 31),
            channel="#old",
            status="finished",
        )
        draft = Contest(
            name="Draft",
            kpi="wins",
            rule="most",
            start_day=date(2026, 11, 1),
            end_day=date(2026, 11, 30),
            channel="#d",
            status="draft",
        )
        s.add_all([running, listed, old, draft])
        s.flush()
        s.add_all(
            [
                ContestEvent(
                    contest_id=listed.id,
                    key="won",
                    kind="won",
                    at=NOW - timedelta(hours=3),
                    data={"rep_id": cy.id},
                ),
                ContestEvent(
                    contest_id=old.id,
                    key="won",
                    kind="won",
                    at=NOW - timedelta(days=19),
                    data={"rep_id": ava.id},
                ),
                ContestEvent(contest_id=running.id, key="s1", kind="standings", at=NOW, data={}),
            ]
        )
        for crm_id, amount, closed, rep in (
            ("O1", 120_000.0, date(2026, 11, 19), ava),
            ("O2", 10_000.0, date(2026, 11, 19), ava),
            ("O3", 90_000.0, date(2026, 11, 1), cy),
            ("O4", 75_000.0, date(2026, 11, 18), cy),
        ):
            s.add(
                Opportunity(
                    source="sandbox",
                    crm_id=crm_id,
                    rep_id=rep.id,
                    name=crm_id,
                    amount=amount,
                    stage="Closed Won",
                    created_at=NOW - timedelta(days=40),
                    close_date=closed,
                    is_closed=True,
                    is_won=True,
                )
            )
        s.add(
            StageChange(
                source="sandbox",
                crm_id="O1:1",
                opportunity_crm_id="O1",
                from_stage="Negotiation",
                to_stage="Closed Won",
                changed_at=NOW - timedelta(minutes=30),
            )
        )
        return {"ava": ava.id or 0, "cy": cy.id or 0, "listed": listed.id or 0}


def test_contests_wins_and_deals(engine: Engine) -> None:
    ids = _seed(engine)
    with session_scope(engine) as s:
        events = SqlTvEvents(s)
        contests = {c.name: c for c in events.contests(date(2026, 11, 19))}
        assert set(contests) == {"Blitz", "Pair"}
        assert contests["Blitz"].participant_ids == frozenset({ids["ava"]})
        assert contests["Pair"].participant_ids == frozenset({ids["ava"], ids["cy"]})
        wins = events.contest_wins(NOW - timedelta(days=2))
        assert [(w.contest_id, w.rep_id) for w in wins] == [(ids["listed"], ids["cy"])]
        deals = events.won_deals(NOW - timedelta(days=2), min_amount=50_000)
        by_amount = sorted((d.amount, d.at) for d in deals)
        assert by_amount == [
            (75_000.0, datetime(2026, 11, 18, 12, tzinfo=UTC)),
            (120_000.0, NOW - timedelta(minutes=30)),
        ]
