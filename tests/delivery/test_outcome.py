"""Retrying transient outcomes with exponential backoff."""

from __future__ import annotations

import pytest

from ajo_workbench.delivery import Outcome, RenderedMessage, deliver
from ajo_workbench.delivery.outcome import SENT, bounce, soft_error

MESSAGE = RenderedMessage("sms", "+33600000000", None, "hi", message_id="m1")


class Scripted:
    """A provider that gives the scripted answers in turn."""

    def __init__(self, *answers: Outcome) -> None:
        self.answers = list(answers)
        self.sent: list[str] = []

    def send(self, message: RenderedMessage) -> Outcome:
        self.sent.append(message.message_id)
        return self.answers.pop(0)

    def close(self) -> None:
        """Nothing to release."""


def test_transient_outcomes_are_retried_with_growing_delays() -> None:
    delays: list[float] = []
    provider = Scripted(soft_error("busy"), soft_error("busy"), SENT)
    outcome = deliver(provider, MESSAGE, sleep=delays.append)
    assert (outcome.status, outcome.attempts) == ("sent", 3)
    assert delays == [0.5, 1.0]
    assert provider.sent == ["m1", "m1", "m1"]


def test_the_last_outcome_is_returned_after_every_attempt() -> None:
    delays: list[float] = []
    provider = Scripted(*[soft_error(f"busy {n}") for n in range(4)])
    outcome = deliver(provider, MESSAGE, attempts=4, backoff=0.25, sleep=delays.append)
    assert (outcome.status, outcome.failure_type, outcome.attempts) == (
        "error",
        "soft",
        4,
    )
    assert outcome.failure_reason == "busy 3"
    assert delays == [0.25, 0.5, 1.0]


def test_permanent_outcomes_are_not_retried() -> None:
    delays: list[float] = []
    outcome = deliver(Scripted(bounce("no such user")), MESSAGE, sleep=delays.append)
    assert (outcome.status, outcome.failure_type, outcome.attempts) == (
        "bounce",
        "hard",
        1,
    )
    assert delays == []
    assert not outcome.ok


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts must be at least 1, got 0"):
        deliver(Scripted(SENT), MESSAGE, attempts=0)
