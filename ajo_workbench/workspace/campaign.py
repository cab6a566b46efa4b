"""A campaign of a workspace: its definition, status, actions and executions."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from ajo_workbench.activities.flow import parse_duration
from ajo_workbench.delivery import OutboxProvider, SendLedger, provider_for
from ajo_workbench.engine import (
    Execution,
    Sending,
    restore_execution,
    revive_execution,
)
from ajo_workbench.errors import (
    DefinitionError,
    ExecutionError,
    LifecycleError,
    SignalNotAcceptedError,
    SignalThrottledError,
)
from ajo_workbench.lifecycle import CampaignStatus, Facts, Lifecycle
from ajo_workbench.model.alerts import Alert, errors
from ajo_workbench.model.definition import CampaignDefinition, parse_definition
from ajo_workbench.model.schedule import (
    Once,
    Recurring,
    Schedule,
    SignalSchedule,
    coerce_variables,
    next_occurrence,
    occurrences,
    parse_schedule,
    preview,
)
from ajo_workbench.reporting import (
    Comparison,
    channel_report,
    compare,
    execution_report,
    funnel,
)
from ajo_workbench.storage.journal import OWNER, owner_alive
from ajo_workbench.workspace.snapshot import SnapshotTables, take_snapshot

if TYPE_CHECKING:
    from ajo_workbench.workspace.workspace import Workspace

logger = logging.getLogger(__name__)

AUTOMATIC = {
    "activate": "the first occurrence is due",
    "complete": "the last execution finished",
}
"""Lifecycle steps the campaign takes by itself, and why (no user acts)."""

DEFAULT_MIN_INTERVAL = "PT1H"
"""A live signal-triggered campaign starts at most one execution per this long."""


class Campaign:
    """One orchestrated campaign: definition, status and history.

    Actions are methods named after SPEC §6. A refused action raises
    :class:`~ajo_workbench.errors.LifecycleError` saying why; every action, allowed
    or refused, is written to the campaign's log.
    """

    def __init__(self, workspace: Workspace, campaign_id: str) -> None:
        self.workspace = workspace
        self.id = campaign_id

    # -- state -----------------------------------------------------------------

    def _row(self) -> dict[str, Any]:
        row = self.workspace.database.one(
            "SELECT * FROM campaigns WHERE id = ?", (self.id,)
        )
        if row is None:
            raise LifecycleError("read", "deleted", f"campaign {self.id!r} was deleted")
        return dict(row)

    @property
    def definition(self) -> CampaignDefinition:
        """The current definition (read-only once published)."""
        return parse_definition(
            self._row()["definition"], source=f"campaign {self.id!r}"
        )

    @property
    def name(self) -> str:
        """The campaign's display name."""
        return str(self._row()["name"])

    @property
    def status(self) -> str:
        """The lowercase status name (``draft``, ``live``, …)."""
        return str(self._row()["status"])

    @property
    def alerts(self) -> list[Alert]:
        """Validation problems of the current definition (errors first), then the
        alerts of the latest execution (task errors and alert activities).

        Only validation errors block Start and Publish.
        """
        latest = self.latest_execution()
        found = latest.alerts if latest is not None else []
        return self.workspace.validate(self.definition) + found

    @property
    def logs(self) -> pl.DataFrame:
        """The campaign's log: user actions, operations and errors, oldest first."""
        return self.workspace.journal.logs(campaign_id=self.id)

    @property
    def executions(self) -> list[Execution]:
        """Every execution, oldest first."""
        records = self.workspace.journal.executions(self.id)
        return [self._handle(record) for record in records]

    @property
    def tasks(self) -> pl.DataFrame:
        """Tasks of the latest execution (an empty frame before the first)."""
        latest = self.latest_execution()
        if latest is None:
            return self.workspace.journal.tasks("")
        return latest.tasks

    def latest_execution(self, mode: str | None = None) -> Execution | None:
        """The newest execution (of a mode, when given), or None."""
        records = self.workspace.journal.executions(self.id)
        records = [r for r in records if mode is None or r["mode"] == mode]
        return self._handle(records[-1]) if records else None

    def _handle(self, record: dict[str, Any]) -> Execution:
        running = self.workspace.running.get(record["id"])
        if running is not None:
            return running
        active = record["state"] in ("running", "waiting")
        if active and not owner_alive(record["owner"]):
            record = self._interrupted(record)
        return restore_execution(
            record, self.workspace.tables, self.workspace.journal, self.workspace.path
        )

    def _interrupted(self, record: dict[str, Any]) -> dict[str, Any]:
        """Record as paused an execution whose process ended while it was active.

        Resume (in any process) takes it over and carries on; Stop ends it.
        """
        message = (
            f"execution {record['id']} was {record['state']} when the process that "
            "ran it ended; Resume carries on from its unfinished tasks"
        )
        journal = self.workspace.journal
        with journal.database.transaction() as connection:
            # Unless another process recorded it (or took it over) meanwhile.
            changed = connection.execute(
                "UPDATE executions SET state = 'paused', error = ?, ended_at = NULL"
                " WHERE id = ? AND state = ? AND owner IS ?",
                (message, record["id"], record["state"], record["owner"]),
            ).rowcount
            if changed:
                for activity_id, task in journal.task_rows(record["id"]).items():
                    if task["status"] in ("running", "attention"):
                        journal.update_task(record["id"], activity_id, status="not_run")
                journal.log(
                    "warning",
                    message,
                    campaign_id=self.id,
                    execution_id=record["id"],
                    action="recover",
                )
        return journal.execution(record["id"]) or record

    def _take_over(self, action: str, record: dict[str, Any]) -> Execution:
        """Run in this process an execution left paused by a process that ended."""
        if not self.workspace.journal.claim(record["id"], record["owner"]):
            self._refused(
                action, f"another process took over execution {record['id']} first"
            )
        workspace = self.workspace
        definition = parse_definition(record["definition"])
        live = record["mode"] == "live"
        frozen = self._snapshot_tables(record["id"], definition)
        signalled = workspace.database.one(
            "SELECT variables FROM signals WHERE execution_id = ?", (record["id"],)
        )
        execution = revive_execution(
            record,
            tables=frozen if live else workspace.tables,
            journal=workspace.journal,
            folder=workspace.path,
            clock=workspace.clock,
            state=workspace.shared_state,
            sending=self._sending(definition, record["id"], frozen) if live else None,
            signal=json.loads(signalled["variables"]) if signalled else None,
        )
        self._log("info", f"execution {record['id']} taken over", action=action)
        if live:
            ledger = SendLedger(workspace.database, workspace.clock)
            found = ledger.recover(
                record["id"], OutboxProvider(workspace.path / "outbox")
            )
            if found.sent or found.unknown:
                self._log(
                    "warning",
                    f"{found.sent + found.unknown} messages were in flight when the "
                    f"process ended: {found.sent} found in the outbox (sent), "
                    f"{found.unknown} with an unknown outcome (recorded as errors, "
                    "not sent again)",
                )
        return self._register(execution)

    def available_actions(
        self, validated: list[Alert] | None = None
    ) -> dict[str, str | None]:
        """Every user action: None when allowed, else the reason it is refused.

        ``validated`` may hand over ``workspace.validate(campaign.definition)`` when
        the caller has it already, so the definition is not validated twice.
        """
        return Lifecycle(self.status).available(self._facts(validated=validated))

    def __repr__(self) -> str:
        return f"<Campaign {self.id!r} {self.status}>"

    # -- definition --------------------------------------------------------------

    def update(self, definition: CampaignDefinition | dict[str, Any]) -> None:
        """Replace the definition of a Draft campaign (the id can't change)."""
        if not isinstance(definition, CampaignDefinition):
            definition = parse_definition(definition)
        if definition.id != self.id:
            raise LifecycleError(
                "update",
                self.status,
                f"the definition's id {definition.id!r} is not {self.id!r}",
            )
        if self.status != CampaignStatus.DRAFT:
            self._refused(
                "update",
                "only a Draft campaign's canvas can change; "
                "use Back to draft or Duplicate",
            )
        self.workspace.database.execute(
            "UPDATE campaigns SET definition = ?, name = ?, updated_at = ?"
            " WHERE id = ?",
            (definition.to_json(), definition.name, self._now(), self.id),
        )
        self._log("info", "definition updated", action="update")

    # -- test executions ---------------------------------------------------------

    def start(self) -> Execution:
        """Start a test execution in the background and return its handle."""
        self._act("start")
        return self._launch_test()

    def stop(self) -> Execution:
        """Stop the running or paused test execution."""
        self._act("stop")
        execution = self._active_test()
        execution.stop()
        return execution

    def restart(self) -> Execution:
        """Stop the test execution (if any), reset it, and start a new one."""
        self._act("restart")
        active = self.latest_execution("test")
        if active is not None and active.state in ("running", "paused", "waiting"):
            active.stop()
        return self._launch_test()

    def pause(self) -> Execution:
        """Pause the running (or waiting) execution between tasks.

        In Draft that is the test execution; once published, the live one.
        """
        self._act("pause")
        execution = self._active("pause")
        execution.pause()
        return execution

    def resume(self) -> Execution:
        """Continue a paused execution from the task that stopped it."""
        self._act("resume")
        execution = self._active("resume")
        execution.resume()
        return execution

    def _launch_test(self) -> Execution:
        self._release_finished_tests()
        definition = self.definition
        execution = Execution(
            execution_id=_new_id(),
            campaign_id=self.id,
            definition=definition,
            tables=self.workspace.tables,
            journal=self.workspace.journal,
            folder=self.workspace.path,
            mode="test",
            clock=self.workspace.clock,
            state=self.workspace.shared_state,
            awaits_signal=definition.schedule.get("type") == "signal",
        )
        return self._register(execution).start()

    def _release_finished_tests(self) -> None:
        """Forget the in-memory tables of this campaign's ended test executions.

        Kept work tables stay readable from their Parquet files; the others are
        only held for the current execution, so memory does not grow run by run.
        """
        running = self.workspace.running
        for execution_id, execution in list(running.items()):
            ended = execution.state in ("finished", "stopped", "failed")
            if execution.campaign_id == self.id and ended:
                del running[execution_id]
                execution.release()

    def _active_test(self) -> Execution:
        return self._active("stop", "test")

    def _active(self, action: str, mode: str | None = None) -> Execution:
        """The execution an action acts on: the test one in Draft, else the live one.

        An execution left paused by a process that ended is taken over.
        """
        mode = mode or ("test" if self.status == CampaignStatus.DRAFT else "live")
        execution = self.latest_execution(mode)
        if execution is not None and execution.id not in self.workspace.running:
            record = self.workspace.journal.execution(execution.id)
            if (
                record
                and record["state"] == "paused"
                and not owner_alive(record["owner"])
            ):
                return self._take_over(action, record)
        if execution is None or execution.id not in self.workspace.running:
            self._refused(action, f"the {mode} execution runs in another process")
        assert execution is not None
        return execution

    # -- publication and the rest of the lifecycle --------------------------------

    def publish(self) -> Execution | None:
        """Publish: store an immutable version and go Live or Scheduled.

        A campaign that runs as soon as possible starts its live execution at
        once, on a snapshot of its dimension taken now; channel activities of a
        non-recurring campaign then wait for :meth:`confirm_send` unless
        ``send_confirmation`` was turned off.

        A scheduled or recurring campaign runs each occurrence when it is due
        (see :class:`~ajo_workbench.workspace.scheduler.Scheduler`); one whose time
        has already come runs now. A signal-triggered one waits for
        :meth:`signal`.

        Returns
        -------
        Execution or None
            The live execution it started, or None (a schedule or a signal starts
            it later).
        """
        definition = self.definition
        blocking = errors(self.workspace.validate(definition))
        blocking += self._publish_alerts(definition)
        kind = definition.schedule.get("type")
        live = None
        try:
            # The status, the version and an asap campaign's live execution commit
            # together: after a crash the campaign is a Draft, or Live with both.
            with self.workspace.database.transaction():
                status = self._act(
                    "publish",
                    validation_errors=len(blocking),
                    validation_messages=tuple(str(alert) for alert in blocking),
                )
                version = self._version() + 1
                self.workspace.database.execute(
                    "INSERT INTO versions VALUES (?, ?, ?, ?)",
                    (self.id, version, self._row()["definition"], self._now()),
                )
                self._log(
                    "info",
                    f"published as version {version}; status {status}",
                    action="publish",
                )
                if status == CampaignStatus.LIVE and kind == "asap":
                    live = self._launch_live(definition, version)
        except LifecycleError as error:
            # The refusal's log line went with the transaction: write it again.
            self._log("warning", f"publish refused: {error.reason}", action="publish")
            raise
        if kind in ("once", "recurring"):
            started = self.run_due()  # a time already passed runs now
            self.workspace.scheduler.arm()
            return started[0] if started else None
        return live

    def _publish_alerts(self, definition: CampaignDefinition) -> list[Alert]:
        """Problems only publication finds: audiences other published campaigns save.

        Validation knows the audiences saved so far; a campaign published before
        this one may not have saved its audience yet, and two campaigns saving one
        audience name would overwrite each other's, so the second is refused.
        """
        saved = {
            a.get("audience"): a.id
            for a in definition.activities
            if a.type == "save_audience"
        }
        if not saved:
            return []
        alerts = []
        rows = self.workspace.database.query(
            "SELECT id, status, definition FROM campaigns WHERE id != ?"
            " AND status != 'draft'",
            (self.id,),
        )
        for row in rows:
            other = parse_definition(row["definition"])
            for activity in other.activities:
                name = activity.get("audience")
                if activity.type == "save_audience" and name in saved:
                    alerts.append(
                        Alert(
                            "AUDIENCE_RESERVED",
                            "error",
                            f"audience {name!r} is saved by campaign {row['id']!r}, "
                            f"which is {row['status']}",
                            f"choose another audience name, or stop {row['id']!r}",
                            saved[name],
                        )
                    )
        return alerts

    def _launch_live(
        self,
        definition: CampaignDefinition,
        version: int,
        execution_id: str | None = None,
        signal: dict[str, Any] | None = None,
    ) -> Execution:
        """Start a live execution on a snapshot of the campaign's dimension."""
        execution_id = execution_id or _new_id()
        folder = self.workspace.path / "snapshots" / execution_id
        take_snapshot(self.workspace.tables, [definition.dimension], folder)
        self._log(
            "info", f"snapshot of {definition.dimension!r} taken for {execution_id}"
        )
        workspace = self.workspace
        execution = Execution(
            execution_id=execution_id,
            campaign_id=self.id,
            definition=definition,
            tables=(frozen := self._snapshot_tables(execution_id, definition)),
            journal=workspace.journal,
            folder=workspace.path,
            mode="live",
            version=version,
            clock=workspace.clock,
            state=workspace.shared_state,
            sending=self._sending(definition, execution_id, frozen),
            signal=signal,
        )
        return self._register(execution).start()

    def _snapshot_tables(
        self, execution_id: str, definition: CampaignDefinition
    ) -> SnapshotTables:
        folder = self.workspace.path / "snapshots" / execution_id
        frozen = {definition.dimension: folder / f"{definition.dimension}.parquet"}
        return SnapshotTables(self.workspace.tables, frozen)

    def _sending(
        self, definition: CampaignDefinition, execution_id: str, frozen: SnapshotTables
    ) -> Sending:
        workspace = self.workspace
        recurring = definition.schedule.get("type") == "recurring"

        def create_records(dimension: str, rows: pl.DataFrame) -> pl.Series:
            keys = workspace.create_records(dimension, rows, also=frozen)
            workspace.journal.log(
                "info",
                f"{keys.len()} {dimension} record(s) created on the fly for "
                f"recipients that matched none (keys {keys[0]} to {keys[-1]})",
                campaign_id=self.id,
                execution_id=execution_id,
                action="create_records",
            )
            return keys

        return Sending(
            ledger=SendLedger(workspace.database, workspace.clock),
            providers=lambda channel: provider_for(
                channel, workspace.delivery, workspace.path
            ),
            confirm=definition.settings.send_confirmation and not recurring,
            create_records=create_records,
            signal=lambda target, variables: (
                workspace.campaign(target).signal(variables).id
            ),
        )

    def _register(self, execution: Execution) -> Execution:
        """Follow a live execution of this process, and let listeners know of it."""
        if execution.mode == "live":
            execution.on_change(self._complete_when_done)
        self.workspace.running[execution.id] = execution
        for listener in self.workspace.execution_listeners:
            listener(execution)
        return execution

    def _complete_when_done(self, execution: Execution) -> None:
        """Completed once the campaign's last execution finished without error.

        That is its only execution for a one-shot campaign; for a recurring one,
        the last after Close or after the end of its schedule.
        """
        if execution.state != "finished" or execution.error:
            return
        status = self.status
        if status not in (CampaignStatus.LIVE.value, CampaignStatus.CLOSED.value):
            return
        definition = self.definition
        kind = definition.schedule.get("type")
        if kind == "signal":
            return  # every signal starts one; the campaign stays live
        more = kind == "recurring" and status == "live"
        if more and self._next_occurrence(definition) is not None:
            return
        if self._active_live() is None:
            self._act("complete")

    def _active_live(self) -> Execution | None:
        for record in self.workspace.journal.executions(self.id):
            active = record["state"] in ("running", "waiting", "paused")
            if record["mode"] == "live" and active:
                return self._handle(record)
        return None

    # -- schedules and signals -----------------------------------------------------

    @property
    def schedule(self) -> Schedule:
        """The typed schedule of the current definition."""
        return parse_schedule(self.definition.schedule)

    def schedule_preview(self, count: int = 5) -> list[datetime]:
        """The next due times, in the campaign's time zone.

        None for an asap or signal schedule, or once the campaign runs no more
        occurrences (closed, completed, stopped or archived).
        """
        if self.status not in ("draft", "scheduled", "live"):
            return []
        return preview(self.schedule, self.workspace.clock.now(), count)

    def next_due(self) -> datetime | None:
        """The next occurrence not yet run, if the campaign is scheduled or live."""
        if self.status not in (CampaignStatus.SCHEDULED, CampaignStatus.LIVE):
            return None
        return self._next_occurrence(self.definition)

    def _next_occurrence(self, definition: CampaignDefinition) -> datetime | None:
        schedule = parse_schedule(definition.schedule)
        return next_occurrence(schedule, self._last_planned(schedule))

    def _last_planned(self, schedule: Schedule) -> datetime:
        """The latest occurrence claimed, else the time of the latest publish.

        A ``once`` time that had passed at publication is due at once.
        """
        row = self.workspace.database.one(
            "SELECT max(due_at) AS due FROM occurrences WHERE campaign_id = ?",
            (self.id,),
        )
        if row is not None and row["due"]:
            return datetime.fromisoformat(row["due"])
        if isinstance(schedule, Once):
            return schedule.at - timedelta(microseconds=1)
        published = self.workspace.database.one(
            "SELECT max(created_at) AS at FROM versions WHERE campaign_id = ?",
            (self.id,),
        )
        if published is not None and published["at"]:
            return datetime.fromisoformat(published["at"])
        return self.workspace.clock.now()

    def run_due(self) -> list[Execution]:
        """Start the execution of this campaign's occurrence that is due now.

        Due occurrences older than the latest one (the clock jumped, or no process
        ran the schedule for a while) are recorded as missed, not run. Of several
        processes that find the same occurrence due, one runs it: the first to
        claim it in the database. Returns the executions started here.
        """
        status = self.status
        if status not in (CampaignStatus.SCHEDULED, CampaignStatus.LIVE):
            return []
        definition = self.definition
        schedule = parse_schedule(definition.schedule)
        if not isinstance(schedule, Once | Recurring):
            return []
        now = self.workspace.clock.now()
        due = occurrences(schedule, self._last_planned(schedule), now)
        if not due:
            return []
        for missed in due[:-1]:
            if self._claim(missed, None, "missed"):
                self._log("warning", f"occurrence {missed.isoformat()} missed")
        execution_id = _new_id()
        if not self._claim(due[-1], execution_id, "started"):
            return []  # another process runs it
        if status == CampaignStatus.SCHEDULED:
            self._act("activate")
        self._log("info", f"occurrence {due[-1].isoformat()}: execution {execution_id}")
        execution = self._launch_live(definition, self._version(), execution_id)
        if self.workspace.clock.simulated:
            execution.wait()  # simulated time runs one occurrence after the other
        return [execution]

    def _claim(self, due: datetime, execution_id: str | None, outcome: str) -> bool:
        with self.workspace.database.transaction() as connection:
            cursor = connection.execute(
                "INSERT OR IGNORE INTO occurrences VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self.id,
                    due.astimezone(UTC).isoformat(),
                    execution_id,
                    OWNER,
                    self._now(),
                    outcome,
                ),
            )
            return cursor.rowcount == 1

    def _version(self) -> int:
        row = self.workspace.database.one(
            "SELECT coalesce(max(version), 0) AS v FROM versions WHERE campaign_id = ?",
            (self.id,),
        )
        return int(row["v"] if row else 0)

    def signal(self, variables: dict[str, Any] | None = None) -> Execution:
        """Signal a signal-triggered campaign.

        In Draft, the waiting test execution goes on with the variables given, or
        the parameters' test values; never throttled. Once live, each signal
        starts a live execution, at most one per minimum interval (the schedule's
        ``min_interval``, one hour by default).

        Raises
        ------
        SignalNotAcceptedError
            Not signal-triggered, not live (nor a Draft with a waiting test), or
            variables that don't fit the declared parameters.
        SignalThrottledError
            Signalled again within the minimum interval; ``retry_after`` says when.
        """
        definition = self.definition
        schedule = parse_schedule(definition.schedule)
        if not isinstance(schedule, SignalSchedule):
            raise SignalNotAcceptedError(
                self.id,
                f"campaign {self.id!r} is not signal-triggered "
                f"(schedule: {schedule.type})",
            )
        draft = self.status == CampaignStatus.DRAFT
        if not draft and self.status != CampaignStatus.LIVE:
            raise SignalNotAcceptedError(
                self.id,
                f"campaign {self.id!r} is {self.status}; only a live one takes signals",
            )
        try:
            values = coerce_variables(schedule, variables, test=draft)
        except DefinitionError as error:
            raise SignalNotAcceptedError(self.id, str(error)) from None
        if draft:
            return self._signal_test(values)

        execution_id = _new_id()
        interval = parse_duration(schedule.min_interval or DEFAULT_MIN_INTERVAL, "")
        wait = timedelta(0)
        with self.workspace.database.transaction() as connection:
            now = self.workspace.clock.now()  # inside: signals commit in time order
            last = connection.execute(
                "SELECT max(received_at) AS at FROM signals WHERE campaign_id = ?"
                " AND mode = 'live' AND execution_id IS NOT NULL",
                (self.id,),
            ).fetchone()
            if last is not None and last["at"]:
                wait = datetime.fromisoformat(last["at"]) + interval - now
            if wait <= timedelta(0):
                connection.execute(
                    "INSERT INTO signals (campaign_id, received_at, mode, variables,"
                    " execution_id) VALUES (?, ?, 'live', ?, ?)",
                    (
                        self.id,
                        now.isoformat(),
                        json.dumps(values, default=str),
                        execution_id,
                    ),
                )
                self._log(
                    "info",
                    f"signal accepted: execution {execution_id}",
                    action="signal",
                )
                # Recorded with its signal: a crash can't leave an accepted signal
                # (which throttles the next ones) without its execution.
                execution = self._launch_live(
                    definition, self._version(), execution_id, values
                )
        if wait > timedelta(0):
            self._log("warning", f"signal throttled for {wait}", action="signal")
            raise SignalThrottledError(self.id, wait.total_seconds())
        return execution

    def _signal_test(self, values: dict[str, Any]) -> Execution:
        test = self.latest_execution("test")
        if (
            test is None
            or test.id not in self.workspace.running
            or not (test.awaits_signal)
        ):
            raise SignalNotAcceptedError(
                self.id,
                f"no test execution of {self.id!r} waits for a signal: Start one first",
            )
        self.workspace.database.execute(
            "INSERT INTO signals (campaign_id, received_at, mode, variables,"
            " execution_id) VALUES (?, ?, 'test', ?, ?)",
            (self.id, self._now(), json.dumps(values, default=str), test.id),
        )
        test.signal(values)
        return test

    @property
    def versions(self) -> list[CampaignDefinition]:
        """Every published version, oldest first."""
        rows = self.workspace.database.query(
            "SELECT definition FROM versions WHERE campaign_id = ? ORDER BY version",
            (self.id,),
        )
        return [parse_definition(row["definition"]) for row in rows]

    def back_to_draft(self) -> None:
        """Return to Draft so the canvas can change again; a live execution stops."""
        live = self.latest_execution("live")
        self._act("back_to_draft")
        if live is not None and live.state in ("running", "waiting", "paused"):
            live.stop()

    def confirm_send(self, activity_id: str) -> None:
        """Let a channel activity waiting for confirmation send.

        When another process runs the live execution (the service, another
        notebook), the confirmation is recorded for it: it sends within a second.
        """
        self._act("confirm_send", activity_id=activity_id)
        elsewhere = self._running_elsewhere()
        try:
            if elsewhere is None:
                first = self._active("confirm_send", "live").confirm(activity_id)
            else:
                elsewhere.check_awaiting(activity_id)
                first = self.workspace.journal.claim_confirmation(
                    elsewhere.id,
                    activity_id,
                    campaign_id=self.id,
                    message="send confirmed; the process running the execution sends",
                    user=self.workspace.user,
                )
        except ExecutionError as error:  # confirmed elsewhere meanwhile
            self._refused("confirm_send", str(error))
            return
        if not first:
            self._refused(
                "confirm_send",
                f"another process confirmed the send of {activity_id!r} first",
            )

    def _running_elsewhere(self) -> Execution | None:
        """The live execution, when a process that is still running owns it."""
        execution = self.latest_execution("live")
        if execution is None or execution.id in self.workspace.running:
            return None
        record = self.workspace.journal.execution(execution.id)
        if record is None or record["state"] not in ("running", "waiting"):
            return None
        return execution if owner_alive(record["owner"]) else None

    def simulate_content(
        self,
        activity_id: str,
        profiles: list[Any] | None = None,
        execution: Execution | None = None,
    ) -> pl.DataFrame:
        """Render a channel activity's message for chosen profiles of its population
        (by default, its first three).

        ``execution`` defaults to the latest one (the live one once published, else
        the latest test). See :meth:`Execution.simulate`; nothing is sent.
        """
        if execution is None:
            mode = None if self.status == CampaignStatus.DRAFT else "live"
            execution = self.latest_execution("test" if mode is None else mode)
        if execution is None:
            raise LifecycleError(
                "simulate_content",
                self.status,
                "no execution has run yet: Start a test execution first",
            )
        return execution.simulate(activity_id, profiles)

    # -- reporting -------------------------------------------------------------------

    def _execution_for(self, execution: Execution | None, what: str) -> Execution:
        if execution is None:
            mode = "test" if self.status == CampaignStatus.DRAFT else "live"
            execution = self.latest_execution(mode) or self.latest_execution()
        if execution is None:
            raise LifecycleError(
                what, self.status, "no execution has run yet: Start a test first"
            )
        return execution

    def report(self, execution: Execution | None = None) -> pl.DataFrame:
        """Per activity: status, input and output counts, durations (SPEC §10).

        ``execution`` defaults to the latest live one once published, else the
        latest test.
        """
        execution = self._execution_for(execution, "report")
        return execution_report(execution, self.workspace.feedback_events)

    def channel_report(self, execution: Execution | None = None) -> pl.DataFrame:
        """Per channel activity: targeted, excluded by reason, sent, delivered,
        bounced and errors."""
        execution = self._execution_for(execution, "channel_report")
        return channel_report(execution, self.workspace.feedback_events)

    def funnel(self, execution: Execution | None = None) -> pl.DataFrame:
        """The population along every transition (from, port, to, count)."""
        return funnel(self._execution_for(execution, "funnel"))

    def compare(self, a: Execution, b: Execution) -> Comparison:
        """Two executions activity by activity, down to profiles that changed path."""
        return compare(a, b)

    def close(self) -> None:
        """Stop new occurrences of a recurring campaign; Completed once idle."""
        self._act("close")
        lifecycle = Lifecycle(self.status)
        if lifecycle.refusal("complete", self._facts()) is None:
            self._act("complete")

    def stop_campaign(self) -> None:
        """Stop a Scheduled, Live or Closed campaign for good, and its execution."""
        self._act("stop_campaign")
        live = self.latest_execution("live")
        if live is not None and live.state in ("running", "waiting", "paused"):
            live.stop()

    def archive(self) -> None:
        """Archive a campaign that is no longer a Draft."""
        self._act("archive")

    def duplicate(self, new_id: str | None = None) -> Campaign:
        """A new Draft with a copy of this definition (no runs, logs or state)."""
        self._act("duplicate")
        definition = self.definition
        new_id = new_id or self.workspace.free_campaign_id(f"{self.id}-copy")
        copy = definition.with_changes(id=new_id, name=f"{definition.name} (copy)")
        return self.workspace.create_campaign(copy)

    def delete(self) -> None:
        """Delete a Draft campaign with its test history."""
        self._act("delete")
        records = self.workspace.journal.executions(self.id)
        with self.workspace.database.transaction() as connection:
            for record in records:
                for table in ("tasks", "work_tables"):
                    connection.execute(
                        f"DELETE FROM {table} WHERE execution_id = ?", (record["id"],)
                    )
            for table in ("executions", "versions"):
                connection.execute(
                    f"DELETE FROM {table} WHERE campaign_id = ?", (self.id,)
                )
            connection.execute("DELETE FROM logs WHERE campaign_id = ?", (self.id,))
            connection.execute("DELETE FROM campaigns WHERE id = ?", (self.id,))
        for record in records:
            shutil.rmtree(self.workspace.path / "worktables" / record["id"], True)
            self.workspace.running.pop(record["id"], None)
        self.workspace.journal.log(
            "info",
            f"campaign {self.id!r} deleted",
            user=self.workspace.user,
            action="delete",
        )

    # -- guards and logging --------------------------------------------------------

    def _facts(self, validated: list[Alert] | None = None, **extra: Any) -> Facts:
        test = self.latest_execution("test")
        live = self.latest_execution("live")
        definition = self.definition
        draft = self.status == CampaignStatus.DRAFT
        if validated is None and draft:
            validated = self.workspace.validate(definition)
        blocking = errors(validated or []) if draft else []
        values: dict[str, Any] = {
            "test_state": test.state if test else None,
            "validation_errors": len(blocking),
            "validation_messages": tuple(str(alert) for alert in blocking),
            "recurring": definition.schedule.get("type") == "recurring",
            "future_start": self._starts_later(definition),
            "occurrences": len(
                [
                    e
                    for e in self.workspace.journal.executions(self.id)
                    if e["mode"] == "live"
                ]
            ),
            "live_state": live.state if live else None,
            "live_paused_on_error": bool(
                live and live.state == "paused" and live.error
            ),
            "awaiting_confirmation": live.awaiting if live else (),
            "sent_anything": bool(
                SendLedger(self.workspace.database, self.workspace.clock)
                .events(self.id)
                .filter(pl.col("status").is_in(["sent", "delivered", "bounce"]))
                .height
            ),
        }
        values.update(extra)
        return Facts(**values)

    def _starts_later(self, definition: CampaignDefinition) -> bool:
        schedule = definition.schedule
        moment = schedule.get("at") if schedule.get("type") == "once" else None
        moment = moment or (
            schedule.get("start") if schedule.get("type") == "recurring" else None
        )
        if not moment:
            return False
        try:
            return datetime.fromisoformat(str(moment)) > self.workspace.clock.now()
        except (TypeError, ValueError):
            return False

    def _act(self, action: str, **extra: Any) -> CampaignStatus:
        before = self.status
        lifecycle = Lifecycle(before)
        facts = self._facts(**extra)
        try:
            status = lifecycle.apply(action, facts)
        except LifecycleError as error:
            self._log("warning", f"{action} refused: {error.reason}", action=action)
            raise
        if status.value != before:
            # Only from the status the guards saw: of two processes acting at
            # once, the second finds it changed and is refused.
            with self.workspace.database.transaction() as connection:
                changed = connection.execute(
                    "UPDATE campaigns SET status = ?, updated_at = ?"
                    " WHERE id = ? AND status = ?",
                    (status.value, self._now(), self.id, before),
                ).rowcount
            if not changed:
                self._refused(
                    action,
                    f"another process changed the campaign from {before} to "
                    f"{self.status} first",
                )
        if action in AUTOMATIC:
            self._log("info", f"{action}: {AUTOMATIC[action]}", action=action)
        else:
            self._log("info", f"{action} by {self.workspace.user}", action=action)
        return status

    def _refused(self, action: str, reason: str) -> None:
        self._log("warning", f"{action} refused: {reason}", action=action)
        raise LifecycleError(action, self.status, reason)

    def _log(self, level: str, message: str, action: str | None = None) -> None:
        self.workspace.journal.log(
            level,
            message,
            campaign_id=self.id,
            user=self.workspace.user,
            action=action,
        )

    def _now(self) -> str:
        return self.workspace.journal.stamp()


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def summary(execution: Execution) -> dict[str, Any]:
    """An execution's state, task statuses and transition counts, JSON-ready."""
    definition = execution.definition
    return {
        "execution_id": execution.id,
        "state": execution.state,
        "error": execution.error,
        "tasks": {a.id: execution.task_status(a.id) for a in definition.activities},
        "counts": {t.id: execution.count(t.id) for t in definition.transitions},
    }


def summary_json(execution: Execution) -> str:
    """:func:`summary` as indented JSON."""
    return json.dumps(summary(execution), indent=2)
