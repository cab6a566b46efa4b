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
    """One row per key combination, chosen by ``order_by``; nulls never duplicate.

    Rows whose keys are all set are sorted by ``order_by`` (nulls last) with the
    dimension's key as the final tie-breaker; the first (or last) of each group
    stays. The output keeps the inbound order.
    """
    activity = context.activity
    keys: list[str] = list(activity.get("keys"))
    key = context.key
    frame = context.single_input()
    full = context.with_attributes(frame, keys)
    known = full.collect_schema().names()
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ExecutionError(
            f"{context.path}.keys: unknown column {unknown[0]!r} "
            f"(columns: {', '.join(known)})"
        )

    complete = full.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys))
    ordered = context.order(
        complete, list(activity.get("order_by") or []), context.path
    )
    last = activity.get("keep") == "last"
    chosen = ordered.unique(subset=keys, keep="last" if last else "first").select(key)
    removed = complete.select(key).join(chosen, on=key, how="anti")
    out = frame.join(removed, on=key, how="anti", maintain_order="left")
    dropped = frame.join(removed, on=key, how="semi", maintain_order="left")
    return ActivityResult({"out": out, "complement": dropped}, context.dimension)


def enrichment(context: ActivityContext) -> ActivityResult:
    """Adds lookups over 1-1 links and aggregates over 1-N links; keeps every row.

    Aggregates over the same link with the same ``where`` share one group-by.
    """
    frame = context.single_input()
    lean = frame.collect_schema().names()
    attributes = list(context.activity.get("attributes"))
    groups: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for index, attribute in enumerate(attributes):
        path = f"{context.path}.attributes[{index}]"
        if attribute.get("aggregate"):
            group = (attribute["link"], attribute.get("where") or "")
            groups.setdefault(group, []).append((index, attribute))
        else:
            frame = _enrich(context, frame, attribute, path)
    for members in groups.values():
        frame = _aggregate_group(context, frame, members)
    names = [attribute["name"] for attribute in attributes]
    return ActivityResult({"out": frame.select(*lean, *names)}, context.dimension)


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
    """A lookup of one attribute, over the dimension itself or a 1-1 link."""
    name = attribute["name"]
    link = attribute["link"]
    key = context.key
    parents = context.tables.parents(context.dimension)
    if link == context.dimension:
        column = attribute.get("column") or name
        source = context.tables.scan(link).select(key, pl.col(column).alias(name))
        joined = frame.join(source, on=key, how="left", maintain_order="left")
    elif link in parents:
        joined = _lookup(context, frame, attribute, parents[link])
    else:
        children = context.tables.children(context.dimension)
        raise ExecutionError(
            f"{path}.link: {link!r} is not a link of {context.dimension!r} "
            f"(1-1 links: {', '.join(parents) or 'none'}; "
            f"1-N links: {', '.join(children) or 'none'}; a lookup needs a 1-1 link)"
        )
    return _with_default(joined, attribute)


def _with_default(frame: pl.LazyFrame, attribute: dict[str, Any]) -> pl.LazyFrame:
    name = attribute["name"]
    if attribute.get("aggregate") == "count":
        return frame.with_columns(pl.col(name).fill_null(0))
    if attribute.get("default") is not None:
        return frame.with_columns(pl.col(name).fill_null(attribute["default"]))
    return frame


def _aggregate_group(
    context: ActivityContext,
    frame: pl.LazyFrame,
    members: list[tuple[int, dict[str, Any]]],
) -> pl.LazyFrame:
    """Aggregates over one 1-N link and one ``where``, in a single group-by."""
    first_index, first = members[0]
    path = f"{context.path}.attributes[{first_index}]"
    link = first["link"]
    children = context.tables.children(context.dimension)
    if link not in children:
        raise ExecutionError(
            f"{path}.link: {link!r} is not a 1-N link of {context.dimension!r} "
            f"(1-N links: {', '.join(children) or 'none'})"
        )
    foreign_key = children[link]
    rows = context.tables.scan(link)
    if first.get("where"):
        rows = filter_frame(
            context.tables.scans(), rows, first["where"], where=f"{path}.where"
        )

    values = []
    for index, attribute in members:
        aggregate = attribute["aggregate"]
        if aggregate == "count":
            values.append(pl.len().cast(pl.Int64).alias(attribute["name"]))
            continue
        column = attribute.get("column")
        if not column:
            raise ExecutionError(
                f"{context.path}.attributes[{index}].column: {aggregate} needs a column"
            )
        values.append(AGGREGATES[aggregate](column).alias(attribute["name"]))
    grouped = rows.group_by(foreign_key).agg(values).rename({foreign_key: context.key})
    joined = frame.join(grouped, on=context.key, how="left", maintain_order="left")
    for _, attribute in members:
        joined = _with_default(joined, attribute)
    return joined


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
