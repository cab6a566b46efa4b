"""Validation: every problem at once, with stable codes, levels and hints."""

from __future__ import annotations

from typing import Any

import ajo_workbench as ajo
from ajo_workbench import parse_definition
from ajo_workbench.validation import validate


def codes(alerts: list[ajo.Alert]) -> list[tuple[str, str, str | None]]:
    return [(a.code, a.level, a.activity_id or a.transition_id) for a in alerts]


def audience(activity_id: str = "a", where: str = "country = 'FR'") -> dict[str, Any]:
    return {"id": activity_id, "type": "build_audience", "where": where}


def test_structure_problems_are_all_reported() -> None:
    definition = parse_definition(
        {
            "id": "c",
            "activities": [
                audience("a"),
                audience("b"),
                {"id": "loop1", "type": "build_audience"},
                {"id": "loop2", "type": "build_audience"},
                {"id": "join", "type": "combine", "mode": "exclusion"},
                {"id": "alone", "type": "end"},
                {"id": "mail", "type": "email", "subject": "Hi"},
            ],
            "transitions": [
                {"id": "t1", "from": "a", "port": "nope", "to": "join"},
                {"id": "t2", "from": "a", "to": "ghost"},
                {"id": "t3", "from": "loop1", "to": "loop2"},
                {"id": "t4", "from": "loop2", "to": "loop1"},
                {"id": "t5", "from": "b", "to": "join"},
                {"id": "t6", "from": "b", "to": "join"},
            ],
        }
    )
    found = codes(validate(definition))
    assert ("UNKNOWN_PORT", "error", "t1") in found
    assert ("DANGLING_TRANSITION", "error", "t2") in found
    assert ("DUPLICATE_TRANSITION", "error", "t6") in found
    assert ("CYCLE", "error", None) in found
    assert ("EXCLUSION_PRIMARY", "error", "join") in found
    assert ("DISCONNECTED_ACTIVITY", "error", "alone") in found
    assert ("CHANNEL_NO_CONTENT", "error", "mail") in found
    assert ("DISCONNECTED_ACTIVITY", "error", "mail") in found
    levels = [a.level for a in validate(definition)]
    assert levels == sorted(levels, key=lambda level: level != "error")
    assert all(a.hint for a in validate(definition))


def test_inbound_rules_per_type() -> None:
    definition = parse_definition(
        {
            "id": "c",
            "activities": [
                audience("a"),
                {"id": "u", "type": "combine", "mode": "union"},
                {"id": "j", "type": "and_join", "primary": "t9"},
                {"id": "s", "type": "sms", "body": "hi"},
                {
                    "id": "t",
                    "type": "test",
                    "conditions": [{"label": "big", "when": "count > 10"}],
                },
            ],
            "transitions": [
                {"id": "t1", "from": "a", "to": "u"},
                {"id": "t2", "from": "u", "to": "j"},
                {"id": "t3", "from": "j", "to": "t"},
                {"id": "t4", "from": "t", "port": "big", "to": "s"},
            ],
        }
    )
    found = codes(validate(definition))
    assert ("COMBINE_INPUTS", "error", "u") in found
    assert ("AND_JOIN_INPUTS", "error", "j") in found
    assert ("AND_JOIN_PRIMARY", "error", "j") in found
    assert ("TEST_NO_DEFAULT", "warning", "t") in found
    assert ("NO_OUTBOUND", "warning", "s") in found


def test_channel_without_audience() -> None:
    definition = parse_definition(
        {
            "id": "c",
            "activities": [{"id": "m", "type": "email", "subject": "s", "body": "b"}],
        }
    )
    assert codes(validate(definition)) == [("CHANNEL_NO_AUDIENCE", "error", "m")]


def test_limits() -> None:
    many = [audience(f"a{i}") for i in range(101)]
    chained = [{"id": f"t{i}", "from": f"a{i}", "to": f"a{i + 1}"} for i in range(100)]
    found = codes(
        validate(
            parse_definition({"id": "c", "activities": many, "transitions": chained})
        )
    )
    assert ("MANY_ACTIVITIES", "warning", None) in found

    channels = [audience("a")] + [
        {"id": f"m{i}", "type": "sms", "body": "x"} for i in range(11)
    ]
    links = [{"id": f"t{i}", "from": "a", "to": f"m{i}"} for i in range(11)]
    found = codes(
        validate(
            parse_definition({"id": "c", "activities": channels, "transitions": links})
        )
    )
    assert ("TOO_MANY_CHANNELS", "error", None) in found


def test_data_problems_against_the_workspace(workspace: ajo.Workspace) -> None:
    definition = parse_definition(
        {
            "id": "c",
            "activities": [
                audience("a", "countri = 'FR'"),
                audience("b", "country = 'FR' AND profile_id IN (SELECT x FROM nope)"),
                audience("c", "read_csv('/etc/passwd') IS NOT NULL"),
                {
                    "id": "e",
                    "type": "enrichment",
                    "attributes": [
                        {"name": "n", "link": "stores", "aggregate": "count"}
                    ],
                },
                {
                    "id": "f",
                    "type": "enrichment",
                    "attributes": [
                        {"name": "country", "link": "profiles", "column": "city"}
                    ],
                },
                {
                    "id": "m",
                    "type": "email",
                    "subject": "Hi {{ first_nam }}",
                    "body": "<p>{{ first_name }} {{ n }}</p>",
                },
                {"id": "end", "type": "end"},
            ],
            "transitions": [
                {"id": "t1", "from": "a", "to": "end"},
                {"id": "t2", "from": "b", "to": "e"},
                {"id": "t3", "from": "c", "to": "end"},
                {"id": "t4", "from": "e", "to": "m"},
                {"id": "t5", "from": "m", "to": "f"},
                {"id": "t6", "from": "f", "to": "end"},
            ],
        }
    )
    alerts = workspace.validate(definition)
    found = codes(alerts)
    assert ("UNKNOWN_COLUMN", "error", "a") in found
    assert ("UNKNOWN_TABLE", "error", "b") in found
    assert ("BAD_CONDITION", "error", "c") in found
    assert ("UNKNOWN_PLACEHOLDER", "error", "m") in found
    by_activity = {a.activity_id: a for a in alerts}
    assert "countri" in by_activity["a"].message
    assert "read_csv" in by_activity["c"].message


def test_structure_and_data_problems_come_in_one_round(
    workspace: ajo.Workspace,
) -> None:
    mail = {"type": "email", "body": "<p>{{ first_name }}</p>"}
    definition = parse_definition(
        {
            "id": "c",
            "activities": [
                audience("a", "countri = 'FR'"),  # a data problem
                audience("b"),
                {**mail, "id": "m", "subject": "Hi {{ first_nam }}"},  # data
                {**mail, "id": "m2", "subject": "Hi {{ first_name"},  # its own error
                {"id": "end", "type": "end"},
            ],
            "transitions": [
                {"id": "t1", "from": "a", "to": "end"},
                {"id": "t2", "from": "b", "to": "m"},
                {"id": "t3", "from": "b", "to": "m2"},
                {"id": "t4", "from": "b", "to": "nowhere"},  # a structural error
                {"id": "t5", "from": "b", "port": "other", "to": "end"},
                {"id": "t6", "from": "m", "to": "end"},
                {"id": "t7", "from": "m2", "to": "end"},
            ],
        }
    )
    found = codes(workspace.validate(definition))
    assert ("DANGLING_TRANSITION", "error", "t4") in found
    assert ("UNKNOWN_PORT", "error", "t5") in found
    assert ("UNKNOWN_COLUMN", "error", "a") in found  # checked in the same round
    assert ("UNKNOWN_PLACEHOLDER", "error", "m") in found
    # the broken template's own error, and no second one from checking its data
    assert [code for code, _, where in found if where == "m2"] == ["BAD_TEMPLATE"]


def test_link_and_clash_problems(workspace: ajo.Workspace) -> None:
    definition = parse_definition(
        {
            "id": "c",
            "activities": [
                audience("a"),
                {
                    "id": "e",
                    "type": "enrichment",
                    "attributes": [
                        {"name": "n", "link": "stores", "aggregate": "count"}
                    ],
                },
                audience("b"),
                {
                    "id": "f",
                    "type": "enrichment",
                    "attributes": [
                        {"name": "country", "link": "profiles", "column": "city"}
                    ],
                },
                {"id": "end", "type": "end"},
            ],
            "transitions": [
                {"id": "t1", "from": "a", "to": "e"},
                {"id": "t2", "from": "e", "to": "end"},
                {"id": "t3", "from": "b", "to": "f"},
                {"id": "t4", "from": "f", "to": "end"},
            ],
        }
    )
    found = codes(workspace.validate(definition))
    assert ("UNKNOWN_LINK", "error", "e") in found
    assert ("COLUMN_CLASH", "error", "f") in found


def test_unknown_dimension(workspace: ajo.Workspace) -> None:
    definition = parse_definition(
        {"id": "c", "dimension": "customers", "activities": [audience("a")]}
    )
    assert codes(workspace.validate(definition)) == [
        ("UNKNOWN_DIMENSION", "error", None)
    ]


def test_schedule_warnings(workspace: ajo.Workspace) -> None:
    past = parse_definition(
        {
            "id": "c",
            "schedule": {"type": "once", "at": "2001-01-01T00:00:00+00:00"},
            "activities": [audience("a")],
        }
    )
    assert ("SCHEDULE_PAST", "warning", None) in codes(workspace.validate(past))
    signal = parse_definition(
        {
            "id": "c",
            "schedule": {"type": "signal", "parameters": [{"name": "x"}]},
            "activities": [audience("a")],
        }
    )
    assert ("SIGNAL_NO_TEST_VALUE", "warning", None) in codes(
        workspace.validate(signal)
    )


def test_the_example_is_clean(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    assert workspace.validate(parse_definition(spring_sale)) == []
