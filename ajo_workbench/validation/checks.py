"""Validation checks: structure, limits, settings, content, schedule and data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ajo_workbench.activities import State, Tables
from ajo_workbench.activities.flow import evaluate, parse_duration
from ajo_workbench.delivery.templates import template_placeholders
from ajo_workbench.errors import (
    ConditionError,
    DataError,
    DefinitionError,
    ExecutionError,
    Problem,
    TemplateError,
)
from ajo_workbench.model.alerts import Alert, AlertLevel
from ajo_workbench.model.catalogue import CHANNEL_CONTENT
from ajo_workbench.model.definition import CampaignDefinition
from ajo_workbench.model.graph import topological_order
from ajo_workbench.model.schedule import Once, Recurring, min_interval, parse_schedule
from ajo_workbench.validation.dry_run import dry_run

MAX_ACTIVITIES = 500
MANY_ACTIVITIES = 100
MAX_CHANNELS = 10


def validate(
    definition: CampaignDefinition,
    tables: Tables | None = None,
    *,
    now: datetime | None = None,
    audiences: Mapping[str, str] | None = None,
    campaigns: Mapping[str, str] | None = None,
    state: State | None = None,
    folder: Path | None = None,
) -> list[Alert]:
    """Every problem of a campaign, errors first.

    Parameters
    ----------
    definition
        The campaign to check.
    tables
        The workspace's tables; without them, data checks are left out.
    now
        The workspace clock's time, for schedules in the past.
    audiences
        Saved audience names and the campaign that owns each.
    campaigns
        Other campaigns' ids and their schedule types, for end signals.
    state, folder
        Saved audiences and the workspace folder, for activities that read them.
    """
    alerts = _structure(definition)
    alerts += _limits(definition)
    alerts += _activities(definition)
    alerts += _schedule(definition, now)
    alerts += _audiences(definition, audiences or {})
    alerts += _end_signals(definition, campaigns)
    if tables is not None:
        # Activities with an error of their own are left out of the data checks
        # (their settings can't be planned); the others are checked in this round.
        broken = {a.activity_id for a in alerts if a.level == "error" and a.activity_id}
        alerts += _data(definition, tables, state, folder, broken)
    return sorted(alerts, key=lambda alert: alert.level != "error")


def _alert(
    code: str,
    level: AlertLevel,
    message: str,
    hint: str,
    activity_id: str | None = None,
    transition_id: str | None = None,
) -> Alert:
    return Alert(code, level, message, hint, activity_id, transition_id)


def _structure(definition: CampaignDefinition) -> list[Alert]:
    alerts: list[Alert] = []
    ids = {a.id: a for a in definition.activities}
    if not ids:
        return [
            _alert(
                "EMPTY_CANVAS",
                "error",
                "the canvas has no activity",
                "add a targeting activity",
            )
        ]

    seen: dict[tuple[str, str, str], str] = {}
    for t in definition.transitions:
        for end, name in (("from", t.source), ("to", t.target)):
            if name not in ids:
                alerts.append(
                    _alert(
                        "DANGLING_TRANSITION",
                        "error",
                        f"transition {t.id!r} goes {end} unknown activity {name!r}",
                        "connect it to an existing activity or delete it",
                        transition_id=t.id,
                    )
                )
        if t.source in ids and t.port not in ids[t.source].ports:
            ports = ", ".join(ids[t.source].ports) or "none"
            alerts.append(
                _alert(
                    "UNKNOWN_PORT",
                    "error",
                    f"activity {t.source!r} has no port {t.port!r} (ports: {ports})",
                    "pick one of its ports",
                    transition_id=t.id,
                )
            )
        edge = (t.source, t.port, t.target)
        if edge in seen:
            alerts.append(
                _alert(
                    "DUPLICATE_TRANSITION",
                    "error",
                    f"transition {t.id!r} repeats {seen[edge]!r}",
                    "delete one of them",
                    transition_id=t.id,
                )
            )
        seen.setdefault(edge, t.id)

    try:
        topological_order(definition)
    except ExecutionError as error:
        alerts.append(
            _alert(
                "CYCLE",
                "error",
                str(error),
                "remove a transition so the canvas has no loop",
            )
        )

    for activity in definition.activities:
        alerts += _connections(definition, activity.id)
    return alerts


def _connections(definition: CampaignDefinition, activity_id: str) -> list[Alert]:
    activity = definition.activity(activity_id)
    spec = activity.spec
    inbound = len(definition.inbound(activity_id))
    outbound = len(definition.outbound(activity_id))
    alerts: list[Alert] = []
    if inbound == 0 and outbound == 0 and len(definition.activities) > 1:
        alerts.append(
            _alert(
                "DISCONNECTED_ACTIVITY",
                "error",
                f"activity {activity_id!r} is not connected to the canvas",
                "connect it or delete it",
                activity_id,
            )
        )
    elif inbound < spec.min_inbound:
        code = {"combine": "COMBINE_INPUTS", "and_join": "AND_JOIN_INPUTS"}.get(
            activity.type, "MISSING_INBOUND"
        )
        code = "CHANNEL_NO_AUDIENCE" if spec.category == "channel" else code
        alerts.append(
            _alert(
                code,
                "error",
                f"{activity.type} {activity_id!r} needs at least {spec.min_inbound} "
                f"inbound transition(s), has {inbound}",
                "connect an upstream activity",
                activity_id,
            )
        )
    elif spec.max_inbound is not None and inbound > spec.max_inbound:
        alerts.append(
            _alert(
                "TOO_MANY_INBOUND",
                "error",
                f"{activity.type} {activity_id!r} accepts at most {spec.max_inbound} "
                f"inbound transition(s), has {inbound}",
                "combine the populations first",
                activity_id,
            )
        )
    if outbound == 0 and activity.ports and inbound:
        alerts.append(
            _alert(
                "NO_OUTBOUND",
                "warning",
                f"activity {activity_id!r} has no outbound transition; its branch "
                "stops without an end activity",
                "connect it to an end activity",
                activity_id,
            )
        )
    return alerts


def _limits(definition: CampaignDefinition) -> list[Alert]:
    count = len(definition.activities)
    channels = [a for a in definition.activities if a.spec.category == "channel"]
    alerts: list[Alert] = []
    if count > MAX_ACTIVITIES:
        alerts.append(
            _alert(
                "TOO_MANY_ACTIVITIES",
                "error",
                f"the canvas has {count} activities (at most {MAX_ACTIVITIES})",
                "split it into several campaigns",
            )
        )
    elif count > MANY_ACTIVITIES:
        alerts.append(
            _alert(
                "MANY_ACTIVITIES",
                "warning",
                f"the canvas has {count} activities (more than "
                f"{MANY_ACTIVITIES} slows the workbench)",
                "consider splitting it",
            )
        )
    if len(channels) > MAX_CHANNELS:
        alerts.append(
            _alert(
                "TOO_MANY_CHANNELS",
                "error",
                f"the canvas has {len(channels)} channel activities "
                f"(at most {MAX_CHANNELS})",
                "split the campaign",
            )
        )
    return alerts


def _activities(definition: CampaignDefinition) -> list[Alert]:
    alerts: list[Alert] = []
    for activity in definition.activities:
        aid = activity.id
        inbound = {t.id for t in definition.inbound(aid)}
        duplicates = [p for p, n in Counter(activity.ports).items() if n > 1]
        if duplicates:
            alerts.append(
                _alert(
                    "DUPLICATE_PORT",
                    "error",
                    f"activity {aid!r} has two outputs named {duplicates[0]!r}",
                    "give each subset, branch or condition its own label",
                    aid,
                )
            )
        exclusion = activity.type == "combine" and activity.get("mode") == "exclusion"
        if exclusion and activity.get("primary") not in inbound:
            alerts.append(
                _alert(
                    "EXCLUSION_PRIMARY",
                    "error",
                    f"exclusion {aid!r} needs a primary inbound transition "
                    f"(got {activity.get('primary')!r}; inbound: "
                    f"{', '.join(sorted(inbound)) or 'none'})",
                    "set primary to the id of the population to keep",
                    aid,
                )
            )
        if activity.type == "and_join" and activity.get("primary") not in inbound:
            alerts.append(
                _alert(
                    "AND_JOIN_PRIMARY",
                    "error",
                    f"and-join {aid!r}: primary {activity.get('primary')!r} is not an "
                    "inbound transition",
                    "set primary to an inbound transition",
                    aid,
                )
            )
        if activity.type == "test" and not activity.get("default"):
            alerts.append(
                _alert(
                    "TEST_NO_DEFAULT",
                    "warning",
                    f"test {aid!r} has no default branch: when no condition holds, the "
                    "branch stops",
                    'add "default": true',
                    aid,
                )
            )
        if activity.type == "split":
            alerts += _split(aid, activity.get("subsets") or [])
        if activity.type == "wait":
            alerts += _wait(aid, activity.get("duration"), activity.get("until"))
        if activity.type == "test":
            alerts += _test_conditions(
                aid, activity.get("conditions") or [], _known_values(definition)
            )
        if activity.spec.category == "channel":
            alerts += _content(aid, activity.type, activity.settings)
    return alerts


def _split(activity_id: str, subsets: list[dict[str, object]]) -> list[Alert]:
    return [
        _alert(
            "SPLIT_LIMIT",
            "error",
            f"subset {s.get('label')!r} of split {activity_id!r} sets both limit "
            "and limit_percent",
            "keep one of them",
            activity_id,
        )
        for s in subsets
        if "limit" in s and "limit_percent" in s
    ]


def _wait(activity_id: str, duration: object, until: object) -> list[Alert]:
    if (duration is None) == (until is None):
        return [
            _alert(
                "BAD_WAIT",
                "error",
                f"wait {activity_id!r} needs either a duration or an until",
                "set duration (e.g. PT2H) or until (an ISO 8601 time)",
                activity_id,
            )
        ]
    try:
        if isinstance(duration, str):
            parse_duration(duration, f"wait {activity_id!r} duration")
        elif isinstance(until, str) and datetime.fromisoformat(until).tzinfo is None:
            raise ExecutionError(f"wait {activity_id!r} until has no UTC offset")
    except ValueError:
        return [
            _alert(
                "BAD_WAIT",
                "error",
                f"wait {activity_id!r} until {until!r} is not an ISO time",
                "write e.g. 2026-12-24T09:00:00+01:00",
                activity_id,
            )
        ]
    except ExecutionError as error:
        return [
            _alert(
                "BAD_WAIT",
                "error",
                str(error),
                "write e.g. PT2H, P2D or a time with an offset",
                activity_id,
            )
        ]
    return []


def _known_values(definition: CampaignDefinition) -> dict[str, object]:
    """The values a ``test`` condition reads besides ``count``: the campaign's
    variables, and a signal's parameters with their test values."""
    values: dict[str, object] = dict(definition.variables)
    if definition.schedule.get("type") == "signal":
        for parameter in definition.schedule.get("parameters") or []:
            values.setdefault(parameter.get("name"), parameter.get("test_value"))
    return values


def _test_conditions(
    activity_id: str, conditions: list[dict[str, str]], variables: Mapping[str, object]
) -> list[Alert]:
    alerts: list[Alert] = []
    values = {"count": 0, **variables}
    for index, condition in enumerate(conditions):
        where = f"test {activity_id!r} conditions[{index}].when"
        try:
            evaluate(condition["when"], values, where)
        except ConditionError as error:
            alerts.append(
                _alert(
                    "BAD_CONDITION",
                    "error",
                    str(error),
                    "use count and the campaign variables",
                    activity_id,
                )
            )
    return alerts


def _content(
    activity_id: str, channel: str, settings: Mapping[str, object]
) -> list[Alert]:
    alerts: list[Alert] = []
    for name in CHANNEL_CONTENT[channel]:
        value = settings.get(name)
        if not isinstance(value, str) or not value.strip():
            alerts.append(
                _alert(
                    "CHANNEL_NO_CONTENT",
                    "error",
                    f"{channel} {activity_id!r} has no {name}",
                    f"write the message's {name}",
                    activity_id,
                )
            )
            continue
        try:
            # The delivery sandbox compiles without evaluating what it would refuse.
            html = channel == "email" and name == "body"
            where = f"{channel} {activity_id!r} {name}"
            template_placeholders(value, html=html, where=where)
        except TemplateError as error:
            alerts.append(
                _alert(
                    "BAD_TEMPLATE",
                    "error",
                    str(error),
                    "correct the placeholder syntax",
                    activity_id,
                )
            )
    return alerts


def placeholders(text: str) -> set[str]:
    """Names a template reads (empty when it doesn't parse)."""
    try:
        return template_placeholders(text, where="template")
    except TemplateError:
        return set()


def _schedule(definition: CampaignDefinition, now: datetime | None) -> list[Alert]:
    alerts = _signal_test_values(definition.schedule)
    try:
        schedule = parse_schedule(definition.schedule)
    except DefinitionError as error:
        return [_bad_schedule(problem) for problem in error.problems] + alerts

    if isinstance(schedule, Once) and now is not None and schedule.at < now:
        alerts.append(
            _alert(
                "SCHEDULE_PAST",
                "warning",
                f"schedule.at {schedule.at.isoformat()} is in the past",
                "pick a future time or use asap",
            )
        )
    if isinstance(schedule, Recurring):
        alerts += _recurring_alerts(schedule, now)
    return alerts


def _bad_schedule(problem: Problem) -> Alert:
    hints = {
        "cron": "correct the cron expression",
        "timezone": "correct the time zone name",
        "at": "write a time with its UTC offset",
        "start": "write a time with its UTC offset, at or before the end",
        "end": "write a time with its UTC offset, at or after the start",
        "test_value": "give a test value of the parameter's type",
    }
    field = problem.path.rsplit(".", 1)[-1]
    hint = hints.get(field, "fix the schedule as the message says")
    return _alert("BAD_SCHEDULE", "error", str(problem), hint)


def _recurring_alerts(schedule: Recurring, now: datetime | None) -> list[Alert]:
    alerts: list[Alert] = []
    if now is not None and schedule.start is not None and schedule.start < now:
        alerts.append(
            _alert(
                "SCHEDULE_PAST",
                "warning",
                f"schedule.start {schedule.start.isoformat()} is in the past",
                "runs begin at the next occurrence; move start later or remove it",
            )
        )
    if now is not None and schedule.end is not None and schedule.end < now:
        alerts.append(
            _alert(
                "SCHEDULE_PAST",
                "warning",
                f"schedule.end {schedule.end.isoformat()} is in the past, "
                "so the schedule has no more runs",
                "move end later or remove it",
            )
        )

    interval = min_interval(schedule)
    if interval is not None and interval < timedelta(minutes=15):
        minutes = interval.total_seconds() / 60
        alerts.append(
            _alert(
                "SCHEDULE_TOO_OFTEN",
                "warning",
                f"schedule.cron {schedule.cron!r} runs as often as every "
                f"{minutes:g} minute(s), more often than every 15 minutes",
                "run at most every 15 minutes, e.g. '*/15 * * * *'",
            )
        )
    return alerts


def _signal_test_values(schedule: Mapping[str, Any]) -> list[Alert]:
    alerts: list[Alert] = []
    if schedule.get("type") != "signal":
        return alerts
    for parameter in schedule.get("parameters") or []:
        if not isinstance(parameter, Mapping):
            continue
        if parameter.get("test_value") is None:
            alerts.append(
                _alert(
                    "SIGNAL_NO_TEST_VALUE",
                    "warning",
                    f"signal parameter {parameter.get('name')!r} has no test value",
                    "add test_value so test executions can use it",
                )
            )
    return alerts


def _audiences(
    definition: CampaignDefinition, audiences: Mapping[str, str]
) -> list[Alert]:
    return [
        _alert(
            "AUDIENCE_TAKEN",
            "error",
            f"audience {a.get('audience')!r} is saved by campaign "
            f"{audiences[a.get('audience')]!r}",
            "choose another audience name",
            a.id,
        )
        for a in definition.activities
        if a.type == "save_audience"
        and audiences.get(a.get("audience"), definition.id) != definition.id
    ]


def _end_signals(
    definition: CampaignDefinition, campaigns: Mapping[str, str] | None
) -> list[Alert]:
    if campaigns is None:
        return []
    alerts: list[Alert] = []
    for activity in definition.activities:
        signal = activity.get("signal") if activity.type == "end" else None
        if not signal:
            continue
        target = signal.get("campaign")
        if campaigns.get(target) != "signal":
            state = "unknown" if target not in campaigns else "not signal-triggered"
            alerts.append(
                _alert(
                    "END_SIGNAL_TARGET",
                    "error",
                    f"end {activity.id!r} signals campaign {target!r}, "
                    f"which is {state}",
                    "name a signal-triggered campaign of the workspace",
                    activity.id,
                )
            )
    return alerts


def _data(
    definition: CampaignDefinition,
    tables: Tables,
    state: State | None,
    folder: Path | None,
    broken: set[str],
) -> list[Alert]:
    alerts: list[Alert] = []
    dimensions = {definition.dimension} | {
        a.get("dimension")
        for a in definition.activities
        if a.get("dimension") and a.id not in broken
    }
    for dimension in sorted(dimensions):
        try:
            tables.info(dimension)
        except DataError as error:
            alerts.append(
                _alert(
                    "UNKNOWN_DIMENSION",
                    "error",
                    str(error),
                    "import the table or generate sample data",
                )
            )
    if alerts:
        return alerts
    alerts += dry_run(definition, tables, state, folder, skip=broken)
    alerts += _placeholder_columns(definition, tables, broken)
    return alerts


def _placeholder_columns(
    definition: CampaignDefinition, tables: Tables, broken: set[str]
) -> list[Alert]:
    added = {
        attribute.get("name")
        for activity in definition.activities
        for attribute in activity.get("attributes") or []
    }
    known = set(tables.scan(definition.dimension).collect_schema().names()) | added
    known |= set(definition.variables)
    if definition.schedule.get("type") == "signal":  # a signal brings these
        known |= {p.get("name") for p in definition.schedule.get("parameters") or []}
    alerts: list[Alert] = []
    for activity in definition.activities:
        if activity.spec.category != "channel" or activity.id in broken:
            continue
        for name in CHANNEL_CONTENT[activity.type]:
            value = activity.get(name)
            unknown = sorted(placeholders(value) - known) if value else []
            for placeholder in unknown:
                alerts.append(
                    _alert(
                        "UNKNOWN_PLACEHOLDER",
                        "error",
                        f"{activity.type} {activity.id!r} {name} uses "
                        f"{{{{ {placeholder} }}}}, which names no known column",
                        "use an attribute of the population or an added column",
                        activity.id,
                    )
                )
    return alerts
