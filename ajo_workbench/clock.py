"""Clocks: all time in a workspace goes through one.

The real clock reads the system time and wakes callbacks with timers. A
:class:`SimulatedClock` only moves when told to: :meth:`SimulatedClock.advance` steps
through every due wake-up in time order and runs it before moving on, so tests,
tutorials and demos travel through time deterministically.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

WakeUp = Callable[[], None]


class Clock:
    """The real clock, in UTC."""

    simulated = False

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        return datetime.now(UTC)

    def stamp(self) -> str:
        """The time now as stored text (ISO 8601 with microseconds and offset)."""
        return self.now().isoformat(timespec="microseconds")

    def call_at(self, moment: datetime, callback: WakeUp) -> None:
        """Run ``callback()`` once the clock reaches ``moment``."""
        delay = max(0.0, (moment - self.now()).total_seconds())
        timer = threading.Timer(delay, callback)
        timer.daemon = True
        timer.start()


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
        self._lock = threading.RLock()
        self._due: list[tuple[datetime, int, WakeUp]] = []
        self._order = itertools.count()
        self._listeners: list[Callable[[datetime], None]] = []

    def now(self) -> datetime:
        """The simulated current time."""
        with self._lock:
            return self._now

    def call_at(self, moment: datetime, callback: WakeUp) -> None:
        """Run ``callback()`` when :meth:`advance` reaches ``moment``."""
        with self._lock:
            heapq.heappush(self._due, (moment, next(self._order), callback))

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
        """Move forward, running due wake-ups in time order; returns the new time.

        A wake-up that schedules another one inside the same step runs too, at its
        own time: advancing two days releases a chain of one-day waits in turn.
        """
        step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if step < timedelta(0):
            raise ValueError(f"a clock only moves forward, got a step of {step}")
        with self._lock:
            target = self._now + step
        while True:
            with self._lock:
                if not self._due or self._due[0][0] > target:
                    self._now = target
                    break
                moment, _, callback = heapq.heappop(self._due)
                self._now = max(self._now, moment)
            callback()
        for listener in list(self._listeners):
            listener(target)
        return target

    @property
    def pending(self) -> list[datetime]:
        """Times of the wake-ups still to come, in order."""
        with self._lock:
            return sorted(moment for moment, _, _ in self._due)
