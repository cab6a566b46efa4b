"""The layered left-to-right layout."""

from __future__ import annotations

from typing import Any

from ajo_workbench.model.definition import parse_definition
from ajo_workbench.widgets.layout import LAYER_GAP, layers, positions


def test_layers_follow_the_longest_path(spring_sale: dict[str, Any]) -> None:
    definition = parse_definition(spring_sale)
    assert layers(definition) == [
        ["members"],
        ["spend"],
        ["dedup"],
        ["segments"],
        ["mail_big", "sms_fr", "push_rest"],
        ["end"],
    ]


def test_positions_go_left_to_right_with_centred_rows(
    spring_sale: dict[str, Any],
) -> None:
    placed = positions(parse_definition(spring_sale))
    assert placed["members"] == {"x": 0.0, "y": 0.0}
    assert placed["end"]["x"] == 5 * LAYER_GAP
    channels = [placed[a] for a in ("mail_big", "sms_fr", "push_rest")]
    assert len({p["x"] for p in channels}) == 1
    ys = [p["y"] for p in channels]
    assert ys == sorted(ys) and sum(ys) == 0 and len(set(ys)) == 3


def test_an_activity_sits_after_its_furthest_source() -> None:
    definition = parse_definition(
        {
            "id": "shape",
            "activities": [
                {"id": "a", "type": "build_audience", "where": "country = 'FR'"},
                {"id": "b", "type": "build_audience", "where": "country = 'BE'"},
                {"id": "c", "type": "build_audience", "where": "true"},
                {"id": "u", "type": "combine", "mode": "union"},
                {"id": "end", "type": "end"},
            ],
            "transitions": [
                {"id": "t1", "from": "a", "to": "u"},
                {"id": "t2", "from": "b", "to": "c"},
                {"id": "t3", "from": "c", "to": "u"},
                {"id": "t4", "from": "u", "to": "end"},
            ],
        }
    )
    assert layers(definition) == [["a", "b"], ["c"], ["u"], ["end"]]


def broken_shape() -> dict[str, Any]:
    """A canvas with a cycle (b, c) and a transition to an unknown activity."""
    where = "country = 'FR'"
    return {
        "id": "broken",
        "activities": [
            {"id": "a", "type": "build_audience", "where": where},
            {"id": "b", "type": "build_audience", "where": where},
            {"id": "c", "type": "build_audience", "where": where},
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "a", "to": "b"},
            {"id": "t2", "from": "b", "to": "c"},
            {"id": "t3", "from": "c", "to": "b"},
            {"id": "t4", "from": "c", "to": "end"},
            {"id": "t5", "from": "c", "to": "nowhere"},
        ],
    }


def test_a_cycle_or_an_unknown_end_still_has_a_layout() -> None:
    definition = parse_definition(broken_shape())
    assert layers(definition) == [["a"], ["b"], ["c"], ["end"]]
