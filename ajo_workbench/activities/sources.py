"""Activities that bring populations in or keep them: audiences, files, increments."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ajo_workbench.activities.base import (
    FILE_PREFIX,
    LINE,
    ActivityContext,
    ActivityResult,
)
from ajo_workbench.errors import DataError, ExecutionError
from ajo_workbench.model.conditions import filter_frame

DATA_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
}
REJECT_SCHEMA = {LINE: pl.Int64, "reason": pl.String}


def read_audience(context: ActivityContext) -> ActivityResult:
    """Members of a saved audience; with an inbound population, those in it."""
    name = context.activity.get("audience")
    dimension, members = context.workspace_state().read_audience(name)
    key = context.tables.info(dimension).key
    if context.inputs:
        if dimension != context.dimension:
            raise ExecutionError(
                f"{context.path}.audience: {name!r} holds {dimension!r}, the "
                f"population is {context.dimension!r}"
            )
        frame = context.single_input().join(
            members.select(key), on=key, how="semi", maintain_order="left"
        )
        return ActivityResult({"out": frame}, dimension)
    return ActivityResult({"out": members.select(key)}, dimension)


def save_audience(context: ActivityContext) -> ActivityResult:
    """Write (or overwrite) a named audience in live mode; skipped in test."""
    frame = context.single_input()
    if context.mode == "test" or context.dry_run:
        return ActivityResult(
            {"out": frame}, context.dimension, skipped="skipped in test"
        )
    members = frame.select(context.key).collect()
    name = context.activity.get("audience")
    context.workspace_state().write_audience(
        name, context.definition.id, context.dimension, members
    )
    note = f"audience {name!r} saved: {members.height} members"
    return ActivityResult({"out": members.lazy()}, context.dimension, notes=[note])


def incremental_query(context: ActivityContext) -> ActivityResult:
    """Rows whose ``processed_field`` is past the last execution's watermark.

    The watermark advances in live executions only; a test execution reads it
    without moving it. An empty result ends the branch with a log line.
    """
    activity = context.activity
    dimension = activity.get("dimension") or context.definition.dimension
    field_name = activity.get("processed_field")
    info = context.tables.info(dimension)
    rows = context.tables.scan(dimension)
    if field_name not in rows.collect_schema().names():
        raise ExecutionError(
            f"{context.path}.processed_field: {dimension!r} has no column "
            f"{field_name!r}"
        )
    if activity.get("where"):
        rows = filter_frame(
            context.tables.scans(),
            rows,
            activity.get("where"),
            where=f"{context.path}.where",
        )
    if context.inputs:
        rows = rows.join(
            context.single_input().select(info.key), on=info.key, how="semi"
        )

    watermark = None
    if context.state is not None:
        watermark = context.state.watermark(context.definition.id, activity.id)
    if watermark is not None:
        rows = rows.filter(pl.col(field_name) > watermark)
    found = rows.select(*dict.fromkeys([info.key, field_name])).collect()
    if context.dry_run or found.height:
        newest = found[field_name].max() if found.height else None
        return ActivityResult(
            {"out": found.select(info.key).lazy()}, dimension, watermark=newest
        )
    since = f" since {watermark}" if watermark is not None else ""
    note = f"no new rows{since}: this branch ends here"
    return ActivityResult({}, dimension, notes=[note])


def load_file(context: ActivityContext) -> ActivityResult:
    """Typed rows of a CSV or Parquet file; rows that don't parse go to rejects."""
    activity = context.activity
    path = _resolve(context, str(activity.get("path")))
    columns: dict[str, str] = dict(activity.get("columns") or {})
    file_format = activity.get("format") or path.suffix.lstrip(".").lower()
    if file_format not in ("csv", "parquet"):
        raise ExecutionError(
            f"{context.path}.format: {file_format!r} is not csv or parquet"
        )
    raw = _read(path, file_format, context.path)
    missing = [name for name in columns if name not in raw.columns]
    if missing:
        raise ExecutionError(
            f"{context.path}.columns: {path.name} has no column {missing[0]!r} "
            f"(columns: {', '.join(raw.columns)})"
        )
    if context.dry_run:
        raw = raw.head(0)

    first_line = 2 if file_format == "csv" else 1
    numbered = raw.with_row_index(LINE, offset=first_line).with_columns(
        pl.col(LINE).cast(pl.Int64)
    )
    converted = numbered.with_columns(
        _convert(raw.schema[name], name, kind).alias(f"__typed_{name}")
        for name, kind in columns.items()
    )
    problems = [
        pl.when(pl.col(name).is_not_null() & pl.col(f"__typed_{name}").is_null()).then(
            pl.lit(f"column {name!r}: ")
            + pl.col(name).cast(pl.String)
            + pl.lit(f" is not a {kind}")
        )
        for name, kind in columns.items()
    ]
    reason = (
        pl.concat_str(problems, separator="; ", ignore_nulls=True)
        if problems
        else pl.lit("")
    )
    checked = converted.with_columns(reason.alias("__reason"))
    failed = pl.col("__reason").is_not_null() & (pl.col("__reason") != "")
    bad = checked.filter(failed).select(LINE, pl.col("__reason").alias("reason"))
    good = checked.filter(~failed).select(
        LINE,
        *(
            pl.col(f"__typed_{name}").alias(name) if name in columns else pl.col(name)
            for name in raw.columns
            if name != LINE
        ),
    )

    if bad.height and activity.get("on_error") == "fail":
        first = bad.row(0, named=True)
        raise DataError(
            f"{path.name} line {first[LINE]}: {first['reason']} "
            f"({bad.height} bad row(s); on_error is 'fail')"
        )
    dimension = f"{FILE_PREFIX}{activity.id}"
    outputs = {"out": good.lazy(), "rejects": bad.lazy()}
    notes = [f"{bad.height} row(s) rejected"] if bad.height else []
    return ActivityResult(outputs, dimension, notes=notes)


def _resolve(context: ActivityContext, text: str) -> Path:
    """An absolute path, or a relative one inside the workspace or else the
    current folder."""
    path = Path(text).expanduser()
    candidates = [path]
    if not path.is_absolute() and context.folder is not None:
        candidates.insert(0, context.folder / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = " or ".join(str(c) for c in candidates)
    raise DataError(f"{context.path}.path: no file at {tried}")


def _read(path: Path, file_format: str, where: str) -> pl.DataFrame:
    try:
        if file_format == "csv":
            return pl.read_csv(path, infer_schema=False)
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise DataError(f"{where}.path: can't read {path.name}: {first_line}") from None


TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


def _convert(source: pl.DataType, name: str, kind: str) -> pl.Expr:
    """An expression turning a raw column into its declared type (null if it can't)."""
    column = pl.col(name)
    if source != pl.String:
        return column.cast(DATA_TYPES[kind], strict=False)
    text = column.str.strip_chars()
    if kind == "date":
        return text.str.to_date(strict=False)
    if kind == "datetime":
        return text.str.to_datetime(time_unit="us", strict=False)
    if kind == "bool":
        lowered = text.str.to_lowercase()
        return (
            pl.when(lowered.is_in(TRUE_WORDS))
            .then(True)
            .when(lowered.is_in(FALSE_WORDS))
            .then(False)
            .otherwise(None)
        )
    if kind == "string":
        return column
    return text.cast(DATA_TYPES[kind], strict=False)
