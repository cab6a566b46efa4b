"""The workbench: one widget that composes the campaign's header, action bar,
canvas, properties pane and the Logs, Tasks and Report tabs (SPEC §11.4)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from html import escape
from typing import Any

import ipywidgets as widgets
import polars as pl

from ajo_workbench.engine import Execution
from ajo_workbench.errors import WorkbenchError
from ajo_workbench.model.alerts import Alert
from ajo_workbench.model.definition import CampaignDefinition
from ajo_workbench.widgets.actions import ACTION_LABELS, ActionBar
from ajo_workbench.widgets.boundary import ErrorArea, guarded
from ajo_workbench.widgets.canvas import Canvas
from ajo_workbench.widgets.grids import FilteredGrid
from ajo_workbench.widgets.header import Header
from ajo_workbench.widgets.live import Follower, Throttle, Watcher
from ajo_workbench.widgets.properties import PAGE_SIZE, PropertiesPane
from ajo_workbench.widgets.report import Report
from ajo_workbench.workspace import Campaign

logger = logging.getLogger(__name__)

LOG_COLUMNS = ["time", "level", "activity_id", "action", "user", "message"]
TASK_COLUMNS = [
    "activity_id",
    "type",
    "status",
    "started_at",
    "ended_at",
    "duration",
    "input_count",
    "output_counts",
    "error",
]
ACTIVE = ("running", "waiting", "paused")
TABS = ("Logs", "Tasks", "Report")
WIDTHS = {
    "time": 160,
    "started_at": 160,
    "ended_at": 160,
    "message": 460,
    "output_counts": 200,
    "error": 300,
}


class Workbench(widgets.VBox):
    """The campaign workbench for JupyterLab and Voilà.

    Parameters
    ----------
    campaign
        The campaign to show and act on.
    refresh_interval
        The shortest time, in seconds, between two live refreshes while an
        execution runs; changes in between are applied together.
    page_size
        Rows per page of a transition's *Preview results*.
    watch_interval
        How often, in seconds, to look for changes that another process (the
        service, another notebook) made to the campaign, its executions and its
        logs; None to look only on :meth:`refresh`.

    Examples
    --------
    >>> import ajo_workbench as ajo
    >>> ws = ajo.Workspace("demo")  # doctest: +SKIP
    >>> ajo.Workbench(ws.campaign("spring-sale"))  # doctest: +SKIP

    Notes
    -----
    The canvas shows the campaign's definition, drawn again when it changes (found
    on :meth:`refresh`, after an action, or by the watch); while an execution is
    active it shows the definition that execution runs. A finished execution of an
    earlier definition is no longer shown on the canvas. The Logs and Tasks grids
    show at most the last 1000 rows that pass their filters. Executions of this
    process are followed as each task changes; those of other processes are read
    again when the watch sees them move, so they lag by up to ``watch_interval``.
    """

    def __init__(
        self,
        campaign: Campaign,
        *,
        refresh_interval: float = 0.2,
        page_size: int = PAGE_SIZE,
        watch_interval: float | None = 1.0,
    ) -> None:
        self.campaign = campaign
        self.definition = campaign.definition
        self.execution: Execution | None = campaign.latest_execution()
        self.selected: tuple[str, str] | None = None
        self.deleted = False
        self._lock = threading.RLock()
        self._seen_state: str | None = None
        self._validated: list[Alert] | None = None
        self._available: dict[str, str | None] = {}
        self._moved_elsewhere = False

        self.errors = ErrorArea()
        self.notice = widgets.HTML()
        self.notice.add_class("ajo-notice")
        self.header = Header(self.select, guard=self._guard)
        self.actions = ActionBar(self.act, guard=self._guard)
        self.canvas = Canvas(self.definition, self.select, guard=self._guard)
        self.properties = PropertiesPane(
            page_size, guard=self._guard, on_confirm=self._confirm
        )
        self.logs = FilteredGrid(
            LOG_COLUMNS, "level", "time", widths=WIDTHS, guard=self._on_filter
        )
        self.tasks = FilteredGrid(
            TASK_COLUMNS, "status", "started_at", widths=WIDTHS, guard=self._on_filter
        )
        self.report = Report(self.definition, campaign, guard=self._guard)
        self.tabs = widgets.Tab([self.logs, self.tasks, self.report], titles=TABS)
        self._frames: dict[str, pl.DataFrame] = {
            "logs": pl.DataFrame(),
            "tasks": pl.DataFrame(),
        }
        self.tabs.observe(self._guard("open a tab")(self._show_tab), "selected_index")
        middle = widgets.HBox(
            [self.canvas, self.properties],
            layout=widgets.Layout(width="100%"),
        )
        self.canvas.layout.flex = "3 1 0%"
        self.properties.layout.flex = "2 1 0%"
        super().__init__(
            [self.header, self.actions, self.errors, self.notice, middle, self.tabs]
        )
        self.add_class("ajo-workbench")

        live = guarded(self.errors, "live refresh")(self._live_refresh)
        self.throttle = Throttle(live, refresh_interval)
        self.follower = Follower(campaign, self.throttle, self._switch)
        if self.execution is not None and self.execution.state in ACTIVE:
            self.follower.follow(self.execution)
        self.watcher: Watcher | None = None
        self.refresh()
        if watch_interval is not None:
            self.watcher = Watcher(campaign, self._moved, watch_interval)

    def __repr__(self) -> str:
        return f"<Workbench {self.campaign.id!r}>"

    # -- what the user does ------------------------------------------------------

    def act(self, action: str) -> None:
        """Perform a lifecycle action as its button does (errors propagate)."""
        if action not in ACTION_LABELS:
            known = ", ".join(ACTION_LABELS)
            raise ValueError(f"unknown action {action!r} (actions: {known})")
        self.errors.clear()
        if action == "confirm_send":
            if self.selected is None or self.selected[0] != "activity":
                raise ValueError("select the channel activity to confirm first")
            self.campaign.confirm_send(self.selected[1])
        else:
            result = getattr(self.campaign, action)()
            self._after(action, result)
        if not self.deleted:
            self._refresh()  # an action leaves the definition, so its alerts, as is

    def select(self, kind: str, element_id: str) -> None:
        """Select an activity or a transition, as a click on the canvas does.

        Selecting an activity filters the Logs and Tasks tabs to it.
        """
        with self._lock:
            if kind == "activity":
                self.definition.activity(element_id)
            elif kind == "transition":
                self.definition.transition(element_id)
            else:
                raise ValueError(
                    f"cannot select a {kind!r} (choose: activity, transition)"
                )
            self.selected = (kind, element_id)
            self.canvas.choose(kind, element_id)
            self._show_selection()
            if kind == "activity":
                self.logs.filter_activity(element_id)
                self.tasks.filter_activity(element_id)

    def clear_selection(self) -> None:
        """Select nothing: the Logs and Tasks tabs show every activity again."""
        with self._lock:
            self.selected = None
            self.logs.filter_activity(None)
            self.tasks.filter_activity(None)

    # -- refreshing ----------------------------------------------------------------

    def refresh(self) -> None:
        """Read the campaign and its latest execution again and show them.

        This also validates the definition again against the workspace (after
        importing tables, for instance); actions and live updates reuse the last
        validation, as they don't change the definition.
        """
        with self._lock:
            self._validated = None
            self._refresh()

    def _refresh(self) -> None:
        with self._lock:
            definition = self.campaign.definition
            self._draw(definition)
            execution = self.execution
            self._seen_state = execution.state if execution else None
            if self._validated is None:
                self._validated = self.campaign.workspace.validate(definition)
            validated = self._validated
            self._available = self.campaign.available_actions(validated)
            self.actions.update(self._available)
            found = execution.alerts if execution is not None else []
            self._show_campaign(validated + found)
            self._show_execution()

    def close(self) -> None:
        """Stop following executions and close every part of the widget."""
        follower = getattr(self, "follower", None)  # None if __init__ failed early
        if follower is not None:
            follower.close()
        watcher = getattr(self, "watcher", None)
        if watcher is not None:
            watcher.close()
        super().close()

    def _draw(self, current: CampaignDefinition) -> None:
        """Draw the definition to show: the active execution's, else ``current``.

        A finished execution of another definition is no longer shown.
        """
        execution = self.execution
        active = execution is not None and execution.state in ACTIVE
        if (
            execution is not None
            and not active
            and not _same(execution.definition, current)
        ):
            self.execution = None
            self.properties.preview = None
            self.notice.value = escape(
                f"The canvas changed after {execution.mode} execution "
                f"{execution.id}; Start runs a test execution of it."
            )
        drawn = execution.definition if active and execution else current
        if _same(drawn, self.definition):
            return
        if not _same(current, self.definition):
            self._validated = None
        self.definition = drawn
        self.canvas.redraw(drawn)
        self.report.redraw(drawn)
        if self.selected is not None and not self.canvas.has(*self.selected):
            self.clear_selection()
            self.properties.clear()

    def _moved(self) -> None:
        """The watch saw the campaign move (in another process, or this one)."""
        self._moved_elsewhere = True
        self.throttle.mark()

    def _live_refresh(self) -> None:
        with self._lock:
            if self._moved_elsewhere:
                self._moved_elsewhere = False
                self._read_latest()
                self._refresh()
                return
            state = self.execution.state if self.execution else None
            if state != self._seen_state:
                # the definition did not change: its validation still holds
                self._refresh()
                return
            self._show_campaign(self.header.alerts)
            self._show_execution()

    def _show_campaign(self, alerts: list[Alert]) -> None:
        self.header.update(
            self.campaign.name,
            self.campaign.status,
            self.execution.state if self.execution else None,
            self.definition.schedule,
            alerts,
            upcoming=self._upcoming(),
            awaiting=self.execution.awaiting if self.execution else (),
        )

    def _upcoming(self) -> list[datetime]:
        """The next occurrences, for a schedule that has them and is valid."""
        if self.definition.schedule.get("type") not in ("once", "recurring"):
            return []
        try:
            return self.campaign.schedule_preview(3)
        except WorkbenchError:
            return []  # the alerts say what is wrong with the schedule

    def _show_execution(self) -> None:
        execution = self.execution
        tasks = execution.tasks if execution else pl.DataFrame()
        logs = self.campaign.logs
        self.canvas.show(execution)
        if "duration" in tasks.columns:
            tasks = tasks.with_columns(pl.col("duration").round(3))
        self._frames = {"logs": logs, "tasks": tasks}
        self._show_tab()
        kind = self.selected[0] if self.selected else None
        if kind == "activity" or (kind and self.properties.preview is None):
            self._show_selection(tasks, logs)

    def _show_tab(self, _: Any = None) -> None:
        """Fill the visible tab; hidden ones are filled when they are opened."""
        with self._lock:
            logs, tasks = self._frames["logs"], self._frames["tasks"]
            tab = TABS[self.tabs.selected_index or 0]
            if tab == "Logs":
                self.logs.set_frame(logs)
            elif tab == "Tasks":
                self.tasks.set_frame(tasks)
            else:
                self.report.show(tasks, self.execution)

    def _show_selection(
        self, tasks: pl.DataFrame | None = None, logs: pl.DataFrame | None = None
    ) -> None:
        if self.selected is None:
            return
        kind, element_id = self.selected
        execution = self.execution
        if kind == "transition":
            self.properties.show_transition(self.definition, element_id, execution)
            return
        task = None
        if execution is not None:
            tasks = execution.tasks if tasks is None else tasks
            rows = tasks.filter(pl.col("activity_id") == element_id)
            task = rows.row(0, named=True) if rows.height else None
        logs = self.campaign.logs if logs is None else logs
        refused = self._available.get("confirm_send", "")
        self.properties.show_activity(
            self.definition, element_id, execution, task, logs, refused
        )

    # -- executions ----------------------------------------------------------------

    def _confirm(self) -> None:
        self.act("confirm_send")

    def _read_latest(self) -> None:
        """Show the campaign's newest execution as it is recorded now.

        An execution of this process is the running object itself; one of another
        process is read again from the database.
        """
        current = self.execution
        followed = current is not None and current is self.follower.current
        if followed and current is not None and current.state in ACTIVE:
            # This process runs it and its listeners keep the workbench up to
            # date; its record may not even be in the database yet.
            return
        latest = self.campaign.latest_execution()
        if latest is None or latest is current:
            return
        if current is None or latest.id != current.id:
            self.properties.preview = None
        self.execution = latest

    def _switch(self, execution: Execution) -> None:
        with self._lock:
            self.execution = execution
            self.properties.preview = None
            self.notice.value = ""  # what it said was about the execution before

    def _after(self, action: str, result: Any) -> None:
        label = ACTION_LABELS[action]
        if isinstance(result, Execution):
            self.notice.value = escape(f"{label}: {result.mode} execution {result.id}")
        elif isinstance(result, Campaign):
            self.notice.value = escape(
                f"{label}: new draft {result.id!r} (open it with "
                f"Workbench(ws.campaign({result.id!r})))"
            )
        elif action == "delete":
            self.deleted = True
            self.follower.close()
            self.notice.value = escape(f"campaign {self.campaign.id!r} was deleted")
            self.actions.update({})
        else:
            self.notice.value = escape(f"{label}: done")

    # -- guards ----------------------------------------------------------------------

    def _guard(self, what: str) -> Any:
        return guarded(self.errors, what)

    def _on_filter(self, callback: Any) -> Any:
        return guarded(self.errors, "filter")(callback)


def _same(a: CampaignDefinition, b: CampaignDefinition) -> bool:
    return a is b or a.to_json() == b.to_json()
