"""Batched live updates: many change notifications, at most one refresh per interval.

An execution notifies its listeners from its worker thread after every task and
state change. Drawing on each notification would flood the browser on a large
canvas, so a listener only marks the workbench dirty; a timer applies the refresh at
most once per interval, on its own thread, with everything that changed meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ajo_workbench.engine import Execution
    from ajo_workbench.workspace import Campaign

logger = logging.getLogger(__name__)


class Throttle:
    """Run ``apply`` soon after :meth:`mark`, at most once every ``interval`` s."""

    def __init__(self, apply: Callable[[], None], interval: float = 0.2) -> None:
        self.apply = apply
        self.interval = interval
        self.applied = 0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._dirty = False
        self._last = 0.0
        self._closed = False

    def mark(self) -> None:
        """Something changed: schedule a refresh unless one is scheduled already."""
        with self._lock:
            if self._closed:
                return
            self._dirty = True
            if self._timer is not None:
                return
            delay = max(0.0, self._last + self.interval - time.monotonic())
            timer = threading.Timer(delay, self._fire)
            timer.args = (timer,)
            timer.daemon = True
            self._timer = timer
            timer.start()

    def flush(self) -> None:
        """Apply a pending refresh now, on the calling thread."""
        with self._lock:
            timer, self._timer = self._timer, None
            dirty = self._dirty
        if timer is not None:
            timer.cancel()
        if dirty:
            self._run()

    def close(self) -> None:
        """Cancel what is pending and refuse new marks."""
        with self._lock:
            self._closed = True
            self._dirty = False
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _fire(self, timer: threading.Timer) -> None:
        with self._lock:
            if self._timer is not timer:  # flushed or closed meanwhile
                return
            self._timer = None
        self._run()
        with self._lock:
            again = self._dirty
        if again:
            self.mark()

    def _run(self) -> None:
        with self._lock:
            self._dirty = False
            self._last = time.monotonic()
        try:
            self.apply()
        except Exception:  # a failed refresh must not kill later ones
            logger.exception("a live refresh failed")
        self.applied += 1


class Follower:
    """Follows a campaign's executions in this process, marking a throttle on each
    change of the one it follows.

    ``on_new`` is called (before the execution starts) with every new execution of
    the campaign; from then on that execution is the one followed.
    """

    def __init__(
        self,
        campaign: Campaign,
        throttle: Throttle,
        on_new: Callable[[Execution], None],
    ) -> None:
        self.campaign_id = campaign.id
        self.throttle = throttle
        self.on_new = on_new
        self.current: Execution | None = None
        self._listeners = campaign.workspace.execution_listeners
        campaign.workspace.on_execution(self._started)

    def follow(self, execution: Execution) -> None:
        """Follow an execution's changes (and no longer the previous one's)."""
        self.current = execution
        execution.on_change(self._changed)

    def close(self) -> None:
        """Stop following, and cancel what the throttle has pending."""
        if self._started in self._listeners:
            self._listeners.remove(self._started)
        self.current = None
        self.throttle.close()

    def _started(self, execution: Execution) -> None:
        if execution.campaign_id != self.campaign_id:
            return
        self.on_new(execution)
        self.follow(execution)
        self.throttle.mark()

    def _changed(self, execution: Execution) -> None:
        if execution is self.current:  # an older execution may still notify
            self.throttle.mark()


class Watcher:
    """Notices what other processes change in a campaign's records.

    A thread asks the database every ``interval`` seconds whether any connection
    committed since it last looked (SQLite's ``data_version``, a read of one
    counter); only then does it read the campaign's fingerprint — its status and
    definition stamp, its newest execution and state, its newest log line — and
    calls ``on_change`` when that moved. Changes made by this process's executions
    reach the workbench through their listeners already; they move the
    fingerprint too, which costs one more refresh, batched by the throttle.
    """

    def __init__(
        self,
        campaign: Campaign,
        on_change: Callable[[], None],
        interval: float = 1.0,
    ) -> None:
        self.campaign_id = campaign.id
        self.database = campaign.workspace.database
        self.on_change = on_change
        self.interval = interval
        self.seen = self.fingerprint()
        self._version: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name=f"watch {campaign.id}", daemon=True
        )
        self._thread.start()

    def fingerprint(self) -> tuple[object, ...]:
        """What a change by another process moves, read in one query."""
        row = self.database.one(
            "SELECT c.status, c.updated_at,"
            " (SELECT e.id || ' ' || e.state FROM executions e"
            "  WHERE e.campaign_id = c.id ORDER BY e.created_at DESC, e.rowid DESC"
            "  LIMIT 1),"
            " (SELECT max(l.id) FROM logs l WHERE l.campaign_id = c.id)"
            " FROM campaigns c WHERE c.id = ?",
            (self.campaign_id,),
        )
        return tuple(row) if row is not None else ()

    def check(self) -> bool:
        """Look once; returns whether ``on_change`` was called."""
        row = self.database.one("PRAGMA data_version")
        version = int(row[0]) if row is not None else None
        if version is not None and version == self._version:
            return False
        self._version = version
        found = self.fingerprint()
        if found == self.seen:
            return False
        self.seen = found
        self.on_change()
        return True

    def close(self) -> None:
        """Stop watching (the thread ends within one interval)."""
        self._stop.set()

    def _watch(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                if not self.database.path.exists():
                    break  # the workspace was removed
                try:
                    self.check()
                except Exception:  # a missed look is retried at the next one
                    logger.exception("watching campaign %s failed", self.campaign_id)
        finally:
            self.database.close()  # this thread's connection
