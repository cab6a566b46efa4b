"""Validation of schedules: bad values are errors, past or too frequent runs warn."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ajo_workbench import Alert, parse_definition
from ajo_workbench.validation import validate

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SCHEDULE_CODES = {"BAD_SCHEDULE", "SCHEDULE_PAST", "SCHEDULE_TOO_OFTEN"}
SCHEDULE_CODES |= {"SIGNAL_NO_TEST_VALUE"}


def schedule_alerts(
    schedule: dict[str, Any], now: datetime | None = NOW
) -> list[Alert]:
    definition = parse_definition(
        {
            "id": "c",
            "schedule": schedule,
            "activities": [
                {"id": "a", "type": "build_audience", "where": "country = 'FR'"}
            ],
        }
    )
    return [a for a in validate(definition, now=now) if a.code in SCHEDULE_CODES]


def codes(alerts: list[Alert]) -> list[tuple[str, str]]:
    return [(alert.code, alert.level) for alert in alerts]


def recurring(cron: str = "0 9 * * *", **fields: str) -> dict[str, Any]:
    return {"type": "recurring", "cron": cron, "timezone": "Europe/Paris", **fields}


def test_a_good_recurring_schedule_is_clean() -> None:
    window = {"start": "2026-07-01T00:00:00+02:00", "end": "2026-12-31T00:00:00+01:00"}
    assert schedule_alerts(recurring("0 * * * *", **window)) == []
    assert schedule_alerts(recurring("*/15 * * * *")) == []


def test_every_five_minutes_warns() -> None:
    alerts = schedule_alerts(recurring("*/5 * * * *"))
    assert codes(alerts) == [("SCHEDULE_TOO_OFTEN", "warning")]
    assert "every 5 minute(s)" in alerts[0].message
    assert "'*/5 * * * *'" in alerts[0].message


def test_close_runs_across_midnight_warn() -> None:
    assert schedule_alerts(recurring("55 23 * * *")) == []
    # 23:55 and the next day's 00:05 are 10 minutes apart.
    alerts = schedule_alerts(recurring("5,55 0,23 * * *"))
    assert codes(alerts) == [("SCHEDULE_TOO_OFTEN", "warning")]
    assert "every 10 minute(s)" in alerts[0].message


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"cron": "0 9 * *"}, "schedule.cron"),
        ({"cron": "0 24 * * *"}, "schedule.cron"),
        ({"cron": "0 0 31 2 *"}, "schedule.cron"),
        ({"timezone": "Europe/Pariss"}, "schedule.timezone"),
        ({"start": "soon"}, "schedule.start"),
        ({"end": "2026-12-31T00:00"}, "schedule.end"),
        (
            {"start": "2026-12-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
            "schedule.end",
        ),
    ],
)
def test_bad_recurring_values_are_errors(fields: dict[str, str], path: str) -> None:
    alerts = schedule_alerts({**recurring(), **fields})
    assert codes(alerts) == [("BAD_SCHEDULE", "error")]
    assert alerts[0].message.startswith(f"{path}: ")
    assert alerts[0].hint


def test_all_schedule_errors_at_once() -> None:
    alerts = schedule_alerts(recurring("99 * * * *", timezone="Mars", start="x"))
    assert [a.message.split(":")[0] for a in alerts] == [
        "schedule.cron",
        "schedule.timezone",
        "schedule.start",
    ]
    assert codes(alerts) == [("BAD_SCHEDULE", "error")] * 3


def test_recurring_start_and_end_in_the_past_warn() -> None:
    started = schedule_alerts(recurring(start="2026-01-01T00:00:00+01:00"))
    assert codes(started) == [("SCHEDULE_PAST", "warning")]
    assert (
        "schedule.start 2026-01-01T00:00:00+01:00 is in the past" in started[0].message
    )

    ended = schedule_alerts(
        recurring(start="2025-01-01T00:00:00Z", end="2026-01-01T00:00:00Z")
    )
    assert codes(ended) == [("SCHEDULE_PAST", "warning")] * 2
    assert "schedule.end" in ended[1].message and "no more runs" in ended[1].message

    assert schedule_alerts(recurring(start="2026-01-01T00:00:00Z"), now=None) == []


def test_once_keeps_its_checks() -> None:
    past = schedule_alerts({"type": "once", "at": "2001-01-01T00:00:00+00:00"})
    assert codes(past) == [("SCHEDULE_PAST", "warning")]
    assert schedule_alerts({"type": "once", "at": "2026-06-01T15:00:00+02:00"}) == []
    naive = schedule_alerts({"type": "once", "at": "2026-12-24T09:00"})
    assert codes(naive) == [("BAD_SCHEDULE", "error")]
    assert "no UTC offset" in naive[0].message
    unreadable = schedule_alerts({"type": "once", "at": "Christmas"})
    assert codes(unreadable) == [("BAD_SCHEDULE", "error")]
    assert "not an ISO 8601 time" in unreadable[0].message


def test_signal_test_values() -> None:
    missing = schedule_alerts(
        {
            "type": "signal",
            "parameters": [{"name": "x"}, {"name": "y", "test_value": "1"}],
        }
    )
    assert codes(missing) == [("SIGNAL_NO_TEST_VALUE", "warning")]
    assert "'x'" in missing[0].message

    wrong = schedule_alerts(
        {
            "type": "signal",
            "parameters": [{"name": "n", "type": "int", "test_value": "a"}],
        }
    )
    assert codes(wrong) == [("BAD_SCHEDULE", "error")]
    assert wrong[0].message.startswith("schedule.parameters[0].test_value: ")


def test_asap_is_clean() -> None:
    assert schedule_alerts({"type": "asap"}) == []
