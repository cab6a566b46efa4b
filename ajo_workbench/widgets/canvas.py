"""The canvas: the campaign's activities and transitions drawn with ipycytoscape.

Nodes are placed by :mod:`ajo_workbench.widgets.layout` (cytoscape's ``preset``
layout); their shape tells the category and their colour the task state. Edges show
the exact row count of their work table. A click on a node or an edge selects it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import ipycytoscape
import ipywidgets as widgets

from ajo_workbench.engine import Execution, TaskStatus
from ajo_workbench.model.definition import CampaignDefinition, Transition
from ajo_workbench.widgets.boundary import Guard, unguarded
from ajo_workbench.widgets.layout import positions
from ajo_workbench.widgets.palette import TASK_BADGES, legend_html, stylesheet

Select = Callable[[str, str], None]


def edge_label(transition: Transition, count: int | None) -> str:
    """A transition's label: its port (unless ``out``) and its count, when known."""
    port = "" if transition.port == "out" else transition.port
    if count is None:
        return port
    number = f"{count:,}"
    return f"{port}: {number}" if port else number


class Canvas(widgets.VBox):
    """The drawn canvas with its legend.

    Notes
    -----
    The drawing keeps cytoscape's default height of 400 px: its first fit is made
    for that height, and changing it before the widget is shown clips the graph.
    """

    def __init__(
        self,
        definition: CampaignDefinition,
        on_select: Select,
        guard: Guard = unguarded,
    ) -> None:
        self.definition = definition
        self._on_select = on_select
        self.graph = ipycytoscape.CytoscapeWidget()
        self.graph.add_class("ajo-canvas")
        self.graph.set_style(stylesheet())
        self.graph.set_layout(name="preset", fit=True, padding=30, animate=False)
        self.graph.auto_unselectify = False
        self.nodes: dict[str, ipycytoscape.Node] = {}
        self.edges: dict[str, ipycytoscape.Edge] = {}
        self.statuses: dict[str, str] = {}
        self.counts: dict[str, int | None] = {}
        self.chosen: tuple[str, str] | None = None
        self._draw()
        on_node = guard("click on an activity")(self.node_clicked)
        on_edge = guard("click on a transition")(self.edge_clicked)
        self.graph.on("node", "click", on_node)
        self.graph.on("edge", "click", on_edge)
        self.legend = widgets.HTML(legend_html())
        super().__init__([self.graph, self.legend])

    def _draw(self) -> None:
        placed = positions(self.definition)
        for activity in self.definition.activities:
            node = ipycytoscape.Node(
                data={
                    "id": activity.id,
                    "label": activity.label or activity.id,
                    "type": activity.type,
                    "category": activity.spec.category,
                    "status": "not_run",
                },
                position=placed[activity.id],
                classes=f"{activity.spec.category} not_run",
            )
            self.nodes[activity.id] = node
            self.statuses[activity.id] = "not_run"
        for transition in self.definition.transitions:
            edge = ipycytoscape.Edge(
                data={
                    "id": transition.id,
                    "source": transition.source,
                    "target": transition.target,
                    "label": edge_label(transition, None),
                },
                classes="",
            )
            self.edges[transition.id] = edge
            self.counts[transition.id] = None
        self.graph.graph.add_nodes(list(self.nodes.values()))
        self.graph.graph.add_edges(list(self.edges.values()), directed=True)

    def show(self, execution: Execution | None) -> int:
        """Show an execution's task states and counts; returns how many changed."""
        changed = 0
        for activity in self.definition.activities:
            status = execution.task_status(activity.id) if execution else "not_run"
            if status != self.statuses[activity.id]:
                self.statuses[activity.id] = status
                self._paint_node(activity.id)
                changed += 1
        for transition in self.definition.transitions:
            count = self._count(execution, transition)
            if count != self.counts[transition.id]:
                self.counts[transition.id] = count
                edge = self.edges[transition.id]
                edge.data = {**edge.data, "label": edge_label(transition, count)}
                changed += 1
        if changed:
            self.legend.value = legend_html(dict(Counter(self.statuses.values())))
        return changed

    def choose(self, kind: str, element_id: str) -> None:
        """Outline the selected node or edge (and only it)."""
        previous, self.chosen = self.chosen, (kind, element_id)
        if previous is not None:
            self._paint(*previous)
        self._paint(kind, element_id)

    def _count(self, execution: Execution | None, transition: Transition) -> int | None:
        if execution is None:
            return None
        source = execution.task_status(transition.source)
        if source in ("not_run", "running"):
            return None
        return execution.count(transition.id)

    def _paint(self, kind: str, element_id: str) -> None:
        if kind == "activity":
            self._paint_node(element_id)
        else:
            chosen = self.chosen == ("transition", element_id)
            self.edges[element_id].classes = "chosen" if chosen else ""

    def _paint_node(self, activity_id: str) -> None:
        node = self.nodes[activity_id]
        activity = self.definition.activity(activity_id)
        status = self.statuses[activity_id]
        chosen = " chosen" if self.chosen == ("activity", activity_id) else ""
        node.classes = f"{activity.spec.category} {status}{chosen}"
        badge = TASK_BADGES[TaskStatus(status)]
        label = activity.label or activity.id
        node.data = {
            **node.data,
            "status": status,
            "label": f"{label}\n({badge})" if badge else label,
        }

    def node_clicked(self, event: dict[str, Any]) -> None:
        """Select the activity of a cytoscape click event."""
        self._on_select("activity", str(event["data"]["id"]))

    def edge_clicked(self, event: dict[str, Any]) -> None:
        """Select the transition of a cytoscape click event."""
        self._on_select("transition", str(event["data"]["id"]))
