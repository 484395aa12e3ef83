"""The HubSpot client against the fake portal: pacing, retries, the 10k cap and check()."""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import hubspot
import pytest
from hubspot.crm.objects.exceptions import ApiException

from domain.ports import SyncAborted
from integrations.hubspot.client import HubSpotApiError, HubSpotClient, Position, TokenBucket
from integrations.hubspot.options import HubSpotOptions
from integrations.hubspot.source import HubSpotSource
from tests.fakes.hubspot import FakeClock, FakeHubSpot, Portal, iso, seed_portal, to_ms

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(Portal()) as server:
        yield server


def client_for(fake: FakeHubSpot, clock: FakeClock, **options: object) -> HubSpotClient:
    opts = HubSpotOptions(index_lag_s=0, **options)  # type: ignore[arg-type]
    return HubSpotClient(
        fake.portal.token,
        base_url=fake.url,
        options=opts,
        clock=clock.monotonic,
        sleep=clock.sleep,
    )


# pacing ---------------------------------------------------------------------------------------


def _max_in_window(times: list[float], span: float) -> int:
    best = 0
    for i, start in enumerate(times):
        best = max(best, sum(1 for t in times[i:] if t < start + span))
    return best


def test_search_bucket_keeps_every_second_within_the_search_limit() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, 1.0, clock=clock.monotonic, sleep=clock.sleep)
    times = []
    for _ in range(40):
        bucket.acquire()
        times.append(clock.now)
    assert _max_in_window(times, 1.0) <= 5
    assert clock.now == pytest.approx(39 / 4.0)


def test_general_bucket_keeps_every_ten_seconds_within_the_burst_allowance() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100 * 0.9 / 10, 100 * 0.1, clock=clock.monotonic, sleep=clock.sleep)
    times = []
    for _ in range(400):
        bucket.acquire()
        times.append(clock.now)
    assert _max_in_window(times, 10.0) <= 100
    # and it is not slower than it needs to be: 400 calls in about 400 / 9 per second
    assert clock.now < 400 / 9 + 1


def test_client_paces_search_requests(fake: FakeHubSpot) -> None:
    clock = FakeClock()
    client = client_for(fake, clock, search_per_second=5.0)
    times = []
    for _ in range(12):
        client.search("calls", [], sort="hs_lastmodifieddate", properties=[], limit=10)
        times.append(clock.now)
    assert _max_in_window(times, 1.0) <= 6  # one token of burst plus five a second
    assert client.stats.paced_s > 0


def test_fake_enforces_limits_and_paced_client_meets_no_429() -> None:
    """With real time: the fake refuses more than 5 searches a second; the paced client is fine."""
    portal = Portal()
    with FakeHubSpot(portal, enforce_limits=True) as server:
        raw = HubSpotClient(
            portal.token, base_url=server.url, options=HubSpotOptions(max_retries=0)
        )
        raw.search_bucket = TokenBucket(1000.0, 1000.0)  # no pacing

        def burst() -> None:
            for _ in range(10):
                raw.search("calls", [], sort="hs_lastmodifieddate", properties=[], limit=1)

        with pytest.raises(HubSpotApiError, match="429"):
            burst()
        assert server.counts["status:429"] == 1
    with FakeHubSpot(Portal(), enforce_limits=True) as server:
        paced = HubSpotClient(server.portal.token, base_url=server.url)
        for _ in range(8):
            paced.search("calls", [], sort="hs_lastmodifieddate", properties=[], limit=1)
        assert paced.stats.rate_limited == 0
        assert server.counts["status:429"] == 0


# retries --------------------------------------------------------------------------------------


def test_429_with_retry_after_is_honoured_and_counted(fake: FakeHubSpot) -> None:
    clock = FakeClock()
    client = client_for(fake, clock)
    fake.inject(429, count=2, kind="search", retry_after="3")
    page = client.search("calls", [], sort="hs_lastmodifieddate", properties=[], limit=10)
    assert page["total"] == 0
    assert client.stats.rate_limited == 2
    assert client.stats.requests["search"] == 3
    assert fake.counts["status:429"] == 2
    assert clock.sleeps.count(3.0) == 2


def test_429_without_retry_after_backs_off_and_a_daily_429_aborts(fake: FakeHubSpot) -> None:
    clock = FakeClock()
    client = client_for(fake, clock)
    fake.inject(429, count=1, kind="batch_read", policy="SECONDLY")
    assert client.batch_read("contacts", ["1"]) == []
    assert client.stats.retries == 1
    fake.inject(429, count=1, kind="owners", policy="DAILY")
    with pytest.raises(SyncAborted, match="daily"):
        client.owners()


def test_5xx_is_retried_with_bounded_backoff(fake: FakeHubSpot) -> None:
    clock = FakeClock()
    client = client_for(fake, clock, max_retries=3, max_backoff_s=1.0)
    fake.inject(503, count=2, kind="pipelines")
    assert client.pipelines() == []
    assert client.stats.requests["pipelines"] == 3
    fake.inject(500, count=10, kind="pipelines")
    with pytest.raises(HubSpotApiError, match="after 4 attempts"):
        client.pipelines()
    assert max(clock.sleeps) <= 1.0


def test_connection_errors_are_retried_then_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clock = FakeClock()
    client = HubSpotClient(
        "pat",
        base_url=f"http://127.0.0.1:{port}",
        options=HubSpotOptions(max_retries=2),
        clock=clock.monotonic,
        sleep=clock.sleep,
    )
    with pytest.raises(HubSpotApiError, match="connection error"):
        client.owners()
    assert client.stats.requests["owners"] == 3


def test_check_reports_a_refused_token_clearly(fake: FakeHubSpot) -> None:
    clock = FakeClock()
    good = HubSpotSource(client_for(fake, clock))
    fake.portal.add_owner("a@example.com", "A", "B")
    assert good.check().ok
    bad_client = HubSpotClient("wrong", base_url=fake.url, clock=clock.monotonic, sleep=clock.sleep)
    result = HubSpotSource(bad_client).check()
    assert not result.ok
    assert "HUBSPOT_ACCESS_TOKEN" in result.detail
    assert "401" in result.detail


# the fake's own contract ---------------------------------------------------------------------


def test_fake_refuses_paging_past_10000_and_pages_over_200(fake: FakeHubSpot) -> None:
    for n in range(10_050):
        fake.portal.create("calls", {"hs_timestamp": iso(to_ms(T0))}, at_ms=to_ms(T0) + n)
    api = hubspot.Client.create(
        access_token=fake.portal.token, host=fake.url, base_url=fake.url
    ).crm.objects.search_api
    page = api.do_search("calls", {"limit": 200, "after": "9800"})
    assert page.total == 10_050
    assert page.paging.next.after == "10000"
    with pytest.raises(ApiException) as past:
        api.do_search("calls", {"limit": 200, "after": "10000"})
    assert past.value.status == 400
    with pytest.raises(ApiException) as big:
        api.do_search("calls", {"limit": 201})
    assert big.value.status == 400
    assert json.loads(big.value.body)["category"] == "VALIDATION_ERROR"


# keyset walk ------------------------------------------------------------------------------------


def test_keyset_walk_reads_every_record_once_past_the_cap_and_through_a_crowded_instant(
    fake: FakeHubSpot,
) -> None:
    portal = fake.portal
    shared = to_ms(T0) + 5_000_000
    ids = []
    for _ in range(10_400):  # one bulk update touched all of these in the same millisecond
        ids.append(portal.create("calls", {}, at_ms=to_ms(T0), modified_ms=shared))
    for n in range(900):
        ids.append(portal.create("calls", {}, at_ms=to_ms(T0) + n * 7_000))
    for n in range(300):  # a few more instants with 3 records each
        ts = shared + 1 + n // 3
        ids.append(portal.create("calls", {}, at_ms=ts))
    clock = FakeClock()
    client = client_for(fake, clock)
    seen: Counter[str] = Counter()
    positions = []
    until = to_ms(T0) + 10_000_000  # after every record
    for rows, pos in client.changed("calls", [], Position(-1), until_ms=until):
        seen.update(str(r["id"]) for r in rows)
        positions.append(pos)
    assert set(seen) == {str(i) for i in ids}
    assert max(seen.values()) == 1
    assert positions == sorted(positions, key=Position.key)
    minimum = -(-len(ids) // 200)
    assert client.stats.requests["search"] <= minimum * 1.2 + 3
    assert fake.counts["status:400"] == 0
    # nothing new: one request, nothing yielded
    before = client.stats.requests["search"]
    assert list(client.changed("calls", [], positions[-1], until_ms=until)) == []
    assert client.stats.requests["search"] == before + 1


def test_keyset_resumes_mid_instant_without_loss(fake: FakeHubSpot) -> None:
    shared = to_ms(T0)
    ids = {str(fake.portal.create("calls", {}, at_ms=shared)) for _ in range(650)}
    client = client_for(fake, FakeClock())
    walk = client.changed("calls", [], Position(-1), until_ms=shared + 1)
    first_rows, _ = next(walk)
    second_rows, second_pos = next(walk)
    resumed = [
        r for rows, _ in client.changed("calls", [], second_pos, until_ms=shared + 1) for r in rows
    ]
    got = [str(r["id"]) for r in [*first_rows, *second_rows, *resumed]]
    assert sorted(got) == sorted(ids)
    assert len(got) == len(set(got))


def test_records_modified_after_the_window_wait_for_the_next_run(fake: FakeHubSpot) -> None:
    start = to_ms(T0)
    early = fake.portal.create("emails", {}, at_ms=start)
    fake.portal.create("emails", {}, at_ms=start + 120_000)
    now = T0 + timedelta(seconds=90)
    opts = HubSpotOptions(index_lag_s=30, engagement_objects=["emails"])
    source = HubSpotSource(
        HubSpotClient(fake.portal.token, base_url=fake.url, options=opts, sleep=lambda s: None),
        opts,
        now=lambda: now,
    )
    pages = list(source._engagements({}))
    got = [r.crm_id for p in pages for r in p.records]
    assert got == [str(early)]


def test_seeded_portal_answers_every_endpoint_the_source_uses(fake: FakeHubSpot) -> None:
    summary = seed_portal(fake.portal, reps=4, calls=50, emails=20, meetings=10, tasks=10, deals=8)
    clock = FakeClock()
    opts = HubSpotOptions(index_lag_s=0, teams=summary.teams)
    source = HubSpotSource(
        client_for(fake, clock, teams=summary.teams), opts, now=lambda: summary.end + timedelta(1)
    )
    counts = Counter()
    for obj in source.objects():
        for page in source.pages(obj, None):
            counts[obj.value] += len(page.records)
    assert counts["users"] == 6  # 4 reps and 2 managers; the queue is not a user
    assert counts["activities"] == 90
    assert counts["opportunities"] == 8
    assert counts["stages"] == 11
    for kind in ("owners", "pipelines", "search", "batch_read", "associations", "list"):
        assert fake.counts[kind] > 0, kind
