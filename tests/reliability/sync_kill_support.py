"""The kill campaign: kill a real sync at random ticks, check the cursor after every kill,
resume, and compare the end state with an uninterrupted run and the fake org's own count."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from tests.conftest import truncate_all
from tests.fakes.hubspot import FakeHubSpot, Portal, SeedSummary, seed_portal
from tests.fakes.salesforce import OUTCOME_FIELD, FakeSalesforce, seed_org
from tests.integration import salesforce_support as sf
from tests.integration import test_hubspot_sync as hs
from tests.reliability.faults_support import (
    Harness,
    Killed,
    KillSwitch,
    duplicates,
    hubspot_cursor_gaps,
    hubspot_harness,
    hubspot_live_ids,
    inconsistent_days,
    live,
    salesforce_cursor_gaps,
    salesforce_harness,
    salesforce_live_ids,
    stored_ids,
)


@dataclass
class Connector:
    """A connector wired to its seeded fake, with its independent oracle and cursor check."""

    harness: Harness
    state: Callable[[Engine], dict[str, Any]]
    cursor_gaps: Callable[[Engine], list[str]]
    expected_ids: Callable[[], dict[str, set[str]]]
    expected_kpis: Callable[[], dict[Any, float]]
    snapshots: Callable[[Engine], dict[Any, float]]
    now: datetime
    cli: Callable[[Path, str], CliTarget]
    """Build the environment of `pacesetter sync` (a tmp dir, DATABASE_URL) for this fake."""
    fake: Any
    with_options: Callable[..., Harness]
    """The same connector with some options changed (HubSpot also takes ``timeout``)."""


@contextmanager
def salesforce_connector(*, reps: int, days: int, max_batch: int) -> Iterator[Connector]:
    """A seeded fake Salesforce org over HTTPS and the real connector."""
    clock = sf.Clock()
    fake = FakeSalesforce(clock=clock, max_batch=max_batch).start()
    try:
        seed_org(fake, now=sf.NOW, reps=reps, days=days, seed=3)
        yield Connector(
            harness=salesforce_harness(fake, clock),
            state=sf.state,
            cursor_gaps=lambda engine: salesforce_cursor_gaps(engine, fake),
            expected_ids=lambda: salesforce_live_ids(fake),
            expected_kpis=lambda: sf.expected_kpis(fake),
            snapshots=sf.snapshots,
            now=clock.now,
            cli=lambda tmp, url: salesforce_cli(fake, tmp, url),
            fake=fake,
            with_options=lambda **options: salesforce_harness(fake, clock, **options),
        )
    finally:
        fake.stop()


@contextmanager
def hubspot_connector(*, calls: int, page: int) -> Iterator[Connector]:
    """A seeded fake HubSpot portal over HTTP and the real connector."""
    portal = Portal()
    seed = seed_portal(
        portal,
        reps=4,
        calls=calls,
        bulk_calls=calls // 2,  # one instant shared by more records than a page holds
        emails=calls // 5,
        meetings=calls // 10,
        tasks=calls // 10,
        deals=max(10, calls // 15),
        contacts=max(30, calls // 5),
        days=8,
    )
    with FakeHubSpot(portal) as fake:
        harness = hubspot_harness(fake, seed, search_page_size=page)
        yield Connector(
            harness=harness,
            state=hs.stored_state,
            cursor_gaps=lambda engine: hubspot_cursor_gaps(engine, fake),
            expected_ids=lambda: hubspot_live_ids(fake),
            expected_kpis=lambda: hs.expected_kpis(portal),
            snapshots=hs.snapshot_totals,
            now=harness.now(),
            cli=lambda tmp, url: hubspot_cli(fake, seed, tmp, url),
            fake=fake,
            with_options=lambda **options: hubspot_harness(
                fake, seed, **{"search_page_size": page, **options}
            ),
        )


@dataclass
class CampaignResult:
    """What a kill campaign did and found."""

    kills: Counter[str] = field(default_factory=Counter)
    runs: int = 0
    chains: int = 0
    ticks_per_clean_run: int = 0
    cursor_checks: int = 0
    cursor_gaps: list[str] = field(default_factory=list)
    half_written_days: list[str] = field(default_factory=list)
    duplicate_rows: int = 0
    records: int = 0

    @property
    def total_kills(self) -> int:
        """Return how many kills were injected."""
        return sum(self.kills.values())

    def line(self, label: str) -> str:
        """Return the figures as one line for the test output."""
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.kills.items()))
        return (
            f"{label}: {self.total_kills} kills ({kinds}) over {self.chains} resumed chains, "
            f"{self.runs} sync runs, {self.ticks_per_clean_run} kill points per clean run, "
            f"{self.records} records; after every kill: {self.cursor_checks} cursor checks, "
            f"{len(self.cursor_gaps)} records behind the cursor missing, "
            f"{len(self.half_written_days)} half-written days; "
            f"{self.duplicate_rows} duplicated rows; end state equal to a clean run every time"
        )


def assert_same_state(got: dict[str, Any], clean: dict[str, Any], where: str) -> None:
    """Fail naming the rows that differ from an uninterrupted run's."""
    for table, rows in clean.items():
        if got[table] == rows:
            continue
        missing = sorted(set(rows) - set(got[table]), key=repr)[:5]
        extra = sorted(set(got[table]) - set(rows), key=repr)[:5]
        raise AssertionError(
            f"{where} ended elsewhere in {table}: missing {missing}, extra {extra}"
        )


def verify_complete(engine: Engine, connector: Connector) -> int:
    """Check a finished sync against the fake org's own count; return the records stored."""
    stored = stored_ids(engine)
    expected = connector.expected_ids()
    for table, ids in expected.items():
        assert live(stored[table]) == ids, f"{table}: stored live ids differ from the CRM's"
    assert connector.snapshots(engine) == connector.expected_kpis()
    assert duplicates(engine) == dict.fromkeys(duplicates(engine), 0)
    return sum(len(v) for v in stored.values())


def kill_campaign(
    engine: Engine,
    connector: Connector,
    *,
    kills: int,
    seed: int,
    check_days_every: int = 1,
) -> CampaignResult:
    """Kill the sync ``kills`` times at random ticks, resuming after each, and check it all."""
    result = CampaignResult()
    switch = KillSwitch()
    stop_watching = switch.watch(engine)
    try:
        truncate_all(engine)
        before = Counter(switch.seen)
        connector.harness.run(engine, switch)
        result.runs += 1
        per_kind = Counter(switch.seen)
        per_kind.subtract(before)
        result.ticks_per_clean_run = sum(per_kind.values())
        kinds = sorted(k for k, n in per_kind.items() if n > 0)
        clean = connector.state(engine)
        result.records = verify_complete(engine, connector)
        rng = random.Random(seed)
        while result.total_kills < kills:
            truncate_all(engine)
            result.chains += 1
            while True:
                if result.total_kills < kills:
                    # Each kind of kill point equally often, at a random one of its kind.
                    kind = rng.choice(kinds)
                    switch.arm(rng.randint(1, per_kind[kind]), kind)
                else:
                    switch.disarm()
                result.runs += 1
                try:
                    connector.harness.run(engine, switch)
                except Killed as killed:
                    result.kills[str(killed)] += 1
                    result.cursor_checks += 1
                    result.cursor_gaps += connector.cursor_gaps(engine)
                    result.duplicate_rows += sum(duplicates(engine).values())
                    if result.total_kills % check_days_every == 0:
                        result.half_written_days += inconsistent_days(
                            engine, connector.harness.org_timezone, connector.now
                        )
                    continue
                switch.disarm()  # the resumed run finished before the chosen tick
                break
            assert_same_state(connector.state(engine), clean, f"chain {result.chains}")
        verify_complete(engine, connector)
    finally:
        switch.disarm()
        stop_watching()
    return result


# real SIGKILL of `pacesetter sync` ----------------------------------------------------------------


@dataclass
class CliTarget:
    """How to run `pacesetter sync` against a fake from a child process."""

    source: str
    env: dict[str, str]
    calls: Callable[[], int]


def salesforce_cli(fake: FakeSalesforce, tmp: Path, database_url: str) -> CliTarget:
    """Environment for `pacesetter sync --source salesforce` against the fake org."""
    config = tmp / "pacesetter.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "org": {"timezone": sf.TZ},
                "salesforce": {"event_outcome_field": OUTCOME_FIELD, "batch_size": 200},
            }
        ),
        encoding="utf-8",
    )
    env = {
        "DATABASE_URL": database_url,
        "PACESETTER_CONFIG": str(config),
        "PACESETTER_NOW": sf.NOW.isoformat(),
        "SALESFORCE_INSTANCE_URL": fake.url,
        "SALESFORCE_ACCESS_TOKEN": fake.new_session(),
        "REQUESTS_CA_BUNDLE": fake.ca_file,
    }
    return CliTarget("salesforce", env, lambda: fake.api_calls)


def hubspot_cli(fake: FakeHubSpot, seed: SeedSummary, tmp: Path, database_url: str) -> CliTarget:
    """Environment for `pacesetter sync --source hubspot` against the fake portal."""
    config = tmp / "pacesetter.yml"
    options = {
        "teams": seed.teams,
        "linkedin_call_types": hs.LINKEDIN_CALL_TYPES,
        "index_lag_s": 0,
        "search_page_size": 100,
        "search_per_second": 10_000,  # the fake does not rate-limit here; don't wait for real
        "burst_per_10s": 100_000,
    }
    config.write_text(
        yaml.safe_dump({"org": {"timezone": "UTC"}, "hubspot": options}), encoding="utf-8"
    )
    env = {
        "DATABASE_URL": database_url,
        "PACESETTER_CONFIG": str(config),
        "PACESETTER_NOW": (seed.end + timedelta(hours=1)).isoformat(),
        "HUBSPOT_ACCESS_TOKEN": fake.portal.token,
        "HUBSPOT_BASE_URL": fake.url,
    }
    return CliTarget("hubspot", env, fake.requests)


def start_sync(target: CliTarget) -> subprocess.Popen[bytes]:
    """Start `pacesetter sync` in a child process (its own session, so SIGKILL hits only it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_"))}
    env.update(target.env)
    env.pop("SLACK_BOT_TOKEN", None)
    exe = Path(sys.executable).with_name("pacesetter")
    return subprocess.Popen(
        [str(exe), "sync", "--source", target.source],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def run_to_end(target: CliTarget) -> str:
    """Run `pacesetter sync` to completion; return its output (it must succeed)."""
    proc = start_sync(target)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    return out.decode() + err.decode()


def kill_mid_run(target: CliTarget, after_calls: int) -> bool:
    """SIGKILL `pacesetter sync` once the fake has answered ``after_calls`` more API calls;
    return False when the run finished first."""
    start = target.calls()
    proc = start_sync(target)
    while proc.poll() is None:
        if target.calls() - start >= after_calls:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            proc.communicate()
            return True
        time.sleep(0.001)
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    return False


def sigkill_campaign(
    engine: Engine, connector: Connector, target: CliTarget, *, kills: int, seed: int
) -> CampaignResult:
    """SIGKILL `pacesetter sync` at random API calls ``kills`` times, resuming after each."""
    result = CampaignResult()
    truncate_all(engine)
    start = target.calls()
    run_to_end(target)
    result.runs += 1
    total_calls = target.calls() - start
    result.ticks_per_clean_run = total_calls
    clean = connector.state(engine)
    result.records = verify_complete(engine, connector)
    rng = random.Random(seed)
    while result.total_kills < kills:
        truncate_all(engine)
        result.chains += 1
        while result.total_kills < kills:
            result.runs += 1
            if not kill_mid_run(target, rng.randint(1, total_calls)):
                break
            result.kills["SIGKILL"] += 1
            result.cursor_checks += 1
            result.cursor_gaps += connector.cursor_gaps(engine)
            result.duplicate_rows += sum(duplicates(engine).values())
            result.half_written_days += inconsistent_days(
                engine, connector.harness.org_timezone, connector.now
            )
        else:
            result.runs += 1
            run_to_end(target)
        assert connector.state(engine) == clean, f"chain {result.chains} ended elsewhere"
    verify_complete(engine, connector)
    return result
