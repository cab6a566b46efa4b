"""The polars-to-pandas boundary of the grids."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from ajo_workbench.widgets.frames import to_grid


def test_temporal_and_nested_columns_become_text() -> None:
    frame = pl.DataFrame(
        {
            "when": [datetime(2026, 12, 4, 10, 30), None],
            "day": [date(2026, 12, 4), None],
            "point": [{"x": 1}, {"x": 2}],
            "tags": [["a", "b"], []],
            "n": [1, None],
        }
    )
    converted = to_grid(frame)
    assert list(converted.columns) == ["when", "day", "point", "tags", "n"]
    assert converted["when"].tolist()[0] == "2026-12-04 10:30:00"
    assert converted["day"].tolist()[0] == "2026-12-04"
    assert converted["when"].tolist()[1] == ""  # missing text shows empty
    assert converted["point"].tolist()[0] == '{"x":1}'
    assert converted["tags"].tolist() == ["[a, b]", "[]"]
    assert converted.index.tolist() == [0, 1]
    assert converted["n"].tolist() == ["1", ""]  # a number with gaps, as text


def test_complete_numbers_stay_numbers_and_pages_keep_their_place() -> None:
    converted = to_grid(pl.DataFrame({"n": [1, 2], "x": [0.5, 1.25]}), first_row=40)
    assert converted["n"].tolist() == [1, 2] and converted["x"].tolist() == [0.5, 1.25]
    assert converted.index.tolist() == [40, 41]


def test_an_empty_frame_keeps_its_columns() -> None:
    converted = to_grid(pl.DataFrame(schema={"a": pl.String, "b": pl.Datetime}))
    assert list(converted.columns) == ["a", "b"] and len(converted) == 0
