"""How task states and activity categories look on the canvas (SPEC §7.2).

One table per concern: a colour and a badge per task state, a shape per activity
category. The canvas stylesheet and the legend are both built from these tables, so
a state can't have a colour without a legend entry.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ajo_workbench.engine import TaskStatus

TASK_COLOURS: dict[TaskStatus, str] = {
    TaskStatus.NOT_RUN: "#9e9e9e",
    TaskStatus.RUNNING: "#1e88e5",
    TaskStatus.ATTENTION: "#fb8c00",
    TaskStatus.SUCCESS: "#43a047",
    TaskStatus.ERROR: "#e53935",
    TaskStatus.SKIPPED: "#e6e6e6",
    TaskStatus.ABANDONED: "#8d6e63",
}
"""The fill colour of a node per task state."""

TASK_BADGES: dict[TaskStatus, str] = {
    TaskStatus.NOT_RUN: "",
    TaskStatus.RUNNING: "executing",
    TaskStatus.ATTENTION: "waiting for you",
    TaskStatus.SUCCESS: "done",
    TaskStatus.ERROR: "error",
    TaskStatus.SKIPPED: "skipped",
    TaskStatus.ABANDONED: "abandoned",
}
"""The short text shown under a node's label per task state (none when not run)."""

CATEGORY_SHAPES: dict[str, str] = {
    "targeting": "round-rectangle",
    "flow": "diamond",
    "channel": "ellipse",
}
"""The cytoscape node shape per activity category."""

CATEGORY_NAMES = {
    "targeting": "targeting",
    "flow": "flow control",
    "channel": "channel",
}
SELECTED = "#6a1b9a"


def colour(status: str) -> str:
    """The colour of a task state; ValueError names the known states."""
    try:
        return TASK_COLOURS[TaskStatus(status)]
    except ValueError:
        known = ", ".join(s.value for s in TaskStatus)
        raise ValueError(f"unknown task state {status!r} (states: {known})") from None


def stylesheet() -> list[dict[str, Any]]:
    """The plain cytoscape stylesheet: labels, edges, and a shape per category."""
    style: list[dict[str, Any]] = [
        {
            "selector": "node",
            "style": {
                "label": "data(label)",
                "text-wrap": "wrap",
                "text-valign": "bottom",
                "text-margin-y": 4,
                "font-size": 11,
                "text-max-width": 110,
                "width": 50,
                "height": 32,
                "border-width": 1,
                "border-color": "#424242",
            },
        },
        {
            "selector": "edge",
            "style": {
                "label": "data(label)",
                "font-size": 10,
                "curve-style": "bezier",
                "target-arrow-shape": "triangle",
                "width": 1.5,
                "line-color": "#90a4ae",
                "target-arrow-color": "#90a4ae",
                "text-background-color": "#ffffff",
                "text-background-opacity": 1,
                "text-background-padding": 1,
            },
        },
    ]
    for category, shape in CATEGORY_SHAPES.items():
        style.append({"selector": f"node.{category}", "style": {"shape": shape}})
    return style


def node_style(status: str) -> dict[str, Any]:
    """How a node in a task state looks: its fill, and a dashed border if skipped."""
    look: dict[str, Any] = {"background-color": colour(status)}
    if status == TaskStatus.SKIPPED:
        look.update({"border-style": "dashed", "border-width": 2})
    return look


def legend_html(counts: dict[str, int] | None = None) -> str:
    """The legend: a swatch per task state (with its count) and a shape per category."""
    counts = counts or {}
    items = []
    for status, fill in TASK_COLOURS.items():
        border = "dashed" if status is TaskStatus.SKIPPED else "solid"
        count = counts.get(status.value, 0)
        items.append(
            f'<span class="ajo-legend-state" data-state="{status.value}" '
            'style="margin-right:10px;white-space:nowrap">'
            f'<span style="display:inline-block;width:11px;height:11px;'
            f"background:{fill};border:1px {border} #424242;"
            'vertical-align:middle;margin-right:3px"></span>'
            f"{escape(status.value)}: {count}</span>"
        )
    shapes = " · ".join(
        f"{CATEGORY_NAMES[c]} = {s.replace('-', ' ')}"
        for c, s in CATEGORY_SHAPES.items()
    )
    return (
        '<div class="ajo-legend" style="font-size:11px;line-height:1.8">'
        + "".join(items)
        + f'<br><span style="color:#616161">{escape(shapes)}</span></div>'
    )
