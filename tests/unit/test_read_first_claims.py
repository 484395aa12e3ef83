"""Read-first listeners: the claim runs beside the reads, and nothing is sent until it is won.

`after_ack(work, reads_first=True)` is what `/mystats` and `/leaderboard` run under; the
signed-HTTP resend tests (tests/reliability/test_slack_retries.py) prove one answer per
command end to end. These pin down the cases they cannot reach: a claim lost or failed while
the reads go on, and an error in a copy that lost its claim.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt import BoltContext

from bot import dedupe
from bot.errors import after_ack
from storage.db import DatabaseUnavailable

BODY = {"command": "/mystats", "trigger_id": "T1", "response_url": "https://hooks/1"}


class Replies:
    """Stands in for Bolt's ``respond``: records what would reach Slack."""

    def __init__(self) -> None:
        self.response_url = BODY["response_url"]
        self.sent: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


def run(work: Any, claim: Any) -> Replies:
    """Run ``work`` as a read-first lazy listener with ``claim`` as the request ledger."""
    replies = Replies()
    context = BoltContext({dedupe.CLAIM_KEY: dedupe.Claimer(claim)})
    listener = after_ack(work, reads_first=True)
    listener(
        body=BODY,
        command=BODY,
        view=None,
        event=None,
        action=None,
        context=context,
        respond=replies,
        client=None,
        logger=logging.getLogger("test"),
    )
    return replies


def test_the_reads_start_before_the_claim_is_settled_and_the_answer_waits_for_it() -> None:
    claim_may_finish = threading.Event()
    order: list[str] = []

    def claim(key: str) -> bool:
        assert key == "command:T1"
        claim_may_finish.wait(5)
        order.append("claimed")
        return True

    def work(respond: Any) -> None:
        order.append("read")  # the claim is still running: the reads did not wait for it
        claim_may_finish.set()
        respond(text="your scorecard")
        order.append("answered")

    replies = run(work, claim)
    assert order == ["read", "claimed", "answered"]
    assert replies.sent == [{"text": "your scorecard"}]


def test_a_copy_that_loses_its_claim_sends_nothing_even_after_reading() -> None:
    read: list[str] = []

    def work(respond: Any) -> None:
        read.append("scorecard")
        respond(text="your scorecard")
        read.append("chart")  # never reached: the answer was refused

    replies = run(work, lambda key: False)
    assert read == ["scorecard"]
    assert replies.sent == []


def test_a_failing_read_is_reported_once_by_the_winner_and_not_by_a_copy() -> None:
    def work(respond: Any) -> None:
        raise RuntimeError("the metrics store broke")

    winner = run(work, lambda key: True)
    assert len(winner.sent) == 1
    assert "Something went wrong" in winner.sent[0]["text"]
    assert run(work, lambda key: False).sent == []


def test_a_claim_that_cannot_be_made_is_reported_and_nothing_else_is_sent() -> None:
    def claim(key: str) -> bool:
        raise DatabaseUnavailable("Cannot reach the database; check DATABASE_URL")

    def work(respond: Any) -> None:
        respond(text="your scorecard")

    replies = run(work, claim)
    assert len(replies.sent) == 1
    assert "Something went wrong" in replies.sent[0]["text"]
    assert "your scorecard" not in replies.sent[0]["text"]
