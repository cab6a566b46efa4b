"""A Sankey diagram of an execution's flows, drawn as plain SVG.

Activities are bars placed in the canvas's layers, left to right, each as tall as
the larger of what reached it and what it passed on; every transition that carried
rows is a band between two bars, as wide as its count.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import polars as pl

from ajo_workbench.model.definition import CampaignDefinition
from ajo_workbench.widgets.layout import layers
from ajo_workbench.widgets.palette import colour

HEIGHT = 260
COLUMN_GAP = 150
NODE_WIDTH = 10
NODE_GAP = 14
TOP = 24
FLOW_COLOUR = "#1e88e5"


def sankey_svg(
    definition: CampaignDefinition,
    flows: pl.DataFrame,
    statuses: Mapping[str, str] | None = None,
) -> str:
    """The SVG of ``flows`` (as :func:`ajo_workbench.reporting.funnel` gives them)
    over the activities of ``definition``, bars coloured by task status."""
    statuses = statuses or {}
    carried = flows.filter(pl.col("count") > 0).rows(named=True)
    inflow: dict[str, int] = {}
    outflow: dict[str, int] = {}
    for flow in carried:
        outflow[flow["from"]] = outflow.get(flow["from"], 0) + flow["count"]
        inflow[flow["to"]] = inflow.get(flow["to"], 0) + flow["count"]
    columns = layers(definition)
    value = {
        aid: max(inflow.get(aid, 0), outflow.get(aid, 0))
        for column in columns
        for aid in column
    }

    room = HEIGHT - TOP
    totals = [
        (sum(value[a] for a in column), NODE_GAP * (len(column) - 1))
        for column in columns
    ]
    scale = min(((room - gaps) / total for total, gaps in totals if total), default=0)
    top: dict[str, float] = {}
    height: dict[str, float] = {}
    x: dict[str, float] = {}
    for i, column in enumerate(columns):
        y = float(TOP)
        for aid in column:
            top[aid], x[aid] = y, 8.0 + i * COLUMN_GAP
            height[aid] = max(2.0, value[aid] * scale)
            y += height[aid] + NODE_GAP

    bands = _bands(carried, top, x, scale)
    bars = [
        f'<rect class="ajo-node" data-activity="{escape(aid)}" x="{x[aid]}" '
        f'y="{top[aid]:.1f}" width="{NODE_WIDTH}" height="{height[aid]:.1f}" '
        f'fill="{colour(statuses.get(aid, "not_run"))}"></rect>'
        f'<text x="{x[aid] + NODE_WIDTH + 3}" y="{top[aid] + height[aid] / 2 + 4:.1f}">'
        f"{escape(aid)} {value[aid]:,}</text>"
        for aid in value
    ]
    width = 8 + max(len(columns), 1) * COLUMN_GAP + 40
    return (
        f'<svg class="ajo-sankey" width="{width}" height="{HEIGHT + 8}" '
        'style="font-size:11px;font-family:sans-serif">'
        '<text x="0" y="12" font-weight="bold">Flow through the canvas</text>'
        + "".join(bands)
        + "".join(bars)
        + "</svg>"
    )


def _bands(
    carried: list[dict[str, Any]],
    top: dict[str, float],
    x: dict[str, float],
    scale: float,
) -> list[str]:
    """One band per flow, stacked on each bar in the order of the other ends."""
    leaving: dict[str, float] = {}
    arriving: dict[str, float] = {}
    ordered = sorted(carried, key=lambda f: (top[f["from"]], top[f["to"]]))
    bands = []
    for flow in ordered:
        source, target, count = flow["from"], flow["to"], flow["count"]
        thickness = max(1.0, count * scale)
        y0 = top[source] + leaving.get(source, 0.0) + thickness / 2
        y1 = top[target] + arriving.get(target, 0.0) + thickness / 2
        leaving[source] = leaving.get(source, 0.0) + count * scale
        arriving[target] = arriving.get(target, 0.0) + count * scale
        x0, x1 = x[source] + NODE_WIDTH, x[target]
        middle = (x0 + x1) / 2
        transition_id = escape(flow["transition_id"])
        title = f"{transition_id}: {escape(source)} → {escape(target)}: {count:,}"
        bands.append(
            f'<path class="ajo-flow" data-transition="{transition_id}"'
            f' d="M{x0},{y0:.1f} C{middle},{y0:.1f} {middle},{y1:.1f} {x1},{y1:.1f}"'
            f' stroke="{FLOW_COLOUR}" stroke-opacity="0.35" fill="none"'
            f' stroke-width="{thickness:.1f}"><title>{title}</title></path>'
        )
    return bands
