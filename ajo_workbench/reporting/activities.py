"""Per-activity report of an execution: counts, ports, durations (SPEC §10)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from ajo_workbench.engine import Execution
from ajo_workbench.errors import DataError
from ajo_workbench.model.definition import CampaignDefinition
from ajo_workbench.model.graph import topological_order

PORT_COUNT = pl.Struct({"port": pl.String, "count": pl.Int64})
STAMP = pl.Datetime("us", "UTC")

ACTIVITY_REPORT: dict[str, Any] = {
    "activity_id": pl.String,
    "type": pl.String,
    "label": pl.String,
    "status": pl.String,
    "input": pl.Int64,
    "output": pl.Int64,
    "outputs": pl.List(PORT_COUNT),
    "excluded": pl.Int64,
    "duration_s": pl.Float64,
    "started_at": STAMP,
    "ended_at": STAMP,
    "error": pl.String,
}
"""The columns of :func:`execution_report` and their types."""

EVENT_COLUMNS = ("execution_id", "activity_id", "status", "exclusion_reason")


def execution_report(
    execution: Execution, events: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per activity of an execution, in dependency order.

    Parameters
    ----------
    execution
        A test or live execution, running or over.
    events
        Feedback events (``ws.feedback_events``), optional. When given for a live
        execution, a channel activity's ``excluded`` counts its ``exclude``
        events; otherwise it is the rows that reached the activity minus the
        rows it addressed.

    Returns
    -------
    polars.DataFrame
        ``activity_id``, ``type``, ``label``, ``status``, ``input`` (rows that
        reached the activity, all inbound transitions together; null for an
        activity without inbound transitions), ``output``
        (rows it produced, all ports together), ``outputs`` (a list of
        ``{port, count}``, one per port), ``excluded`` (channel activities
        only), ``duration_s``, ``started_at``, ``ended_at`` and ``error``. The
        counts are null for a task that has not finished.

    Examples
    --------
    >>> report = execution_report(run)  # doctest: +SKIP
    >>> report.select("activity_id", "input", "output")  # doctest: +SKIP
    """
    excluded = None
    if events is not None and execution.mode == "live":
        excluded = _exclusions(events, execution.id)
    return activity_report(
        execution.definition,
        execution.tasks,
        topological_order(execution.definition),
        excluded,
    )


def activity_report(
    definition: CampaignDefinition,
    tasks: pl.DataFrame,
    order: Sequence[str] | None = None,
    excluded: dict[str, int] | None = None,
) -> pl.DataFrame:
    """The report of :func:`execution_report` from a definition and its tasks.

    ``tasks`` is an execution's task frame (``run.tasks``); an empty frame gives
    every activity as ``not_run``. ``order`` lists the activity ids (dependency
    order by default) and ``excluded`` the exclusions of channel activities, by
    activity id, when they are known from feedback events.
    """
    order = list(order) if order is not None else topological_order(definition)
    by_id: dict[str, dict[str, Any]] = {}
    if tasks.height:
        by_id = {row["activity_id"]: row for row in tasks.iter_rows(named=True)}

    rows = []
    for activity_id in order:
        activity = definition.activity(activity_id)
        task = by_id.get(activity_id, {})
        outputs = _outputs(task.get("output_counts"), activity.ports)
        done = outputs is not None
        fed = bool(definition.inbound(activity_id))  # a source has no input
        reached = task.get("input_count") if done and fed else None
        total = sum(p["count"] for p in outputs) if outputs is not None else None
        lost = None
        if activity.spec.category == "channel" and done:
            if excluded is not None:
                lost = excluded.get(activity_id, 0)
            elif reached is not None and total is not None:
                lost = reached - total
        rows.append(
            {
                "activity_id": activity_id,
                "type": activity.type,
                "label": activity.label,
                "status": task.get("status") or "not_run",
                "input": reached,
                "output": total,
                "outputs": outputs,
                "excluded": lost,
                "duration_s": task.get("duration"),
                "started_at": task.get("started_at"),
                "ended_at": task.get("ended_at"),
                "error": task.get("error"),
            }
        )
    return pl.DataFrame(rows, schema=ACTIVITY_REPORT, orient="row")


def population(definition: CampaignDefinition) -> pl.Expr:
    """The population at each activity of a report: the rows that reached it, or
    for an activity without inbound transitions, the rows it produced."""
    sources = [a.id for a in definition.activities if not definition.inbound(a.id)]
    from_source = pl.col("activity_id").is_in(sources)
    return pl.when(from_source).then(pl.col("output")).otherwise(pl.col("input"))


def check_events(events: pl.DataFrame) -> None:
    """Refuse a frame that lacks the feedback-event columns reports read."""
    missing = [name for name in EVENT_COLUMNS if name not in events.columns]
    if missing:
        raise DataError(
            f"events: no column {', '.join(map(repr, missing))} (a feedback events "
            f"frame, such as ws.feedback_events, has {', '.join(EVENT_COLUMNS)}, …)"
        )


def _exclusions(events: pl.DataFrame, execution_id: str) -> dict[str, int]:
    check_events(events)
    counted = (
        events.filter(
            (pl.col("execution_id") == execution_id) & (pl.col("status") == "exclude")
        )
        .group_by("activity_id")
        .len()
    )
    return dict(counted.iter_rows())


def _outputs(text: str | None, ports: list[str]) -> list[dict[str, Any]] | None:
    """A task's output counts as ``{port, count}`` rows, in the activity's port
    order (ports it does not declare last); None before the task finished."""
    if text is None:
        return None
    counts: dict[str, int] = json.loads(text)
    named = [p for p in ports if p in counts] + sorted(set(counts) - set(ports))
    return [{"port": port, "count": int(counts[port])} for port in named]
