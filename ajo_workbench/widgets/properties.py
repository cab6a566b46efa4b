"""The properties pane: what is selected on the canvas, and transition previews.

For an activity: its settings, its task's status, duration and counts, and its own
log lines. For a transition: *Preview schema* (column, type, nulls, a sample value)
and *Preview results*, paged: only the current page is sent to the browser.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

import ipydatagrid
import ipywidgets as widgets
import polars as pl

from ajo_workbench.engine import Execution
from ajo_workbench.model.definition import CampaignDefinition
from ajo_workbench.widgets.boundary import Guard, unguarded
from ajo_workbench.widgets.frames import to_grid

PAGE_SIZE = 50
LOG_LINES = 20


def placeholder() -> pl.DataFrame:
    """An empty one-column frame: a grid always needs a column."""
    return pl.DataFrame(schema={"no preview yet": pl.String})


def table_html(rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f'<tr><td style="padding-right:10px;color:#616161">{escape(k)}</td>'
        f"<td>{escape(v)}</td></tr>"
        for k, v in rows
    )
    return f'<table style="font-size:12px">{cells}</table>'


class Preview:
    """Pages of one transition's work table, with the dimension's attributes.

    Each page is read on its own (:meth:`Execution.page`), so neither the kernel nor
    the browser ever holds the whole table for a preview.
    """

    def __init__(self, execution: Execution, transition_id: str, page_size: int):
        self.execution = execution
        self.transition_id = transition_id
        self.page_size = page_size

    @property
    def rows(self) -> int:
        """The table's exact row count."""
        return self.execution.count(self.transition_id)

    @property
    def pages(self) -> int:
        return max(1, -(-self.rows // self.page_size))

    def page(self, number: int) -> pl.DataFrame:
        """Rows of a page (0-based); ValueError outside ``0 .. pages - 1``."""
        if not 0 <= number < self.pages:
            raise ValueError(
                f"page {number + 1} does not exist (pages: 1 to {self.pages})"
            )
        offset = number * self.page_size
        return self.execution.page(
            self.transition_id, offset, self.page_size, columns=True
        )


class PropertiesPane(widgets.VBox):
    """Details of the selected activity or transition."""

    def __init__(
        self,
        page_size: int = PAGE_SIZE,
        guard: Guard = unguarded,
        on_confirm: Callable[[], None] | None = None,
    ) -> None:
        self.page_size = page_size
        self.title = widgets.HTML("<i>Click an activity or a transition.</i>")
        self.details = widgets.HTML()
        self.schema_button = widgets.Button(description="Preview schema")
        self.results_button = widgets.Button(description="Preview results")
        self.previous_button = widgets.Button(description="◀", disabled=True)
        self.next_button = widgets.Button(description="▶", disabled=True)
        for button in (self.previous_button, self.next_button):
            button.layout.width = "40px"
        self.page_label = widgets.Label()
        self.grid = ipydatagrid.DataGrid(
            to_grid(placeholder()),
            layout=widgets.Layout(height="260px"),
            base_column_size=110,
        )
        self.grid.add_class("ajo-preview-grid")
        self.preview_box = widgets.VBox(
            [
                widgets.HBox([self.schema_button, self.results_button]),
                widgets.HBox([self.previous_button, self.page_label, self.next_button]),
                self.grid,
            ],
            layout=widgets.Layout(display="none"),
        )
        self.confirm_button = widgets.Button(
            description="Confirm send",
            button_style="warning",
            disabled=True,
            layout=widgets.Layout(display="none", width="auto"),
        )
        self._on_confirm = on_confirm
        self.simulate_input = widgets.Text(
            placeholder="profile keys (empty: the first 3)",
            layout=widgets.Layout(width="240px"),
        )
        self.simulate_button = widgets.Button(
            description="Simulate content",
            tooltip="render the message for these profiles of its population",
        )
        self.simulation = widgets.HTML()
        self.simulate_box = widgets.VBox(
            [
                widgets.HBox([self.simulate_input, self.simulate_button]),
                self.simulation,
            ],
            layout=widgets.Layout(display="none"),
        )
        self.simulate_box.add_class("ajo-simulate")
        self.confirm_button.add_class("ajo-confirm-send")
        self.simulate_button.on_click(guard("Simulate content")(self._simulate_clicked))
        self._execution: Execution | None = None
        self.confirm_button.on_click(guard("Confirm send")(self._confirm_clicked))
        self.schema_button.on_click(guard("Preview schema")(self._schema_clicked))
        self.results_button.on_click(guard("Preview results")(self._results_clicked))
        self.previous_button.on_click(guard("previous page")(self._previous_clicked))
        self.next_button.on_click(guard("next page")(self._next_clicked))
        self.preview: Preview | None = None
        self.page = 0
        self.showing: tuple[str, str] | None = None
        super().__init__(
            [
                self.title,
                self.confirm_button,
                self.simulate_box,
                self.details,
                self.preview_box,
            ],
            layout=widgets.Layout(min_width="320px", padding="0 0 0 8px"),
        )

    def clear(self) -> None:
        """Show nothing selected (the selected element left the canvas)."""
        self.showing = None
        self.preview = None
        self._execution = None
        self.title.value = "<i>Click an activity or a transition.</i>"
        self.details.value = ""
        for part in (self.preview_box, self.confirm_button, self.simulate_box):
            part.layout.display = "none"

    # -- activities --------------------------------------------------------------

    def show_activity(
        self,
        definition: CampaignDefinition,
        activity_id: str,
        execution: Execution | None,
        task: dict[str, Any] | None,
        logs: pl.DataFrame,
        confirm_refused: str | None = "",
    ) -> None:
        """An activity's settings, its task and its last log lines.

        A channel activity also gets its Confirm send button, enabled unless
        ``confirm_refused`` says why the lifecycle refuses it.
        """
        activity = definition.activity(activity_id)
        again = self.showing == ("activity", activity_id)
        self.showing = ("activity", activity_id)
        self.preview_box.layout.display = "none"
        channel = activity.spec.category == "channel"
        self.confirm_button.layout.display = None if channel else "none"
        self.confirm_button.disabled = confirm_refused is not None
        self.confirm_button.tooltip = confirm_refused or "let this activity send"
        self.simulate_box.layout.display = None if channel else "none"
        same_run = (execution.id if execution else None) == (
            self._execution.id if self._execution else None
        )
        if not (again and same_run):
            self.simulation.value = ""  # the messages shown were of another one
        self._execution = execution
        self.title.value = (
            f"<b>{escape(activity.label or activity.id)}</b> "
            f"<code>{escape(activity.id)}</code> · {escape(activity.type)} "
            f"({escape(activity.spec.category)})"
        )
        settings = [
            (k, json.dumps(v, default=str)) for k, v in activity.settings.items()
        ]
        task_rows: list[tuple[str, str]] = []
        if execution is not None:
            task_rows.append(("task status", execution.task_status(activity_id)))
        if task:
            duration = task.get("duration")
            if duration is not None:
                task_rows.append(("duration", f"{duration:.3f} s"))
            if task.get("input_count") is not None:
                task_rows.append(("input", f"{task['input_count']:,}"))
            outputs = task.get("output_counts") or "{}"
            for port, count in json.loads(outputs).items():
                task_rows.append((f"output {port}", f"{count:,}"))
            if task.get("error"):
                task_rows.append(("error", str(task["error"])))
        lines = logs.filter(pl.col("activity_id") == activity_id).tail(LOG_LINES)
        log_rows = [
            (str(row["level"]), str(row["message"]))
            for row in lines.iter_rows(named=True)
        ]
        self.details.value = (
            "<b>Settings</b>"
            + table_html(settings)
            + ("<b>Task</b>" + table_html(task_rows) if task_rows else "")
            + "<b>Logs</b>"
            + (table_html(log_rows) if log_rows else "<div><i>no lines</i></div>")
        )

    # -- transitions ---------------------------------------------------------------

    def show_transition(
        self,
        definition: CampaignDefinition,
        transition_id: str,
        execution: Execution | None,
    ) -> None:
        """A transition's ends and count, with its preview buttons."""
        transition = definition.transition(transition_id)
        self.showing = ("transition", transition_id)
        self.confirm_button.layout.display = "none"
        self.simulate_box.layout.display = "none"
        port = "" if transition.port == "out" else f" (port {transition.port})"
        self.title.value = (
            f"<b>Transition</b> <code>{escape(transition.id)}</code>: "
            f"{escape(transition.source)}{escape(port)} → {escape(transition.target)}"
        )
        ready = execution is not None and execution.task_status(
            transition.source
        ) not in ("not_run", "running")
        if execution is None or not ready:
            self.details.value = "<i>No table yet: run a test execution first.</i>"
            self.preview_box.layout.display = "none"
            self.preview = None
            return
        self.details.value = table_html(
            [("rows", f"{execution.count(transition_id):,}")]
        )
        self.preview = Preview(execution, transition_id, self.page_size)
        self.preview_box.layout.display = None
        self._set_grid(placeholder())
        self.page_label.value = "choose a preview"
        self.previous_button.disabled = self.next_button.disabled = True

    def show_schema(self) -> pl.DataFrame:
        """Show the selected transition's schema; returns it."""
        preview = self._preview()
        schema = preview.execution.schema(preview.transition_id)
        self._set_grid(schema)
        self.page_label.value = f"schema: {schema.height} columns"
        self.previous_button.disabled = self.next_button.disabled = True
        return schema

    def show_page(self, number: int = 0) -> pl.DataFrame:
        """Show one page of the selected transition's rows; returns it."""
        preview = self._preview()
        rows = preview.page(number)
        self.page = number
        self._set_grid(rows, first_row=number * preview.page_size)
        total = preview.rows
        self.page_label.value = f"page {number + 1} of {preview.pages} ({total:,} rows)"
        self.previous_button.disabled = number == 0
        self.next_button.disabled = number >= preview.pages - 1
        return rows

    def _confirm_clicked(self, _: Any) -> None:
        if self._on_confirm is None:
            raise ValueError("this pane was made without a Confirm send action")
        self._on_confirm()

    def simulate(self, keys: str) -> pl.DataFrame:
        """Render the shown channel activity's message for comma-separated keys
        (none: the first three profiles of its population)."""
        if self.showing is None or self.showing[0] != "activity":
            raise ValueError("select a channel activity first")
        if self._execution is None:
            raise ValueError("no execution yet: Start a test execution first")
        chosen = [part.strip() for part in keys.split(",") if part.strip()]
        activity_id = self.showing[1]
        messages = self._execution.simulate(activity_id, chosen)
        html = self._execution.definition.activity(activity_id).type == "email"
        self.simulation.value = "".join(
            _message_html(row, html) for row in messages.iter_rows(named=True)
        )
        return messages

    def _simulate_clicked(self, _: Any) -> None:
        self.simulate(self.simulate_input.value)

    def _schema_clicked(self, _: Any) -> None:
        self.show_schema()

    def _results_clicked(self, _: Any) -> None:
        self.show_page(0)

    def _previous_clicked(self, _: Any) -> None:
        self.show_page(self.page - 1)

    def _next_clicked(self, _: Any) -> None:
        self.show_page(self.page + 1)

    def _preview(self) -> Preview:
        if self.preview is None:
            raise ValueError("select a transition that carries a table first")
        return self.preview

    def _set_grid(self, frame: pl.DataFrame, first_row: int = 0) -> None:
        self.grid.data = to_grid(frame, first_row)


def _message_html(message: dict[str, Any], html: bool) -> str:
    """One simulated message: the HTML body is shown in a sandboxed frame."""
    key = next(iter(message))
    subject = message["subject"]
    body = message["body"]
    shown = (
        f'<iframe sandbox="" srcdoc="{escape(body, quote=True)}" '
        'style="width:100%;height:120px;border:1px solid #ccc"></iframe>'
        if html
        else f"<pre>{escape(body)}</pre>"
    )
    return (
        '<div class="ajo-simulation">'
        + table_html(
            [
                (key, str(message[key])),
                ("to", message["address"] or "(no address)"),
                ("subject", subject if subject is not None else "(none)"),
            ]
        )
        + shown
        + "</div>"
    )
