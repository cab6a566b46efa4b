"""Flows through the canvas and the funnel along a path."""

from __future__ import annotations

import itertools

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.engine import Execution
from ajo_workbench.reporting import FLOWS, funnel, funnel_along


def test_every_transition_is_a_flow_with_its_count(tested: Execution) -> None:
    flows = funnel(tested)
    assert flows.schema == pl.Schema(FLOWS)
    definition = tested.definition
    assert sorted(flows["transition_id"]) == sorted(
        t.id for t in definition.transitions
    )
    for row in flows.iter_rows(named=True):
        transition = definition.transition(row["transition_id"])
        assert (row["from"], row["port"], row["to"]) == (
            transition.source,
            transition.port,
            transition.target,
        )
        assert row["count"] == tested.count(transition.id)
    # what flows into the end is what the channel activities addressed
    into_end = flows.filter(pl.col("to") == "end")["count"].sum()
    assert into_end == tested.frame("t7").height + tested.frame("t8").height + (
        tested.frame("t9").height
    )
    # sources come first: no flow leaves an activity before one reaches it
    order = flows["from"].to_list()
    assert order.index("segments") > order.index("dedup") > order.index("members")


def test_a_funnel_along_a_path(tested: Execution) -> None:
    path = ["members", "spend", "dedup", "segments", "mail_big", "end"]
    steps = funnel_along(tested, path)
    assert steps["activity_id"].to_list() == path
    assert steps["transitions"].to_list() == [
        [],
        ["t1"],
        ["t2"],
        ["t3"],
        ["t4"],
        ["t7"],
    ]
    counts = steps["count"].to_list()
    assert counts == [tested.frame("t1").height] + [
        tested.frame(t).height for t in ("t1", "t2", "t3", "t4", "t7")
    ]
    assert steps["of_first"].to_list() == pytest.approx([c / counts[0] for c in counts])
    previous = [b / a for a, b in itertools.pairwise(counts)]
    assert steps["of_previous"].to_list()[1:] == pytest.approx(previous)
    assert steps["of_previous"][0] is None

    # A path that starts inside the canvas counts what reached its first activity.
    inner = funnel_along(tested, ["sms_fr", "end"])
    assert inner["count"].to_list() == [tested.count("t5"), tested.count("t8")]


def test_a_path_off_the_canvas_is_refused(tested: Execution) -> None:
    with pytest.raises(ajo.DataError, match="no transition from 'members' to 'end'"):
        funnel_along(tested, ["members", "end"])
    with pytest.raises(ajo.DataError, match="no activity 'nowhere'"):
        funnel_along(tested, ["members", "nowhere"])
    with pytest.raises(ajo.DataError, match="at least one activity"):
        funnel_along(tested, [])
