"""The engine: executions of a canvas, task by task."""

from ajo_workbench.engine.execution import (
    Execution,
    ExecutionState,
    Sending,
    TaskStatus,
    restore_execution,
    revive_execution,
)

__all__ = [
    "Execution",
    "ExecutionState",
    "Sending",
    "TaskStatus",
    "restore_execution",
    "revive_execution",
]
