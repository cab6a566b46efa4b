"""Clocks: all time in a workspace goes through one.

The real clock reads the system time. A :class:`SimulatedClock` only moves when told
to, so tests, tutorials and demos can travel through time deterministically.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """The real clock, in UTC."""

    simulated = False

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        return datetime.now(UTC)


class SimulatedClock(Clock):
    """A clock that stands still until :meth:`advance` moves it.

    Examples
    --------
    >>> clock = SimulatedClock("2026-12-01T09:00:00+00:00")
    >>> clock.advance(days=1, hours=2).isoformat()
    '2026-12-02T11:00:00+00:00'
    """

    simulated = True

    def __init__(self, start: str | datetime) -> None:
        moment = datetime.fromisoformat(start) if isinstance(start, str) else start
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        self._now = moment
        self._lock = threading.Lock()
        self._listeners: list[Callable[[datetime], None]] = []

    def now(self) -> datetime:
        """The simulated current time."""
        with self._lock:
            return self._now

    def on_advance(self, listener: Callable[[datetime], None]) -> None:
        """Call ``listener(now)`` after every move of the clock."""
        self._listeners.append(listener)

    def advance(
        self,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> datetime:
        """Move the clock forward and notify listeners; returns the new time."""
        step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if step < timedelta(0):
            raise ValueError(f"a clock only moves forward, got a step of {step}")
        with self._lock:
            self._now += step
            moment = self._now
        for listener in list(self._listeners):
            listener(moment)
        return moment
