"""A grid with a search box, filters and a column chooser (the Logs and Tasks tabs).

Filtering happens in the kernel; the grid receives only the rows that pass, and at
most ``limit`` of them (the newest), so a long log never floods the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipydatagrid
import ipywidgets as widgets
import polars as pl

from ajo_workbench.widgets.frames import as_text_where_needed, to_grid

ALL = "(all)"


class FilteredGrid(widgets.VBox):
    """A polars frame behind filters, shown in an ipydatagrid.

    Parameters
    ----------
    columns
        The columns shown at first, in order; the chooser offers every column.
    level_column
        The column of the second filter (``level`` for logs, ``status`` for tasks).
    time_column
        The column the *from* and *to* boxes compare with (ISO text, so a prefix
        such as ``2026-12-04 10`` works).
    limit
        The most rows sent to the browser: the last ``limit`` that pass.
    widths
        Column widths in pixels, for the columns that need more room.
    guard
        Wraps the filters' callbacks (the workbench's error boundary).
    """

    def __init__(
        self,
        columns: list[str],
        level_column: str,
        time_column: str,
        limit: int = 1000,
        widths: dict[str, int] | None = None,
        guard: Callable[[Callable[[Any], None]], Callable[[Any], None]] | None = None,
    ) -> None:
        self.level_column = level_column
        self.time_column = time_column
        self.limit = limit
        self.raw = pl.DataFrame()
        self.source = pl.DataFrame()
        self._quiet = False
        self.shown = pl.DataFrame()
        self.search = widgets.Text(placeholder="search", layout=_width("160px"))
        self.activity = widgets.Dropdown(
            options=[ALL], value=ALL, description="activity", layout=_width("210px")
        )
        self.level = widgets.Dropdown(
            options=[ALL], value=ALL, description=level_column, layout=_width("190px")
        )
        self.since = widgets.Text(placeholder="from (ISO time)", layout=_width("150px"))
        self.until = widgets.Text(placeholder="to (ISO time)", layout=_width("150px"))
        self.columns = widgets.TagsInput(
            value=list(columns), allowed_tags=list(columns), allow_duplicates=False
        )
        self.count = widgets.Label()
        self.grid = ipydatagrid.DataGrid(
            to_grid(pl.DataFrame(schema=dict.fromkeys(columns, pl.String))),
            layout=widgets.Layout(height="280px"),
            base_column_size=110,
            column_widths=widths or {},
        )
        self.grid.add_class(f"ajo-grid-{level_column}")
        changed = guard(self._changed) if guard else self._changed
        controls = (self.search, self.activity, self.level, self.since, self.until)
        for control in (*controls, self.columns):
            control.observe(changed, "value")
        filters = widgets.HBox(list(controls))
        chooser = widgets.HBox([widgets.Label("columns:"), self.columns, self.count])
        super().__init__([filters, chooser, self.grid])

    def set_frame(self, frame: pl.DataFrame) -> None:
        """Replace the rows behind the grid (the filters stay as they are)."""
        if frame.equals(self.raw) and frame.columns == self.raw.columns:
            return
        self.raw = frame
        self.source = as_text_where_needed(frame)
        self._quiet = True
        try:
            if list(self.columns.allowed_tags) != frame.columns:
                self.columns.allowed_tags = list(frame.columns)
            _offer(self.activity, self._distinct("activity_id"))
            _offer(self.level, self._distinct(self.level_column))
        finally:
            self._quiet = False
        self.apply()

    def filter_activity(self, activity_id: str | None) -> None:
        """Show only one activity's rows (None: every activity)."""
        wanted = ALL if activity_id is None else activity_id
        if wanted not in self.activity.options:
            self.activity.options = [*self.activity.options, wanted]
        self.activity.value = wanted

    def filtered(self) -> pl.DataFrame:
        """The rows and columns that pass the filters (before the row limit)."""
        frame = self.source
        if frame.width == 0:
            return frame
        for column, control in (
            ("activity_id", self.activity),
            (self.level_column, self.level),
        ):
            if control.value != ALL and column in frame.columns:
                frame = frame.filter(pl.col(column) == control.value)
        if self.time_column in frame.columns:
            moment = pl.col(self.time_column)
            if self.since.value.strip():
                frame = frame.filter(moment >= _iso(self.since.value))
            if self.until.value.strip():
                frame = frame.filter(moment <= _iso(self.until.value) + "\uffff")
        text = self.search.value.strip().lower()
        if text:
            columns = [pl.col(c).cast(pl.String).fill_null("") for c in frame.columns]
            haystack = pl.concat_str(columns, separator=" ").str.to_lowercase()
            frame = frame.filter(haystack.str.contains(text, literal=True))
        chosen = [c for c in self.columns.value if c in frame.columns]
        return frame.select(chosen or frame.columns)

    def apply(self) -> None:
        """Send the filtered rows (at most ``limit``) to the grid."""
        passing = self.filtered()
        shown = passing.tail(self.limit)
        more = f" (the last {self.limit})" if passing.height > self.limit else ""
        self.count.value = f"{passing.height:,} of {self.source.height:,} rows{more}"
        if not shown.equals(self.shown) or shown.columns != self.shown.columns:
            self.shown = shown
            self.grid.data = to_grid(shown)

    def _distinct(self, column: str) -> list[str]:
        if column not in self.source.columns:
            return []
        values = self.source[column].drop_nulls().cast(pl.String).unique()
        return sorted(values.to_list())

    def _changed(self, _: Any) -> None:
        if not self._quiet:
            self.apply()


def _offer(dropdown: widgets.Dropdown, values: list[str]) -> None:
    """Offer the values (keeping the current choice, even when it has no rows)."""
    current = dropdown.value
    options = [ALL, *values]
    if current not in options:
        options.append(current)
    if list(dropdown.options) != options:
        dropdown.options = options
        dropdown.value = current


def _iso(text: str) -> str:
    """ISO text in the grid's format: a space between date and time."""
    return text.strip().replace("T", " ")


def _width(width: str) -> widgets.Layout:
    return widgets.Layout(width=width)
