"""The Report tab: per-activity counts and durations, deliveries per channel, the
flow through the canvas, and a comparison with another execution (SPEC §10).

The charts are plain SVG: one bar per activity, in dependency order, as long as the
population that reached it (or, for an activity without inputs, that it produced),
and a Sankey diagram of the transitions' counts.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import ipydatagrid
import ipywidgets as widgets
import polars as pl

from ajo_workbench.delivery import FEEDBACK_COLUMNS, SendLedger
from ajo_workbench.engine import Execution
from ajo_workbench.errors import ExecutionError
from ajo_workbench.model.definition import CampaignDefinition
from ajo_workbench.reporting import (
    CHANNEL_REPORT,
    COMPARED_ACTIVITIES,
    Comparison,
    activity_report,
    channel_report,
    compare,
    funnel,
)
from ajo_workbench.reporting.funnel import FLOWS
from ajo_workbench.widgets.boundary import Guard, unguarded
from ajo_workbench.widgets.frames import to_grid
from ajo_workbench.widgets.layout import drawing_order
from ajo_workbench.widgets.palette import colour
from ajo_workbench.widgets.sankey import sankey_svg

if TYPE_CHECKING:
    from ajo_workbench.workspace import Campaign

BAR_HEIGHT = 18
CHART_WIDTH = 460
LABEL_WIDTH = 150
NOTHING = ""
"""The value of the comparison dropdown when no execution is chosen."""


def report_frame(definition: CampaignDefinition, tasks: pl.DataFrame) -> pl.DataFrame:
    """One row per activity: status, input, output (all ports), channel exclusions,
    outputs per port and duration, in dependency order.

    ``excluded`` is set for channel activities: the rows that reached them without
    an address or the consent their category needs.
    """
    report = activity_report(definition, tasks, drawing_order(definition))
    port = pl.element().struct.field("port")
    count = pl.element().struct.field("count").cast(pl.String)
    outputs = pl.col("outputs").list.eval(port + "=" + count).list.join(", ")
    return report.select(
        "activity_id",
        "type",
        "status",
        "input",
        "output",
        "excluded",
        outputs.fill_null("").alias("outputs"),
        pl.col("duration_s").round(3),
    )


def population_svg(report: pl.DataFrame) -> str:
    """A horizontal bar chart of the population at each activity."""
    rows = list(report.iter_rows(named=True))
    sizes = [_population(row) for row in rows]
    largest = max([s for s in sizes if s] or [1])
    height = BAR_HEIGHT * len(rows) + 24
    bars = []
    for i, (row, size) in enumerate(zip(rows, sizes, strict=True)):
        y = 20 + i * BAR_HEIGHT
        width = 0 if not size else max(1, round(CHART_WIDTH * size / largest))
        text = "-" if size is None else f"{size:,}"
        bars.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 12}" text-anchor="end">'
            f"{escape(row['activity_id'])}</text>"
            f'<rect class="ajo-bar" data-activity="{escape(row["activity_id"])}" '
            f'x="{LABEL_WIDTH}" y="{y + 2}" width="{width}" height="{BAR_HEIGHT - 5}"'
            f' fill="{colour(row["status"])}"></rect>'
            f'<text x="{LABEL_WIDTH + width + 4}" y="{y + 12}">{text}</text>'
        )
    return (
        f'<svg class="ajo-population" width="{LABEL_WIDTH + CHART_WIDTH + 80}" '
        f'height="{height}" style="font-size:11px;font-family:sans-serif">'
        '<text x="0" y="12" font-weight="bold">Population at each activity</text>'
        + "".join(bars)
        + "</svg>"
    )


def _population(row: dict[str, object]) -> int | None:
    reached = row["input"]
    if isinstance(reached, int) and reached > 0:
        return reached
    output = row["output"]
    return output if isinstance(output, int) else None


def _grid(frame: pl.DataFrame, height: str) -> ipydatagrid.DataGrid:
    return ipydatagrid.DataGrid(
        to_grid(frame), layout=widgets.Layout(height=height), base_column_size=100
    )


def _heading(text: str) -> widgets.HTML:
    return widgets.HTML(f"<b>{escape(text)}</b>")


class Report(widgets.VBox):
    """The report of one execution, and its comparison with another one.

    Parameters
    ----------
    definition
        The canvas shown before any execution ran.
    campaign
        The campaign whose executions the comparison offers, and whose
        workspace holds the feedback events; without it, the comparison is
        hidden and live deliveries count as none.
    guard
        Wraps the dropdown's callback (the workbench's error boundary).

    Notes
    -----
    The report is read again when the tasks or the state of the execution
    change, so the channel counts of a send that is under way show once its
    task has finished. A comparison is made again when the shown execution's
    state changes (such as from running to finished).
    """

    def __init__(
        self,
        definition: CampaignDefinition,
        campaign: Campaign | None = None,
        *,
        guard: Guard = unguarded,
    ) -> None:
        self.definition = definition
        self.campaign = campaign
        self.execution: Execution | None = None
        self.comparison: Comparison | None = None
        self.changed_count: int | None = None
        self._seen: tuple[str | None, str | None] = (None, None)

        self.frame = report_frame(definition, pl.DataFrame())
        self.chart = widgets.HTML(population_svg(self.frame))
        self.grid = _grid(self.frame, "240px")
        self.grid.add_class("ajo-report-grid")
        self.channels = pl.DataFrame(schema=CHANNEL_REPORT)
        self.channel_grid = _grid(self.channels, "120px")
        self.channel_grid.add_class("ajo-channel-grid")
        self.flows = pl.DataFrame(schema=FLOWS)
        self.sankey = widgets.HTML(sankey_svg(definition, self.flows))

        self.against = widgets.Dropdown(
            options=[("(choose an execution)", NOTHING)],
            value=NOTHING,
            description="compare with",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="420px"),
        )
        self.against.observe(guard("compare executions")(self._on_choose), "value")
        self.changed = widgets.HTML()
        self.changed.add_class("ajo-changed-profiles")
        self.deltas = _grid(pl.DataFrame(schema=COMPARED_ACTIVITIES), "240px")
        self.deltas.add_class("ajo-delta-grid")
        self.comparing = widgets.VBox(
            [_heading("Compare"), self.against, self.changed, self.deltas]
        )
        if campaign is None:
            self.comparing.layout.display = "none"

        super().__init__(
            [
                self.chart,
                self.grid,
                _heading("Channels"),
                self.channel_grid,
                self.sankey,
                self.comparing,
            ]
        )

    def redraw(self, definition: CampaignDefinition) -> None:
        """Report on another definition; nothing is shown of it until :meth:`show`."""
        self.definition = definition
        self._seen = ("", None)  # the next show redraws, whatever it shows

    def show(self, tasks: pl.DataFrame, execution: Execution | None = None) -> None:
        """Show the tasks of an execution (an empty frame: nothing ran yet)."""
        frame = report_frame(self.definition, tasks)
        seen = (
            execution.id if execution else None,
            execution.state if execution else None,
        )
        if frame.equals(self.frame) and seen == self._seen:
            return
        switched = seen[0] != self._seen[0]
        moved_on = not switched and seen[1] != self._seen[1]
        self.frame, self._seen, self.execution = frame, seen, execution
        self.chart.value = population_svg(frame)
        self.grid.data = to_grid(frame)
        self._show_flows(tasks, execution)
        if switched:
            self._offer_executions()
        elif moved_on and self.against.value:
            self.compare_with(self.against.value)

    def compare_with(self, execution_id: str | None) -> None:
        """Compare the shown execution with another of the campaign (None: stop).

        The deltas are the shown execution's counts minus the other one's.
        """
        self.comparison, self.changed_count = None, None
        if not execution_id or self.execution is None or self.campaign is None:
            self.changed.value = ""
            self.deltas.data = to_grid(pl.DataFrame(schema=COMPARED_ACTIVITIES))
            return
        other = _find(self.campaign.executions, execution_id)
        self.comparison = compare(other, self.execution)
        self.deltas.data = to_grid(self.comparison.activities)
        self.changed.value = self._describe(self.comparison)

    # -- parts ---------------------------------------------------------------------

    def _show_flows(self, tasks: pl.DataFrame, execution: Execution | None) -> None:
        if execution is None:
            self.channels = pl.DataFrame(schema=CHANNEL_REPORT)
            self.flows = pl.DataFrame(schema=FLOWS)
            definition = self.definition
        else:
            self.channels = channel_report(execution, self._events(execution))
            self.flows = funnel(execution)
            definition = execution.definition
        self.channel_grid.data = to_grid(self.channels)
        statuses: dict[str, str] = {}
        if tasks.height:
            statuses = dict(zip(tasks["activity_id"], tasks["status"], strict=True))
        self.sankey.value = sankey_svg(definition, self.flows, statuses)

    def _events(self, execution: Execution) -> pl.DataFrame:
        if execution.mode != "live" or self.campaign is None:
            return pl.DataFrame(schema=FEEDBACK_COLUMNS)
        workspace = self.campaign.workspace
        ledger = SendLedger(workspace.database, workspace.clock)
        return ledger.events(execution_id=execution.id)

    def _offer_executions(self) -> None:
        """List the campaign's other executions, newest first; forget the last
        comparison (it was made with another execution)."""
        options: list[tuple[str, str]] = [("(choose an execution)", NOTHING)]
        if self.campaign is not None and self.execution is not None:
            shown = self.execution.id
            for other in reversed(self.campaign.executions):
                if other.id != shown:
                    options.append((_label(other), other.id))
        self.against.options = options
        self.against.value = NOTHING
        self.compare_with(None)

    def _on_choose(self, change: dict[str, Any]) -> None:
        self.compare_with(change["new"] or None)

    def _describe(self, comparison: Comparison) -> str:
        """The comparison's lines: which executions, the changed profiles (or
        why they can't be told) and the ids only one canvas has."""
        lines = [
            escape(
                f"from {_label(comparison.a)} to {_label(comparison.b)} "
                "(deltas: the shown execution minus the other)"
            )
        ]
        try:
            self.changed_count = comparison.changed_profiles().height
            lines.append(f"<b>{self.changed_count:,}</b> profiles changed path")
        except ExecutionError as error:
            lines.append(escape(f"changed profiles: not available: {error}"))
        unmatched = comparison.unmatched
        for side, execution in (("a", comparison.a), ("b", comparison.b)):
            ids = unmatched.filter(pl.col("only_in") == side)["id"].to_list()
            if ids:
                lines.append(escape(f"only in {execution.id}: {', '.join(ids)}"))
        return "<br>".join(lines)


def _label(execution: Execution) -> str:
    version = f" v{execution.version}" if execution.version is not None else ""
    return f"{execution.mode}{version} {execution.id} ({execution.state})"


def _find(executions: list[Execution], execution_id: str) -> Execution:
    for execution in executions:
        if execution.id == execution_id:
            return execution
    known = ", ".join(e.id for e in executions) or "none"
    raise KeyError(
        f"no execution {execution_id!r} of this campaign (executions: {known})"
    )
