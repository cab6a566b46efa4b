"""Schedules: parsing, due times across daylight saving, intervals, signal values."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from ajo_workbench import DefinitionError
from ajo_workbench.model.schedule import (
    Asap,
    Once,
    Recurring,
    SignalParameter,
    SignalSchedule,
    coerce_variables,
    min_interval,
    next_occurrence,
    occurrences,
    parse_schedule,
    preview,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


def iso(times: list[datetime]) -> list[str]:
    return [t.isoformat() for t in times]


def gaps(times: list[datetime]) -> set[timedelta]:
    """Real time between consecutive times (same-zone subtraction uses wall time)."""
    moments = [t.astimezone(UTC) for t in times]
    return {later - earlier for earlier, later in itertools.pairwise(moments)}


def problem_paths(error: pytest.ExceptionInfo[DefinitionError]) -> list[str]:
    return [problem.path for problem in error.value.problems]


# Parsing


def test_parse_each_type() -> None:
    assert parse_schedule({"type": "asap"}) == Asap()
    assert parse_schedule({}) == Asap()
    assert parse_schedule({"type": "once", "at": "2026-12-24T09:00:00+01:00"}) == Once(
        datetime(2026, 12, 24, 8, tzinfo=UTC)
    )
    recurring = parse_schedule(
        {
            "type": "recurring",
            "cron": "0 9 * * 1-5",
            "timezone": "Europe/Paris",
            "start": "2026-01-01T00:00:00+01:00",
            "end": "2026-06-30T23:59:00Z",
        }
    )
    assert recurring == Recurring(
        "0 9 * * 1-5",
        "Europe/Paris",
        datetime(2026, 1, 1, tzinfo=PARIS),
        utc(2026, 6, 30, 23, 59),
    )
    assert isinstance(recurring, Recurring) and recurring.zone == PARIS
    assert parse_schedule({"type": "recurring", "cron": "@daily"}) == Recurring(
        "@daily", "UTC"
    )
    signal = parse_schedule(
        {
            "type": "signal",
            "parameters": [
                {"name": "code", "test_value": "X1"},
                {"name": "when", "type": "datetime", "test_value": "2026-05-01T10:00Z"},
                {"name": "count", "type": "int"},
            ],
            "min_interval": "PT1H",
        }
    )
    assert signal == SignalSchedule(
        (
            SignalParameter("code", "string", "X1"),
            SignalParameter("when", "datetime", utc(2026, 5, 1, 10)),
            SignalParameter("count", "int"),
        ),
        "PT1H",
    )
    assert isinstance(signal, SignalSchedule)
    assert not signal.parameter("count").has_test_value
    with pytest.raises(KeyError, match="'code', 'when', 'count'"):
        signal.parameter("nope")


def test_schedules_are_frozen() -> None:
    schedule = Recurring("0 9 * * *")
    with pytest.raises(AttributeError):
        schedule.cron = "* * * * *"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("61 * * * *", "out of range"),
        ("* * * *", "has 4 fields"),
        ("* * * * * *", "has 6 fields"),
        ("0 0 31 2 *", "matches no date"),
        ("*/0 * * * *", "not a valid cron expression"),
        ("H * * * *", "not a valid cron expression"),
        ("every day", "has 2 fields"),
        ("0 3-3 * * *", "the range '3-3' in its hour field"),
        ("0 0 * * sun-SUN/2", "the range 'sun-SUN' in its day-of-week field"),
        ("05-5 * * * *", "write '05' for that value or '*' for all"),
    ],
)
def test_bad_cron_names_path_value_and_format(cron: str, reason: str) -> None:
    with pytest.raises(DefinitionError) as error:
        parse_schedule({"type": "recurring", "cron": cron})
    assert problem_paths(error) == ["schedule.cron"]
    message = str(error.value)
    assert f"schedule.cron: {cron!r}" in message
    assert reason in message


def test_bad_cron_says_what_is_allowed() -> None:
    with pytest.raises(DefinitionError) as error:
        parse_schedule({"type": "recurring", "cron": "daily at nine"})
    assert "expected 5 fields: minute hour day-of-month month day-of-week" in str(
        error.value
    )
    assert "@daily" in str(error.value)


def test_bad_timezone_names_path_and_suggests() -> None:
    with pytest.raises(DefinitionError) as error:
        parse_schedule({"type": "recurring", "cron": "0 9 * * *", "timezone": "utc"})
    assert problem_paths(error) == ["schedule.timezone"]
    assert "unknown time zone 'utc'" in str(error.value)
    assert "did you mean 'UTC'?" in str(error.value)
    for zone in ("Mars/Olympus", "", "../etc/passwd", "America", 3):
        with pytest.raises(DefinitionError, match=r"schedule\.timezone: unknown"):
            parse_schedule({"type": "recurring", "cron": "0 9 * * *", "timezone": zone})


def test_every_problem_at_once() -> None:
    with pytest.raises(DefinitionError) as error:
        parse_schedule(
            {
                "type": "recurring",
                "cron": "0 25 * * *",
                "timezone": "Nowhere",
                "start": "2026-01-01T00:00",
                "end": "tomorrow",
            }
        )
    assert problem_paths(error) == [
        "schedule.cron",
        "schedule.timezone",
        "schedule.start",
        "schedule.end",
    ]
    message = str(error.value)
    assert "'2026-01-01T00:00' has no UTC offset" in message
    assert "'tomorrow' is not an ISO 8601 time" in message


def test_end_before_start() -> None:
    with pytest.raises(DefinitionError) as error:
        parse_schedule(
            {
                "type": "recurring",
                "cron": "0 9 * * *",
                "start": "2026-02-01T00:00:00+00:00",
                "end": "2026-01-01T00:00:00+00:00",
            }
        )
    assert problem_paths(error) == ["schedule.end"]
    assert "is before the start 2026-02-01T00:00:00+00:00" in str(error.value)
    same = "2026-01-01T00:00:00+00:00"
    parse_schedule(
        {"type": "recurring", "cron": "0 9 * * *", "start": same, "end": same}
    )


def test_once_needs_an_offset() -> None:
    with pytest.raises(DefinitionError, match=r"schedule\.at: '2026-01-01T09:00'"):
        parse_schedule({"type": "once", "at": "2026-01-01T09:00"})
    with pytest.raises(DefinitionError, match=r"schedule\.at: expected an ISO 8601"):
        parse_schedule({"type": "once"})
    with pytest.raises(DefinitionError, match="no UTC offset"):
        Once(datetime(2026, 1, 1))


def test_unknown_type_and_bad_signal_parameters() -> None:
    with pytest.raises(DefinitionError, match=r"schedule\.type: 'weekly' is not one"):
        parse_schedule({"type": "weekly"})
    with pytest.raises(DefinitionError) as error:
        parse_schedule(
            {
                "type": "signal",
                "parameters": [
                    {"name": "n", "type": "int", "test_value": "many"},
                    {"name": "n", "type": "string"},
                    {"name": "x", "type": "decimal"},
                ],
            }
        )
    assert problem_paths(error) == [
        "schedule.parameters[0].test_value",
        "schedule.parameters[1].name",
        "schedule.parameters[2].type",
    ]
    assert "expected int (an integer), got str 'many'" in str(error.value)


def test_constructing_a_bad_recurring_directly_fails() -> None:
    with pytest.raises(DefinitionError, match=r"schedule\.cron"):
        Recurring("not a cron")
    with pytest.raises(DefinitionError, match=r"schedule\.start: .* no UTC offset"):
        Recurring("0 9 * * *", start=datetime(2026, 1, 1))


# Due times across daylight saving changes


def test_paris_spring_forward_daily_skipped_time_runs_an_hour_later() -> None:
    daily = Recurring("30 2 * * *", "Europe/Paris")
    times = occurrences(daily, utc(2026, 3, 27), limit=4)
    assert iso(times) == [
        "2026-03-27T02:30:00+01:00",
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    # The skipped run comes the usual 24 hours after the one before.
    assert times[2].astimezone(UTC) - times[1].astimezone(UTC) == timedelta(hours=24)
    assert all(t.tzinfo == PARIS for t in times)


def test_paris_spring_forward_frequent_runs_are_not_doubled() -> None:
    every_five = Recurring("*/5 * * * *", "Europe/Paris")
    times = occurrences(every_five, utc(2026, 3, 29, 0, 45), utc(2026, 3, 29, 1, 10))
    assert iso(times) == [
        "2026-03-29T01:50:00+01:00",
        "2026-03-29T01:55:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:05:00+02:00",
        "2026-03-29T03:10:00+02:00",
    ]
    assert gaps(times) == {timedelta(minutes=5)}


def test_paris_fall_back_runs_a_repeated_time_once() -> None:
    daily = Recurring("30 2 * * *", "Europe/Paris")
    assert iso(occurrences(daily, utc(2026, 10, 24), limit=3)) == [
        "2026-10-24T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]
    half_hourly = Recurring("*/30 * * * *", "Europe/Paris")
    times = occurrences(
        half_hourly, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 2, 30)
    )
    assert iso(times) == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T03:30:00+01:00",
    ]


def test_after_inside_the_repeated_hour_does_not_repeat_a_run() -> None:
    half_hourly = Recurring("*/30 * * * *", "Europe/Paris")
    second_0215 = datetime(2026, 10, 25, 2, 15, tzinfo=PARIS, fold=1)
    assert next_occurrence(half_hourly, second_0215) == datetime(
        2026, 10, 25, 3, 0, tzinfo=PARIS
    )


def test_after_just_past_a_skipped_hour_still_gets_the_shifted_run() -> None:
    daily = Recurring("30 2 * * *", "Europe/Paris")
    just_after_change = datetime(2026, 3, 29, 3, 10, tzinfo=PARIS)
    assert iso(preview(daily, just_after_change, 2)) == [
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]


def test_new_york_spring_forward_and_fall_back() -> None:
    spring = Recurring("30 2 * * *", "America/New_York")
    assert iso(occurrences(spring, utc(2026, 3, 7), limit=3)) == [
        "2026-03-07T02:30:00-05:00",
        "2026-03-08T03:30:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]
    fall = Recurring("30 1 * * *", "America/New_York")
    times = occurrences(fall, utc(2026, 10, 31), limit=3)
    assert iso(times) == [
        "2026-10-31T01:30:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
    ]
    assert all(t.tzinfo == NEW_YORK for t in times)
    hourly = Recurring("0 * * * *", "America/New_York")
    night = occurrences(hourly, utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 8, 0))
    assert iso(night) == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ]


def test_a_whole_skipped_day_in_samoa() -> None:
    # Pacific/Apia went from UTC-10 to UTC+14 at the end of 29 December 2011.
    six_hourly = Recurring("0 */6 * * *", "Pacific/Apia")
    times = occurrences(six_hourly, utc(2011, 12, 30, 0), utc(2011, 12, 31, 0))
    assert iso(times) == [
        "2011-12-29T18:00:00-10:00",
        "2011-12-31T00:00:00+14:00",
        "2011-12-31T06:00:00+14:00",
        "2011-12-31T12:00:00+14:00",
    ]
    chained: list[datetime] = []
    moment = utc(2011, 12, 29)
    for _ in range(len(occurrences(six_hourly, moment, utc(2012, 1, 2)))):
        found = next_occurrence(six_hourly, moment)
        assert found is not None
        chained.append(found)
        moment = found
    assert iso(chained) == iso(
        occurrences(six_hourly, utc(2011, 12, 29), utc(2012, 1, 2))
    )


# Window, until and limit


def test_validity_window_is_inclusive() -> None:
    daily = Recurring(
        "0 9 * * *",
        "Europe/Paris",
        start=datetime(2026, 5, 2, 9, 0, tzinfo=PARIS),
        end=datetime(2026, 5, 4, 9, 0, tzinfo=PARIS),
    )
    assert iso(occurrences(daily, utc(2026, 1, 1))) == [
        "2026-05-02T09:00:00+02:00",
        "2026-05-03T09:00:00+02:00",
        "2026-05-04T09:00:00+02:00",
    ]
    assert iso(occurrences(daily, utc(2026, 5, 3, 12))) == ["2026-05-04T09:00:00+02:00"]
    assert occurrences(daily, utc(2026, 5, 4, 12)) == []
    assert next_occurrence(daily, utc(2026, 5, 4, 12)) is None


def test_until_is_inclusive_and_limit_cuts() -> None:
    hourly = Recurring("0 * * * *")
    start = utc(2026, 1, 1, 10)
    assert occurrences(hourly, start, utc(2026, 1, 1, 13)) == [
        utc(2026, 1, 1, 11),
        utc(2026, 1, 1, 12),
        utc(2026, 1, 1, 13),
    ]
    assert occurrences(hourly, start, utc(2026, 1, 1, 13), limit=2) == [
        utc(2026, 1, 1, 11),
        utc(2026, 1, 1, 12),
    ]
    assert occurrences(hourly, start, limit=0) == []
    assert occurrences(hourly, start, utc(2026, 1, 1, 10, 59)) == []
    # ``after`` itself is never due, even when it is a match.
    assert next_occurrence(hourly, start) == utc(2026, 1, 1, 11)
    assert next_occurrence(hourly, start - timedelta(microseconds=1)) == start


def test_until_earlier_than_the_end_wins() -> None:
    daily = Recurring("0 9 * * *", end=utc(2026, 1, 10, 9))
    assert len(occurrences(daily, utc(2026, 1, 1), utc(2026, 1, 3, 9))) == 3
    assert len(occurrences(daily, utc(2026, 1, 1), utc(2026, 2, 1))) == 10


def test_bad_bounds() -> None:
    hourly = Recurring("0 * * * *")
    with pytest.raises(DefinitionError, match="never stops: give until or limit"):
        occurrences(hourly, utc(2026, 1, 1))
    with pytest.raises(DefinitionError, match=r"after: .*no UTC offset"):
        occurrences(hourly, datetime(2026, 1, 1), limit=1)
    with pytest.raises(DefinitionError, match=r"until: .*no UTC offset"):
        occurrences(hourly, utc(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(DefinitionError, match="limit: expected 0 or more, got -1"):
        occurrences(hourly, utc(2026, 1, 1), limit=-1)


def test_once_asap_and_signal() -> None:
    once = Once(datetime(2026, 12, 24, 9, tzinfo=PARIS))
    assert occurrences(once, utc(2026, 1, 1)) == [once.at]
    assert occurrences(once, utc(2026, 1, 1), utc(2026, 12, 24, 8)) == [once.at]
    assert occurrences(once, utc(2026, 1, 1), utc(2026, 12, 24, 7, 59)) == []
    assert occurrences(once, once.at) == []
    assert next_occurrence(once, utc(2027, 1, 1)) is None
    assert preview(once, utc(2026, 1, 1)) == [once.at]
    assert occurrences(Asap(), utc(2026, 1, 1)) == []
    assert preview(SignalSchedule(), utc(2026, 1, 1)) == []


def test_preview_is_in_the_campaign_zone() -> None:
    weekdays = Recurring("0 9 * * 1-5", "America/New_York")
    times = preview(weekdays, utc(2026, 1, 2, 15))  # a Friday, after 9:00 New York
    assert iso(times) == [
        "2026-01-05T09:00:00-05:00",
        "2026-01-06T09:00:00-05:00",
        "2026-01-07T09:00:00-05:00",
        "2026-01-08T09:00:00-05:00",
        "2026-01-09T09:00:00-05:00",
    ]
    assert len(preview(weekdays, utc(2026, 1, 2), count=12)) == 12


# Minimum interval


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("*/5 * * * *", timedelta(minutes=5)),
        ("*/15 * * * *", timedelta(minutes=15)),
        ("0 * * * *", timedelta(hours=1)),
        ("@hourly", timedelta(hours=1)),
        ("0,50 * * * *", timedelta(minutes=10)),
        ("0 0,23 * * *", timedelta(hours=1)),
        ("0 9,17 * * *", timedelta(hours=8)),
        ("55 23 * * 1-5", timedelta(days=1)),
        ("0 9 * * 1", timedelta(days=7)),
        ("0 9 * * 1,3,5", timedelta(days=2)),
        ("0 0 1 * *", timedelta(days=28)),
        ("0 0 29 2 *", timedelta(days=4 * 365 + 1)),
        ("0 9 * * 5#3", timedelta(days=28)),
    ],
)
def test_min_interval_from_the_cron(cron: str, expected: timedelta) -> None:
    assert min_interval(Recurring(cron)) == expected


def test_min_interval_across_days() -> None:
    # 23:50 on Monday and 00:05 on Tuesday are 15 minutes apart.
    assert min_interval(Recurring("5,50 0,23 * * 1,2")) == timedelta(minutes=15)


def test_min_interval_of_other_types() -> None:
    assert min_interval(Asap()) is None
    assert min_interval(Once(utc(2026, 1, 1))) is None
    assert min_interval(SignalSchedule(min_interval="PT1H")) is None


# Signal variables


def signal(*parameters: dict[str, Any]) -> SignalSchedule:
    schedule = parse_schedule({"type": "signal", "parameters": list(parameters)})
    assert isinstance(schedule, SignalSchedule)
    return schedule


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("string", "FR-12", "FR-12"),
        ("string", "", ""),
        ("int", 42, 42),
        ("int", " -7 ", -7),
        ("float", 3, 3.0),
        ("float", 2.5, 2.5),
        ("float", "1e3", 1000.0),
        ("bool", True, True),
        ("bool", "False", False),
        ("datetime", "2026-05-01T10:00:00+02:00", utc(2026, 5, 1, 8)),
        ("datetime", utc(2026, 5, 1), utc(2026, 5, 1)),
    ],
)
def test_coerce_each_type(kind: str, value: Any, expected: Any) -> None:
    schedule = signal({"name": "v", "type": kind})
    result = coerce_variables(schedule, {"v": value}, test=False)
    assert result == {"v": expected}
    assert type(result["v"]) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("string", 12),
        ("int", "4.2"),
        ("int", 4.0),
        ("int", True),
        ("float", "nan"),
        ("float", "many"),
        ("float", False),
        ("bool", 1),
        ("bool", "yes"),
        ("datetime", "2026-05-01T10:00"),
        ("datetime", "next week"),
        ("datetime", datetime(2026, 5, 1)),
    ],
)
def test_coerce_rejects_wrong_types(kind: str, value: Any) -> None:
    schedule = signal({"name": "v", "type": kind})
    with pytest.raises(DefinitionError) as error:
        coerce_variables(schedule, {"v": value}, test=False)
    assert problem_paths(error) == ["signal.v"]
    assert f"expected {kind} (" in str(error.value)
    assert repr(value) in str(error.value)


def test_test_signals_fill_in_test_values() -> None:
    schedule = signal(
        {"name": "code", "test_value": "T"},
        {"name": "when", "type": "datetime", "test_value": "2026-05-01T00:00:00Z"},
        {"name": "n", "type": "int", "test_value": 3},
    )
    assert coerce_variables(schedule, None, test=True) == {
        "code": "T",
        "when": utc(2026, 5, 1),
        "n": 3,
    }
    assert coerce_variables(schedule, {"n": "9"}, test=True) == {
        "code": "T",
        "when": utc(2026, 5, 1),
        "n": 9,
    }


def test_live_signals_give_every_parameter() -> None:
    schedule = signal({"name": "code", "test_value": "T"}, {"name": "n", "type": "int"})
    with pytest.raises(DefinitionError) as error:
        coerce_variables(schedule, {"n": 1}, test=False)
    assert problem_paths(error) == ["signal.code"]
    assert "parameter 'code' (string) has no value" in str(error.value)
    assert coerce_variables(schedule, {"code": "A", "n": 1}, test=False) == {
        "code": "A",
        "n": 1,
    }
    with pytest.raises(DefinitionError, match=r"'n' .* no value and no test_value"):
        coerce_variables(schedule, {}, test=True)


def test_unknown_and_wrong_values_are_reported_together() -> None:
    schedule = signal({"name": "n", "type": "int"})
    with pytest.raises(DefinitionError) as error:
        coerce_variables(schedule, {"m": 1, "n": "x"}, test=False)
    assert problem_paths(error) == ["signal.m", "signal.n"]
    assert "unknown parameter 'm' (parameters: 'n')" in str(error.value)


def test_other_schedules_take_no_signal_values() -> None:
    assert coerce_variables(Asap(), None, test=True) == {}
    assert coerce_variables(Recurring("0 9 * * *"), {}, test=False) == {}
    with pytest.raises(
        DefinitionError, match=r"unknown parameter 'x' \(parameters: none"
    ):
        coerce_variables(Asap(), {"x": 1}, test=False)


# Properties

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "America/Sao_Paulo",  # changed at midnight until 2019
    "Australia/Lord_Howe",  # half-hour changes
    "Asia/Kolkata",
]


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        st.integers(1, max(1, (high - low) // 2)).map(lambda step: f"*/{step}"),
        value.map(str),
        st.lists(value, min_size=2, max_size=4, unique=True).map(
            lambda items: ",".join(map(str, sorted(items)))
        ),
        st.lists(value, min_size=2, max_size=2, unique=True).map(
            lambda p: f"{min(p)}-{max(p)}"
        ),
    )


CRONS = st.tuples(
    _field(0, 59), _field(0, 23), _field(1, 31), _field(1, 12), _field(0, 6)
).map(" ".join)
MOMENTS = st.datetimes(
    datetime(2012, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)
)


def _changes(zone: str) -> list[datetime]:
    """Hours (UTC) at which the zone's offset changed in 2018 or 2026."""
    tz = ZoneInfo(zone)
    found = []
    for year in (2018, 2026):
        hour = utc(year, 1, 1)
        offset = hour.astimezone(tz).utcoffset()
        while hour.year == year:
            hour += timedelta(hours=1)
            if hour.astimezone(tz).utcoffset() != offset:
                found.append(hour)
                offset = hour.astimezone(tz).utcoffset()
    return found


CHANGES = [(zone, moment) for zone in ZONES for moment in _changes(zone)]
# A zone, and a moment up to a day before to an hour after one of its changes.
NEAR_CHANGES = st.tuples(st.sampled_from(CHANGES), st.integers(-24 * 60, 60)).map(
    lambda pair: (pair[0][0], pair[0][1] + timedelta(minutes=pair[1]))
)
ZONE_AND_MOMENT = st.one_of(st.tuples(st.sampled_from(ZONES), MOMENTS), NEAR_CHANGES)


def _recurring(cron: str, zone: str) -> Recurring | None:
    try:
        return Recurring(cron, zone)
    except DefinitionError:
        return None  # e.g. 31 February


def _matches(cron: str, wall: datetime) -> bool:
    return bool(croniter.match(cron, wall.replace(tzinfo=UTC)))


def _is_cron_time(cron: str, moment: datetime, zone: ZoneInfo) -> bool:
    """Whether the cron asks for ``moment``: its wall time, or a skipped wall time."""
    local = moment.astimezone(zone)
    if local.fold == 0 and _matches(cron, local.replace(tzinfo=None)):
        return True
    # A skipped wall time runs at the moment it has with the offset before the change.
    offsets = {
        (moment - timedelta(minutes=30 * step)).astimezone(zone).utcoffset()
        for step in range(1, 49)
    }
    for offset in offsets:
        assert offset is not None
        wall = (moment.astimezone(UTC) + offset).replace(tzinfo=None)
        as_local = wall.replace(tzinfo=zone)
        skipped = as_local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall
        if skipped and _matches(cron, wall) and as_local.astimezone(UTC) == moment:
            return True
    return False


@settings(max_examples=150, deadline=None)
@given(cron=CRONS, where=ZONE_AND_MOMENT)
def test_occurrences_are_increasing_after_and_match_the_cron(
    cron: str, where: tuple[str, datetime]
) -> None:
    zone, after = where
    schedule = _recurring(cron, zone)
    if schedule is None:
        return
    times = occurrences(schedule, after, limit=25)
    assert len(times) == 25
    assert all(t > after for t in times)
    moments = [t.astimezone(UTC) for t in times]
    assert all(earlier < later for earlier, later in itertools.pairwise(moments))
    assert all(t.tzinfo == schedule.zone for t in times)
    assert all(_is_cron_time(cron, t, schedule.zone) for t in times)


@settings(max_examples=60, deadline=None)
@given(cron=CRONS, where=ZONE_AND_MOMENT)
def test_next_occurrence_chains_into_occurrences(
    cron: str, where: tuple[str, datetime]
) -> None:
    zone, after = where
    schedule = _recurring(cron, zone)
    if schedule is None:
        return
    chained: list[datetime] = []
    moment = after
    for _ in range(8):
        found = next_occurrence(schedule, moment)
        assert found is not None
        chained.append(found)
        moment = found
    assert iso(chained) == iso(occurrences(schedule, after, limit=8))


def _values(field: str, low: int, high: int) -> set[int]:
    """The numbers a field made by ``_field`` stands for."""
    if field == "*":
        return set(range(low, high + 1))
    if field.startswith("*/"):
        return set(range(low, high + 1, int(field[2:])))
    if "-" in field:
        first, last = field.split("-")
        return set(range(int(first), int(last) + 1))
    return {int(item) for item in field.split(",")}


@settings(max_examples=100, deadline=None)
@given(
    minute=_field(0, 59),
    hour=_field(0, 23),
    weekday=_field(0, 6),
    after=MOMENTS,
)
def test_utc_occurrences_are_every_matching_minute(
    minute: str, hour: str, weekday: str, after: datetime
) -> None:
    minutes, hours = _values(minute, 0, 59), _values(hour, 0, 23)
    weekdays = _values(weekday, 0, 6)
    until = after + timedelta(days=3)
    first = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    candidates = (first + timedelta(minutes=step) for step in range(3 * 24 * 60 + 1))
    expected = [
        moment
        for moment in candidates
        if moment <= until
        and moment.minute in minutes
        and moment.hour in hours
        and (moment.weekday() + 1) % 7 in weekdays  # cron counts from Sunday = 0
    ]
    assert occurrences(Recurring(f"{minute} {hour} * * {weekday}"), after, until) == (
        expected
    )


@settings(max_examples=60, deadline=None)
@given(cron=CRONS, after=MOMENTS)
def test_min_interval_is_the_smallest_gap_seen(cron: str, after: datetime) -> None:
    schedule = _recurring(cron, "UTC")
    if schedule is None:
        return
    smallest = min_interval(schedule)
    times = occurrences(schedule, after, limit=200)
    assert smallest is not None
    assert smallest <= min(gaps(times))


def test_times_in_the_same_zone_compare_as_moments() -> None:
    # 02:30 the second time (01:30 UTC) is after 02:45 the first time (00:45 UTC).
    second_0230 = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS, fold=1)
    first_0245 = datetime(2026, 10, 25, 2, 45, tzinfo=PARIS)
    assert occurrences(Once(second_0230), first_0245) == [second_0230]
    # A window opening at 02:50 the first time, asked after 02:15 the second time.
    first_0250 = datetime(2026, 10, 25, 2, 50, tzinfo=PARIS)
    second_0215 = datetime(2026, 10, 25, 2, 15, tzinfo=PARIS, fold=1)
    window = Recurring("*/5 * * * *", "Europe/Paris", start=first_0250)
    assert iso(occurrences(window, second_0215, limit=2)) == [
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T03:05:00+01:00",
    ]
