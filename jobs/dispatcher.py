"""The outbox dispatcher: claim rows, pace posts under Slack's limits, retry, record the ts.

Pacing: a workspace-wide token bucket (Slack keeps an unpublished workspace limit on
chat.postMessage) and at most one post per second per channel. A 429 stops every post until
its Retry-After has passed, and the row is retried after it. A post whose answer was lost is
never posted again blindly: the row stays `sending` (in doubt) and is looked up in the channel
history by the key in its metadata before any new attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.ports import (
    ClaimedDelivery,
    DeliveryRejected,
    DeliveryUncertain,
    OutboxStore,
    Posted,
    RateLimited,
    SlackPoster,
)

log = logging.getLogger(__name__)

MIN_POLL_S = 0.2
OutboxUnit = Callable[[], AbstractContextManager[OutboxStore]]


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    """Rates, lease and retry rules of the dispatcher."""

    per_second: float = 4.0
    burst: int = 8
    channel_interval_s: float = 1.0
    batch: int = 50
    lease: timedelta = timedelta(minutes=5)
    doubt_recheck: timedelta = timedelta(seconds=30)
    max_attempts: int = 8
    backoff_base_s: float = 2.0
    backoff_max_s: float = 600.0


@dataclass(slots=True)
class DispatchSummary:
    """What one dispatch pass did."""

    sent: int = 0
    found_already_sent: int = 0
    rate_limited: int = 0
    retried: int = 0
    in_doubt: int = 0
    failed: int = 0
    waited_s: float = 0.0

    def add(self, other: DispatchSummary) -> None:
        """Add another pass's counts to this one."""
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def line(self) -> str:
        """Return a one-line summary for logs and the CLI."""
        return (
            f"delivered {self.sent} (+{self.found_already_sent} found already posted), "
            f"{self.rate_limited} rate-limited, {self.retried} to retry, "
            f"{self.in_doubt} in doubt, {self.failed} failed"
        )


@dataclass(slots=True)
class Pacer:
    """A token bucket for the workspace plus a per-channel gap, on an injected clock."""

    per_second: float
    burst: int
    channel_interval_s: float
    tokens: float = 0.0
    updated: float | None = None
    blocked_until: float = float("-inf")
    last_post: dict[str, float] = field(default_factory=dict)

    def wait_for(self, channel: str, now: float) -> float:
        """Return how long to wait before posting to ``channel`` at ``now`` (0 = go)."""
        self._refill(now)
        waits = [self.blocked_until - now]
        if self.tokens < 1:
            waits.append((1 - self.tokens) / self.per_second)
        last = self.last_post.get(channel)
        if last is not None:
            waits.append(last + self.channel_interval_s - now)
        return max(0.0, *waits)

    def took(self, channel: str, now: float) -> None:
        """Spend a token for a post to ``channel`` at ``now``."""
        self._refill(now)
        self.tokens -= 1
        self.last_post[channel] = now

    def block(self, seconds: float, now: float) -> None:
        """Stop every post for ``seconds`` (Slack's Retry-After)."""
        self.blocked_until = max(self.blocked_until, now + seconds)

    def _refill(self, now: float) -> None:
        if self.updated is None:
            self.tokens = float(self.burst)
        else:
            self.tokens = min(
                float(self.burst), self.tokens + (now - self.updated) * self.per_second
            )
        self.updated = now


class Dispatcher:
    """Sends what the outbox holds; clock and sleep are injected so tests run on fake time."""

    def __init__(
        self,
        outbox: OutboxUnit,
        poster: SlackPoster,
        *,
        now: Callable[[], datetime],
        sleep: Callable[[float], None],
        policy: DispatchPolicy | None = None,
    ) -> None:
        self.outbox = outbox
        self.poster = poster
        self.now = now
        self.sleep = sleep
        self.policy = policy or DispatchPolicy()
        self.pacer = Pacer(
            self.policy.per_second, self.policy.burst, self.policy.channel_interval_s
        )

    def drain(self, *, max_wait_s: float = 0.0) -> DispatchSummary:
        """Send everything due, waiting up to ``max_wait_s`` in total for rows due later."""
        total = DispatchSummary()
        waited = 0.0
        while True:
            claimed = self.dispatch_once(total)
            if claimed:
                continue
            with self.outbox() as store:
                next_due = store.next_due()
            if next_due is None:
                return total
            # A row due now but not claimable is held by another dispatcher: poll gently.
            delay = max(MIN_POLL_S, (next_due - self.now()).total_seconds())
            if waited + delay > max_wait_s:
                return total
            self._sleep(delay, total)
            waited += delay

    def dispatch_once(self, summary: DispatchSummary | None = None) -> int:
        """Claim one batch and send it; return how many rows were claimed."""
        summary = summary if summary is not None else DispatchSummary()
        with self.outbox() as store:
            batch = store.claim(now=self.now(), limit=self.policy.batch, lease=self.policy.lease)
        for delivery in batch:
            self._deliver(delivery, summary)
        return len(batch)

    def _deliver(self, delivery: ClaimedDelivery, summary: DispatchSummary) -> None:
        try:
            if delivery.in_doubt:
                found = self._paced(delivery.channel, summary, lambda: self._find(delivery))
                if found is not None:
                    self._sent(delivery, found)
                    summary.found_already_sent += 1
                    return
            posted = self._paced(
                delivery.channel,
                summary,
                lambda: self.poster.post(
                    delivery.channel, text=delivery.text, blocks=delivery.blocks, key=delivery.key
                ),
            )
        except RateLimited as exc:
            self.pacer.block(exc.retry_after, self._clock())
            summary.rate_limited += 1
            self._retry(delivery, exc.retry_after, str(exc), in_doubt=delivery.in_doubt)
            return
        except DeliveryUncertain as exc:
            summary.in_doubt += 1
            log.warning("delivery %s in doubt, will look it up: %s", delivery.key, exc)
            self._retry(
                delivery, self.policy.doubt_recheck.total_seconds(), str(exc), in_doubt=True
            )
            return
        except DeliveryRejected as exc:
            if exc.permanent or delivery.attempts >= self.policy.max_attempts:
                summary.failed += 1
                log.error("delivery %s failed for good: %s", delivery.key, exc.error)
                with self.outbox() as store:
                    store.mark_failed(delivery.id, error=exc.error)
                return
            summary.retried += 1
            backoff = min(
                self.policy.backoff_max_s,
                self.policy.backoff_base_s * 2 ** (delivery.attempts - 1),
            )
            self._retry(delivery, backoff, exc.error, in_doubt=delivery.in_doubt)
            return
        self._sent(delivery, posted)
        summary.sent += 1

    def _find(self, delivery: ClaimedDelivery) -> Posted | None:
        return self.poster.find(delivery.channel, key=delivery.key, since=delivery.created_at)

    def _paced(
        self, channel: str, summary: DispatchSummary, call: Callable[[], Posted | None]
    ) -> Posted | None:
        wait = self.pacer.wait_for(channel, self._clock())
        if wait > 0:
            self._sleep(wait, summary)
        self.pacer.took(channel, self._clock())
        return call()

    def _sent(self, delivery: ClaimedDelivery, posted: Posted | None) -> None:
        assert posted is not None
        with self.outbox() as store:
            store.mark_sent(delivery.id, channel=posted.channel, ts=posted.ts, now=self.now())

    def _retry(
        self, delivery: ClaimedDelivery, seconds: float, error: str, *, in_doubt: bool
    ) -> None:
        with self.outbox() as store:
            store.retry_later(
                delivery.id,
                not_before=self.now() + timedelta(seconds=seconds),
                error=error,
                in_doubt=in_doubt,
            )

    def _sleep(self, seconds: float, summary: DispatchSummary) -> None:
        summary.waited_s += seconds
        self.sleep(seconds)

    def _clock(self) -> float:
        return self.now().timestamp()
