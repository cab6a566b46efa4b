"""Targeting activities: build audiences, split, combine, deduplicate, enrich."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import polars as pl

from ajo_workbench.activities.base import ActivityContext, ActivityResult
from ajo_workbench.errors import ExecutionError
from ajo_workbench.model.conditions import filter_frame


def build_audience(context: ActivityContext) -> ActivityResult:
    """Rows of the dimension matching ``where``, or a filter of the inbound rows."""
    where = context.activity.get("where")
    path = f"{context.path}.where"
    if context.inputs:
        frame = context.single_input()
        if where:
            frame = context.filter(frame, where, path)
        return ActivityResult({"out": frame}, context.dimension)

    dimension = context.activity.get("dimension") or context.definition.dimension
    key = context.tables.info(dimension).key
    rows = context.tables.scan(dimension)
    if where:
        rows = filter_frame(context.tables.scans(), rows, where, where=path)
    return ActivityResult({"out": rows.select(key)}, dimension)


def split(context: ActivityContext) -> ActivityResult:
    """Ordered subsets with limits; rows beyond a limit go on to later subsets."""
    activity = context.activity
    key = context.key
    frame = context.single_input().collect()
    overlapping = bool(activity.get("overlapping", False))
    skip_empty = bool(activity.get("skip_empty", False))
    skipped: set[str] = set()

    taken = frame.clear().select(key)
    outputs: dict[str, pl.LazyFrame] = {}
    for index, subset in enumerate(activity.get("subsets")):
        path = f"{context.path}.subsets[{index}]"
        pool = (
            frame
            if overlapping
            else frame.join(taken, on=key, how="anti", maintain_order="left")
        )
        matched = context.filter(pool.lazy(), subset["where"], f"{path}.where")
        chosen = _limit(context, matched, subset, path).collect()
        if chosen.is_empty() and skip_empty and not context.dry_run:
            skipped.add(subset["label"])
        else:
            outputs[subset["label"]] = chosen.lazy()
        taken = pl.concat([taken, chosen.select(key)])

    if activity.get("complement"):
        rest = frame.join(taken, on=key, how="anti", maintain_order="left")
        if rest.is_empty() and skip_empty and not context.dry_run:
            skipped.add("complement")
        else:
            outputs["complement"] = rest.lazy()
    return ActivityResult(outputs, context.dimension, skipped_ports=skipped)


def _limit(
    context: ActivityContext,
    matched: pl.LazyFrame,
    subset: dict[str, Any],
    path: str,
) -> pl.LazyFrame:
    limit = subset.get("limit")
    percent = subset.get("limit_percent")
    if limit is None and percent is None:
        return matched

    if subset.get("order_by"):
        matched = context.order(matched, subset["order_by"], path)
    elif subset.get("random"):
        seed = int(subset.get("seed", 0))
        matched = matched.sort(pl.col(context.key).hash(seed), maintain_order=True)

    if limit is None:
        count = matched.select(pl.len()).collect().item()
        limit = int(Fraction(str(percent)) * count / 100)
    return matched.head(int(limit))


def combine(context: ActivityContext) -> ActivityResult:
    """Union, intersection or exclusion of the inbound populations by key."""
    mode = context.activity.get("mode")
    key = context.key
    frames = [inbound.frame for inbound in context.inputs]
    union = pl.concat(frames, how="diagonal_relaxed").unique(
        subset=key, keep="first", maintain_order=True
    )
    if mode == "union":
        return ActivityResult({"out": union}, context.dimension)

    if mode == "intersection":
        common = frames[0]
        for other in frames[1:]:
            common = common.join(
                other.select(key), on=key, how="semi", maintain_order="left"
            )
        rest = union.join(common.select(key), on=key, how="anti", maintain_order="left")
        return ActivityResult({"out": common, "complement": rest}, context.dimension)

    primary_id = context.activity.get("primary")
    primary = [i for i in context.inputs if i.transition.id == primary_id]
    if not primary:
        raise ExecutionError(
            f"{context.path}.primary: {primary_id!r} is not an inbound transition"
        )
    others = [
        i.frame.select(key) for i in context.inputs if i.transition.id != primary_id
    ]
    excluded = pl.concat(others).unique()
    base = primary[0].frame
    kept = base.join(excluded, on=key, how="anti", maintain_order="left")
    removed = base.join(excluded, on=key, how="semi", maintain_order="left")
    return ActivityResult({"out": kept, "complement": removed}, context.dimension)


def deduplication(context: ActivityContext) -> ActivityResult:
    """One row per key combination, chosen by ``order_by``; nulls never duplicate."""
    activity = context.activity
    keys: list[str] = list(activity.get("keys"))
    frame = context.single_input().with_row_index("__row")
    lean = frame.collect_schema().names()
    full = context.with_attributes(frame, keys)
    unknown = [k for k in keys if k not in full.collect_schema().names()]
    if unknown:
        raise ExecutionError(
            f"{context.path}.keys: unknown column {unknown[0]!r} "
            f"(columns: {', '.join(full.collect_schema().names())})"
        )

    has_null = pl.any_horizontal(pl.col(k).is_null() for k in keys)
    ordered = context.order(full, list(activity.get("order_by") or []), context.path)
    group = pl.struct(keys)
    if activity.get("keep", "first") == "last":
        first = group.is_last_distinct()
    else:
        first = group.is_first_distinct()
    marked = ordered.with_columns(
        __keep=pl.when(has_null).then(True).otherwise(first)
    ).sort("__row")
    out = marked.filter(pl.col("__keep")).select(lean).drop("__row")
    removed = marked.filter(~pl.col("__keep")).select(lean).drop("__row")
    return ActivityResult({"out": out, "complement": removed}, context.dimension)


def enrichment(context: ActivityContext) -> ActivityResult:
    """Adds lookups over 1-1 links and aggregates over 1-N links; keeps every row."""
    frame = context.single_input()
    for index, attribute in enumerate(context.activity.get("attributes")):
        path = f"{context.path}.attributes[{index}]"
        frame = _enrich(context, frame, attribute, path)
    return ActivityResult({"out": frame}, context.dimension)


AGGREGATES = {
    "sum": lambda column: pl.col(column).sum(),
    "min": lambda column: pl.col(column).min(),
    "max": lambda column: pl.col(column).max(),
    "mean": lambda column: pl.col(column).mean(),
}


def _enrich(
    context: ActivityContext,
    frame: pl.LazyFrame,
    attribute: dict[str, Any],
    path: str,
) -> pl.LazyFrame:
    name = attribute["name"]
    link = attribute["link"]
    default = attribute.get("default")
    key = context.key
    children = context.tables.children(context.dimension)
    parents = context.tables.parents(context.dimension)

    if attribute.get("aggregate"):
        if link not in children:
            raise ExecutionError(
                f"{path}.link: {link!r} is not a 1-N link of {context.dimension!r} "
                f"(1-N links: {', '.join(children) or 'none'})"
            )
        values = _aggregate(context, attribute, children[link], path)
        joined = frame.join(values, on=key, how="left", maintain_order="left")
        if attribute["aggregate"] == "count":
            return joined.with_columns(pl.col(name).fill_null(0))
    elif link == context.dimension:
        column = attribute.get("column") or name
        source = context.tables.scan(link).select(key, pl.col(column).alias(name))
        joined = frame.join(source, on=key, how="left", maintain_order="left")
    elif link in parents:
        joined = _lookup(context, frame, attribute, parents[link])
    else:
        raise ExecutionError(
            f"{path}.link: {link!r} is not a link of {context.dimension!r} "
            f"(1-1 links: {', '.join(parents) or 'none'}; "
            f"1-N links: {', '.join(children) or 'none'})"
        )

    if default is not None:
        return joined.with_columns(pl.col(name).fill_null(default))
    return joined


def _aggregate(
    context: ActivityContext,
    attribute: dict[str, Any],
    foreign_key: str,
    path: str,
) -> pl.LazyFrame:
    rows = context.tables.scan(attribute["link"])
    if attribute.get("where"):
        rows = filter_frame(
            context.tables.scans(), rows, attribute["where"], where=f"{path}.where"
        )
    aggregate = attribute["aggregate"]
    if aggregate == "count":
        value = pl.len().cast(pl.Int64)
    else:
        column = attribute.get("column")
        if not column:
            raise ExecutionError(f"{path}.column: {aggregate} needs a column")
        value = AGGREGATES[aggregate](column)
    grouped = rows.group_by(foreign_key).agg(value.alias(attribute["name"]))
    return grouped.rename({foreign_key: context.key})


def _lookup(
    context: ActivityContext,
    frame: pl.LazyFrame,
    attribute: dict[str, Any],
    foreign_key: str,
) -> pl.LazyFrame:
    link = attribute["link"]
    name = attribute["name"]
    column = attribute.get("column") or name
    link_key = context.tables.info(link).key
    pointers = context.tables.scan(context.dimension).select(
        context.key, pl.col(foreign_key).alias("__link")
    )
    values = context.tables.scan(link).select(
        pl.col(link_key).alias("__link"), pl.col(column).alias(name)
    )
    looked_up = pointers.join(values, on="__link", how="left").drop("__link")
    return frame.join(looked_up, on=context.key, how="left", maintain_order="left")
