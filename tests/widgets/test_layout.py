"""The layered left-to-right layout."""

from __future__ import annotations

import time
from typing import Any

from ajo_workbench.model.definition import parse_definition
from ajo_workbench.widgets.canvas import Canvas
from ajo_workbench.widgets.layout import (
    LAYER_GAP,
    MAX_HEIGHT,
    MIN_HEIGHT,
    ROW_GAP,
    drawing_height,
    layers,
    positions,
)


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


def fan(branches: int) -> dict[str, Any]:
    """An audience forked into ``branches`` one-activity branches, then an end."""
    activities: list[dict[str, Any]] = [
        {"id": "all", "type": "build_audience", "where": "country = 'FR'"},
        {"id": "fork", "type": "fork", "branches": [f"p{i}" for i in range(branches)]},
        {"id": "end", "type": "end"},
    ]
    transitions = [{"id": "t0", "from": "all", "to": "fork"}]
    for i in range(branches):
        activities.append({"id": f"b{i}", "type": "deduplication", "keys": ["email"]})
        transitions.append(
            {"id": f"f{i}", "from": "fork", "port": f"p{i}", "to": f"b{i}"}
        )
        transitions.append({"id": f"e{i}", "from": f"b{i}", "to": "end"})
    return {"id": "fan", "activities": activities, "transitions": transitions}


def test_only_tall_drawings_get_a_taller_canvas(spring_sale: dict[str, Any]) -> None:
    assert drawing_height({}) == MIN_HEIGHT
    assert drawing_height(positions(parse_definition(spring_sale))) == MIN_HEIGHT
    heights = [drawing_height(positions(parse_definition(fan(n)))) for n in (4, 6, 8)]
    assert MIN_HEIGHT <= heights[0] < heights[1] < heights[2] <= MAX_HEIGHT
    assert drawing_height(positions(parse_definition(fan(40)))) == MAX_HEIGHT
    # as wide as it is tall: the width binds the fit, more height would not help
    wide = {f"a{i}": {"x": i * LAYER_GAP, "y": 0.0} for i in range(40)}
    wide["low"] = {"x": 0.0, "y": 20 * ROW_GAP}
    assert drawing_height(wide) < drawing_height(
        {k: v for k, v in wide.items() if k in ("a0", "a1", "low")}
    )


def test_the_canvas_fits_again_once_the_browser_shows_it(
    spring_sale: dict[str, Any],
) -> None:
    canvas = Canvas(parse_definition(fan(8)), lambda kind, element: None)
    sent: list[Any] = []
    canvas.graph.send = sent.append  # type: ignore[method-assign]
    expected = drawing_height(positions(parse_definition(fan(8))))
    assert canvas.graph.layout.height == f"{expected}px"
    canvas.graph._view_count = 1  # what the browser reports when it shows a view
    assert sent == [{"name": "layout"}]
    time.sleep(1.3)
    assert sent == [{"name": "layout"}] * 2  # asked once more a second later
    canvas.graph._view_count = 0  # a view closed: nothing to fit
    time.sleep(1.3)
    assert len(sent) == 2
    canvas.redraw(parse_definition(spring_sale))
    assert canvas.graph.layout.height == f"{MIN_HEIGHT}px"
