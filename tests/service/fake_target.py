"""An in-memory signal target that records every signal it receives."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ajo_workbench.errors import (
    SignalNotAcceptedError,
    SignalThrottledError,
    UnknownCampaignError,
)

TOKEN = "test-token-Zq81_secret"
"""The bearer token of the servers the tests start."""
LIVE = "spring-sale"
"""A live, signal-triggered campaign: every signal starts an execution."""
DRAFT = "draft-campaign"
SCHEDULED = "scheduled-campaign"
THROTTLED = "throttled-campaign"
FAILING = "failing-campaign"
SLOW = "slow-campaign"
SECRET_DETAIL = "kaboom-internal-detail-7f3a"
"""Text of the exception the failing campaign raises; must never reach a client."""


class FakeTarget:
    """Campaigns in memory; ``calls`` lists each (campaign, variables) received."""

    def __init__(self, retry_after: float = 1799.2) -> None:
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every signal received; the slow campaign blocks again."""
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def trigger(self, campaign_id: str, variables: dict[str, Any]) -> str:
        with self._lock:
            self.calls.append((campaign_id, variables))
            number = len(self.calls)
        if campaign_id == DRAFT:
            raise SignalNotAcceptedError(
                campaign_id, f"campaign {campaign_id!r} is not live (status: Draft)"
            )
        if campaign_id == SCHEDULED:
            raise SignalNotAcceptedError(
                campaign_id, f"campaign {campaign_id!r} is not signal-triggered"
            )
        if campaign_id == THROTTLED:
            raise SignalThrottledError(campaign_id, self.retry_after)
        if campaign_id == FAILING:
            raise RuntimeError(SECRET_DETAIL)
        if campaign_id == SLOW:
            self.entered.set()
            self.release.wait(10)
        elif campaign_id != LIVE:
            raise UnknownCampaignError(campaign_id)
        return f"execution-{number}"


T = TypeVar("T")


def in_own_thread(run: Callable[[], T]) -> T:
    """Run ``run()`` in a thread of its own and return what it returns.

    Another test's fixture (Playwright's synchronous API, in the browser tests) may
    keep an event loop running in the main thread for the whole session; a loop of
    our own must then start elsewhere.
    """
    results: list[T] = []
    failures: list[BaseException] = []

    def target() -> None:
        try:
            results.append(run())
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]
    return results[0]
