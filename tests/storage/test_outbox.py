"""The outbox, job runs and run locks on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from domain.ports import OutboundMessage
from storage.db import session_scope
from storage.job_store import SqlJobStore
from storage.locks import run_lock_for
from storage.models import DailySnapshot, Delivery, Rep
from storage.outbox import SqlOutboxStore

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def msg(key: str, channel: str = "U1") -> OutboundMessage:
    return OutboundMessage(
        key=key, channel=channel, text=f"text {key}", blocks=[{"type": "divider"}]
    )


def test_enqueue_is_unique_by_key(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert SqlOutboxStore(session).enqueue([msg("a"), msg("b")], now=NOW) == 2
    with session_scope(engine) as session:
        assert SqlOutboxStore(session).enqueue([msg("b"), msg("c")], now=NOW) == 1
        assert SqlOutboxStore(session).counts() == {"pending": 3}


def test_claim_send_retry_and_doubt(engine: Engine) -> None:
    with session_scope(engine) as session:
        SqlOutboxStore(session).enqueue([msg("a"), msg("b"), msg("c")], now=NOW)
    with session_scope(engine) as session:
        claimed = SqlOutboxStore(session).claim(now=NOW, limit=2, lease=LEASE)
    assert [c.key for c in claimed] == ["a", "b"]
    assert not any(c.in_doubt for c in claimed)
    assert claimed[0].blocks == [{"type": "divider"}] and claimed[0].attempts == 1
    with session_scope(engine) as session:
        store = SqlOutboxStore(session)
        store.mark_sent(claimed[0].id, channel="D1", ts="1.0001", now=NOW)
        store.retry_later(claimed[1].id, not_before=NOW + timedelta(seconds=3), error="429")
        # "c" is claimable; "b" waits for its Retry-After.
        assert [c.key for c in store.claim(now=NOW, limit=10, lease=LEASE)] == ["c"]
    with session_scope(engine) as session:
        store = SqlOutboxStore(session)
        assert store.claim(now=NOW + timedelta(seconds=1), limit=10, lease=LEASE) == []
        again = store.claim(now=NOW + timedelta(seconds=3), limit=10, lease=LEASE)
        assert [(c.key, c.in_doubt, c.attempts) for c in again] == [("b", False, 2)]
        # "c" was claimed and its sender vanished: after the lease it comes back in doubt.
        late = store.claim(now=NOW + LEASE + timedelta(seconds=1), limit=10, lease=LEASE)
        assert [(c.key, c.in_doubt) for c in late] == [("c", True)]
        store.mark_failed(late[0].id, error="channel_not_found")
    with session_scope(engine) as session:
        row = session.execute(select(Delivery).where(Delivery.key == "a")).scalar_one()
        assert (row.status, row.slack_ts, row.slack_channel) == ("sent", "1.0001", "D1")
        assert SqlOutboxStore(session).counts() == {"sent": 1, "sending": 1, "failed": 1}
        # "b" is still `sending` under the lease of its second claim.
        assert SqlOutboxStore(session).next_due() == NOW + timedelta(seconds=3) + LEASE


def test_concurrent_claims_never_share_a_row(engine: Engine) -> None:
    with session_scope(engine) as session:
        SqlOutboxStore(session).enqueue([msg(f"k{i}") for i in range(400)], now=NOW)
    got: list[list[str]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def worker(slot: int) -> None:
        try:
            while True:
                with session_scope(engine) as session:
                    batch = SqlOutboxStore(session).claim(now=NOW, limit=7, lease=LEASE)
                if not batch:
                    return
                got[slot].extend(c.key for c in batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    keys = [k for part in got for k in part]
    assert len(keys) == 400 and len(set(keys)) == 400


def test_job_runs_claim_each_slot_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        store = SqlJobStore(session)
        assert store.start("nudges", "2026-11-23T08:30Z", now=NOW)
        assert not store.start("nudges", "2026-11-23T08:30Z", now=NOW)
        assert not store.skip("nudges", "2026-11-23T08:30Z", detail="late", now=NOW)
        assert store.skip("digest", "2026-11-23T08:00Z", detail="late", now=NOW)
        store.finish("nudges", "2026-11-23T08:30Z", status="ok", detail="3 queued", now=NOW)
    with session_scope(engine) as session:
        latest = SqlJobStore(session).latest("nudges")
        assert latest is not None and (latest.status, latest.detail) == ("ok", "3 queued")
        skipped = SqlJobStore(session).latest("digest")
        assert skipped is not None and skipped.status == "skipped"


def test_a_dead_runners_slot_is_claimed_again_once_it_is_stale(engine: Engine) -> None:
    slot = "2026-11-23T08:30Z"
    with session_scope(engine) as session:
        assert SqlJobStore(session).start("sync", slot, now=NOW)
    # The runner died: the row says `running` forever unless someone takes it over.
    later = NOW + timedelta(hours=1)
    with session_scope(engine) as session:
        fresh = SqlJobStore(session).start("sync", slot, now=later, stale_before=NOW)
        assert not fresh, "a run that started at the cut-off is not stale yet"
    much_later = NOW + timedelta(hours=4)
    cutoff = much_later - timedelta(hours=3)
    with session_scope(engine) as session:
        assert SqlJobStore(session).start("sync", slot, now=much_later, stale_before=cutoff)
    with session_scope(engine) as session:
        # A second instance racing for the same stale slot loses: the claim moved started_at.
        assert not SqlJobStore(session).start("sync", slot, now=much_later, stale_before=cutoff)
        latest = SqlJobStore(session).latest("sync")
        assert latest is not None and latest.status == "running"
        assert latest.detail is not None and "reclaimed" in latest.detail
        SqlJobStore(session).finish("sync", slot, status="ok", detail="done", now=much_later)
    with session_scope(engine) as session:
        # A finished slot is never claimed again, however old.
        far = much_later + timedelta(days=2)
        assert not SqlJobStore(session).start("sync", slot, now=far, stale_before=far)


def _rep(session: object, n: int, **fields: object) -> Rep:
    rep = Rep(source="sandbox", crm_user_id=f"u{n}", name=f"Rep {n}", email=f"r{n}@x.io", **fields)
    session.add(rep)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return rep


def test_nudge_targets_last_sent_and_preferences(engine: Engine) -> None:
    with session_scope(engine) as session:
        a = _rep(session, 1, slack_user_id="U1", timezone="Asia/Kolkata")
        _rep(session, 2)  # no Slack id: cannot be nudged
        _rep(session, 3, slack_user_id="U3", role="manager")
        a_id = a.id
        SqlOutboxStore(session).enqueue(
            [msg(f"nudge:{a_id}:2026-11-20"), msg(f"nudge:{a_id}:2026-11-23")], now=NOW
        )
    with session_scope(engine) as session:
        store = SqlJobStore(session)
        targets = store.nudge_targets(sent_since=NOW - timedelta(days=3))
        assert [(t.rep_id, t.last_sent) for t in targets] == [(a_id, date(2026, 11, 23))]
        store.set_nudge_preferences(a_id, mode="weekly", snoozed_until=date(2026, 11, 24))
    with session_scope(engine) as session:
        (target,) = SqlJobStore(session).nudge_targets(sent_since=NOW)
        assert (target.nudge_mode, target.snoozed_until) == ("weekly", date(2026, 11, 24))


def test_freeze_past_days_per_rep_zone(engine: Engine) -> None:
    # 2026-11-23 12:00 UTC is already the 24th in Kiritimati, still the 23rd in Pago Pago.
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        east = _rep(session, 1, timezone="Pacific/Kiritimati")
        west = _rep(session, 2, timezone="Pacific/Pago_Pago")
        for rep in (east, west):
            for day in (date(2026, 11, 22), date(2026, 11, 23)):
                session.add(DailySnapshot(rep_id=rep.id, day=day, kpi="prospecting", value=1))
    with session_scope(engine) as session:
        changed = SqlJobStore(session).freeze_past_days(now=now, org_timezone="UTC")
        assert changed == 3
        frozen = {
            (s.rep_id == east.id, s.day.day, s.frozen)
            for s in session.execute(select(DailySnapshot)).scalars()
        }
        assert frozen == {
            (True, 22, True),
            (True, 23, True),
            (False, 22, True),
            (False, 23, False),
        }
        assert SqlJobStore(session).freeze_past_days(now=now, org_timezone="UTC") == 0


def test_run_lock_is_exclusive(engine: Engine) -> None:
    first, second = run_lock_for(engine), run_lock_for(engine)
    with first.hold("nudges", timeout=1) as got:
        assert got
        with second.hold("nudges", timeout=0.2) as blocked:
            assert not blocked
        with second.hold("digest", timeout=0.2) as other:
            assert other
    with second.hold("nudges", timeout=1) as after:
        assert after


@pytest.mark.parametrize("n", [0])
def test_enqueue_nothing(engine: Engine, n: int) -> None:
    with session_scope(engine) as session:
        assert SqlOutboxStore(session).enqueue([], now=NOW) == n
