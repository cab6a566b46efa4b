"""Schedules: when a campaign runs (SPEC §3 ``schedule``).

:func:`parse_schedule` turns the file's ``schedule`` object into a typed, frozen value;
:func:`occurrences`, :func:`next_occurrence` and :func:`preview` compute due times;
:func:`min_interval` measures the shortest gap between runs; :func:`coerce_variables`
checks the values a signal brings. Nothing here reads a clock: callers pass the time.

A recurring schedule is a cron expression read on the wall clock of its time zone,
in croniter's dialect: five fields, names such as ``MON`` or ``JAN``, steps, ranges
that wrap around (``22-2`` in the hour field), ``L`` and ``5#3`` (third Friday); when
both day fields are restricted a day matching either one is due. A range that starts
and ends on one value (``3-3``) is refused, since croniter reads it as the whole
field where other crons read one value. Daylight saving changes are handled this way:

- A wall time the clock skips (spring forward) runs as if the clock had not moved
  yet: a daily 02:30 in Europe/Paris runs on the last Sunday of March at 01:30 UTC,
  which the clock shows as 03:30+02:00, so that run comes the usual 24 hours after
  the one before. When that moment is also another occurrence of the cron (as with
  ``*/5 * * * *``) the two are one run.
- A wall time the clock shows twice (fall back) runs once, the first time: the daily
  02:30 runs at 02:30+02:00 on the last Sunday of October and not again at
  02:30+01:00. A schedule that runs several times an hour pauses for the repeated
  hour.

Due times carry the campaign's ``ZoneInfo``. Python subtracts and compares two
datetimes that share a tzinfo by their wall times, so convert them to UTC first to
measure the time between two runs across a change.
"""

from __future__ import annotations

import difflib
import heapq
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar, Literal, NoReturn, TypeAlias, cast, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# croniter ships no type information; the calls made on it are wrapped in typed
# functions below.
from croniter import croniter  # type: ignore[import-untyped]

from ajo_workbench.errors import DefinitionError, Problem

ParameterType = Literal["string", "int", "float", "bool", "datetime"]
PARAMETER_TYPES: tuple[ParameterType, ...] = get_args(ParameterType)
CRON_ALIASES: Mapping[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_CRON_FORMAT = (
    "5 fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5', "
    "or one of " + ", ".join(CRON_ALIASES)
)
_TIME_EXAMPLE = "e.g. 2026-12-24T09:00:00+01:00"
_INTEGER = re.compile(r"^[+-]?\d+$")
# A reference date for checks that need one; 2001 starts a 28-year cycle of weekdays
# and leap years that runs without a century exception until 2100.
_CYCLE_START = datetime(2001, 1, 1, tzinfo=UTC)
_CYCLE_END = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Asap:
    """Run once, as soon as the campaign is published."""

    type: ClassVar[str] = "asap"


@dataclass(frozen=True)
class Once:
    """Run once at a fixed time (timezone-aware)."""

    at: datetime
    type: ClassVar[str] = "once"

    def __post_init__(self) -> None:
        _raise([*_aware_problems(self.at, "schedule.at")])


@dataclass(frozen=True)
class Recurring:
    """Run at every match of a cron expression on the wall clock of ``timezone``.

    ``start`` and ``end`` bound the runs (both inclusive) when given.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> daily = Recurring("30 2 * * *", "Europe/Paris")
    >>> [t.isoformat() for t in preview(daily, datetime(2026, 3, 28, tzinfo=UTC), 2)]
    ['2026-03-28T02:30:00+01:00', '2026-03-29T03:30:00+02:00']
    """

    cron: str
    timezone: str = "UTC"
    start: datetime | None = None
    end: datetime | None = None
    type: ClassVar[str] = "recurring"

    def __post_init__(self) -> None:
        problems = _cron_problems(self.cron, "schedule.cron")
        problems += _zone_problems(self.timezone, "schedule.timezone")
        problems += _window_problems(self.start, self.end)
        _raise(problems)

    @property
    def zone(self) -> ZoneInfo:
        """The campaign's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def expression(self) -> str:
        """The cron expression as five fields (aliases such as ``@daily`` expanded)."""
        return _five_fields(self.cron)


@dataclass(frozen=True)
class SignalParameter:
    """A value a signal brings: its name, type and the value test signals use."""

    name: str
    type: ParameterType = "string"
    test_value: Any = None

    @property
    def has_test_value(self) -> bool:
        """Whether test signals have a value to use when none is given."""
        return self.test_value is not None


@dataclass(frozen=True)
class SignalSchedule:
    """Run on each signal; ``min_interval`` is kept as written in the file."""

    parameters: tuple[SignalParameter, ...] = ()
    min_interval: str | None = None
    type: ClassVar[str] = "signal"

    def parameter(self, name: str) -> SignalParameter:
        """The parameter called ``name``; ``KeyError`` names the known ones."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        known = ", ".join(repr(p.name) for p in self.parameters) or "none"
        raise KeyError(f"no signal parameter {name!r} (parameters: {known})")


Schedule: TypeAlias = Asap | Once | Recurring | SignalSchedule


def parse_schedule(mapping: Mapping[str, Any]) -> Schedule:
    """The typed schedule of a campaign's ``schedule`` object.

    Raises
    ------
    DefinitionError
        Listing every problem, each naming its path (``schedule.cron``), the value
        and what is allowed: an unknown type, a bad cron expression, an unknown time
        zone, a time that doesn't parse or has no UTC offset, an end before the
        start, a duplicate signal parameter or a test value of the wrong type.

    Examples
    --------
    >>> parse_schedule({"type": "recurring", "cron": "0 9 * * 1-5"})
    Recurring(cron='0 9 * * 1-5', timezone='UTC', start=None, end=None)
    """
    if not isinstance(mapping, Mapping):
        _fail([Problem("schedule", f"expected an object, got {mapping!r}", mapping)])
    kind = mapping.get("type", "asap")
    if kind == "asap":
        return Asap()
    if kind == "once":
        at = _moment(mapping.get("at"), "schedule.at", required=True)
        if isinstance(at, Problem):
            _fail([at])
        return Once(cast(datetime, at))
    if kind == "recurring":
        return _recurring(mapping)
    if kind == "signal":
        return _signal(mapping)
    allowed = "asap, once, recurring, signal"
    _fail([Problem("schedule.type", f"{kind!r} is not one of: {allowed}", kind)])


def occurrences(
    schedule: Schedule,
    after: datetime,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[datetime]:
    """The due times strictly after ``after`` and up to ``until`` (inclusive).

    Times of a recurring schedule are in its time zone and inside its start/end
    window; a ``once`` schedule gives its time with the offset it was written with;
    ``asap`` and ``signal`` schedules give none.

    Parameters
    ----------
    schedule
        A schedule from :func:`parse_schedule`.
    after, until
        Timezone-aware bounds; ``until=None`` means no bound other than the
        schedule's end.
    limit
        At most this many times. A recurring schedule without end needs ``until``
        or ``limit``. The work grows with the number of cron matches between the
        bounds (every minute for a year is half a million).

    Raises
    ------
    DefinitionError
        A naive ``after`` or ``until``, a negative ``limit``, or no bound at all
        for an endless recurring schedule.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> hourly = Recurring("0 * * * *")
    >>> start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    >>> [t.hour for t in occurrences(hourly, start, start + timedelta(hours=3))]
    [11, 12, 13]
    """
    problems = _aware_problems(after, "after")
    if until is not None:
        problems += _aware_problems(until, "until")
    if limit is not None and (isinstance(limit, bool) or limit < 0):
        problems.append(Problem("limit", f"expected 0 or more, got {limit!r}", limit))
    _raise(problems, source="occurrences")

    if limit == 0 or isinstance(schedule, Asap | SignalSchedule):
        return []
    if isinstance(schedule, Once):
        at = schedule.at.astimezone(UTC)
        due = _utc(after) < at and (until is None or at <= _utc(until))
        return [schedule.at] if due else []
    return _recurring_times(schedule, after, until, limit)


def next_occurrence(schedule: Schedule, after: datetime) -> datetime | None:
    """The first due time strictly after ``after``, or None when there is none."""
    times = occurrences(schedule, after, limit=1)
    return times[0] if times else None


def preview(schedule: Schedule, after: datetime, count: int = 5) -> list[datetime]:
    """The next ``count`` due times after ``after``, in the campaign's time zone."""
    return occurrences(schedule, after, limit=count)


def min_interval(schedule: Schedule) -> timedelta | None:
    """The smallest gap between two consecutive runs of a recurring schedule.

    It is computed from the cron expression on the wall clock; other schedule
    types (and a cron that matches once in its whole cycle) give None.

    Notes
    -----
    The start/end window is not taken into account. A daylight saving change never
    makes a gap shorter in zones whose changes move the clock by a whole hour on
    the hour (a skipped wall time runs an hour later, as explained in the module
    docstring); zones with a half-hour change, such as Australia/Lord_Howe, can
    have one gap per change up to 30 minutes shorter.

    Examples
    --------
    >>> min_interval(Recurring("*/5 9-17 * * 1-5"))
    datetime.timedelta(seconds=300)
    >>> min_interval(Recurring("0 0,23 * * *"))
    datetime.timedelta(seconds=3600)
    """
    if not isinstance(schedule, Recurring):
        return None
    minutes = _cron_min_minutes(schedule.expression)
    return None if minutes is None else timedelta(minutes=minutes)


def coerce_variables(
    schedule: Schedule, given: Mapping[str, Any] | None, test: bool
) -> dict[str, Any]:
    """The values of a signal's parameters, converted to their declared types.

    Accepted values per type: ``string`` a string; ``int`` an integer or a string of
    one (``"42"``); ``float`` a finite number or a string of one; ``bool`` true or
    false or the strings ``"true"``/``"false"``; ``datetime`` a timezone-aware
    datetime or an ISO 8601 string with offset.

    Parameters
    ----------
    schedule
        The campaign's schedule; only a signal schedule has parameters.
    given
        The values the signal carries, by parameter name.
    test
        A test signal: missing parameters take their ``test_value``. A live signal
        must give every parameter.

    Raises
    ------
    DefinitionError
        Listing every unknown name, value of the wrong type and missing parameter,
        each naming the parameter, the value and the expected type.

    Examples
    --------
    >>> signal = parse_schedule(
    ...     {"type": "signal", "parameters": [{"name": "n", "type": "int"}]}
    ... )
    >>> coerce_variables(signal, {"n": "3"}, test=False)
    {'n': 3}
    """
    given = dict(given or {})
    parameters = schedule.parameters if isinstance(schedule, SignalSchedule) else ()
    known = {parameter.name: parameter for parameter in parameters}
    problems: list[Problem] = []

    names = ", ".join(repr(name) for name in known) or "none"
    for name in given:
        if name not in known:
            message = f"unknown parameter {name!r} (parameters: {names})"
            problems.append(Problem(f"signal.{name}", message, given[name]))

    values: dict[str, Any] = {}
    for name, parameter in known.items():
        if name in given:
            value = _coerce(parameter.type, given[name], f"signal.{name}", problems)
            if value is not None:
                values[name] = value
        elif test and parameter.has_test_value:
            values[name] = parameter.test_value
        else:
            needed = "and no test_value" if test else "(a live signal gives every one)"
            message = f"parameter {name!r} ({parameter.type}) has no value {needed}"
            problems.append(Problem(f"signal.{name}", message))
    _raise(problems, source="signal")
    return values


def _raise(problems: list[Problem], source: str = "campaign") -> None:
    if problems:
        raise DefinitionError(problems, source=source)


def _fail(problems: list[Problem], source: str = "campaign") -> NoReturn:
    raise DefinitionError(problems, source=source)


def _recurring(mapping: Mapping[str, Any]) -> Recurring:
    cron: Any = mapping.get("cron")
    zone: Any = mapping.get("timezone", "UTC")
    problems = _cron_problems(cron, "schedule.cron")
    problems += _zone_problems(zone, "schedule.timezone")

    start = _moment(mapping.get("start"), "schedule.start")
    end = _moment(mapping.get("end"), "schedule.end")
    problems += [moment for moment in (start, end) if isinstance(moment, Problem)]
    if not problems:
        problems += _window_problems(
            cast(datetime | None, start), cast(datetime | None, end)
        )
    _raise(problems)
    return Recurring(
        cron, zone, cast(datetime | None, start), cast(datetime | None, end)
    )


def _signal(mapping: Mapping[str, Any]) -> SignalSchedule:
    items = mapping.get("parameters") or []
    problems: list[Problem] = []
    if not isinstance(items, list):
        _fail([Problem("schedule.parameters", f"expected a list, got {items!r}")])

    parameters: list[SignalParameter] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        path = f"schedule.parameters[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            message = f"expected an object with a name, got {item!r}"
            problems.append(Problem(path, message, item))
            continue
        name = item["name"]
        if name in seen:
            first = f"schedule.parameters[{seen[name]}]"
            message = f"duplicate parameter {name!r} (first at {first})"
            problems.append(Problem(f"{path}.name", message, name))
        seen.setdefault(name, index)

        kind = item.get("type", "string")
        if kind not in PARAMETER_TYPES:
            allowed = ", ".join(PARAMETER_TYPES)
            message = f"{kind!r} is not one of: {allowed}"
            problems.append(Problem(f"{path}.type", message, kind))
            continue
        test_value = item.get("test_value")
        if test_value is not None:
            test_value = _coerce(kind, test_value, f"{path}.test_value", problems)
        parameters.append(SignalParameter(name, kind, test_value))

    interval = mapping.get("min_interval")
    if interval is not None and not isinstance(interval, str):
        message = f"expected a string, got {interval!r}"
        problems.append(Problem("schedule.min_interval", message, interval))
    _raise(problems)
    return SignalSchedule(tuple(parameters), interval)


def _moment(value: Any, path: str, required: bool = False) -> datetime | Problem | None:
    """A timezone-aware time from ISO 8601 text, or the problem with it."""
    if value is None and not required:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            message = f"{value!r} is not an ISO 8601 time ({_TIME_EXAMPLE})"
            return Problem(path, message, value)
    else:
        message = f"expected an ISO 8601 time ({_TIME_EXAMPLE}), got {value!r}"
        return Problem(path, message, value)
    problems = _aware_problems(moment, path, value)
    return problems[0] if problems else moment


def _aware_problems(moment: Any, path: str, written: Any = None) -> list[Problem]:
    if not isinstance(moment, datetime):
        return [Problem(path, f"expected a datetime, got {moment!r}", moment)]
    if moment.utcoffset() is None:
        shown = written if written is not None else moment.isoformat()
        message = f"{shown!r} has no UTC offset (add one such as +01:00 or Z)"
        return [Problem(path, message, written)]
    return []


def _window_problems(start: datetime | None, end: datetime | None) -> list[Problem]:
    problems = _aware_problems(start, "schedule.start") if start is not None else []
    problems += _aware_problems(end, "schedule.end") if end is not None else []
    if (
        not problems
        and start is not None
        and end is not None
        and _utc(end) < _utc(start)
    ):
        message = (
            f"{end.isoformat()} is before the start {start.isoformat()} "
            "(the end must be at or after the start)"
        )
        problems.append(Problem("schedule.end", message, end.isoformat()))
    return problems


def _zone_problems(name: Any, path: str) -> list[Problem]:
    if isinstance(name, str) and name in _zone_names():
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return []
    message = f"unknown time zone {name!r} (use an IANA name such as 'Europe/Paris'"
    if isinstance(name, str):
        close = [z for z in _zone_names() if z.lower() == name.strip().lower()]
        close = close or difflib.get_close_matches(name, _zone_names(), n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
    return [Problem(path, message + ")", name)]


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _five_fields(cron: str) -> str:
    text = " ".join(cron.split())
    return CRON_ALIASES.get(text.lower(), text)


def _cron_problems(cron: Any, path: str) -> list[Problem]:
    if not isinstance(cron, str):
        return [Problem(path, f"expected a cron expression ({_CRON_FORMAT})", cron)]
    expression = _five_fields(cron)
    if len(expression.split()) != 5:
        count = len(expression.split())
        message = f"{cron!r} has {count} fields, expected {_CRON_FORMAT}"
        return [Problem(path, message, cron)]
    equal = _equal_range(expression)
    if equal is not None:
        item, field = equal
        single = item.split("-")[0]
        message = (
            f"{cron!r} has the range {item!r} in its {field} field; a range that "
            "starts and ends on one value means the whole field in this cron "
            f"dialect, so write {single!r} for that value or '*' for all"
        )
        return [Problem(path, message, cron)]
    try:
        _cron_after(expression, _CYCLE_START)
    # croniter reports bad expressions as ValueError subclasses (including "never
    # matches"); the others guard against inputs its parser doesn't anticipate.
    except (ValueError, KeyError, IndexError, TypeError, OverflowError) as error:
        reason = str(error) or type(error).__name__
        if "failed to find next date" in reason:
            reason = "it matches no date"
        message = f"{cron!r} is not a valid cron expression: {reason} ({_CRON_FORMAT})"
        return [Problem(path, message, cron)]
    return []


def _equal_range(expression: str) -> tuple[str, str] | None:
    """The first range like ``3-3`` in a five-field cron, and its field's name."""
    names = ("minute", "hour", "day-of-month", "month", "day-of-week")
    for name, field in zip(names, expression.split(), strict=True):
        for item in field.split(","):
            bounds = item.split("/")[0].split("-")
            if len(bounds) == 2 and _same_value(*bounds):
                return item.split("/")[0], name
    return None


def _same_value(low: str, high: str) -> bool:
    if low.isdigit() and high.isdigit():
        return int(low) == int(high)
    return low.lower() == high.lower()


def _cron_after(expression: str, wall: datetime) -> datetime:
    """The first match strictly after ``wall`` (a wall time tagged UTC)."""
    return cast(datetime, croniter(expression, wall).get_next(datetime))


def _recurring_times(
    schedule: Recurring,
    after: datetime,
    until: datetime | None,
    limit: int | None,
) -> list[datetime]:
    # Aware datetimes that share a tzinfo compare by wall time, so compare in UTC.
    zone = schedule.zone
    after = _utc(after)
    until = None if until is None else _utc(until)
    start = None if schedule.start is None else _utc(schedule.start)
    end = None if schedule.end is None else _utc(schedule.end)
    if end is not None and (until is None or end < until):
        until = end
    if until is None and limit is None:
        message = "a recurring schedule without end never stops: give until or limit"
        _fail([Problem("until", message)], source="occurrences")
    lowest = after
    if start is not None and start > after:
        lowest = start - timedelta(microseconds=1)

    # Wall times the clock skips run later than their place in wall order, so they
    # wait in a heap until every time before them has gone out.
    found: list[datetime] = []
    waiting: list[datetime] = []

    def emit(moment: datetime) -> bool:
        """Keep one due time; True when the limit is reached."""
        late = bool(found) and moment <= found[-1]
        if moment > lowest and not late and (until is None or moment <= until):
            found.append(moment.astimezone(zone))
        return limit is not None and len(found) >= limit

    iterator = croniter(schedule.expression, _wall_start(lowest, zone))
    while True:
        wall = cast(datetime, iterator.get_next(datetime)).replace(tzinfo=None)
        moment, skipped = _instant(wall, zone)
        floor = moment
        if skipped:
            # Nothing later can come before the gap's start in UTC.
            floor = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
        while waiting and waiting[0] <= floor:
            if emit(heapq.heappop(waiting)):
                return found
        if until is not None and floor > until:
            return found
        if skipped:
            heapq.heappush(waiting, moment)
        elif emit(moment):
            return found


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _instant(wall: datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """The UTC moment of a wall time, and whether the clock skips that wall time.

    Ambiguous wall times take their first moment (``fold=0``); skipped ones take the
    offset in force before the change, per PEP 495.
    """
    moment = wall.replace(tzinfo=zone).astimezone(UTC)
    skipped = moment.astimezone(zone).replace(tzinfo=None) != wall
    return moment, skipped


def _wall_start(lowest: datetime, zone: ZoneInfo) -> datetime:
    """A wall time (tagged UTC) before every wall time that can map after ``lowest``.

    Right after a spring-forward change, skipped wall times from before ``lowest``'s
    wall time still map after it, so start from the offset of a day before.
    """
    moment = _utc(lowest)
    offsets = [
        (moment - timedelta(days=days)).astimezone(zone).utcoffset() or timedelta()
        for days in (0, 1)
    ]
    return (moment + min(offsets)).replace(tzinfo=UTC)


@lru_cache(maxsize=256)
def _cron_min_minutes(expression: str) -> int | None:
    """Smallest gap in minutes between consecutive matches of a five-field cron."""
    fields = croniter(expression).expanded
    minute_values = list(range(60)) if fields[0] == ["*"] else fields[0]
    hour_values = list(range(24)) if fields[1] == ["*"] else fields[1]
    times = sorted(h * 60 + m for h in hour_values for m in minute_values)

    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    span = times[-1] - times[0]
    if gaps and min(gaps) <= 24 * 60 - span:
        # Even two matching days in a row can't give a smaller gap.
        return min(gaps)
    day_gap = _min_day_gap(expression)
    if day_gap is not None:
        gaps.append(day_gap * 24 * 60 - span)
    return min(gaps) if gaps else None


def _min_day_gap(expression: str) -> int | None:
    """Fewest days between two consecutive days the cron matches.

    The days are read over 2001-2029: a full 28-year cycle of weekdays and leap
    years plus its first year again. The Gregorian century rule only removes a
    29 February, which makes no new gap shorter.
    """
    _, _, day, month, weekday = expression.split()
    days = croniter(f"0 0 {day} {month} {weekday}", _CYCLE_START - timedelta(days=1))
    previous: datetime | None = None
    smallest: int | None = None
    while True:
        current = cast(datetime, days.get_next(datetime))
        if current >= _CYCLE_END:
            return smallest
        if previous is not None:
            gap = (current - previous).days
            smallest = gap if smallest is None else min(smallest, gap)
            if smallest == 1:
                return 1
        previous = current


def _coerce(kind: ParameterType, value: Any, path: str, problems: list[Problem]) -> Any:
    """``value`` as a ``kind``; None (and a problem noted) when it isn't one."""
    converted = _convert(kind, value)
    if converted is None:
        expected = {
            "string": "a string",
            "int": "an integer",
            "float": "a finite number",
            "bool": "true or false",
            "datetime": f"an ISO 8601 time with UTC offset ({_TIME_EXAMPLE})",
        }[kind]
        shown = type(value).__name__
        message = f"expected {kind} ({expected}), got {shown} {value!r}"
        problems.append(Problem(path, message, value))
    return converted


def _convert(kind: ParameterType, value: Any) -> Any:
    if kind == "string":
        return value if isinstance(value, str) else None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = value.strip().lower() if isinstance(value, str) else None
        return {"true": True, "false": False}.get(text or "")
    if isinstance(value, bool):
        return None
    if kind == "int":
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INTEGER.match(value.strip()):
            return int(value.strip())
        return None
    if kind == "float":
        number: float | None = None
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        return number if number is not None and math.isfinite(number) else None
    moment = _moment(value, "")
    return moment if isinstance(moment, datetime) else None
