"""Headless Chromium for end-to-end tests: Debian's /usr/bin/chromium driven by playwright.

Tests here are marked `browser` and skip with a reason when Chromium is not installed
(`.ci/run` installs it). Screenshots of each step go to `test-artifacts/` (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip this folder's tests (each module is marked `browser`) when Chromium is missing."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents and not CHROMIUM.exists():
            item.add_marker(
                pytest.mark.skip(
                    reason="/usr/bin/chromium is missing: `apt-get install -y chromium` "
                    "(.ci/run does it) to run the browser tests"
                )
            )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Launch Debian's Chromium once per session (never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    os.environ.pop("HTTP_PROXY", None)
    os.environ.pop("http_proxy", None)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page at a laptop-sized viewport."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Any:
    """Return a function saving a numbered screenshot of a step under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    counter = iter(range(1, 100))

    def save(tab: Any, step: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{next(counter):02d}-{step}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return save
