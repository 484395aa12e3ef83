"""Measure how fast the bot acknowledges Slack commands while a large org syncs.

Starts the real bot over HTTP (the `pacesetter run --http` server code) against the fake Slack
on loopback, with the sandbox org synced and linked, then syncs a generated large org (``--reps``
reps, ``--days`` days of activity) in a background thread while client threads send signed
/mystats, /leaderboard, /coach, /goal and /pacesetter requests. The ack time is the HTTP
round trip of each request (Slack's 3-second clock); the work after the ack runs in lazy
listeners and is not part of it. Fails (exit 1) when any command's p99 is 1 s or more.

    uv run python bench/bench_ack.py                     # 600 reps x 30 days, SQLite
    uv run python bench/bench_ack.py --reps 300 --requests 200   # quicker
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.server import make_http_server, serve_in_thread
from domain.kpis import default_kpis
from domain.ports import SourceCheck, SyncPage
from domain.records import ActivityKind, ActivityRecord, CrmObject, CrmUser
from jobs.sync import run_sync
from tests.bot.conftest import NOW, SECRET, make_runtime, slack_id, sync_sandbox
from tests.fakes.slack import FakeSlack, SlackSender

COMMANDS = ("/mystats", "/leaderboard", "/coach", "/goal", "/pacesetter")
KINDS = (ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING, ActivityKind.LINKEDIN)
TITLES = ("VP Sales", "Director of IT", "Engineer", "Analyst", "Chief Revenue Officer", None)


class LargeOrg:
    """A generated CRM: ``reps`` reps under managers, ``per_day`` activities each working day."""

    name = "largeorg"

    def __init__(self, reps: int, days: int, per_day: int, page: int = 2000) -> None:
        self.reps, self.days, self.per_day, self.page = reps, days, per_day, page
        self.pages_done = 0

    def objects(self) -> Sequence[CrmObject]:
        return (CrmObject.USERS, CrmObject.ACTIVITIES)

    def check(self) -> SourceCheck:
        return SourceCheck(self.name, True, True, "generated")

    def _users(self) -> list[CrmUser]:
        managers = [
            CrmUser(f"LM{m}", f"Manager {m}", f"lm{m}@large.example", team=f"Team {m}")
            for m in range(max(1, self.reps // 10))
        ]
        reps = [
            CrmUser(
                f"LR{r}", f"Large Rep {r}", f"lr{r}@large.example",
                manager_crm_id=f"LM{r % len(managers)}", team=f"Team {r % len(managers)}",
            )
            for r in range(self.reps)
        ]  # fmt: skip
        return managers + reps

    def _activities(self) -> Iterator[ActivityRecord]:
        rng = random.Random(5)
        for d in range(self.days):
            day = NOW - timedelta(days=d)
            if day.weekday() >= 5:
                continue
            for r in range(self.reps):
                for n in range(self.per_day):
                    yield ActivityRecord(
                        crm_id=f"A{d}-{r}-{n}",
                        owner_crm_id=f"LR{r}",
                        kind=rng.choice(KINDS),
                        occurred_at=day.replace(hour=13) + timedelta(minutes=rng.randrange(360)),
                        duration_s=rng.choice((0, 30, 90, 400)),
                        direction="outbound",
                        outcome="completed",
                        contact_title=rng.choice(TITLES),
                        modified_at=day,
                    )

    def pages(
        self, obj: CrmObject, cursor: str | None, *, full: bool = False
    ) -> Iterator[SyncPage]:
        if obj is CrmObject.USERS:
            yield SyncPage(obj, records=self._users(), cursor="users-done")
            return
        batch: list[ActivityRecord] = []
        for record in self._activities():
            batch.append(record)
            if len(batch) == self.page:
                self.pages_done += 1
                yield SyncPage(obj, records=batch, cursor=f"p{self.pages_done}")
                batch = []
        yield SyncPage(obj, records=batch, cursor="done")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=600)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=10)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as slack:
        rt = make_runtime(f"sqlite:///{tmp}/ack.db", slack)
        rt.upgrade()
        org = sync_sandbox(rt)
        users = []
        for person in org.people(NOW.date()):
            slack.add_user(slack_id(person.user.crm_id), person.user.email, person.user.name)
            users.append(slack_id(person.user.crm_id))
        rt.load_config_goals()
        client = rt.slack_client()
        rt.match_slack_users(client)
        server = make_http_server(rt.bolt_app(client, socket_mode=False), "127.0.0.1", 0)
        serve_in_thread(server)
        sender = SlackSender(f"http://127.0.0.1:{server.server_port}", SECRET, slack)

        source = LargeOrg(args.reps, args.days, args.per_day)
        sync_done = threading.Event()
        sync_time: list[float] = []

        def sync() -> None:
            started = time.monotonic()
            run_sync(source, rt.sync_store, default_kpis(), now=lambda: NOW.astimezone(UTC))
            sync_time.append(time.monotonic() - started)
            sync_done.set()

        times: dict[str, list[float]] = defaultdict(list)
        failures: list[str] = []
        lock = threading.Lock()
        during_sync = [0]

        def client_loop(index: int) -> None:
            rng = random.Random(index)
            for n in range(index, args.requests, args.clients):
                command = COMMANDS[n % len(COMMANDS)]
                user = rng.choice(users)
                text = {"/coach": f"<@{rng.choice(users)}>", "/pacesetter": "help"}.get(command, "")
                started = time.monotonic()
                answer = sender.command(command, text, user)
                elapsed = time.monotonic() - started
                with lock:
                    times[command].append(elapsed)
                    during_sync[0] += 0 if sync_done.is_set() else 1
                    if answer.status_code != 200:
                        failures.append(f"{command}: HTTP {answer.status_code}")
                time.sleep(rng.uniform(0.0, 0.02))

        started_all = time.monotonic()
        syncer = threading.Thread(target=sync)
        syncer.start()
        time.sleep(0.5)  # let the sync take the write lock first
        clients = [threading.Thread(target=client_loop, args=(i,)) for i in range(args.clients)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        syncer.join()
        deadline = time.monotonic() + 120  # let the lazy work finish before the fake goes away

        def answered_count() -> int:
            return len(slack.calls_to("response")) + len(slack.calls_to("views.open"))

        while answered_count() < args.requests and time.monotonic() < deadline:
            time.sleep(0.5)
        answered = answered_count()
        drained = time.monotonic() - started_all
        server.shutdown()

    records = source.pages_done * source.page
    print(
        f"answered after the ack (respond or a modal): {answered} of {args.requests}, "
        f"all done {drained:.1f} s after the first request"
    )
    print(
        f"large org: {args.reps} reps, {args.days} days, ~{records:,} activities synced in "
        f"{sync_time[0]:.1f} s; {sum(len(v) for v in times.values())} commands from "
        f"{args.clients} clients, {during_sync[0]} of them while the sync ran"
    )
    print("| command | requests | p50 | p95 | p99 | max |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for command in COMMANDS:
        values = times[command]
        p99 = percentile(values, 99)
        worst = max(worst, p99)
        print(
            f"| `{command}` | {len(values)} | {1000 * statistics.median(values):.0f} ms | "
            f"{1000 * percentile(values, 95):.0f} ms | {1000 * p99:.0f} ms | "
            f"{1000 * max(values):.0f} ms |"
        )
    if failures:
        print("failures:", *failures[:10], sep="\n  ")
        return 1
    return 0 if worst < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
