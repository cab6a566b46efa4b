"""Executions: one run of a canvas, task by task, in a background worker.

An execution runs its activities in dependency order. Each task collects the lazy
work tables its activity returns, counts them exactly, and keeps them for the
transitions that carry them. States follow SPEC §7.2 (tasks) and §7.3 (executions).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import polars as pl

from ajo_workbench.activities import RUNNERS, ActivityContext, Inbound, State, Tables
from ajo_workbench.activities.base import (
    FILE_PREFIX,
    Deferred,
    Mode,
    left_join,
    read_attributes,
)
from ajo_workbench.activities.flow import wait_until
from ajo_workbench.clock import Clock
from ajo_workbench.delivery import Provider, SendLedger, render_message, send_population
from ajo_workbench.engine import nulls
from ajo_workbench.errors import DataError, ExecutionError, WorkbenchError
from ajo_workbench.model.alerts import Alert
from ajo_workbench.model.catalogue import CHANNEL_ADDRESS
from ajo_workbench.model.definition import (
    Activity,
    CampaignDefinition,
    Transition,
    parse_definition,
)
from ajo_workbench.model.graph import descendants, topological_order
from ajo_workbench.storage.journal import Journal
from ajo_workbench.storage.tables import write_parquet_atomically

logger = logging.getLogger(__name__)


class TaskStatus(StrEnum):
    """The state of one task (SPEC §7.2)."""

    NOT_RUN = "not_run"
    RUNNING = "running"
    ATTENTION = "attention"
    SUCCESS = "success"
    ERROR = "error"
    SKIPPED = "skipped"
    ABANDONED = "abandoned"


class ExecutionState(StrEnum):
    """The state of one execution (SPEC §7.3)."""

    RUNNING = "running"
    PAUSED = "paused"
    WAITING = "waiting"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"


FINAL = {ExecutionState.FINISHED, ExecutionState.STOPPED, ExecutionState.FAILED}

STOP_LOOKUP = 0.2
"""Seconds between looks for a stop that another process recorded (such as Stop
campaign in a second notebook while this one sends)."""
CONFIRM_LOOKUP = 0.5
"""Seconds between two looks, while waiting for Confirm send, for confirmations
and stops that other processes recorded."""


@dataclass(frozen=True)
class Sending:
    """What a live execution needs to send its channel activities' messages.

    ``confirm`` makes every channel activity wait in ``attention`` until
    :meth:`Execution.confirm` (unless the activity turns ``send_confirmation`` off).
    """

    ledger: SendLedger
    providers: Callable[[str], Provider]
    confirm: bool = True
    create_records: Callable[[str, pl.DataFrame], pl.Series] | None = None
    """Creates records for recipients that match none (see ``reconciliation``)."""
    signal: Callable[[str, dict[str, Any]], str] | None = None
    """Signals another campaign (an ``end`` activity's ``signal``); returns the id
    of the execution it started."""


Listener = Callable[["Execution"], None]


class Execution:
    """One run of a canvas; also the handle returned by ``campaign.start()``.

    Examples
    --------
    >>> run = campaign.start()  # doctest: +SKIP
    >>> run.wait().state, run.count("t1")  # doctest: +SKIP
    ('finished', 1234)
    """

    def __init__(
        self,
        *,
        execution_id: str,
        campaign_id: str,
        definition: CampaignDefinition,
        tables: Tables,
        journal: Journal,
        folder: Path,
        mode: Mode = "test",
        version: int | None = None,
        clock: Clock | None = None,
        state: State | None = None,
        sending: Sending | None = None,
        signal: Mapping[str, Any] | None = None,
        awaits_signal: bool = False,
    ) -> None:
        self.id = execution_id
        self.campaign_id = campaign_id
        self.definition = definition
        self.mode = mode
        self.version = version
        self._tables = tables
        self._journal = journal
        self._folder = folder
        self._order = topological_order(definition)
        self._state = ExecutionState.RUNNING
        self._status = {aid: TaskStatus.NOT_RUN for aid in self._order}
        self._frames: dict[str, pl.DataFrame] = {}
        self._wide: dict[str, pl.DataFrame] = {}
        self._deferred: dict[str, Deferred] = {}
        self._values: dict[str, pl.DataFrame] = {}
        self._filled: dict[str, pl.DataFrame] = {}
        self._released = threading.Event()
        self._looking: threading.Thread | None = None
        self._sending = sending
        self._confirmed: set[str] = set()
        self._attributes: dict[str, frozenset[str]] = {}
        self._reads_after: dict[str, frozenset[str]] = {}
        self._files: dict[str, Path] = {}
        self._counts: dict[str, int] = {}
        self._dimensions: dict[str, str] = {}
        self._clock = clock or Clock()
        self._state_store = state
        self._index = {a.id: i for i, a in enumerate(definition.activities)}
        self._absent: dict[str, str] = {}
        self._ended: set[str] = set()
        self._due: dict[str, datetime] = {}
        self._stop = threading.Event()
        self._stop_looked = 0.0
        self._stopped_elsewhere = False
        self._pause = threading.Event()
        self.alerts: list[Alert] = []
        self._settled = threading.Event()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._control = threading.RLock()
        self._listeners: list[Listener] = []
        self._consecutive_errors = 0
        self._replay: set[str] = set()
        self._indexable: dict[str, tuple[Path, str] | None] = {}
        self.signal_variables: dict[str, Any] | None = (
            None if signal is None else dict(signal)
        )
        """The variables of the signal that started (or fed) it, if any."""
        self._awaits_signal = awaits_signal and signal is None
        self.error: str | None = None

    # -- the public handle -------------------------------------------------------

    @property
    def state(self) -> str:
        """``running``, ``paused``, ``waiting``, ``finished``, ``stopped`` or
        ``failed``."""
        return self._state.value

    @property
    def stopping(self) -> bool:
        """Whether a stop was requested."""
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> Execution:
        """Block until the execution is finished, paused, waiting or over.

        An execution of this process that waits for Confirm send first takes the
        confirmations other processes recorded, and goes on with them.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._settled.wait(left):
                raise TimeoutError(
                    f"execution {self.id} still {self.state} after {timeout} s"
                )
            if not self._take_recorded():
                return self

    def task_status(self, activity_id: str) -> str:
        """The status of an activity's task."""
        if activity_id not in self._status:
            known = ", ".join(self._order)
            raise KeyError(f"no activity {activity_id!r} (activities: {known})")
        return self._status[activity_id].value

    def count(self, transition_id: str) -> int:
        """Exact row count of a transition's work table (0 when it carried none)."""
        self.definition.transition(transition_id)
        return self._counts.get(transition_id, 0)

    def frame(
        self, transition_id: str, columns: list[str] | bool | None = None
    ) -> pl.DataFrame:
        """A transition's work table.

        Parameters
        ----------
        transition_id
            The transition.
        columns
            ``None`` for the lean work table (key and added columns); ``True`` to
            add every attribute of the dimension; a list to add those attributes.
        """
        frame = self._with_deferred(transition_id, self._work_table(transition_id))
        return self._with_attributes(transition_id, frame, columns)

    def page(
        self,
        transition_id: str,
        offset: int = 0,
        length: int = 50,
        columns: list[str] | bool | None = None,
    ) -> pl.DataFrame:
        """Rows ``offset`` to ``offset + length`` of a transition's table.

        Only those rows are completed (columns computed when shown, attributes),
        so a page of a large table returns quickly. ``columns`` is as in
        :meth:`frame`.
        """
        if offset < 0 or length < 0:
            raise ValueError(
                f"offset and length must be 0 or more, got {offset} and {length}"
            )
        with self._lock:
            filled = self._filled.get(transition_id)
        if filled is not None:
            rows = filled.slice(offset, length)
        else:
            rows = self._work_table(transition_id).slice(offset, length)
            rows = self._with_deferred(transition_id, rows, whole=False)
        return self._with_attributes(transition_id, rows, columns)

    def _with_attributes(
        self, transition_id: str, frame: pl.DataFrame, columns: list[str] | bool | None
    ) -> pl.DataFrame:
        if not columns:
            return frame
        dimension = self._dimensions[transition_id]
        key = self._tables.info(dimension).key
        rows = self._tables.scan(dimension)
        wanted = rows.collect_schema().names() if columns is True else list(columns)
        attributes = [c for c in wanted if c not in frame.columns and c != key]
        if frame.height < 10_000:  # a page: read only its rows' attributes
            rows = rows.filter(_among(key, frame[key]))
        joined = left_join(frame.lazy(), rows.select(key, *attributes), on=key)
        return joined.collect()

    def simulate(
        self, activity_id: str, profiles: Sequence[Any] | None = None, *, first: int = 3
    ) -> pl.DataFrame:
        """Render a channel activity's message for chosen profiles, as they'd see it.

        Parameters
        ----------
        activity_id
            An e-mail, SMS or push activity of this execution.
        profiles
            Keys of profiles in the population that reached the activity; None
            (or empty) for the ``first`` profiles of that population.
        first
            How many profiles to take when ``profiles`` names none.

        Returns
        -------
        polars.DataFrame
            One row per profile, in the given order: the key, ``address``,
            ``subject`` (the push title; null for SMS) and ``body``.

        Raises
        ------
        DataError
            When the activity is not a channel, its population is not available
            (not reached yet, or not kept), or a profile is not in it.
        TemplateError
            When the content can't be rendered for a profile.
        """
        activity = self.definition.activity(activity_id)
        if activity.type not in CHANNEL_ADDRESS:
            raise DataError(
                f"activity {activity_id!r} is a {activity.type}, not a channel: "
                "only e-mail, SMS and push activities have content to simulate"
            )
        inbound = [
            t for t in self.definition.inbound(activity_id) if t.id in self._counts
        ]
        if not inbound:
            raise DataError(
                f"no population has reached {activity_id!r} in execution {self.id} "
                "yet: run the execution up to it first"
            )
        dimension = self._dimensions[inbound[0].id]
        key = self._tables.info(dimension).key
        tables = [self._work_table(t.id) for t in inbound]
        key_type = tables[0].schema[key]
        if not profiles:
            found = pl.concat([table.select(key).head(first) for table in tables])
            profiles = found[key].unique(maintain_order=True).head(first).to_list()
            if not profiles:
                raise DataError(
                    f"no profile reached {activity_id!r} in execution {self.id}: "
                    "there is no message to simulate"
                )
        try:
            wanted = pl.Series(key, list(profiles)).cast(key_type)
        except (pl.exceptions.PolarsError, TypeError) as error:
            raise DataError(
                f"profiles {list(profiles)!r} are not all {key_type} keys of "
                f"{dimension!r}: {error}"
            ) from None
        chosen = pl.concat(
            [
                self._with_deferred(
                    t.id, table.filter(_among(key, wanted)), whole=False
                )
                for t, table in zip(inbound, tables, strict=True)
            ],
            how="diagonal_relaxed",
        ).unique(key, keep="first", maintain_order=True)
        outside = wanted.filter(~wanted.is_in(chosen[key].implode()))
        if outside.len():
            shown = ", ".join(str(v) for v in outside.head(5).to_list())
            more = f" and {outside.len() - 5} more" if outside.len() > 5 else ""
            reached = sum(self._counts[t.id] for t in inbound)
            raise DataError(
                f"profile(s) {shown}{more} did not reach {activity_id!r} in execution "
                f"{self.id} ({reached} profiles did); pick profiles of its population"
            )
        rows = left_join(chosen.lazy(), self._tables.scan(dimension), on=key).collect()
        by_key = {row[key]: row for row in rows.iter_rows(named=True)}
        variables = dict(self.variables)
        messages = [
            render_message(
                activity.type,
                activity.settings,
                {**variables, **by_key[value]},
                activity_id=activity_id,
                profile_id=str(value),
            )
            for value in wanted.to_list()
        ]
        return pl.DataFrame(
            {
                key: wanted,
                "address": [m.address for m in messages],
                "subject": [m.subject for m in messages],
                "body": [m.body for m in messages],
            },
            schema_overrides={"subject": pl.String},
        )

    def schema(self, transition_id: str) -> pl.DataFrame:
        """Column, type, null count and a sample value of a transition's table.

        The table's own columns come first, then the dimension's attributes; the
        attributes are summarised without joining them to the whole table.
        """
        frame = self._with_deferred(transition_id, self._work_table(transition_id))
        summary = [
            (name, dtype, frame[name].null_count(), frame[name].drop_nulls().head(1))
            for name, dtype in frame.schema.items()
        ]
        dimension = self._dimensions[transition_id]
        index = self._null_index(dimension)
        if index is not None:
            summary += self._indexed_schema(index, dimension, frame)
        elif not dimension.startswith(FILE_PREFIX):
            key = self._tables.info(dimension).key
            rows = self._tables.scan(dimension)
            names = [n for n in rows.collect_schema().names() if n not in frame.columns]
            members = rows.join(frame.lazy().select(key), on=key, how="semi")
            found = members.select(
                pl.len().alias("__rows"),
                *[pl.col(n).null_count().alias(f"{n}__nulls") for n in names],
                *[pl.col(n).drop_nulls().first().alias(n) for n in names],
            ).collect()
            missing = frame.height - found["__rows"][0]  # keys not in the dimension
            for name in names:
                nulls = found[f"{name}__nulls"][0] + missing
                summary.append((name, found.schema[name], nulls, found[name]))

        rows_out = [
            {
                "column": name,
                "type": str(dtype),
                "nulls": int(nulls),
                "sample": str(sample[0])
                if len(sample) and sample[0] is not None
                else None,
            }
            for name, dtype, nulls, sample in summary
        ]
        return pl.DataFrame(
            rows_out,
            schema={
                "column": pl.String,
                "type": pl.String,
                "nulls": pl.Int64,
                "sample": pl.String,
            },
            orient="row",
        )

    def _null_index(self, dimension: str) -> nulls.NullIndex | None:
        """The in-memory null marks of a test execution's dimension, if built."""
        if self.mode != "test" or dimension.startswith(FILE_PREFIX):
            return None
        info = self._tables.info(dimension)
        path = getattr(info, "path", None)
        return nulls.ready(Path(path)) if path is not None else None

    def _indexed_schema(
        self, index: nulls.NullIndex, dimension: str, frame: pl.DataFrame
    ) -> list[tuple[str, Any, int, pl.Series]]:
        key = self._tables.info(dimension).key
        _, counts, firsts = index.summary(frame[key])
        rows = self._tables.scan(dimension)
        schema = rows.collect_schema()
        wanted = sorted({k for k in firsts.values() if k is not None})
        found = rows.filter(pl.col(key).is_in(wanted)).collect() if wanted else None
        summary = []
        for name, count in counts.items():
            if name in frame.columns:
                continue
            first = firsts[name]
            sample = (
                found.filter(pl.col(key) == first)[name]
                if found is not None and first is not None
                else pl.Series(name, [], schema[name])
            )
            summary.append((name, schema[name], count, sample))
        return summary

    def _note_indexable(self, dimension: str) -> None:
        """Remember (while the run goes) a large test dimension to index after it."""
        if self.mode != "test" or dimension.startswith(FILE_PREFIX):
            return
        if dimension in self._indexable:
            return
        info = self._tables.info(dimension)
        path = getattr(info, "path", None)
        large = path is not None and getattr(info, "rows", 0) >= nulls.LARGE
        self._indexable[dimension] = (Path(str(path)), info.key) if large else None

    def _index_nulls(self) -> None:
        """Read the null marks of the large test dimensions, for quick schemas.

        Only the files noted during the run are read: nothing here touches the
        workspace's database after the execution ended.
        """
        for found in list(self._indexable.values()):
            if found is not None and not self._released.is_set():
                path, key = found
                nulls.build(path, pl.scan_parquet(path), key)

    @property
    def tasks(self) -> pl.DataFrame:
        """One row per task (SPEC §10)."""
        return self._journal.tasks(self.id)

    @property
    def logs(self) -> pl.DataFrame:
        """Log lines of this execution."""
        return self._journal.logs(execution_id=self.id)

    @property
    def awaiting(self) -> tuple[str, ...]:
        """Channel activities waiting for Confirm send."""
        return tuple(
            aid
            for aid, status in self._status.items()
            if status == TaskStatus.ATTENTION
        )

    @property
    def variables(self) -> dict[str, Any]:
        """The campaign's variables, with the signal's values over them."""
        return {**self.definition.variables, **(self.signal_variables or {})}

    @property
    def awaits_signal(self) -> bool:
        """Whether this test execution waits for :meth:`signal` to begin."""
        return self._awaits_signal

    def signal(self, variables: Mapping[str, Any]) -> None:
        """Feed the signal a waiting test execution waits for, and let it run."""
        if not self._awaits_signal:
            raise ExecutionError(
                f"execution {self.id} is {self.state} and waits for no signal"
            )
        shown = ", ".join(f"{k}={v!r}" for k, v in variables.items()) or "none"
        self._log("info", f"signal received (variables: {shown})", action="signal")
        with self._control:
            self.signal_variables = dict(variables)
            self._awaits_signal = False
            if self._state == ExecutionState.WAITING:
                self._launch()

    def check_awaiting(self, activity_id: str) -> None:
        """Raise ExecutionError unless the activity waits for Confirm send."""
        if activity_id not in self.awaiting:
            waiting = ", ".join(self.awaiting) or "none"
            raise ExecutionError(
                f"activity {activity_id!r} is not waiting for confirmation "
                f"(waiting: {waiting})"
            )

    def confirm(self, activity_id: str) -> bool:
        """Let a channel activity that waits for Confirm send go on and send.

        Returns False when another process had recorded its confirmation first
        (the activity goes on all the same).
        """
        self.check_awaiting(activity_id)
        with self._control:
            first = self._journal.claim_confirmation(
                self.id,
                activity_id,
                campaign_id=self.campaign_id,
                message="send confirmed",
            )
            self._confirmed.add(activity_id)
            self._set_task(activity_id, TaskStatus.NOT_RUN)
            if self._state == ExecutionState.WAITING:
                self._launch()
        return first

    def on_change(self, listener: Listener) -> None:
        """Call ``listener(execution)`` after each task and state change."""
        self._listeners.append(listener)

    def __repr__(self) -> str:
        return f"<Execution {self.id} {self.mode} {self.state}>"

    # -- control -----------------------------------------------------------------

    def start(self) -> Execution:
        """Record the execution and run it in a background worker."""
        self._journal.create_execution(
            self.id,
            self.campaign_id,
            self.mode,
            self.definition.to_json(),
            self.version,
            [(a.id, a.type) for a in self._activities_in_order()],
        )
        self._log("info", f"{self.mode} execution started", action="start")
        self._launch()
        return self

    def stop(self) -> None:
        """Stop between tasks; finished work tables stay readable."""
        self._stop.set()
        if self._worker_alive():
            assert self._worker is not None
            self._worker.join()
        self._finish_stopped()

    def pause(self) -> None:
        """Pause between tasks (or while waiting); Resume continues."""
        if self._state not in (ExecutionState.RUNNING, ExecutionState.WAITING):
            raise ExecutionError(
                f"execution {self.id} is {self.state}; only a running or waiting "
                "one pauses"
            )
        self._pause.set()
        if self._worker_alive():
            assert self._worker is not None
            self._worker.join()
        if self.state != ExecutionState.PAUSED.value:  # the worker may have paused
            self._set_state(ExecutionState.PAUSED)
            self._log("info", "execution paused by the user", action="pause")

    def resume(self) -> None:
        """Continue a paused execution; finished tasks are not run again."""
        if self._state != ExecutionState.PAUSED:
            raise ExecutionError(
                f"execution {self.id} is {self.state}; only a paused one resumes"
            )
        for activity_id, status in self._status.items():
            if status == TaskStatus.ERROR:
                self._set_task(activity_id, TaskStatus.NOT_RUN, error=None)
        self.error = None
        self._pause.clear()
        self._log("info", "execution resumed", action="resume")
        self._launch()

    # -- the worker ----------------------------------------------------------------

    def _worker_alive(self) -> bool:
        worker = self._worker
        return (
            worker is not None
            and worker.is_alive()
            and worker is not threading.current_thread()
        )

    def _launch(self) -> None:
        with self._control:
            self._set_state(ExecutionState.RUNNING)
            self._settled.clear()
            self._worker = threading.Thread(
                target=self._run, name=f"ajo-execution-{self.id}", daemon=True
            )
            self._worker.start()

    def _wake(self) -> None:
        """The clock reached a wait's time: carry on, and return once settled."""
        with self._control:
            if self._state != ExecutionState.WAITING:
                return
            if self._stop_requested(at_once=True):
                self._finish_stopped()
                return
            self._launch()
        if threading.current_thread() is not self._worker:
            self._settled.wait()

    def _run(self) -> None:
        try:
            self._run_tasks()
        except Exception as error:  # the worker must never die silently
            logger.exception("execution %s crashed", self.id)
            self.error = f"the execution crashed: {error}"
            self._log("error", self.error)
            self._abandon_rest()
            self._set_state(ExecutionState.FAILED, self.error)
        finally:
            with self._control:  # unless a confirmation launched a new worker
                if self._worker is threading.current_thread():
                    self._settled.set()
        ahead = self._deferred or any(self._indexable.values())
        if ahead and not self._released.is_set():
            threading.Thread(
                target=self._get_ahead, name=f"ajo-ahead-{self.id}", daemon=True
            ).start()

    def _get_ahead(self) -> None:
        """Compute the deferred columns while the user reads the results.

        A preview then joins values already computed; a failure here only
        means the preview computes them itself.
        """
        for name, deferred in list(self._deferred.items()):
            if self._released.is_set():
                return
            if name in self._values:
                continue
            try:
                values = deferred.values.collect()
            except Exception:
                logger.debug("computing %s ahead failed", name, exc_info=True)
                continue
            with self._lock:
                self._values[name] = values
        try:
            self._index_nulls()
        except Exception:
            logger.debug("indexing nulls failed", exc_info=True)

    def release(self) -> None:
        """Drop the tables held in memory; kept Parquet files stay readable."""
        self._released.set()
        with self._lock:
            for held in (self._frames, self._wide, self._values, self._filled):
                held.clear()

    def _run_tasks(self) -> None:
        while True:
            if not self._awaits_signal and not self._run_ready():
                return
            # Settling and a confirmation (or a signal) never interleave: either
            # the worker sees the newly ready activity, or it settles first and
            # the confirmation launches a new worker.
            with self._control:
                if not self._awaits_signal and self._ready():
                    continue
                self._settle()
                return

    def _run_ready(self) -> bool:
        """Run activities while some are ready; False when the run must end here."""
        while True:
            if self._stop_requested():
                self._finish_stopped()
                return False
            if self._pause.is_set():
                self._log("info", "execution paused by the user", action="pause")
                self._set_state(ExecutionState.PAUSED)
                return False
            activity = self._next_ready()
            if activity is None:
                return True
            going_on = self._step(activity)
            self._replay.discard(activity.id)
            if not going_on:
                return False

    def _settle(self) -> None:
        """Nothing is ready: wait for a signal, a confirmation or the clock, or end."""
        # The log line comes first: whoever waits for the state reads it too.
        if self._awaits_signal:
            self._log("info", "waiting for a signal", action="wait_signal")
            self._set_state(ExecutionState.WAITING)
        elif self.awaiting:
            self._log("info", f"waiting for Confirm send: {', '.join(self.awaiting)}")
            self._set_state(ExecutionState.WAITING)
            self._look_elsewhere()
        elif self._due:
            moment = min(self._due.values()).isoformat()
            self._log("info", f"waiting for the clock (next: {moment})")
            self._set_state(ExecutionState.WAITING)
        else:
            self._log("info", "execution finished", action="finish")
            self._set_state(ExecutionState.FINISHED)

    def _look_elsewhere(self) -> None:
        """While waiting for Confirm send, follow what other processes record."""
        looking = self._looking
        if looking is not None and looking.is_alive():
            return
        self._looking = threading.Thread(
            target=self._follow_elsewhere, name=f"ajo-confirm-{self.id}", daemon=True
        )
        self._looking.start()

    def _follow_elsewhere(self) -> None:
        """Apply the confirmations (and a stop) recorded by other processes, such as
        a notebook confirming the send of an execution the service runs."""
        database = self._journal.database
        try:
            while not self._released.wait(CONFIRM_LOOKUP):
                if not database.path.exists():
                    return  # the workspace was removed
                with self._control:
                    if self._state != ExecutionState.WAITING or not self.awaiting:
                        return
                    if self._stop_requested(at_once=True):
                        self._finish_stopped()
                        return
                if self._take_recorded():
                    return
        finally:
            database.close()  # this thread's connection

    def _take_recorded(self) -> bool:
        """Go on with the confirmations other processes recorded, if this process
        runs the execution and it waits for them; returns whether it went on."""
        with self._control:
            if self._looking is None or self._state != ExecutionState.WAITING:
                return False  # not settled here: another process runs it
            if not self.awaiting:
                return False
            recorded = self._journal.confirmations(self.id)
            fresh = [a for a in self.awaiting if a in recorded]
            if not fresh:
                return False
            for activity_id in fresh:
                self._confirmed.add(activity_id)
                self._set_task(activity_id, TaskStatus.NOT_RUN)
            self._launch()
            return True

    def _next_ready(self) -> Activity | None:
        """The next activity to run, in dependency order.

        In a live execution, channel activities come after every ready
        ``save_audience`` (SPEC §7.5: audiences are saved before sending).
        """
        ready = self._ready()
        if self.mode == "live" and any(a.type == "save_audience" for a in ready):
            ready = [a for a in ready if a.type not in CHANNEL_ADDRESS] or ready
        return ready[0] if ready else None

    def _ready(self) -> list[Activity]:
        now = self._clock.now()
        ready = []
        for activity in self._activities_in_order():
            due = self._due.get(activity.id)
            if due is not None:
                if due <= now:
                    ready.append(activity)
                continue
            if self._status[activity.id] != TaskStatus.NOT_RUN:
                continue
            if activity.id in self._ended:
                continue
            if all(self._arrived(t) for t in self.definition.inbound(activity.id)):
                ready.append(activity)
        return ready

    def _arrived(self, transition: Transition) -> bool:
        """Whether a transition's outcome is known (a table, or none for good)."""
        if transition.id in self._frames or transition.id in self._absent:
            return True
        source = self._status[transition.source]
        return source in (TaskStatus.ERROR, TaskStatus.ABANDONED)

    def _step(self, activity: Activity) -> bool:
        """Decide or run one activity; False when the execution must not go on."""
        inbound = self.definition.inbound(activity.id)
        sources = [self._status[t.source] for t in inbound]
        if any(s in (TaskStatus.ERROR, TaskStatus.ABANDONED) for s in sources):
            self._set_task(activity.id, TaskStatus.ABANDONED)
            return True
        if activity.disabled:
            self._skip(activity, "disabled")
            return True

        present = [t for t in inbound if t.id in self._frames]
        if inbound and not present:
            if all(self._absent.get(t.id) == "skipped" for t in inbound):
                self._skip(activity, "every input was skipped")
            else:
                self._end_branch(activity, "no population arrived")
            return True
        if activity.type == "and_join" and len(present) < len(inbound):
            missing = ", ".join(t.id for t in inbound if t not in present)
            self._end_branch(activity, f"{missing} carried no population", "warning")
            return True
        if activity.type == "wait" and activity.id in self._replay:
            self._due[activity.id] = self._clock.now()  # it waited before
        if activity.type == "wait" and activity.id not in self._due:
            return self._hold(activity)
        if self._waits_for_confirmation(activity):
            self._set_task(activity.id, TaskStatus.ATTENTION)
            self._log("info", "waiting for Confirm send", activity.id)
            return True
        return self._run_task(activity)

    def _waits_for_confirmation(self, activity: Activity) -> bool:
        sending = self._sending
        return (
            self.mode == "live"
            and activity.type in CHANNEL_ADDRESS
            and sending is not None
            and sending.confirm
            and activity.get("send_confirmation", True) is not False
            and activity.id not in self._confirmed
        )

    def _hold(self, activity: Activity) -> bool:
        """Start a wait: hold its population until the clock reaches its time."""
        try:
            due = wait_until(self._context(activity), self._clock.now())
        except Exception as error:
            return self._fail_task(activity, error, 0.0)
        if due <= self._clock.now():
            self._due[activity.id] = due
            return True
        self._due[activity.id] = due
        self._set_task(
            activity.id, TaskStatus.RUNNING, started_at=self._journal.stamp()
        )
        self._log("info", f"waiting until {due.isoformat()}", activity.id)
        self._clock.call_at(due, self._wake)
        return True

    def _skip(self, activity: Activity, reason: str) -> None:
        self._set_task(activity.id, TaskStatus.SKIPPED, error=None)
        self._log("warning", f"skipped: {reason}", activity.id)
        for transition in self.definition.outbound(activity.id):
            self._absent[transition.id] = "skipped"

    def _end_branch(self, activity: Activity, reason: str, level: str = "info") -> None:
        self._ended.add(activity.id)
        self._log(level, f"not run: {reason}", activity.id)
        for transition in self.definition.outbound(activity.id):
            self._absent[transition.id] = "ended"

    def _run_task(self, activity: Activity) -> bool:
        started = time.perf_counter()
        self._due.pop(activity.id, None)
        inbound = self.definition.inbound(activity.id)
        if self._status[activity.id] != TaskStatus.RUNNING:
            self._set_task(
                activity.id, TaskStatus.RUNNING, started_at=self._journal.stamp()
            )
        try:
            status, counts = self._execute(activity)
            channel = self.mode == "live" and activity.type in CHANNEL_ADDRESS
            channel = channel and activity.id not in self._replay
            if channel and not self._deliver(activity):
                return True  # stopped while sending: the stop abandons it
            if activity.type == "end" and activity.get("signal"):
                self._signal_downstream(activity)
        except Exception as error:
            return self._fail_task(activity, error, time.perf_counter() - started)

        duration = time.perf_counter() - started
        self._consecutive_errors = 0
        extra: dict[str, Any] = {}
        if self.signal_variables is not None and not inbound:
            extra["variables"] = self.signal_variables  # the task of the signal
        self._set_task(
            activity.id,
            status,
            ended_at=self._journal.stamp(),
            duration=duration,
            input_count=sum(self._counts.get(t.id, 0) for t in inbound),
            output_counts=counts,
            **extra,
        )
        summary = ", ".join(f"{port}={count}" for port, count in counts.items())
        self._log(
            "info", f"done in {duration:.3f} s ({summary or 'no output'})", activity.id
        )
        return True

    def _deliver(self, activity: Activity) -> bool:
        """Send a live channel activity's messages, once per profile.

        Every inbound profile is targeted: those without an address or consent
        get an ``exclude`` feedback event, the others a message and its event.
        False when a stop interrupted the send (resending later skips the
        profiles already in the ledger).
        """
        sending = self._sending
        if sending is None:
            raise ExecutionError(
                f"activity {activity.id!r}: this live execution has no delivery set up"
            )
        inbound = self.definition.inbound(activity.id)
        frames = [self._frames[t.id] for t in inbound if t.id in self._frames]
        if not frames:
            return True
        transition = next(t for t in inbound if t.id in self._frames)
        dimension = self._dimensions[transition.id]
        key = self._tables.info(dimension).key
        population = pl.concat(frames, how="diagonal_relaxed").unique(
            key, keep="first", maintain_order=True
        )
        rows = left_join(
            population.lazy(), self._tables.scan(dimension), on=key
        ).collect()

        provider = sending.providers(activity.type)
        try:
            summary = send_population(
                rows.iter_rows(named=True),
                channel=activity.type,
                settings=activity.settings,
                campaign_id=self.campaign_id,
                campaign_version=self.version,
                execution_id=self.id,
                activity_id=activity.id,
                ledger=sending.ledger,
                provider=provider,
                clock=self._clock,
                should_stop=self._stop_requested,
                key_column=key,
                variables=self.variables,
            )
        finally:
            provider.close()
        self._log(
            "info",
            f"{summary.targeted} targeted: {summary.sent} sent, "
            f"{summary.excluded_total} excluded, {summary.bounced} bounced, "
            f"{summary.errors} errors",
            activity.id,
        )
        return not summary.stopped

    def _signal_downstream(self, activity: Activity) -> None:
        """An ``end`` with a signal triggers another campaign (live only)."""
        settings = activity.get("signal")
        target = settings["campaign"]
        variables = dict(settings.get("variables") or {})
        arrived = sum(
            self._counts.get(t.id, 0) for t in self.definition.inbound(activity.id)
        )
        if not arrived:
            self._log(
                "info", f"no population arrived: {target!r} not signalled", activity.id
            )
            return
        sending = self._sending
        if self.mode != "live" or sending is None or sending.signal is None:
            self._log(
                "info",
                f"a live execution would signal campaign {target!r} here",
                activity.id,
            )
            return
        if activity.id in self._replay:
            return
        started = sending.signal(target, variables)
        self._log(
            "info", f"signalled campaign {target!r}: execution {started}", activity.id
        )

    def _context(self, activity: Activity) -> ActivityContext:
        inbound = self.definition.inbound(activity.id)
        later = self._later_reads(activity.id)
        reads = later | read_attributes(self.definition, {activity.id})
        inputs = [
            Inbound(t, self._input(t.id, reads))
            for t in inbound
            if t.id in self._frames
        ]
        arrived = [t for t in inbound if t.id in self._dimensions]
        dimension = (
            self._dimensions[arrived[0].id]
            if arrived
            else activity.get("dimension") or self.definition.dimension
        )
        return ActivityContext(
            activity=activity,
            definition=self.definition,
            inputs=inputs,
            dimension=dimension,
            tables=self._tables,
            mode=self.mode,
            variables=self.variables,
            path=f"activities[{self._index[activity.id]}]",
            state=self._state_store,
            folder=self._folder,
            carry=later,
            create_records=self._sending.create_records
            if self.mode == "live" and self._sending is not None
            else None,
            defer=self.mode == "test"
            and not self.definition.settings.keep_interim_results,
        )

    def _later_reads(self, activity_id: str) -> frozenset[str]:
        """What the activities after one read (see ``read_attributes``), memoised.

        Each activity's own reads are parsed once per execution, so a large canvas
        costs linear time rather than one walk of its descendants per activity.
        """
        if activity_id not in self._reads_after:
            found: frozenset[str] = frozenset()
            for transition in self.definition.outbound(activity_id):
                target = transition.target
                own = read_attributes(self.definition, {target})
                found |= own | self._later_reads(target)
            self._reads_after[activity_id] = found
        return self._reads_after[activity_id]

    def _input(self, transition_id: str, reads: frozenset[str]) -> pl.LazyFrame:
        """A transition's table for its reader, with the carried attributes that
        it or an activity after it reads."""
        wide = self._wide.get(transition_id)
        if wide is None:
            return self._frames[transition_id].lazy()
        lean = set(self._frames[transition_id].columns)
        kept = [c for c in wide.columns if c in lean or c in reads]
        return wide.lazy().select(kept)

    def _execute(self, activity: Activity) -> tuple[TaskStatus, dict[str, int]]:
        try:
            result = RUNNERS[activity.type](self._context(activity))
            self._deferred.update(result.deferred)
            if result.deferred:
                names = ", ".join(result.deferred)
                self._log("info", f"computed when shown: {names}", activity.id)
        finally:
            for transition in self.definition.inbound(activity.id):
                self._wide.pop(transition.id, None)  # its one reader has run
        for note in result.notes:
            self._log("info", note, activity.id)
        for warning in result.warnings:
            self._log("warning", warning, activity.id)
            self.alerts.append(
                Alert("ACTIVITY_ALERT", "warning", warning, "", activity.id)
            )

        ports = list(result.outputs)
        frames = pl.collect_all([result.outputs[port] for port in ports])
        by_port = dict(zip(ports, frames, strict=True))
        counts = {port: frame.height for port, frame in by_port.items()}
        counts.update({port: 0 for port in result.skipped_ports})
        for port in result.end_if_empty:
            if counts.get(port) == 0:
                del by_port[port]
                self._log(
                    "info", f"{port} is empty: this branch ends here", activity.id
                )
        for transition in self.definition.outbound(activity.id):
            frame = by_port.get(transition.port)
            if frame is not None:
                self._keep(transition.id, frame, result.dimension)
            elif transition.port in result.skipped_ports:
                self._absent[transition.id] = "skipped"
            else:
                self._absent[transition.id] = "ended"

        if result.watermark is not None and self.mode == "live":
            store = self._state_store
            if store is not None:
                store.set_watermark(self.campaign_id, activity.id, result.watermark)
        if result.skipped:
            self._log("info", f"skipped: {result.skipped}", activity.id)
            return TaskStatus.SKIPPED, counts
        return TaskStatus.SUCCESS, counts

    def _keep(self, transition_id: str, frame: pl.DataFrame, dimension: str) -> None:
        """Hold a transition's table: lean for previews, wide for its reader.

        Attributes that a source read along (see ``read_attributes``) stay with
        the table only until the activity it feeds has run.
        """
        attributes = self._attributes_of(dimension)
        carried = [name for name in frame.columns if name in attributes]
        if carried:
            self._wide[transition_id] = frame
            frame = frame.drop(carried)
        path: str | None = None
        if self.definition.settings.keep_interim_results:
            relative = Path("worktables") / self.id / f"{transition_id}.parquet"
            write_parquet_atomically(frame, self._folder / relative)
            path = str(relative)
            self._files[transition_id] = self._folder / relative
        self._note_indexable(dimension)
        with self._lock:
            self._frames[transition_id] = frame
            self._counts[transition_id] = frame.height
            self._dimensions[transition_id] = dimension
        self._journal.record_work_table(
            self.id, transition_id, dimension, frame.height, path
        )

    def _attributes_of(self, dimension: str) -> frozenset[str]:
        """A dimension's attributes: every column but its key."""
        if dimension.startswith(FILE_PREFIX):
            return frozenset()
        if dimension not in self._attributes:
            key = self._tables.info(dimension).key
            names = self._tables.scan(dimension).collect_schema().names()
            self._attributes[dimension] = frozenset(names) - {key}
        return self._attributes[dimension]

    def _fail_task(self, activity: Activity, error: Exception, duration: float) -> bool:
        self._replay.discard(activity.id)
        message = _describe(error)
        self._set_task(
            activity.id,
            TaskStatus.ERROR,
            ended_at=self._journal.stamp(),
            duration=duration,
            error=message,
        )
        self._log("error", message, activity.id)
        self.alerts.append(Alert("TASK_ERROR", "error", message, "", activity.id))
        policy = self.definition.settings.error_policy
        if policy == "suspend":
            self.error = message
            self._set_state(ExecutionState.PAUSED, message)
            self._log("warning", "execution paused on an error; fix it, then Resume")
            return False
        if policy == "abort":
            self.error = message
            self._abandon_rest()
            self._set_state(ExecutionState.FAILED, message)
            return False

        self._consecutive_errors += 1
        limit = self.definition.settings.consecutive_errors
        for activity_id in descendants(self.definition, activity.id):
            self._set_task(activity_id, TaskStatus.ABANDONED)
        if limit and self._consecutive_errors >= limit:
            self.error = f"{self._consecutive_errors} consecutive errors"
            self._abandon_rest()
            self._set_state(ExecutionState.FAILED, self.error)
            return False
        return True

    def _stop_requested(self, at_once: bool = False) -> bool:
        """Whether to stop: asked in this process, or recorded in the database by
        another one (looked up at most every :data:`STOP_LOOKUP` seconds)."""
        if self._stop.is_set():
            return True
        now = time.monotonic()
        if at_once or now - self._stop_looked >= STOP_LOOKUP:
            self._stop_looked = now
            record = self._journal.execution(self.id)
            if record is not None and record["state"] == ExecutionState.STOPPED:
                self._stopped_elsewhere = True
                self._stop.set()
        return self._stop.is_set()

    def _finish_stopped(self) -> None:
        if self._state in FINAL:
            return
        self._due.clear()
        self._abandon_rest()
        if self._stopped_elsewhere:
            self._log("info", "stop recorded by another process: execution stopped")
        else:
            self._log("info", "execution stopped", action="stop")
        self._set_state(ExecutionState.STOPPED)
        self._settled.set()

    def _abandon_rest(self) -> None:
        for activity_id, status in list(self._status.items()):
            if status in (TaskStatus.NOT_RUN, TaskStatus.RUNNING, TaskStatus.ATTENTION):
                self._set_task(activity_id, TaskStatus.ABANDONED)

    # -- bookkeeping ---------------------------------------------------------------

    def _activities_in_order(self) -> list[Activity]:
        return [self.definition.activity(aid) for aid in self._order]

    def _work_table(self, transition_id: str) -> pl.DataFrame:
        self.definition.transition(transition_id)
        with self._lock:
            frame = self._frames.get(transition_id)
            path = self._files.get(transition_id)
        if frame is None and path is not None and path.exists():
            frame = pl.read_parquet(path)
        if frame is None:
            raise DataError(
                f"transition {transition_id!r} carries no table in execution "
                f"{self.id} (its source has not run, or the table was not kept)"
            )
        return frame

    def _with_deferred(
        self, transition_id: str, frame: pl.DataFrame, *, whole: bool = True
    ) -> pl.DataFrame:
        """A table with its deferred columns computed.

        The whole table is computed once and kept; a part of it (``whole`` false)
        is computed for its own keys only.

        Notes
        -----
        A deferred column is computed from the tables as they are when it is
        first shown; its values depend only on each row's key.
        """
        dimension = self._dimensions.get(transition_id)
        waiting = {
            name: deferred
            for name, deferred in self._deferred.items()
            if name in frame.columns and deferred.dimension == dimension
        }
        if not waiting or dimension is None:
            return frame
        if whole:
            with self._lock:
                filled = self._filled.get(transition_id)
            if filled is not None:
                return filled

        key = self._tables.info(dimension).key
        plan = frame.lazy()
        for name, deferred in waiting.items():
            with self._lock:
                ready = self._values.get(name)
            values = deferred.values if ready is None else ready.lazy()
            if not whole:
                values = values.filter(_among(key, frame[key]))
            plan = left_join(plan.drop(name), values, on=key)
            if deferred.fill is not None:
                plan = plan.with_columns(pl.col(name).fill_null(deferred.fill))
        filled = plan.select(frame.columns).collect()
        if whole:
            with self._lock:
                self._filled[transition_id] = filled
        return filled

    def _set_state(self, state: ExecutionState, error: str | None = None) -> None:
        self._state = state
        self._journal.set_state(self.id, state.value, error)
        self._notify()  # listeners (such as completing the campaign) go first
        if state != ExecutionState.RUNNING:
            self._settled.set()

    def _set_task(self, activity_id: str, status: TaskStatus, **fields: Any) -> None:
        self._status[activity_id] = status
        if activity_id in self._replay:
            return  # recomputed on revival: its recorded task stays as it was
        self._journal.update_task(self.id, activity_id, status=status.value, **fields)
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:
                logger.exception("a listener of execution %s failed", self.id)

    def _log(
        self,
        level: str,
        message: str,
        activity_id: str | None = None,
        action: str | None = None,
    ) -> None:
        if activity_id is not None and activity_id in self._replay:
            return
        self._journal.log(
            level,
            message,
            campaign_id=self.campaign_id,
            execution_id=self.id,
            activity_id=activity_id,
            action=action,
        )


def _among(key: str, keys: pl.Series) -> pl.Expr:
    """Rows whose key is one of ``keys``.

    The range test first lets a Parquet scan skip the row groups whose key
    statistics fall outside it.
    """
    if keys.is_empty():
        return pl.lit(False)
    within = pl.col(key).is_between(keys.min(), keys.max())
    return within & pl.col(key).is_in(keys.implode())


def _describe(error: Exception) -> str:
    """A one-line, user-facing description of what went wrong in a task."""
    if isinstance(error, WorkbenchError | NotImplementedError):
        return str(error)
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"


def restore_execution(
    record: dict[str, Any],
    tables: Tables,
    journal: Journal,
    folder: Path,
) -> Execution:
    """An execution of an earlier process, read back from the workspace.

    Its counts come from the database and its work tables from the kept Parquet
    files; a table that was not kept reads as missing.
    """
    execution = _from_record(record, tables, journal, folder)
    execution._state = ExecutionState(record["state"])
    execution.error = record["error"]
    for activity_id, row in journal.task_rows(record["id"]).items():
        execution._status[activity_id] = TaskStatus(row["status"])
        if row["error"]:
            execution.alerts.append(
                Alert("TASK_ERROR", "error", row["error"], "", activity_id)
            )
    for transition_id, row in journal.work_tables(record["id"]).items():
        execution._counts[transition_id] = row["count"]
        execution._dimensions[transition_id] = row["dimension"]
        if row["path"]:
            execution._files[transition_id] = folder / row["path"]
    execution._settled.set()
    return execution


def revive_execution(
    record: dict[str, Any],
    *,
    tables: Tables,
    journal: Journal,
    folder: Path,
    clock: Clock | None = None,
    state: State | None = None,
    sending: Sending | None = None,
    signal: Mapping[str, Any] | None = None,
) -> Execution:
    """An execution whose process ended while it was active, ready to resume.

    The tables it held in memory died with that process, so :meth:`Execution.resume`
    first recomputes the tasks that had finished, from the same tables (a live
    execution's snapshot), without recording them again and without sending their
    messages again; then it runs the rest. Channel activities that were sending carry
    on where the send ledger says they stopped, so no profile gets a second message.
    Confirmations given before the process ended still hold.

    Notes
    -----
    Finished targeting is recomputed: tables outside the snapshot are read as they
    are now, and an ``incremental_query`` reads from its current watermark, so a
    population computed again may differ from the first one. The ledger still sends
    at most one message per profile and activity.
    """
    execution = _from_record(
        record,
        tables,
        journal,
        folder,
        clock=clock,
        state=state,
        sending=sending,
        signal=signal,
    )
    execution._state = ExecutionState.PAUSED
    execution.error = record["error"]
    finished = (TaskStatus.SUCCESS, TaskStatus.SKIPPED)
    for activity_id, row in journal.task_rows(record["id"]).items():
        status = TaskStatus(row["status"])
        if status in finished:
            execution._replay.add(activity_id)
        elif status in (TaskStatus.ABANDONED, TaskStatus.ERROR):
            execution._status[activity_id] = status
    execution._confirmed.update(journal.confirmations(record["id"]))
    execution._settled.set()
    return execution


def _from_record(
    record: dict[str, Any],
    tables: Tables,
    journal: Journal,
    folder: Path,
    **options: Any,
) -> Execution:
    """An execution handle for a recorded execution (its id, definition, mode)."""
    return Execution(
        execution_id=record["id"],
        campaign_id=record["campaign_id"],
        definition=parse_definition(record["definition"]),
        tables=tables,
        journal=journal,
        folder=folder,
        mode=record["mode"],
        version=record["version"],
        **options,
    )
