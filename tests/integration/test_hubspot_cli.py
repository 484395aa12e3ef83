"""`pacesetter sync --source hubspot` from settings and the YAML `hubspot:` section."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

import app
from domain.timeutil import Period, period_to_date
from tests.fakes.hubspot import FakeHubSpot, Portal, SeedSummary, seed_portal
from tests.integration.test_hubspot_sync import LINKEDIN_CALL_TYPES, expected_kpis


@pytest.fixture
def seeded() -> Iterator[tuple[FakeHubSpot, SeedSummary]]:
    portal = Portal(token="pat-na1-cli-test")
    seed = seed_portal(portal, reps=4, calls=300, emails=80, meetings=40, tasks=40, deals=20)
    with FakeHubSpot(portal) as fake:
        yield fake, seed


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        app.main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_cli_sync_from_settings_matches_the_oracle(
    seeded: tuple[FakeHubSpot, SeedSummary],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, seed = seeded
    config = tmp_path / "pacesetter.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "org": {"timezone": "UTC"},
                "hubspot": {
                    "teams": seed.teams,
                    "linkedin_call_types": LINKEDIN_CALL_TYPES,
                    "index_lag_s": 0,
                },
            }
        ),
        encoding="utf-8",
    )
    now = seed.end + timedelta(hours=1)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PACESETTER_CONFIG", str(config))
    monkeypatch.setenv("PACESETTER_NOW", now.isoformat())
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", fake.portal.token)
    monkeypatch.setenv("HUBSPOT_BASE_URL", fake.url)

    code, out, err = run_cli(["sync", "--source", "hubspot"], capsys)
    assert code == 0, err
    assert "sync hubspot" in out + err

    expected = expected_kpis(fake.portal)
    as_of = (seed.end - timedelta(days=1)).date()
    week = period_to_date(Period.WEEK, as_of)
    email = "rep001@example.com"
    code, out, err = run_cli(
        ["stats", "--rep", email, "--period", "week", "--as-of", as_of.isoformat(), "--json"],
        capsys,
    )
    assert code == 0, err
    report = json.loads(out)
    for kpi in ("prospecting", "conversations", "meaningful_conversations"):
        want = sum(v for (e, d, k), v in expected.items() if e == email and k == kpi and d in week)
        assert report["kpis"][kpi]["actual"] == pytest.approx(want), kpi


def test_cli_sync_reports_a_refused_token(
    seeded: tuple[FakeHubSpot, SeedSummary],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, _ = seeded
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "not-the-token")
    monkeypatch.setenv("HUBSPOT_BASE_URL", fake.url)
    code, out, err = run_cli(["sync", "--source", "hubspot"], capsys)
    assert code != 0
    assert "HUBSPOT_ACCESS_TOKEN" in out + err
    assert "Traceback" not in out + err
