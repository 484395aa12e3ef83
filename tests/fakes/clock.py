"""A simulated clock: ``now()`` for the code under test, ``sleep()`` advances it instantly."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class FakeClock:
    """Simulated time; every requested sleep is recorded and advances the clock."""

    current: datetime
    sleeps: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the simulated instant."""
        with self._lock:
            return self.current

    def timestamp(self) -> float:
        """Return the simulated instant as epoch seconds (for the fake Slack)."""
        return self.now().timestamp()

    def sleep(self, seconds: float) -> None:
        """Record the sleep and move the clock forward by it."""
        with self._lock:
            self.sleeps.append(seconds)
            self.current += timedelta(seconds=max(0.0, seconds))

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (never backwards)."""
        with self._lock:
            self.current = max(self.current, instant)
