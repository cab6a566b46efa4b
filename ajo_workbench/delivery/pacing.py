"""Pacing a send to a number of messages per second, on the workspace clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ajo_workbench.clock import Clock


class Pacer:
    """Spaces messages at least ``1 / rate`` seconds apart on the clock.

    A message waits only for the one before it: a slow provider doesn't build up
    credit for a burst later.

    Examples
    --------
    >>> from ajo_workbench.clock import SimulatedClock
    >>> clock = SimulatedClock("2026-12-01T09:00:00+00:00")
    >>> pacer = Pacer(4, clock, lambda seconds: clock.advance(seconds=seconds))
    >>> for _ in range(3):
    ...     pacer.wait()
    >>> clock.now().isoformat()
    '2026-12-01T09:00:00.500000+00:00'
    """

    def __init__(
        self, rate: float | None, clock: Clock, sleep: Callable[[float], None]
    ) -> None:
        if rate is not None and rate < 0:
            raise ValueError(f"rate_per_second must be positive, got {rate}")
        self.interval = timedelta(seconds=1 / rate) if rate else None
        self.clock = clock
        self.sleep = sleep
        self.next_at: datetime | None = None

    def wait(self) -> None:
        """Return once the next message may go."""
        if self.interval is None:
            return
        now = self.clock.now()
        if self.next_at is not None and now < self.next_at:
            self.sleep((self.next_at - now).total_seconds())
            now = max(self.clock.now(), self.next_at)
        self.next_at = now + self.interval
