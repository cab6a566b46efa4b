"""Reading the keys of an execution's work tables, for comparisons.

The execution handle does not say which dimension a transition carried nor that
dimension's key column; both are read here from the engine's own records of the
execution (the same ones its previews use), in this one module.
"""

from __future__ import annotations

import polars as pl

from ajo_workbench.activities.base import FILE_PREFIX, LINE
from ajo_workbench.engine import Execution
from ajo_workbench.errors import DataError, ExecutionError


def dimension_of(execution: Execution, transition_id: str) -> str | None:
    """The dimension a transition's table holds, or None when it carried none."""
    dimensions: dict[str, str] = execution._dimensions
    return dimensions.get(transition_id)


def key_of(execution: Execution, dimension: str) -> str:
    """The key column of a dimension as the engine names it in work tables."""
    if dimension.startswith(FILE_PREFIX):
        return LINE
    return execution._tables.info(dimension).key


def transition_keys(execution: Execution, transition_id: str, key: str) -> pl.Series:
    """The distinct keys of a transition's table.

    Raises
    ------
    ExecutionError
        When the transition carried rows but its table is no longer available,
        saying why and how to keep it.
    """
    count = execution.count(transition_id)
    try:
        frame = execution.frame(transition_id)
    except DataError as error:
        kept = execution.definition.settings.keep_interim_results
        why = (
            "its kept work table file can't be read (was the workspace's "
            "worktables folder changed?)"
            if kept
            else "it was released from memory (a test execution holds its tables "
            "only until the next one starts, and an execution of an earlier "
            "process holds none); set keep_interim_results in the campaign's "
            "settings to keep every work table"
        )
        raise ExecutionError(
            f"transition {transition_id!r} of execution {execution.id} "
            f"({count:,} rows) is not available: {why}"
        ) from error
    if key not in frame.columns:
        raise ExecutionError(
            f"transition {transition_id!r} of execution {execution.id} has no key "
            f"column {key!r} (columns: {', '.join(frame.columns)})"
        )
    return frame.get_column(key).unique()
