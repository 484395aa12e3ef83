"""The dispatcher against a fake Slack over HTTP, driven by slack_sdk's WebClient.

Fan-out with 10% 429s and 1% responses dropped after Slack stored the post: zero duplicates,
zero losses, and no post ever arrives before a Retry-After has passed (the fake refuses and
records any that do). Time is simulated: sleeps advance a fake clock.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from domain.ports import OutboundMessage, OutboxStore
from integrations.slack_poster import WebClientPoster, make_client
from jobs.dispatcher import Dispatcher, DispatchPolicy
from storage.db import make_engine, session_scope
from storage.outbox import SqlOutboxStore
from tests.fakes.clock import FakeClock
from tests.fakes.slack_outbox import FakeSlackOutbox, running

START = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def outbox_unit(engine: Engine) -> Callable[[], AbstractContextManager[OutboxStore]]:
    @contextmanager
    def unit() -> Iterator[OutboxStore]:
        with session_scope(engine) as session:
            yield SqlOutboxStore(session)

    return unit


def enqueue(engine: Engine, count: int, *, channel: str = "U{i:05d}") -> list[str]:
    keys = [f"nudge:{i}:2026-11-23" for i in range(count)]
    with session_scope(engine) as session:
        SqlOutboxStore(session).enqueue(
            [
                OutboundMessage(key=k, channel=channel.format(i=i), text=f"Good morning {i}")
                for i, k in enumerate(keys)
            ],
            now=START,
        )
    return keys


def fan_out(engine: Engine, count: int) -> None:
    clock = FakeClock(START)
    keys = enqueue(engine, count)
    fake = FakeSlackOutbox(rate_limit_rate=0.10, drop_rate=0.01, seed=11, clock=clock.timestamp)
    with running(fake):
        poster = WebClientPoster(make_client("xoxb-test", fake.url))
        dispatcher = Dispatcher(
            outbox_unit(engine),
            poster,
            now=clock.now,
            sleep=clock.sleep,
            policy=DispatchPolicy(per_second=20, burst=20),
        )
        summary = dispatcher.drain(max_wait_s=24 * 3600)
    stored = Counter(fake.sent_keys())
    assert not [k for k, n in stored.items() if n > 1], "a message was posted twice"
    assert set(stored) == set(keys), "a message was lost"
    with session_scope(engine) as session:
        assert SqlOutboxStore(session).counts() == {"sent": count}
    assert len(fake.rate_limits) >= count * 0.05, "the fake should have rate limited ~10%"
    assert fake.early_posts == [], "a post arrived before Retry-After had passed"
    assert summary.rate_limited == len(fake.rate_limits)
    # Every 429's wait was requested as a sleep (possibly merged with pacing waits).
    assert sum(clock.sleeps) >= sum(r.retry_after for r in fake.rate_limits) * 0.99
    assert fake.dropped > 0 and summary.found_already_sent == fake.dropped
    assert summary.sent + summary.found_already_sent == count


def test_fan_out_with_rate_limits_and_lost_responses(engine: Engine) -> None:
    # The light default: 1,000 on SQLite, 300 on PostgreSQL (the heavy test sends 10,000).
    fan_out(engine, 1000 if engine.dialect.name == "sqlite" else 300)


@pytest.mark.heavy
def test_fan_out_10000_nudges(tmp_path: object) -> None:
    from pathlib import Path

    from storage import migrate

    engine = make_engine(f"sqlite:///{Path(str(tmp_path)) / 'heavy.db'}")
    migrate.upgrade(engine)
    fan_out(engine, 10_000)


def test_crash_after_send_is_reconciled_not_resent(engine: Engine) -> None:
    clock = FakeClock(START)
    (key,) = enqueue(engine, 1)
    fake = FakeSlackOutbox(clock=clock.timestamp)
    with running(fake):
        poster = WebClientPoster(make_client("xoxb-test", fake.url))
        # A dispatcher claims the row, posts, and dies before recording the ts.
        with session_scope(engine) as session:
            (claimed,) = SqlOutboxStore(session).claim(
                now=clock.now(), limit=1, lease=timedelta(minutes=5)
            )
        poster.post(claimed.channel, text=claimed.text, blocks=[], key=claimed.key)
        dispatcher = Dispatcher(outbox_unit(engine), poster, now=clock.now, sleep=clock.sleep)
        assert dispatcher.drain().sent == 0  # still leased to the dead sender
        clock.sleep(301)
        summary = dispatcher.drain()
    assert (summary.sent, summary.found_already_sent) == (0, 1)
    assert fake.sent_keys() == [key]
    assert fake.calls.get("conversations.history") == 1
    with session_scope(engine) as session:
        store = SqlOutboxStore(session)
        assert store.counts() == {"sent": 1}


def test_channel_post_in_doubt_is_found_after_joining_not_resent(engine: Engine) -> None:
    clock = FakeClock(START)
    (key,) = enqueue(engine, 1, channel="CCONTESTS")
    fake = FakeSlackOutbox(clock=clock.timestamp)
    with running(fake):
        poster = WebClientPoster(make_client("xoxb-test", fake.url))
        with session_scope(engine) as session:
            (claimed,) = SqlOutboxStore(session).claim(
                now=clock.now(), limit=1, lease=timedelta(minutes=5)
            )
        # Posted with chat:write.public (no membership), then the sender died.
        poster.post(claimed.channel, text=claimed.text, blocks=[], key=claimed.key)
        assert "CCONTESTS" not in fake.joined
        clock.sleep(301)
        summary = Dispatcher(outbox_unit(engine), poster, now=clock.now, sleep=clock.sleep).drain()
    assert (summary.sent, summary.found_already_sent) == (0, 1)
    assert fake.sent_keys() == [key]
    assert fake.joined == {"CCONTESTS"}
    # The first history read was refused (not_in_channel); the one after joining found it.
    assert fake.calls.get("conversations.history") == 2
    assert fake.calls.get("conversations.join") == 1


def test_in_doubt_row_that_never_landed_is_posted_once(engine: Engine) -> None:
    clock = FakeClock(START)
    (key,) = enqueue(engine, 1)
    with session_scope(engine) as session:
        SqlOutboxStore(session).claim(now=clock.now(), limit=1, lease=timedelta(minutes=5))
    clock.sleep(301)
    fake = FakeSlackOutbox(clock=clock.timestamp)
    with running(fake):
        poster = WebClientPoster(make_client("xoxb-test", fake.url))
        summary = Dispatcher(outbox_unit(engine), poster, now=clock.now, sleep=clock.sleep).drain()
    assert (summary.sent, summary.found_already_sent) == (1, 0)
    assert fake.sent_keys() == [key]


def test_permanent_rejection_fails_without_retry(engine: Engine) -> None:
    clock = FakeClock(START)
    enqueue(engine, 2, channel="CMISSING{i}")
    fake = FakeSlackOutbox(clock=clock.timestamp)
    with running(fake):
        poster = WebClientPoster(make_client("xoxb-test", fake.url))
        summary = Dispatcher(outbox_unit(engine), poster, now=clock.now, sleep=clock.sleep).drain(
            max_wait_s=3600
        )
    assert summary.failed == 2 and fake.messages == []
    with session_scope(engine) as session:
        assert SqlOutboxStore(session).counts() == {"failed": 2}


def test_pacing_keeps_one_post_per_second_per_channel(engine: Engine) -> None:
    clock = FakeClock(START)
    enqueue(engine, 5, channel="C0TEAM")
    fake = FakeSlackOutbox(clock=clock.timestamp)
    with running(fake):
        poster = WebClientPoster(make_client("xoxb-test", fake.url))
        Dispatcher(outbox_unit(engine), poster, now=clock.now, sleep=clock.sleep).drain()
    times = [m.at for m in fake.messages]
    assert len(times) == 5
    assert all(b - a >= 0.999 for a, b in itertools.pairwise(times))
