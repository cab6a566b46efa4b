"""A left-to-right layered layout of the canvas, computed in Python.

Each activity goes to the layer after its furthest predecessor; within a layer,
activities are ordered by the mean position of their predecessors, so edges cross
less. The positions are handed to cytoscape's ``preset`` layout, which keeps the
drawing identical from one session to the next.
"""

from __future__ import annotations

from ajo_workbench.errors import ExecutionError
from ajo_workbench.model.definition import CampaignDefinition
from ajo_workbench.model.graph import topological_order

LAYER_GAP = 120.0
ROW_GAP = 90.0


def drawing_order(definition: CampaignDefinition) -> list[str]:
    """Activity ids in dependency order; in file order when the canvas has a cycle
    (validation reports the cycle; the canvas still has to show it)."""
    try:
        return topological_order(definition)
    except ExecutionError:
        return [activity.id for activity in definition.activities]


def layers(definition: CampaignDefinition) -> list[list[str]]:
    """Activity ids per layer, left to right (a layer's order is its top-down order).

    Only transitions between known activities that point forward in the drawing
    order place an activity: a transition closing a cycle, or one to an unknown
    activity, does not.
    """
    order = drawing_order(definition)
    position = {activity_id: i for i, activity_id in enumerate(order)}

    def sources(activity_id: str) -> list[str]:
        inbound = definition.inbound(activity_id)
        return [
            t.source
            for t in inbound
            if position.get(t.source, len(order)) < position[activity_id]
        ]

    depth: dict[str, int] = {}
    for activity_id in order:
        depth[activity_id] = 1 + max(
            (depth[s] for s in sources(activity_id)), default=-1
        )

    result: list[list[str]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
    row: dict[str, float] = {}
    for activity_id in order:
        result[depth[activity_id]].append(activity_id)

    for layer in result:
        rank = {activity_id: i for i, activity_id in enumerate(layer)}

        def place(activity_id: str, rank: dict[str, int] = rank) -> tuple[float, int]:
            placed = [row[s] for s in sources(activity_id) if s in row]
            mean = sum(placed) / len(placed) if placed else float(rank[activity_id])
            return mean, rank[activity_id]

        layer.sort(key=place)
        for i, activity_id in enumerate(layer):
            row[activity_id] = float(i) - (len(layer) - 1) / 2
    return result


def positions(definition: CampaignDefinition) -> dict[str, dict[str, float]]:
    """Each activity's ``{"x", "y"}`` position: layers left to right, centred rows."""
    placed: dict[str, dict[str, float]] = {}
    for column, layer in enumerate(layers(definition)):
        for i, activity_id in enumerate(layer):
            y = (i - (len(layer) - 1) / 2) * ROW_GAP
            placed[activity_id] = {"x": column * LAYER_GAP, "y": y}
    return placed


MIN_HEIGHT = 400
MAX_HEIGHT = 800
_WIDTH_GUESS = 560.0  # the canvas's usual width in px, beside the properties pane
_PADDING = 60.0


def drawing_height(placed: dict[str, dict[str, float]]) -> int:
    """The canvas height in px that lets a tall drawing be fitted larger.

    A drawing is fitted to the canvas's width and height, whichever binds: a wide
    one gains nothing from more height, a tall one (many rows in a layer) does, up
    to :data:`MAX_HEIGHT`. Short drawings keep cytoscape's usual 400 px.
    """
    if not placed:
        return MIN_HEIGHT
    xs = [p["x"] for p in placed.values()]
    ys = [p["y"] for p in placed.values()]
    wide = max(xs) - min(xs) + LAYER_GAP
    tall = max(ys) - min(ys) + ROW_GAP
    wanted = _PADDING + tall * min(1.0, _WIDTH_GUESS / wide)
    return int(min(MAX_HEIGHT, max(MIN_HEIGHT, wanted)))
