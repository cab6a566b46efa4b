"""Batched refreshes."""

from __future__ import annotations

import itertools
import threading
import time

from ajo_workbench.widgets.live import Throttle


def test_many_marks_make_few_refreshes() -> None:
    applied = threading.Event()
    calls: list[float] = []

    def apply() -> None:
        calls.append(time.monotonic())
        applied.set()

    throttle = Throttle(apply, interval=0.2)
    for _ in range(500):
        throttle.mark()
    assert applied.wait(2)
    time.sleep(0.5)
    assert 1 <= len(calls) <= 2  # the first at once, the rest batched in one
    throttle.close()


def test_refreshes_are_at_least_an_interval_apart() -> None:
    calls: list[float] = []
    throttle = Throttle(lambda: calls.append(time.monotonic()), interval=0.1)
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        throttle.mark()
        time.sleep(0.005)
    time.sleep(0.25)
    throttle.close()
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert 3 <= len(calls) <= 8
    assert min(gaps) >= 0.09


def test_flush_applies_now_and_close_stops_marks() -> None:
    calls: list[int] = []
    throttle = Throttle(lambda: calls.append(1), interval=10)
    throttle.mark()
    throttle.flush()
    assert calls == [1]
    throttle.close()
    throttle.mark()
    throttle.flush()
    time.sleep(0.05)
    assert calls == [1]


def test_a_failing_refresh_does_not_stop_later_ones() -> None:
    calls: list[int] = []

    def apply() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first refresh fails")

    throttle = Throttle(apply, interval=0.01)
    throttle.mark()
    throttle.flush()
    throttle.mark()
    throttle.flush()
    assert len(calls) == 2
