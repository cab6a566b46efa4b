"""The scheduler: runs the due occurrences of a workspace's scheduled campaigns.

Each scheduled or recurring campaign gets a wake-up on the workspace's clock at its
next due time; on a simulated clock, :meth:`SimulatedClock.advance` runs them in
time order. The service also calls :meth:`Scheduler.run_due` on every tick, so a
notebook and the service may both find an occurrence due: the database lets only
one of them run it.
"""

from __future__ import annotations

import functools
import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from ajo_workbench.engine import Execution
from ajo_workbench.errors import WorkbenchError
from ajo_workbench.model.definition import parse_definition

if TYPE_CHECKING:
    from ajo_workbench.workspace.campaign import Campaign
    from ajo_workbench.workspace.workspace import Workspace

logger = logging.getLogger(__name__)

TIMED = ("once", "recurring")


class Scheduler:
    """Starts the executions of due occurrences; see the module docstring."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._armed: set[tuple[str, datetime]] = set()
        self._lock = threading.Lock()

    def run_due(self) -> list[Execution]:
        """Start every occurrence due now; returns the executions started here."""
        started: list[Execution] = []
        for campaign in self._timed():
            try:
                started += campaign.run_due()
            except WorkbenchError as error:
                self.workspace.journal.log(
                    "error",
                    f"occurrence not started: {error}",
                    campaign_id=campaign.id,
                    action="schedule",
                )
        self.arm()
        return started

    def tick(self) -> None:
        """:meth:`run_due`, for a service's periodic call."""
        self.run_due()

    def arm(self) -> None:
        """Set a wake-up at the next due time of every scheduled campaign."""
        for campaign in self._timed():
            due = campaign.next_due()
            if due is None:
                continue
            key = (campaign.id, due)
            with self._lock:
                if key in self._armed:
                    continue
                self._armed.add(key)
            self.workspace.clock.call_at(due, functools.partial(self._wake, key))

    def _wake(self, key: tuple[str, datetime]) -> None:
        with self._lock:
            self._armed.discard(key)
        try:
            self.run_due()
        except Exception:  # a timer thread must not die silently
            logger.exception("running the due occurrences failed")

    def _timed(self) -> list[Campaign]:
        rows = self.workspace.database.query(
            "SELECT id, definition FROM campaigns WHERE status IN ('scheduled', 'live')"
        )
        return [
            self.workspace.campaign(row["id"])
            for row in rows
            if parse_definition(row["definition"]).schedule.get("type") in TIMED
        ]
