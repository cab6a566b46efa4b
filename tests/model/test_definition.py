"""The campaign file format: round-trip, builder, and every problem at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ajo_workbench import CampaignBuilder, DefinitionError, parse_definition
from ajo_workbench.model.catalogue import ACTIVITY_TYPES
from ajo_workbench.model.definition import load_definition


def test_round_trip_is_stable(spring_sale: dict[str, Any], tmp_path: Path) -> None:
    definition = parse_definition(spring_sale)
    path = tmp_path / "c.json"
    definition.save(path)
    text = path.read_text(encoding="utf-8")

    again = load_definition(path)
    assert again == definition
    assert again.to_json() == text
    assert list(json.loads(text)) == [
        "format",
        "id",
        "name",
        "description",
        "dimension",
        "schedule",
        "settings",
        "variables",
        "activities",
        "transitions",
    ]


def test_keys_come_out_in_catalogue_order() -> None:
    document = {
        "id": "c",
        "activities": [
            {
                "where": "country = 'FR'",
                "label": "A",
                "type": "build_audience",
                "id": "a",
            }
        ],
        "transitions": [],
    }
    saved = json.loads(parse_definition(document).to_json())
    assert list(saved["activities"][0]) == ["id", "type", "label", "where"]


EXAMPLES = sorted((Path(__file__).parent.parent.parent / "examples").glob("*.json"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_builder_produces_the_file_document(example: Path) -> None:
    document = json.loads(example.read_text(encoding="utf-8"))
    builder = (
        CampaignBuilder(
            document["id"], name=document["name"], description=document["description"]
        )
        .settings(**document["settings"])
        .variables(**document["variables"])
    )
    for activity in document["activities"]:
        settings = {k: v for k, v in activity.items() if k not in ("id", "type")}
        builder.activity(activity["type"], activity["id"], **settings)
    for transition in document["transitions"]:
        builder.connect(
            transition["from"],
            transition["to"],
            port=transition.get("port", "out"),
            transition_id=transition["id"],
        )

    built = builder.build()
    assert built == parse_definition(document)
    assert built.to_json() == parse_definition(document).to_json()


def test_examples_cover_every_activity_type() -> None:
    used = {
        activity["type"]
        for path in EXAMPLES
        for activity in json.loads(path.read_text(encoding="utf-8"))["activities"]
    }
    # read_audience needs an audience saved by a live execution, which a fresh
    # workspace does not have; tests/activities/test_sources.py runs it.
    assert used == set(ACTIVITY_TYPES) - {"read_audience"}


def test_every_problem_is_reported_at_once() -> None:
    document = {
        "id": "Bad Id",
        "colour": "red",
        "settings": {"error_policy": "panic"},
        "activities": [
            {"id": "a", "type": "build_audience", "where": 42},
            {"id": "b", "type": "teleport"},
            {
                "id": "c",
                "type": "split",
                "subsets": [{"label": "fr", "where": 7, "limit": -1}],
                "complment": True,
            },
            {"id": "a", "type": "end"},
        ],
        "transitions": [{"id": "t1", "from": "a", "to": "c", "via": "x"}],
    }
    with pytest.raises(DefinitionError) as caught:
        parse_definition(document)
    paths = {problem.path for problem in caught.value.problems}

    assert paths == {
        "id",
        "colour",
        "settings.error_policy",
        "activities[0].where",
        "activities[1].type",
        "activities[2].complment",
        "activities[2].subsets[0].where",
        "activities[2].subsets[0].limit",
        "activities[3].id",
        "transitions[0].via",
    }
    message = str(caught.value)
    assert "activities[2].subsets[0].where: expected a SQL boolean condition" in message
    assert "got a number 7" in message
    assert "'panic' is not one of: suspend, ignore, abort" in message
    assert "unknown key 'complment'" in message and "complement" in message
    assert "duplicate id 'a' (first at activities[0])" in message


def test_required_settings_are_named() -> None:
    document = {"id": "c", "activities": [{"id": "s", "type": "split"}]}
    with pytest.raises(DefinitionError, match=r"activities\[0\]\.subsets: is required"):
        parse_definition(document)


def test_broken_json_names_line_and_column() -> None:
    with pytest.raises(DefinitionError, match="line 1, column"):
        parse_definition('{"id": "c",')


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="can't read the file"):
        load_definition(tmp_path / "nope.json")


def test_ports() -> None:
    definition = parse_definition(
        {
            "id": "c",
            "activities": [
                {
                    "id": "s",
                    "type": "split",
                    "complement": True,
                    "subsets": [{"label": "a", "where": "1 = 1"}],
                },
                {"id": "f", "type": "fork", "branches": ["x", "y"]},
                {"id": "d", "type": "deduplication", "keys": ["email"]},
                {"id": "e", "type": "end"},
            ],
        }
    )
    assert [a.ports for a in definition.activities] == [
        ["a", "complement"],
        ["x", "y"],
        ["out", "complement"],
        [],
    ]
