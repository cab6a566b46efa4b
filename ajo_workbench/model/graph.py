"""The canvas as a graph: dependency order and reachability."""

from __future__ import annotations

from collections import deque

from ajo_workbench.errors import ExecutionError
from ajo_workbench.model.definition import CampaignDefinition


def topological_order(definition: CampaignDefinition) -> list[str]:
    """Activity ids in dependency order, ties kept in file order.

    Raises
    ------
    ExecutionError
        When the canvas has a cycle.
    """
    ids = [activity.id for activity in definition.activities]
    known = set(ids)
    edges = [
        (t.source, t.target)
        for t in definition.transitions
        if t.source in known and t.target in known
    ]
    waiting = {activity_id: 0 for activity_id in ids}
    for _, target in edges:
        waiting[target] += 1

    ready = deque(activity_id for activity_id in ids if waiting[activity_id] == 0)
    order: list[str] = []
    while ready:
        current = ready.popleft()
        order.append(current)
        for source, target in edges:
            if source == current:
                waiting[target] -= 1
                if waiting[target] == 0:
                    ready.append(target)

    if len(order) != len(ids):
        stuck = ", ".join(sorted(known - set(order)))
        raise ExecutionError(f"the canvas has a cycle through: {stuck}")
    return order


def descendants(definition: CampaignDefinition, activity_id: str) -> set[str]:
    """Every activity reachable from one activity (itself excluded)."""
    found: set[str] = set()
    frontier = [activity_id]
    while frontier:
        current = frontier.pop()
        for transition in definition.outbound(current):
            if transition.target not in found:
                found.add(transition.target)
                frontier.append(transition.target)
    return found
