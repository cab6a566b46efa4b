"""The one boundary where polars frames become pandas frames for ipydatagrid.

ipydatagrid takes pandas only, and its JavaScript fails on a date or datetime column
that holds nulls; nested values don't render either. Every grid of the workbench goes
through :func:`to_grid`, which sends such columns as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import pandas as pd

TEMPORAL = (pl.Date, pl.Datetime, pl.Time, pl.Duration)


def as_text_where_needed(frame: pl.DataFrame) -> pl.DataFrame:
    """Temporal columns as ISO text and nested columns as their text form."""
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            columns.append(column.dt.strftime("%Y-%m-%d %H:%M:%S").alias(name))
        elif isinstance(dtype, TEMPORAL):
            columns.append(column.cast(pl.String).alias(name))
        elif isinstance(dtype, pl.Struct):
            columns.append(column.struct.json_encode().alias(name))
        elif isinstance(dtype, pl.List | pl.Array):
            text = column.cast(pl.List(pl.String)).list.join(", ")
            columns.append(("[" + text + "]").alias(name))
        elif isinstance(dtype, pl.Binary):
            columns.append(column.bin.encode("hex").alias(name))
        else:
            columns.append(column)
    return frame.select(columns) if columns else frame


def to_grid(frame: pl.DataFrame, first_row: int = 0) -> pd.DataFrame:
    """A pandas frame that ipydatagrid renders, its index numbering the rows from
    ``first_row`` (a page's place in the whole table).

    Missing values show as empty cells rather than pandas' ``NaN``: a number column
    with nulls is sent as text (so it sorts as text in the grid), floats rounded to
    six significant digits.
    """
    text = as_text_where_needed(frame)
    gaps = [
        n for n, t in text.schema.items() if t.is_numeric() and text[n].null_count() > 0
    ]
    floats = [n for n in gaps if text.schema[n].is_float()]
    text = text.with_columns(pl.col(floats).round_sig_figs(6))
    text = text.with_columns(pl.col(gaps).cast(pl.String))
    strings = [n for n, t in text.schema.items() if t == pl.String]
    converted = text.with_columns(pl.col(strings).fill_null("")).to_pandas()
    converted.index = converted.index.astype("int64") + first_row
    return converted
