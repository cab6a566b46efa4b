"""The Report tab: per-activity counts and durations, and the population's path.

The chart is plain SVG: one bar per activity, in dependency order, as long as the
population that reached it (or, for an activity without inputs, that it produced).
"""

from __future__ import annotations

import json
from html import escape

import ipydatagrid
import ipywidgets as widgets
import polars as pl

from ajo_workbench.model.definition import CampaignDefinition
from ajo_workbench.widgets.frames import to_grid
from ajo_workbench.widgets.layout import drawing_order
from ajo_workbench.widgets.palette import colour

BAR_HEIGHT = 18
CHART_WIDTH = 460
LABEL_WIDTH = 150

REPORT_SCHEMA = {
    "activity_id": pl.String,
    "type": pl.String,
    "status": pl.String,
    "input": pl.Int64,
    "output": pl.Int64,
    "excluded": pl.Int64,
    "outputs": pl.String,
    "duration_s": pl.Float64,
}


def report_frame(definition: CampaignDefinition, tasks: pl.DataFrame) -> pl.DataFrame:
    """One row per activity: status, input, output (all ports), channel exclusions,
    outputs per port and duration, in dependency order.

    ``excluded`` is set for channel activities: the rows that reached them without
    an address or the consent their category needs.
    """
    by_id = {row["activity_id"]: row for row in tasks.iter_rows(named=True)}
    rows = []
    for activity_id in drawing_order(definition):
        activity = definition.activity(activity_id)
        task = by_id.get(activity_id, {})
        outputs: dict[str, int] = json.loads(task.get("output_counts") or "{}")
        started = task.get("input_count") is not None or bool(outputs)
        total = sum(outputs.values()) if started else None
        reached = task.get("input_count")
        channel = activity.spec.category == "channel"
        excluded = None
        if channel and reached is not None and total is not None:
            excluded = reached - total
        rows.append(
            {
                "activity_id": activity_id,
                "type": activity.type,
                "status": task.get("status") or "not_run",
                "input": reached,
                "output": total,
                "excluded": excluded,
                "outputs": ", ".join(f"{p}={n}" for p, n in outputs.items()),
                "duration_s": _rounded(task.get("duration")),
            }
        )
    return pl.DataFrame(rows, schema=REPORT_SCHEMA, orient="row")


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


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _population(row: dict[str, object]) -> int | None:
    reached = row["input"]
    if isinstance(reached, int) and reached > 0:
        return reached
    output = row["output"]
    return output if isinstance(output, int) else None


class Report(widgets.VBox):
    """The per-activity table and the population chart of one execution."""

    def __init__(self, definition: CampaignDefinition) -> None:
        self.definition = definition
        self.frame = report_frame(definition, pl.DataFrame())
        self.chart = widgets.HTML(population_svg(self.frame))
        self.grid = ipydatagrid.DataGrid(
            to_grid(self.frame),
            layout=widgets.Layout(height="240px"),
            base_column_size=100,
        )
        self.grid.add_class("ajo-report-grid")
        super().__init__([self.chart, self.grid])

    def show(self, tasks: pl.DataFrame) -> None:
        """Show the tasks of an execution (an empty frame: nothing ran yet)."""
        frame = report_frame(self.definition, tasks)
        if frame.equals(self.frame):
            return
        self.frame = frame
        self.chart.value = population_svg(frame)
        self.grid.data = to_grid(frame)
