"""Plan a canvas over empty tables to find data problems before running it.

The activities' own code runs on zero rows with the workspace's real schemas, so
validation and execution can't disagree about columns, tables, links and conditions.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ajo_workbench.activities import RUNNERS, ActivityContext, Inbound, State, Tables
from ajo_workbench.activities.base import FILE_PREFIX, TableInfoLike
from ajo_workbench.errors import ConditionError, WorkbenchError
from ajo_workbench.model.alerts import Alert
from ajo_workbench.model.definition import CampaignDefinition
from ajo_workbench.model.graph import topological_order


class EmptyTables:
    """The workspace's tables with their schemas and no rows."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._empty: dict[str, pl.LazyFrame] = {}

    def info(self, name: str) -> TableInfoLike:
        return self._tables.info(name)

    def scan(self, name: str) -> pl.LazyFrame:
        if name not in self._empty:
            schema = self._tables.scan(name).collect_schema()
            self._empty[name] = pl.LazyFrame(schema=schema)
        return self._empty[name]

    def scans(self) -> dict[str, pl.LazyFrame]:
        return {name: self.scan(name) for name in self._tables.scans()}

    def children(self, name: str) -> dict[str, str]:
        return self._tables.children(name)

    def parents(self, name: str) -> dict[str, str]:
        return self._tables.parents(name)


def dry_run(
    definition: CampaignDefinition,
    tables: Tables,
    state: State | None = None,
    folder: Path | None = None,
    skip: set[str] | frozenset[str] = frozenset(),
) -> list[Alert]:
    """Alerts for the data problems each activity meets on empty tables.

    Activities in ``skip`` (those with errors of their own) are not planned, nor
    is anything that only they feed.
    """
    try:
        order = topological_order(definition)
    except WorkbenchError:
        return []
    empty = EmptyTables(tables)
    index = {a.id: i for i, a in enumerate(definition.activities)}
    frames: dict[str, pl.LazyFrame] = {}
    dimensions: dict[str, str] = {}
    alerts: list[Alert] = []

    for activity_id in order:
        activity = definition.activity(activity_id)
        runner = RUNNERS.get(activity.type)
        inbound = definition.inbound(activity_id)
        if activity_id in skip or runner is None:
            continue
        if any(t.id not in frames for t in inbound):
            continue
        dimension = (
            dimensions[inbound[0].id]
            if inbound
            else activity.get("dimension") or definition.dimension
        )
        if activity.type == "test":
            # Every branch is checked, whichever a real count would choose.
            for transition in definition.outbound(activity_id):
                frames[transition.id] = frames[inbound[0].id]
                dimensions[transition.id] = dimension
            continue
        context = ActivityContext(
            activity=activity,
            definition=definition,
            inputs=[Inbound(t, frames[t.id]) for t in inbound],
            dimension=dimension,
            tables=empty,
            variables=definition.variables,
            path=f"activities[{index[activity_id]}]",
            state=state,
            folder=folder,
            dry_run=True,
        )
        try:
            result = runner(context)
            # Planning finds unknown columns and wrong types; nothing has rows.
            outputs = {
                port: pl.DataFrame(schema=f.collect_schema())
                for port, f in result.outputs.items()
            }
        except (WorkbenchError, pl.exceptions.PolarsError) as error:
            alerts.append(_alert(activity_id, error))
            continue

        alerts += _clashes(activity_id, result.dimension, outputs, empty)
        for transition in definition.outbound(activity_id):
            if transition.port in outputs:
                frames[transition.id] = outputs[transition.port].lazy()
                dimensions[transition.id] = result.dimension
    return alerts


def _alert(activity_id: str, error: Exception) -> Alert:
    message = (str(error).strip().splitlines() or [""])[0]
    lowered = message.lower()
    if "unknown audience" in lowered:
        code, hint = "UNKNOWN_AUDIENCE", "save the audience first or fix its name"
    elif "no file at" in lowered or "can't read" in lowered:
        code, hint = "BAD_FILE", "check the file's path and format"
    elif "unknown table" in lowered or "relation" in lowered:
        code, hint = "UNKNOWN_TABLE", "import the table or correct its name"
    elif "column" in lowered and ("unknown" in lowered or "not found" in lowered):
        code, hint = "UNKNOWN_COLUMN", "use a column of the population or a table"
    elif "link" in lowered:
        code, hint = "UNKNOWN_LINK", "declare the link when importing the table"
    elif isinstance(error, ConditionError):
        code, hint = "BAD_CONDITION", "write a SQL boolean expression"
    else:
        code, hint = "BAD_SETTING", "correct the activity's settings"
    return Alert(code, "error", message, hint, activity_id=activity_id)


def _clashes(
    activity_id: str,
    dimension: str,
    outputs: dict[str, pl.DataFrame],
    tables: EmptyTables,
) -> list[Alert]:
    if dimension.startswith(FILE_PREFIX):
        return []
    attributes = set(tables.scan(dimension).collect_schema().names())
    key = tables.info(dimension).key
    alerts = []
    for frame in outputs.values():
        for column in frame.columns:
            if column != key and column in attributes:
                alerts.append(
                    Alert(
                        "COLUMN_CLASH",
                        "error",
                        f"added column {column!r} has the name of an attribute of "
                        f"{dimension!r}",
                        "rename the added column",
                        activity_id=activity_id,
                    )
                )
        break
    return alerts
