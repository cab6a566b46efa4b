"""The per-activity report: counts, ports and durations of every task."""

from __future__ import annotations

from typing import Any

import polars as pl

import ajo_workbench as ajo
from ajo_workbench.engine import Execution
from ajo_workbench.model.graph import topological_order
from ajo_workbench.reporting import ACTIVITY_REPORT, execution_report

from .conftest import reasons_by_hand


def by_activity(report: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["activity_id"]: row for row in report.iter_rows(named=True)}


def test_counts_follow_the_transitions_in_dependency_order(tested: Execution) -> None:
    definition = tested.definition
    report = execution_report(tested)
    assert report.schema == pl.Schema(ACTIVITY_REPORT)
    assert report["activity_id"].to_list() == topological_order(definition)

    rows = by_activity(report)
    for activity in definition.activities:
        row = rows[activity.id]
        assert row["status"] == "success"
        assert row["type"] == activity.type and row["label"] == activity.label
        inbound = definition.inbound(activity.id)
        if inbound:
            assert row["input"] == sum(tested.count(t.id) for t in inbound)
        else:
            assert row["input"] is None  # a source has no input
        ports = {p["port"]: p["count"] for p in row["outputs"]}
        assert row["output"] == sum(ports.values())
        assert [p["port"] for p in row["outputs"]] == activity.ports
        for transition in definition.outbound(activity.id):
            assert ports[transition.port] == tested.count(transition.id)
        assert row["duration_s"] >= 0
        assert row["started_at"] <= row["ended_at"]
        assert row["error"] is None

    # the split's subsets and its complement together hold its whole input
    assert rows["segments"]["output"] == tested.count("t3") > 0


def test_channel_exclusions_are_the_profiles_without_address_or_consent(
    workspace: ajo.Workspace, tested: Execution
) -> None:
    rows = by_activity(execution_report(tested))
    for activity_id, transition_id, channel in (
        ("mail_big", "t4", "email"),
        ("sms_fr", "t5", "sms"),
        ("push_rest", "t6", "push"),
    ):
        expected = sum(
            reasons_by_hand(workspace, tested, transition_id, channel).values()
        )
        assert rows[activity_id]["excluded"] == expected > 0
    assert rows["segments"]["excluded"] is None  # not a channel


def test_live_exclusions_come_from_the_feedback_events(
    workspace: ajo.Workspace, live: Execution
) -> None:
    events = workspace.feedback_events
    report = by_activity(execution_report(live, events))
    excluded = events.filter(
        (pl.col("execution_id") == live.id) & (pl.col("status") == "exclude")
    )
    expected = dict(excluded.group_by("activity_id").len().iter_rows())
    for activity_id in ("mail_big", "sms_fr", "push_rest"):
        assert report[activity_id]["excluded"] == expected[activity_id] > 0

    # Without events, the counts give the same exclusions.
    counted = by_activity(execution_report(live))
    assert {a: counted[a]["excluded"] for a in expected} == expected


def test_tasks_that_did_not_finish_have_no_counts(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    campaign = workspace.load_campaign(spring_sale)
    live = campaign.publish()
    assert live is not None
    live.wait(60)
    assert live.state == "waiting"
    rows = by_activity(execution_report(live, workspace.feedback_events))
    for activity_id in ("mail_big", "sms_fr", "push_rest"):
        row = rows[activity_id]
        assert row["status"] == "attention"
        assert (row["input"], row["output"], row["outputs"], row["excluded"]) == (
            None,
            None,
            None,
            None,
        )
    assert rows["end"]["status"] == "not_run" and rows["end"]["duration_s"] is None
    assert rows["segments"]["output"] == live.count("t3")
    campaign.stop_campaign()
