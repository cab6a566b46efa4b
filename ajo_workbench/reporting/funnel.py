"""The population through the canvas: flows for a Sankey, and a funnel along a path."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import polars as pl

from ajo_workbench.engine import Execution
from ajo_workbench.errors import DataError
from ajo_workbench.model.graph import topological_order
from ajo_workbench.reporting.activities import activity_report, population

FLOWS: dict[str, Any] = {
    "from": pl.String,
    "port": pl.String,
    "to": pl.String,
    "transition_id": pl.String,
    "count": pl.Int64,
}
"""The columns of :func:`funnel`."""

STEPS: dict[str, Any] = {
    "step": pl.Int64,
    "activity_id": pl.String,
    "transitions": pl.List(pl.String),
    "count": pl.Int64,
    "of_first": pl.Float64,
    "of_previous": pl.Float64,
}
"""The columns of :func:`funnel_along`."""


def funnel(execution: Execution) -> pl.DataFrame:
    """Every transition of an execution's canvas with the rows it carried.

    One row per transition (``from``, ``port``, ``to``, ``transition_id``,
    ``count``), ordered by the dependency order of their source activities,
    then as in the file: the links of a Sankey diagram whose nodes are the
    activities. ``count`` is 0 for a transition that carried no table.
    """
    definition = execution.definition
    position = {aid: i for i, aid in enumerate(topological_order(definition))}
    placed = sorted(
        enumerate(definition.transitions),
        key=lambda item: (position[item[1].source], item[0]),
    )
    rows = [
        (t.source, t.port, t.target, t.id, execution.count(t.id)) for _, t in placed
    ]
    return pl.DataFrame(rows, schema=FLOWS, orient="row")


def funnel_along(execution: Execution, path: Sequence[str]) -> pl.DataFrame:
    """The population at each activity of a path through the canvas.

    Parameters
    ----------
    execution
        The execution.
    path
        Activity ids, each one linked to the next by at least one transition,
        such as ``["members", "dedup", "segments", "mail_big"]``.

    Returns
    -------
    polars.DataFrame
        One row per activity of the path: ``step`` (from 0), ``activity_id``,
        ``transitions`` (those from the previous activity; empty for the
        first), ``count``, ``of_first`` and ``of_previous`` (shares of the
        first and of the previous step's count; null when that one is 0). The
        first activity counts the rows that reached it, or for a source, the
        rows it produced; every later one, the rows carried by the transitions
        from the previous activity of the path.

    Raises
    ------
    DataError
        When the path is empty, names an unknown activity, or two activities
        next to each other are not linked.
    """
    definition = execution.definition
    if not path:
        raise DataError("funnel path: give at least one activity id")
    known = {a.id for a in definition.activities}
    unknown = [aid for aid in path if aid not in known]
    if unknown:
        raise DataError(
            f"funnel path: no activity {', '.join(map(repr, unknown))} "
            f"(activities: {', '.join(sorted(known))})"
        )

    report = activity_report(definition, execution.tasks, list(path))
    first = report.select(population(definition)).to_series()[0]
    rows: list[tuple[int, str, list[str], int]] = [(0, path[0], [], first or 0)]
    for step, (source, target) in enumerate(itertools.pairwise(path), 1):
        links = [t for t in definition.outbound(source) if t.target == target]
        if not links:
            following = sorted({t.target for t in definition.outbound(source)})
            raise DataError(
                f"funnel path: no transition from {source!r} to {target!r} "
                f"(from {source!r}: {', '.join(map(repr, following)) or 'none'})"
            )
        count = sum(execution.count(t.id) for t in links)
        rows.append((step, target, [t.id for t in links], count))

    columns = ("step", "activity_id", "transitions", "count")
    frame = pl.DataFrame(rows, schema={c: STEPS[c] for c in columns}, orient="row")
    rows_of = pl.col("count")
    return frame.with_columns(
        _share(rows_of, rows_of.first()).alias("of_first"),
        _share(rows_of, rows_of.shift(1)).alias("of_previous"),
    )


def _share(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    return pl.when(whole > 0).then(part / whole)
