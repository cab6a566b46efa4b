"""The channel report: targeted, excluded by reason, sent, delivered, bounced."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.engine import Execution
from ajo_workbench.reporting import CHANNEL_REPORT, channel_report

from .conftest import reasons_by_hand

CHANNEL_ACTIVITIES = {"mail_big": "t4", "sms_fr": "t5", "push_rest": "t6"}
COUNTS = ["targeted", "excluded", "sent", "delivered", "bounced", "errors"]


def rows(report: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["activity_id"]: row for row in report.iter_rows(named=True)}


def test_a_live_send_matches_its_feedback_events(
    workspace: ajo.Workspace, live: Execution
) -> None:
    events = workspace.feedback_events
    report = channel_report(live, events)
    assert report["activity_id"].to_list() == list(CHANNEL_ACTIVITIES)
    assert report["channel"].to_list() == ["email", "sms", "push"]

    own = events.filter(pl.col("execution_id") == live.id)
    reasons = (
        own.filter(pl.col("status") == "exclude")
        .group_by("activity_id", "exclusion_reason")
        .len()
    )
    statuses = own.group_by("activity_id", "status").len()
    outbox = {
        c: len(list((workspace.path / "outbox" / c).glob("*.json")))
        for c in ("email", "sms", "push")
    }
    for activity_id, row in rows(report).items():
        mine = reasons.filter(pl.col("activity_id") == activity_id)
        by_reason = dict(mine.select("exclusion_reason", "len").iter_rows())
        assert {
            "no_address": row["excluded_no_address"],
            "no_consent": row["excluded_no_consent"],
        } == {r: by_reason.get(r, 0) for r in ("no_address", "no_consent")}
        assert row["excluded"] == sum(by_reason.values())
        counted = dict(
            statuses.filter(pl.col("activity_id") == activity_id)
            .select("status", "len")
            .iter_rows()
        )
        assert row["sent"] == counted.get("sent", 0) == outbox[str(row["channel"])]
        assert row["targeted"] == sum(counted.values())
        # every profile that reached the activity is targeted once
        assert (
            row["targeted"]
            == row["reached"]
            == live.count(CHANNEL_ACTIVITIES[activity_id])
        )
        assert row["targeted"] == (
            row["excluded"] + row["sent"] + row["bounced"] + row["errors"]
        )
        transition_id = CHANNEL_ACTIVITIES[activity_id]
        by_hand = reasons_by_hand(workspace, live, transition_id, str(row["channel"]))
        assert by_hand == {
            "no_address": row["excluded_no_address"],
            "no_consent": row["excluded_no_consent"],
        }


def test_a_test_execution_targets_the_population_and_sends_nothing(
    workspace: ajo.Workspace, tested: Execution, live: Execution
) -> None:
    events = workspace.feedback_events
    assert events.height > 0  # the live execution's events are there, not the test's
    report = channel_report(tested, events)
    for activity_id, row in rows(report).items():
        reached = tested.count(CHANNEL_ACTIVITIES[activity_id])
        assert row["reached"] == row["targeted"] == reached > 0
        others = report.columns[6:]
        assert {name: row[name] for name in others} == dict.fromkeys(others, 0)
    assert report.schema == pl.Schema(CHANNEL_REPORT)


def test_every_status_and_reason_is_counted(
    workspace: ajo.Workspace, live: Execution
) -> None:
    """Provider answers the outbox never gives, put into the events by hand."""
    events = workspace.feedback_events
    sent = pl.col("status") == "sent"
    rank = pl.int_range(pl.len()).over("activity_id", "status")
    altered = events.with_columns(
        status=pl.when(sent & (rank % 4 == 1))
        .then(pl.lit("delivered"))
        .when(sent & (rank % 4 == 2))
        .then(pl.lit("bounce"))
        .when(sent & (rank % 4 == 3))
        .then(pl.lit("error"))
        .otherwise(pl.col("status")),
        exclusion_reason=pl.when(
            (pl.col("exclusion_reason") == "no_consent") & (rank % 2 == 0)
        )
        .then(pl.lit("blocklisted"))
        .otherwise(pl.col("exclusion_reason")),
    )
    report = rows(channel_report(live, altered))
    for activity_id, row in report.items():
        mine = altered.filter(pl.col("activity_id") == activity_id)
        status = dict(mine.group_by("status").len().iter_rows())
        assert row["sent"] == status.get("sent", 0) + status.get("delivered", 0)
        assert row["delivered"] == status.get("delivered", 0)
        assert row["bounced"] == status.get("bounce", 0)
        assert row["errors"] == status.get("error", 0)
        reason = dict(
            mine.filter(pl.col("status") == "exclude")
            .group_by("exclusion_reason")
            .len()
            .iter_rows()
        )
        assert row["excluded_blocklisted"] == reason.get("blocklisted", 0)
        assert row["excluded_no_consent"] == reason.get("no_consent", 0)
        assert row["excluded"] == sum(reason.values())
    assert sum(r["excluded_blocklisted"] for r in report.values()) > 0
    assert sum(r["bounced"] for r in report.values()) > 0


def test_events_of_another_shape_are_refused(live: Execution) -> None:
    with pytest.raises(ajo.DataError, match="no column 'exclusion_reason'"):
        channel_report(
            live, pl.DataFrame({"execution_id": [], "activity_id": [], "status": []})
        )
