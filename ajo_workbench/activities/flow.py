"""Flow-control activities: fork, and-join, test, wait, alert and end.

The waiting part of ``wait`` belongs to the engine, which holds the activity until
the workspace clock reaches its time; the activity itself passes the population on.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from ajo_workbench.activities.base import ActivityContext, ActivityResult
from ajo_workbench.errors import ConditionError, ExecutionError
from ajo_workbench.model.conditions import check_condition

DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def fork(context: ActivityContext) -> ActivityResult:
    """The same population on every branch."""
    frame = context.single_input()
    branches = context.activity.get("branches")
    return ActivityResult({branch: frame for branch in branches}, context.dimension)


def and_join(context: ActivityContext) -> ActivityResult:
    """Once every inbound transition has arrived, the primary population."""
    primary = context.activity.get("primary")
    for inbound in context.inputs:
        if inbound.transition.id == primary:
            return ActivityResult({"out": inbound.frame}, context.dimension)
    raise ExecutionError(
        f"{context.path}.primary: {primary!r} is not an inbound transition"
    )


def choose_branch(context: ActivityContext) -> ActivityResult:
    """The population on the first branch whose condition holds.

    Conditions read ``count`` (the inbound row count) and the campaign variables.
    Branches not taken carry no table; with no match and no default the branch
    ends with a warning.
    """
    frame = context.single_input()
    count = frame.select(pl.len()).collect().item()
    values = {"count": count, **context.variables}
    for index, condition in enumerate(context.activity.get("conditions")):
        where = f"{context.path}.conditions[{index}].when"
        if evaluate(condition["when"], values, where):
            note = f"condition {condition['label']!r} holds (count = {count})"
            return ActivityResult(
                {condition["label"]: frame}, context.dimension, notes=[note]
            )
    if context.activity.get("default"):
        note = f"no condition holds (count = {count}): default branch"
        return ActivityResult({"default": frame}, context.dimension, notes=[note])
    warning = f"no condition holds and there is no default (count = {count})"
    return ActivityResult({}, context.dimension, warnings=[warning])


def evaluate(text: str, values: dict[str, Any], where: str) -> bool:
    """A SQL boolean over named values (``count`` and variables)."""
    checked = check_condition(text, where=where)
    unknown = sorted(checked.identifiers - set(values))
    if checked.tables:
        raise ConditionError(f"{where}: a test condition can't read tables")
    if unknown:
        raise ConditionError(
            f"{where}: unknown name {unknown[0]!r} (names: {', '.join(sorted(values))})"
        )
    row = pl.DataFrame({name: [value] for name, value in values.items()})
    try:
        result = pl.SQLContext(frames={"v": row}).execute(
            f"SELECT ({text}) AS ok FROM v"
        )
        outcome = result.collect()["ok"]
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as error:
        first = (str(error).strip().splitlines() or [""])[0]
        raise ConditionError(f"{where}: {first}") from None
    if outcome.dtype != pl.Boolean:
        raise ConditionError(
            f"{where}: must be a boolean expression, got {outcome.dtype}"
        )
    return bool(outcome[0])


def wait(context: ActivityContext) -> ActivityResult:
    """Passes the population on (the engine has held it until its time)."""
    return ActivityResult({"out": context.single_input()}, context.dimension)


def parse_duration(text: str, where: str) -> timedelta:
    """An ISO 8601 duration such as ``PT2H`` or ``P2D``."""
    match = DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None or text.strip() in ("P", "PT"):
        raise ExecutionError(
            f"{where}: {text!r} is not an ISO 8601 duration (e.g. PT2H, P2D, P1DT6H)"
        )
    parts = {name: int(value) for name, value in match.groupdict().items() if value}
    return timedelta(**parts)


def wait_until(context: ActivityContext, arrived: datetime) -> datetime:
    """When a wait activity that received its population at ``arrived`` releases it."""
    activity = context.activity
    if activity.get("until"):
        try:
            moment = datetime.fromisoformat(activity.get("until"))
        except ValueError:
            raise ExecutionError(
                f"{context.path}.until: {activity.get('until')!r} is not an ISO 8601 "
                "time"
            ) from None
        if moment.tzinfo is None:
            raise ExecutionError(f"{context.path}.until: add a UTC offset")
        return moment
    if activity.get("duration"):
        duration = parse_duration(activity.get("duration"), f"{context.path}.duration")
        return arrived + duration
    raise ExecutionError(f"{context.path}: a wait needs a duration or an until")


def alert(context: ActivityContext) -> ActivityResult:
    """Records an alert in the log and the alerts list; passes the population."""
    title = context.activity.get("title")
    message = context.activity.get("message") or ""
    note = f"alert {title!r}: {message}" if message else f"alert {title!r}"
    return ActivityResult(
        {"out": context.single_input()}, context.dimension, warnings=[note]
    )


def end(context: ActivityContext) -> ActivityResult:
    """Ends a branch."""
    return ActivityResult({}, context.dimension)
