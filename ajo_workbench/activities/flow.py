"""Flow-control activities that need no clock: fork, alert and end."""

from __future__ import annotations

from ajo_workbench.activities.base import ActivityContext, ActivityResult


def fork(context: ActivityContext) -> ActivityResult:
    """The same population on every branch."""
    frame = context.single_input()
    branches = context.activity.get("branches")
    return ActivityResult({branch: frame for branch in branches}, context.dimension)


def alert(context: ActivityContext) -> ActivityResult:
    """Records an alert in the log and passes the population on."""
    title = context.activity.get("title")
    message = context.activity.get("message") or ""
    note = f"alert {title!r}: {message}" if message else f"alert {title!r}"
    return ActivityResult(
        {"out": context.single_input()}, context.dimension, notes=[note]
    )


def end(context: ActivityContext) -> ActivityResult:
    """Ends a branch."""
    return ActivityResult({}, context.dimension)
