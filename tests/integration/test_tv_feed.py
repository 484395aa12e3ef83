"""The real TV feed over a synced sandbox org: public boards only, served as JSON over HTTP."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

import app
from bot.tv import TvServer
from config import AppConfig, OrgConfig, SandboxConfig, Settings
from storage.db import session_scope
from storage.models import Rep

NOW = datetime(2026, 11, 19, 21, 0, tzinfo=UTC)


def test_tv_json_leaves_out_opted_out_reps_and_managers(tmp_path: Path) -> None:
    rt = app.Runtime(
        settings=Settings(database_url=f"sqlite:///{tmp_path / 'tv.db'}", pacesetter_now=NOW),
        config=AppConfig(
            org=OrgConfig(name="Acme Sales", timezone="America/New_York"),
            sandbox=SandboxConfig(seed=5, reps=10, history_days=30),
        ),
    )
    rt.upgrade()
    app.run_sync(rt.sandbox_source(), rt.sync_store, rt.definitions, now=rt.now)
    with session_scope(rt.engine) as session:
        sellers = list(session.execute(select(Rep).where(Rep.role == "rep")).scalars())
        managers = [r.name for r in session.execute(select(Rep).where(Rep.role != "rep")).scalars()]
        leader = max(sellers, key=lambda r: r.id or 0)
        hidden = leader.name
        session.execute(update(Rep).where(Rep.id == leader.id).values(public_opt_out=True))
    tv = TvServer(rt.tv_snapshot).start()
    try:
        with urllib.request.urlopen(f"{tv.url}/tv.json", timeout=10) as response:
            feed = json.load(response)
        with urllib.request.urlopen(f"{tv.url}/", timeout=10) as response:
            assert b"/tv.json" in response.read()
    finally:
        tv.stop()
        rt.engine.dispose()
        rt.read_engine.dispose()
    assert feed["title"] == "Acme Sales" and feed["timezone"] == "America/New_York"
    names = {line["name"] for board in feed["boards"] for line in board["lines"]}
    assert names, "the boards show the sellers"
    text = json.dumps(feed)
    assert hidden not in text
    assert not [m for m in managers if m in text]
    assert set(feed["boards"][0]["lines"][0]) == {"rank", "name", "team", "value"}
