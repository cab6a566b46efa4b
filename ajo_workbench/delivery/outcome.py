"""What a provider answered for one message, and retrying the transient answers."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from ajo_workbench.delivery.templates import RenderedMessage

logger = logging.getLogger(__name__)

Status = Literal["sent", "delivered", "bounce", "error"]
FailureType = Literal["hard", "soft"]


@dataclass(frozen=True)
class Outcome:
    """A provider's answer for one message.

    ``transient`` outcomes may succeed when tried again (a full mailbox, a busy
    endpoint); :func:`deliver` retries them.
    """

    status: Status
    failure_type: FailureType | None = None
    failure_reason: str | None = None
    transient: bool = False
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """Whether the provider accepted the message."""
        return self.status in ("sent", "delivered")


SENT = Outcome("sent")


def bounce(reason: str) -> Outcome:
    """A permanent refusal of the recipient: a hard bounce."""
    return Outcome("bounce", "hard", reason)


def hard_error(reason: str) -> Outcome:
    """A permanent failure that is not the recipient's: not worth retrying."""
    return Outcome("error", "hard", reason)


def soft_error(reason: str) -> Outcome:
    """A temporary failure: worth retrying."""
    return Outcome("error", "soft", reason, transient=True)


class Provider(Protocol):
    """Sends one rendered message and says what happened."""

    def send(self, message: RenderedMessage) -> Outcome:
        """Send ``message``; never raises for a refusal, only answers."""
        ...

    def close(self) -> None:
        """Release connections; the provider isn't used afterwards."""
        ...


def deliver(
    provider: Provider,
    message: RenderedMessage,
    *,
    attempts: int = 4,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Send a message, retrying transient outcomes with exponential backoff.

    Parameters
    ----------
    provider
        Where the message goes.
    message
        The rendered message.
    attempts
        Tries at most, the first included (at least 1).
    backoff
        Seconds before the first retry; each later retry waits twice as long.
    sleep
        Waits between tries (injectable for tests).

    Returns
    -------
    Outcome
        The last answer, with ``attempts`` set to the number of tries.

    Raises
    ------
    ValueError
        When ``attempts`` is below 1.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    outcome = provider.send(message)
    tries = 1
    while outcome.transient and tries < attempts:
        delay = backoff * 2 ** (tries - 1)
        logger.debug(
            "message %s: %s (%s), retrying in %.2f s",
            message.message_id,
            outcome.status,
            outcome.failure_reason,
            delay,
        )
        sleep(delay)
        outcome = provider.send(message)
        tries += 1
    return dataclasses.replace(outcome, attempts=tries)
