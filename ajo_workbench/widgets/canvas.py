"""The canvas: the campaign's activities and transitions drawn with ipycytoscape.

Nodes are placed by :mod:`ajo_workbench.widgets.layout` (cytoscape's ``preset``
layout); their shape tells the category and their colour the task state. Edges show
the exact row count of their work table. A click on a node or an edge selects it.

States, counts and the selection are painted through the stylesheet: one rule per
element that differs from the plain drawing. A refresh then sends one message,
however many of the 200 activities changed, instead of one or two per element.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import ipycytoscape
import ipywidgets as widgets

from ajo_workbench.engine import Execution, TaskStatus
from ajo_workbench.model.definition import CampaignDefinition, Transition
from ajo_workbench.widgets.boundary import Guard, unguarded
from ajo_workbench.widgets.layout import drawing_height, positions
from ajo_workbench.widgets.palette import (
    SELECTED,
    TASK_BADGES,
    legend_html,
    node_style,
    stylesheet,
)

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
    A tall drawing gets a taller canvas (:func:`drawing_height`, 400 to 800 px).
    cytoscape makes its first fit before the canvas has its height on the page,
    so the canvas asks for the layout again once the browser reports it shown
    (the ``_view_count`` of the graph widget), and once more a second later in
    case the drawing was not ready for the first request.
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
        self.graph._view_count = 0  # the browser counts the views it shows
        self.graph.observe(self._shown, "_view_count")
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
        self.legend = widgets.HTML(legend_html(dict(Counter(self.statuses.values()))))
        super().__init__([self.graph, self.legend])

    def _shown(self, change: dict[str, Any]) -> None:
        """A view was shown: fit the drawing to the canvas's real height."""
        if (change["new"] or 0) <= (change["old"] or 0):
            return
        self.graph.relayout()
        again = threading.Timer(1.0, self.graph.relayout)
        again.daemon = True
        again.start()

    def _draw(self) -> None:
        placed = positions(self.definition)
        self.graph.layout.height = f"{drawing_height(placed)}px"
        for activity in self.definition.activities:
            node = ipycytoscape.Node(
                data={
                    "id": activity.id,
                    "label": activity.label or activity.id,
                    "type": activity.type,
                    "category": activity.spec.category,
                },
                position=placed[activity.id],
                classes=activity.spec.category,
            )
            self.nodes[activity.id] = node
            self.statuses[activity.id] = "not_run"
        for transition in self._drawn_transitions():
            edge = ipycytoscape.Edge(
                data={
                    "id": transition.id,
                    "source": transition.source,
                    "target": transition.target,
                    "label": edge_label(transition, None),
                },
            )
            self.edges[transition.id] = edge
            self.counts[transition.id] = None
        self.graph.graph.add_nodes(list(self.nodes.values()))
        self.graph.graph.add_edges(list(self.edges.values()), directed=True)
        self.graph.set_style(self.style())

    def redraw(self, definition: CampaignDefinition) -> None:
        """Draw another definition in place of the shown one (nothing run yet).

        The selection is kept when its node or edge is still there.
        """
        self.definition = definition
        self.graph.graph.clear()
        self.nodes, self.edges, self.statuses, self.counts = {}, {}, {}, {}
        if self.chosen is not None and not self.has(*self.chosen):
            self.chosen = None
        self._draw()
        self.legend.value = legend_html(dict(Counter(self.statuses.values())))

    def has(self, kind: str, element_id: str) -> bool:
        """Whether an activity or a transition is drawn."""
        if kind == "activity":
            return any(a.id == element_id for a in self.definition.activities)
        return any(t.id == element_id for t in self._drawn_transitions())

    def show(self, execution: Execution | None) -> int:
        """Show an execution's task states and counts; returns how many changed."""
        changed = 0
        for activity in self.definition.activities:
            status = execution.task_status(activity.id) if execution else "not_run"
            if status != self.statuses[activity.id]:
                self.statuses[activity.id] = status
                changed += 1
        for transition in self._drawn_transitions():
            count = self._count(execution, transition)
            if count != self.counts[transition.id]:
                self.counts[transition.id] = count
                changed += 1
        if changed:
            self.graph.set_style(self.style())
            self.legend.value = legend_html(dict(Counter(self.statuses.values())))
        return changed

    def choose(self, kind: str, element_id: str) -> None:
        """Outline the selected node or edge (and only it)."""
        self.chosen = (kind, element_id)
        self.graph.set_style(self.style())

    def style(self) -> list[dict[str, Any]]:
        """The stylesheet: the plain drawing, then a rule per painted element."""
        rules = stylesheet()
        for activity in self.definition.activities:
            status = self.statuses[activity.id]
            badge = TASK_BADGES[TaskStatus(status)]
            name = activity.label or activity.id
            look = {
                **node_style(status),
                "label": f"{name}\n({badge})" if badge else name,
            }
            if self.chosen == ("activity", activity.id):
                look.update({"border-width": 4, "border-color": SELECTED})
            rules.append({"selector": f'node[id = "{activity.id}"]', "style": look})
        for transition in self._drawn_transitions():
            look = {"label": edge_label(transition, self.counts[transition.id])}
            if self.chosen == ("transition", transition.id):
                look.update(
                    {"width": 3, "line-color": SELECTED, "target-arrow-color": SELECTED}
                )
            rules.append({"selector": f'edge[id = "{transition.id}"]', "style": look})
        return rules

    def look(self, element_id: str) -> dict[str, Any]:
        """The style rule painted on one node or edge (what the browser applies)."""
        for rule in self.graph.cytoscape_style:
            if rule["selector"].endswith(f'[id = "{element_id}"]'):
                return dict(rule["style"])
        raise KeyError(f"no node or edge {element_id!r} on the canvas")

    def _drawn_transitions(self) -> list[Transition]:
        """Transitions between known activities (validation lists the others)."""
        known = {activity.id for activity in self.definition.activities}
        return [
            t
            for t in self.definition.transitions
            if t.source in known and t.target in known
        ]

    def _count(self, execution: Execution | None, transition: Transition) -> int | None:
        if execution is None:
            return None
        source = execution.task_status(transition.source)
        if source in ("not_run", "running", "attention"):
            return None  # nothing has gone through it yet
        return execution.count(transition.id)

    def node_clicked(self, event: dict[str, Any]) -> None:
        """Select the activity of a cytoscape click event."""
        self._on_select("activity", str(event["data"]["id"]))

    def edge_clicked(self, event: dict[str, Any]) -> None:
        """Select the transition of a cytoscape click event."""
        self._on_select("transition", str(event["data"]["id"]))
