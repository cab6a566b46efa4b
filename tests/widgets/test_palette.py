"""Colours per task state, shapes per category, and the legend."""

from __future__ import annotations

import pytest

from ajo_workbench.engine import TaskStatus
from ajo_workbench.widgets.palette import (
    CATEGORY_SHAPES,
    TASK_BADGES,
    TASK_COLOURS,
    colour,
    legend_html,
    node_style,
    stylesheet,
)


def test_every_task_state_has_its_own_colour_and_badge() -> None:
    assert set(TASK_COLOURS) == set(TaskStatus)
    assert len(set(TASK_COLOURS.values())) == len(TaskStatus)
    assert set(TASK_BADGES) == set(TaskStatus)
    assert TASK_BADGES[TaskStatus.NOT_RUN] == ""
    assert TASK_BADGES[TaskStatus.RUNNING] == "executing"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("not_run", "#9e9e9e"),
        ("running", "#1e88e5"),
        ("attention", "#fb8c00"),
        ("success", "#43a047"),
        ("error", "#e53935"),
        ("skipped", "#e6e6e6"),
        ("abandoned", "#8d6e63"),
    ],
)
def test_colour_of_each_state(status: str, expected: str) -> None:
    assert colour(status) == expected


def test_unknown_state_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown task state 'done'.*not_run"):
        colour("done")


def test_stylesheet_shapes_categories_and_each_state_has_its_look() -> None:
    rules = {rule["selector"]: rule["style"] for rule in stylesheet()}
    for category, shape in CATEGORY_SHAPES.items():
        assert rules[f"node.{category}"]["shape"] == shape
    assert rules["edge"]["label"] == "data(label)"
    for status, fill in TASK_COLOURS.items():
        assert node_style(status.value)["background-color"] == fill
    assert node_style("skipped")["border-style"] == "dashed"
    assert "border-style" not in node_style("success")


def test_legend_names_every_state_with_its_count() -> None:
    html = legend_html({"success": 3, "error": 1})
    for status in TaskStatus:
        assert f'data-state="{status.value}"' in html
        assert TASK_COLOURS[status] in html
    assert "success: 3" in html and "error: 1" in html and "running: 0" in html
    assert "flow control = diamond" in html
