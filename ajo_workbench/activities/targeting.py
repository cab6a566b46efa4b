"""Targeting activities: build audiences, split, combine, deduplicate, enrich."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import polars as pl

from ajo_workbench.activities.base import (
    ActivityContext,
    ActivityResult,
    Deferred,
    left_join,
    parse_order_by,
)
from ajo_workbench.errors import ExecutionError
from ajo_workbench.model.conditions import check_condition, filter_frame


def build_audience(context: ActivityContext) -> ActivityResult:
    """Rows of the dimension matching ``where``, or a filter of the inbound rows.

    With ``emit_when_empty`` false, an empty audience ends its branch instead of
    passing an empty population on.
    """
    where = context.activity.get("where")
    path = f"{context.path}.where"
    ending = set() if context.activity.get("emit_when_empty", True) else {"out"}
    if context.inputs:
        frame = context.single_input()
        if where:
            frame = context.filter(frame, where, path)
        return ActivityResult({"out": frame}, context.dimension, end_if_empty=ending)

    dimension = context.activity.get("dimension") or context.definition.dimension
    key = context.tables.info(dimension).key
    rows = context.tables.scan(dimension)
    names = rows.collect_schema().names()
    if where:
        rows = filter_frame(context.tables.scans(), rows, where, where=path)
    carried = [name for name in names if name in context.carry and name != key]
    return ActivityResult(
        {"out": rows.select(key, *carried)}, dimension, end_if_empty=ending
    )


def split(context: ActivityContext) -> ActivityResult:
    """Ordered subsets with limits; rows beyond a limit go on to later subsets.

    Subsets are decided on keys alone; each output then takes its rows from the
    input in one pass, in the input's order.
    """
    activity = context.activity
    key = context.key
    frame = context.single_input().collect()
    overlapping = bool(activity.get("overlapping", False))
    skip_empty = bool(activity.get("skip_empty", False)) and not context.dry_run
    skipped: set[str] = set()

    taken = frame.get_column(key).clear()
    outputs: dict[str, pl.LazyFrame] = {}
    for index, subset in enumerate(activity.get("subsets")):
        path = f"{context.path}.subsets[{index}]"
        pool = frame.lazy()
        if not overlapping and len(taken):
            pool = pool.filter(~pl.col(key).is_in(taken.implode()))
        matched = context.filter(pool, subset["where"], f"{path}.where")
        limited = _limit(context, matched, subset, path)
        chosen = limited.select(key).collect().get_column(key)
        if chosen.is_empty() and skip_empty:
            skipped.add(subset["label"])
        else:
            outputs[subset["label"]] = _rows_with(frame, key, chosen).lazy()
        taken = pl.concat([taken, chosen])

    if activity.get("complement"):
        rest = frame.filter(~pl.col(key).is_in(taken.implode()))
        if rest.is_empty() and skip_empty:
            skipped.add("complement")
        else:
            outputs["complement"] = rest.lazy()
    return ActivityResult(outputs, context.dimension, skipped_ports=skipped)


def _rows_with(frame: pl.DataFrame, key: str, keys: pl.Series) -> pl.DataFrame:
    """The rows of ``frame`` whose key is one of ``keys``, in ``frame``'s order."""
    return frame.filter(pl.col(key).is_in(keys.implode()))


def _limit(
    context: ActivityContext,
    matched: pl.LazyFrame,
    subset: dict[str, Any],
    path: str,
) -> pl.LazyFrame:
    """The matched rows a subset keeps: all of them, or its limit's worth.

    Only the key and the order's columns are sorted, never the whole rows.
    """
    limit = subset.get("limit")
    percent = subset.get("limit_percent")
    if limit is None and percent is None:
        return matched

    key = context.key
    if subset.get("order_by"):
        names, _ = parse_order_by(subset["order_by"], path)
        present = matched.collect_schema().names()
        columns = [name for name in names if name in present and name != key]
        matched = context.order(matched.select(key, *columns), subset["order_by"], path)
    elif subset.get("random"):
        seed = int(subset.get("seed", 0))
        matched = matched.select(key).sort(pl.col(key).hash(seed), maintain_order=True)

    if limit is None:
        count = matched.select(pl.len()).collect().item()
        limit = int(Fraction(str(percent)) * count / 100)
    return matched.head(int(limit))


def combine(context: ActivityContext) -> ActivityResult:
    """Union, intersection or exclusion of the inbound populations by key."""
    mode = context.activity.get("mode")
    key = context.key
    frames = [inbound.frame for inbound in context.inputs]
    # Inputs may carry different attributes: a union of rows from several inputs
    # keeps only the work tables' own columns.
    lean = [context.lean(frame) for frame in frames]
    union = pl.concat(lean, how="diagonal_relaxed").unique(
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
    excluded = pl.concat(others).unique().collect().get_column(key)
    base = primary[0].frame
    gone = pl.col(key).is_in(excluded.implode())
    kept = base.filter(~gone)
    removed = base.filter(gone)
    return ActivityResult({"out": kept, "complement": removed}, context.dimension)


def deduplication(context: ActivityContext) -> ActivityResult:
    """One row per key combination, chosen by ``order_by``; nulls never duplicate.

    Only rows that share their key combination with another row are sorted, by
    ``order_by`` (nulls last) with the dimension's key as the final tie-breaker;
    the first (or last) of each group stays. The output keeps the inbound order.
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
    # Grouping by a hash of the keys is much faster than by strings; a collision
    # only makes a row a candidate, and unique() below compares the keys.
    crowded = complete.filter(pl.len().over(pl.struct(keys).hash()) > 1)
    ordered = context.order(crowded, list(activity.get("order_by") or []), context.path)
    last = activity.get("keep") == "last"
    chosen = ordered.unique(subset=keys, keep="last" if last else "first").select(key)
    removed = crowded.select(key).join(chosen, on=key, how="anti").collect()
    gone = pl.col(key).is_in(removed.get_column(key).implode())
    out = frame.filter(~gone)
    dropped = frame.filter(gone)
    return ActivityResult({"out": out, "complement": dropped}, context.dimension)


def enrichment(context: ActivityContext) -> ActivityResult:
    """Adds lookups over 1-1 links and aggregates over 1-N links; keeps every row.

    Aggregates over the same link share one group-by, each with its own ``where``
    as a filter inside the aggregate; a ``where`` with a subquery gets a group-by
    of its own over the rows it selects.
    """
    frame = context.single_input()
    lean = frame.collect_schema().names()
    attributes = list(context.activity.get("attributes"))
    groups: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for index, attribute in enumerate(attributes):
        path = f"{context.path}.attributes[{index}]"
        if attribute.get("aggregate"):
            where = attribute.get("where") or ""
            if where and not check_condition(where, where=f"{path}.where").tables:
                where = ""  # a filter inside the shared group-by
            groups.setdefault((attribute["link"], where), []).append((index, attribute))
        else:
            frame = _enrich(context, frame, attribute, path)
    deferred: dict[str, Deferred] = {}
    for (_, where), members in groups.items():
        frame = _aggregate_group(context, frame, members, where, deferred)
    names = [attribute["name"] for attribute in attributes]
    return ActivityResult(
        {"out": frame.select(*lean, *names)}, context.dimension, deferred=deferred
    )


def _deferrable(context: ActivityContext, name: str) -> bool:
    """Whether an added column may wait until a table that carries it is shown.

    Only when no later activity reads it, and no other activity adds a column of
    that name, so that its values depend on the key alone.
    """
    if not context.defer or name in context.carry:
        return False
    named = [
        attribute
        for activity in context.definition.activities
        if activity.type == "enrichment"
        for attribute in activity.get("attributes") or []
        if attribute.get("name") == name
    ]
    return len(named) == 1


AGGREGATES: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "sum": lambda values: values.sum(),
    "min": lambda values: values.min(),
    "max": lambda values: values.max(),
    "mean": lambda values: values.mean(),
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
        joined = left_join(frame, source, on=key)
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
    where: str,
    deferred: dict[str, Deferred],
) -> pl.LazyFrame:
    """Aggregates over one 1-N link in a single group-by.

    ``where`` is the group's shared subquery condition, or empty when each
    aggregate filters the link's rows with its own condition. Aggregates that
    may wait (see ``_deferrable``) go to ``deferred`` and stay null here.
    """
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
    if where:
        rows = filter_frame(context.tables.scans(), rows, where, where=f"{path}.where")

    now = [(i, a) for i, a in members if not _deferrable(context, a["name"])]
    later = [(i, a) for i, a in members if _deferrable(context, a["name"])]

    def by_key(chosen: list[tuple[int, dict[str, Any]]]) -> pl.LazyFrame:
        """One group-by; a ``where`` that all of ``chosen`` share filters first."""
        shared = {where or attribute.get("where") or "" for _, attribute in chosen}
        source = rows
        common = shared.pop() if len(shared) == 1 else None
        if common and not where:
            at = f"{context.path}.attributes[{chosen[0][0]}].where"
            source = filter_frame(context.tables.scans(), rows, common, where=at)
        values = [
            _aggregate(
                context,
                source,
                attribute,
                None if common is not None else attribute.get("where"),
                f"{context.path}.attributes[{index}]",
            )
            for index, attribute in chosen
        ]
        grouped = source.group_by(foreign_key).agg(values)
        return grouped.rename({foreign_key: context.key})

    for index, attribute in later:
        name = attribute["name"]
        computed = by_key([(index, attribute)])
        fill = 0 if attribute["aggregate"] == "count" else attribute.get("default")
        deferred[name] = Deferred(context.dimension, computed, fill)
        dtype = computed.collect_schema()[name]
        frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    if not now:
        return frame
    joined = left_join(frame, by_key(now), on=context.key)
    for _, attribute in now:
        joined = _with_default(joined, attribute)
    return joined


def _aggregate(
    context: ActivityContext,
    rows: pl.LazyFrame,
    attribute: dict[str, Any],
    where: str | None,
    path: str,
) -> pl.Expr:
    """One aggregate of a link's rows, over those matching ``where`` if given.

    Matching no row gives a count of 0 and a null for the other aggregates.
    """
    aggregate = attribute["aggregate"]
    column = str(attribute.get("column") or "")
    if aggregate != "count" and not column:
        raise ExecutionError(f"{path}.column: {aggregate} needs a column")
    matches = None
    if where:
        filter_frame(context.tables.scans(), rows, where, where=f"{path}.where")
        matches = pl.sql_expr(where).fill_null(False)

    if aggregate == "count":
        value = pl.len() if matches is None else matches.sum()
        return value.cast(pl.Int64).alias(attribute["name"])
    values = pl.col(column) if matches is None else pl.col(column).filter(matches)
    result = AGGREGATES[aggregate](values)
    if matches is not None and aggregate == "sum":
        result = pl.when(matches.any()).then(result)
    return result.alias(attribute["name"])


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
    return left_join(frame, looked_up, on=context.key)
