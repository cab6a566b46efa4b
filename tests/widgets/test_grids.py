"""The filtered grid behind the Logs and Tasks tabs."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from ajo_workbench.widgets.grids import ALL, FilteredGrid


def tasks_like(rows: int) -> pl.DataFrame:
    start = datetime(2026, 12, 4, 10)
    return pl.DataFrame(
        {
            "activity_id": [f"a{i % 3}" for i in range(rows)],
            "status": ["success" if i % 2 else "error" for i in range(rows)],
            "started_at": [start + timedelta(minutes=i) for i in range(rows)],
            "ended_at": [None] * rows,  # a datetime column of nulls
            "error": [None if i % 2 else f"failure {i}" for i in range(rows)],
        },
        schema_overrides={"ended_at": pl.Datetime},
    )


def test_filters_combine_and_only_the_last_rows_are_sent() -> None:
    grid = FilteredGrid(
        ["activity_id", "status", "started_at"], "status", "started_at", limit=5
    )
    grid.set_frame(tasks_like(30))
    assert grid.count.value == "30 of 30 rows (the last 5)"
    assert len(grid.grid.data) == 5
    assert grid.shown["started_at"].to_list()[-1] == "2026-12-04 10:29:00"
    assert list(grid.activity.options) == [ALL, "a0", "a1", "a2"]
    assert list(grid.level.options) == [ALL, "error", "success"]

    grid.activity.value = "a1"
    grid.level.value = "error"
    assert set(grid.shown["activity_id"].to_list()) == {"a1"}
    assert set(grid.shown["status"].to_list()) == {"error"}
    grid.since.value = "2026-12-04T10:10"
    grid.until.value = "2026-12-04 10:20"
    times = grid.shown["started_at"].to_list()
    assert (
        times and min(times) >= "2026-12-04 10:10" and max(times) < "2026-12-04 10:21"
    )
    assert grid.count.value.startswith(f"{len(times)} of 30 rows")


def test_search_reads_every_column_and_the_chooser_orders_them() -> None:
    grid = FilteredGrid(["activity_id", "status"], "status", "started_at")
    grid.set_frame(tasks_like(10))
    grid.search.value = "FAILURE 4"
    assert grid.shown.height == 1
    assert list(grid.columns.allowed_tags) == list(tasks_like(1).columns)
    grid.columns.value = ["error", "activity_id"]
    assert grid.shown.columns == ["error", "activity_id"]
    assert list(grid.grid.data.columns) == ["error", "activity_id"]


def test_a_chosen_activity_stays_chosen_when_new_rows_arrive() -> None:
    grid = FilteredGrid(["activity_id", "status"], "status", "started_at")
    grid.filter_activity("a2")
    grid.set_frame(tasks_like(6))
    assert grid.activity.value == "a2"
    assert set(grid.shown["activity_id"].to_list()) == {"a2"}
    grid.filter_activity(None)
    assert grid.shown.height == 6
