"""Pacing on the clock: fixed spacing, no burst after a slow stretch."""

from __future__ import annotations

import pytest

from ajo_workbench.clock import SimulatedClock
from ajo_workbench.delivery.pacing import Pacer


def test_messages_are_spaced_and_a_slow_stretch_gives_no_burst(
    clock: SimulatedClock,
) -> None:
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        clock.advance(seconds=seconds)

    pacer = Pacer(5, clock, sleep)
    pacer.wait()
    pacer.wait()
    assert delays == [0.2]
    clock.advance(seconds=3)  # the provider was slow
    pacer.wait()
    pacer.wait()
    assert delays == [0.2, 0.2]


def test_no_rate_never_waits(clock: SimulatedClock) -> None:
    for rate in (None, 0):
        pacer = Pacer(rate, clock, pytest.fail)
        for _ in range(3):
            pacer.wait()


def test_a_negative_rate_is_refused(clock: SimulatedClock) -> None:
    with pytest.raises(ValueError, match="rate_per_second must be positive, got -1"):
        Pacer(-1, clock, pytest.fail)
