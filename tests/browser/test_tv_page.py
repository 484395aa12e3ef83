"""The TV page polls its JSON feed, cycles boards and splashes a contest win within seconds."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.tv import TvServer
from domain.tv import Board, BoardLine, Splash, SplashKind, TvSnapshot

pytestmark = pytest.mark.browser


NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
BOARDS = (
    Board("month:wins", "Wins", "Month to date", "", (BoardLine(1, "Ava Stone", "East", 3.0),)),
    Board(
        "contest:7", "🏆 Call blitz", "Conversations", "", (BoardLine(1, "Cy Park", "West", 12.0),)
    ),
)


class Feed:
    def __init__(self) -> None:
        self.splashes: tuple[Splash, ...] = (
            Splash("deal:old", SplashKind.BIG_DEAL, "Old news", "", NOW - timedelta(days=1)),
        )

    def snapshot(self) -> TvSnapshot:
        return TvSnapshot("Acme Sales", NOW, BOARDS, self.splashes)


@pytest.fixture
def tv() -> Iterator[tuple[TvServer, Feed]]:
    feed = Feed()
    server = TvServer(feed.snapshot).start()
    yield server, feed
    server.stop()


def test_feed_is_plain_json(tv: tuple[TvServer, Feed]) -> None:
    server, _ = tv
    with urllib.request.urlopen(f"{server.url}/tv.json", timeout=5) as response:
        data = json.load(response)
    assert [b["key"] for b in data["boards"]] == ["month:wins", "contest:7"]
    assert data["splashes"][0]["kind"] == "big_deal"


def test_boards_cycle_and_a_contest_win_splashes(
    tv: tuple[TvServer, Feed], page: Any, shot: Any
) -> None:
    server, feed = tv
    page.goto(f"{server.url}/?cycle=1&poll=0.5&splash=30")
    page.wait_for_selector("table[data-board='month:wins']")
    assert page.locator("#splash").is_hidden(), "a day-old deal is not celebrated on load"
    shot(page, "board")
    page.wait_for_selector("table[data-board='contest:7']")
    shot(page, "contest-board")
    feed.splashes += (
        Splash(
            "contest:7:won", SplashKind.CONTEST_WON, "Cy Park wins Call blitz!", "Prize: Lunch", NOW
        ),
    )
    server.refresh()
    page.wait_for_selector("#splash[data-key='contest:7:won']:not([hidden])", timeout=5_000)
    assert "Cy Park wins Call blitz!" in page.inner_text("#splash")
    page.wait_for_timeout(700)  # let the pop-in animation finish for the screenshot
    shot(page, "splash")
