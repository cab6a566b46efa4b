"""Activities that move a population between dimensions."""

from __future__ import annotations

import polars as pl

from ajo_workbench.activities.base import ActivityContext, ActivityResult, left_join
from ajo_workbench.errors import ExecutionError


def reconciliation(context: ActivityContext) -> ActivityResult:
    """Map incoming rows (e.g. from a file) to the key of a dimension.

    Each incoming row gets the key of the dimension row whose ``match`` columns
    equal its own; when several match, the smallest key wins, so the row count
    never changes. Incoming columns named like a dimension attribute are dropped:
    the dimension's value is the one downstream activities read. Unreconciled rows
    go to ``complement``, or stay in ``out`` when ``keep_unreconciled`` is set:
    with a null key in a test, and with the key of a record created for them in a
    live execution (SPEC §7.5).
    """
    activity = context.activity
    dimension = activity.get("dimension") or context.definition.dimension
    key = context.tables.info(dimension).key
    match: dict[str, str] = dict(activity.get("match"))
    frame = context.single_input()
    incoming = frame.collect_schema()
    target = context.tables.scan(dimension)
    attributes = target.collect_schema()

    for source, column in match.items():
        if source not in incoming:
            raise ExecutionError(
                f"{context.path}.match: the population has no column {source!r} "
                f"(columns: {', '.join(incoming.names())})"
            )
        if column not in attributes:
            raise ExecutionError(
                f"{context.path}.match: {dimension!r} has no column {column!r}"
            )

    columns = list(dict.fromkeys(match.values()))
    candidates = (
        target.select(pl.col(key).alias("__key"), *columns)
        .group_by(columns)
        .agg(pl.col("__key").min())
    )
    casts = [
        pl.col(source).cast(attributes[column], strict=False).alias(f"__m_{source}")
        for source, column in match.items()
    ]
    keep = [name for name in incoming.names() if name not in attributes]
    joined = left_join(
        frame.with_columns(casts),
        candidates,
        left_on=[f"__m_{source}" for source in match],
        right_on=list(match.values()),
    )
    if activity.get("keep_unreconciled") and context.create_records is not None:
        joined = _create_unmatched(context, dimension, joined, match, attributes)
    joined = joined.select(pl.col("__key").alias(key), *keep)
    matched = pl.col(key).is_not_null()
    if activity.get("keep_unreconciled"):
        return ActivityResult({"out": joined}, dimension)
    return ActivityResult(
        {"out": joined.filter(matched), "complement": joined.filter(~matched)},
        dimension,
    )


def _create_unmatched(
    context: ActivityContext,
    dimension: str,
    joined: pl.LazyFrame,
    match: dict[str, str],
    attributes: pl.Schema,
) -> pl.LazyFrame:
    """Give every row that matches no record a new record of the dimension.

    The new record takes the row's values of the dimension's columns (matched
    columns under their dimension names), so a later match finds it.
    """
    assert context.create_records is not None
    rows = joined.with_row_index("__row").collect()
    unmatched = rows.filter(pl.col("__key").is_null())
    if unmatched.is_empty():
        return rows.drop("__row").lazy()
    values = {
        name: unmatched[name].cast(dtype, strict=False)
        for name, dtype in attributes.items()
        if name in unmatched.columns
    }
    for source, column in match.items():
        values[column] = unmatched[f"__m_{source}"]
    keys = context.create_records(dimension, pl.DataFrame(values))
    created = unmatched.select("__row").with_columns(keys.alias("__new"))
    filled = rows.join(created, on="__row", how="left", maintain_order="left")
    filled = filled.with_columns(pl.coalesce("__key", "__new").alias("__key"))
    return filled.drop("__row", "__new").lazy()


def change_dimension(context: ActivityContext) -> ActivityResult:
    """Re-express the population on another dimension through a link column.

    ``via`` is either a column of the current dimension pointing at the target
    (purchases → the distinct profiles who bought), or a column of the target
    pointing at the current dimension (profiles → all their purchases). Only keys
    that exist in the target dimension are kept, once each.
    """
    activity = context.activity
    target = activity.get("dimension")
    via = activity.get("via")
    frame = context.single_input()
    target_key = context.tables.info(target).key
    existing = context.tables.scan(target).select(target_key)

    if context.tables.parents(context.dimension).get(target) == via:
        pointers = context.tables.scan(context.dimension).select(
            context.key, pl.col(via).alias(target_key)
        )
        linked = left_join(frame.select(context.key), pointers, on=context.key)
        keys = linked.select(target_key).drop_nulls().unique(maintain_order=True)
        out = keys.join(existing, on=target_key, how="semi", maintain_order="left")
        return ActivityResult({"out": out}, target)

    if context.tables.parents(target).get(context.dimension) == via:
        rows = context.tables.scan(target).select(target_key, via)
        out = rows.join(
            frame.select(pl.col(context.key).alias(via)),
            on=via,
            how="semi",
            maintain_order="left",
        ).select(target_key)
        return ActivityResult({"out": out}, target)

    raise ExecutionError(
        f"{context.path}.via: {via!r} links neither {context.dimension!r} to "
        f"{target!r} nor {target!r} to {context.dimension!r}"
    )
