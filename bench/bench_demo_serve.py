"""Time `demo --serve`'s moving parts on the demo org: TV feed, /mystats round trip, a day step.

Usage: uv run python bench/bench_demo_serve.py [--commands 10]
Builds a throwaway demo database (20 reps, 120 days), starts the Slack stand-in, the bot and
the TV page on loopback, then measures what a person on the page waits for.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import app
from config import load_app_config, load_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings().model_copy(
            update={"database_url": f"sqlite:///{tmp}/bench.db", "pacesetter_config": None}
        )
        rt = app.Runtime(settings=settings, config=load_app_config(None))
        rt.clock = app.DemoClock(rt.now())
        rt.upgrade()
        started = time.perf_counter()
        app.run_sync(rt.sandbox_source(), rt.sync_store, rt.definitions, now=rt.now)
        print(f"initial sandbox sync: {time.perf_counter() - started:.1f} s")
        services = app.start_demo(rt)
        try:
            feed = []
            for _ in range(20):
                t = time.perf_counter()
                snapshot = rt.tv_snapshot()
                feed.append(time.perf_counter() - t)
            print(
                f"TV feed ({len(snapshot.boards)} boards): median "
                f"{statistics.median(feed) * 1000:.1f} ms, max {max(feed) * 1000:.1f} ms"
            )
            rep = next(m for m in services.members if m.title == "Account Executive")
            acks = []
            for _ in range(args.commands):
                t = time.perf_counter()
                delivery = services.standin.forwarder.command(rep.id, None, "/mystats")
                acks.append(time.perf_counter() - t)
                assert delivery.error is None, delivery
                time.sleep(0.5)
            print(
                f"/mystats signed, sent, acked and shown: median "
                f"{statistics.median(acks) * 1000:.0f} ms, max {max(acks) * 1000:.0f} ms"
            )
            time.sleep(3)
            t = time.perf_counter()
            print(app.demo_advance(services, 1))
            print(f"advance 1 day (sync + jobs): {time.perf_counter() - t:.1f} s")
        finally:
            services.stop()


if __name__ == "__main__":
    main()
