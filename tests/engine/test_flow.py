"""Flow control under the simulated clock: wait, fork, and-join, test, alert."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo

FR = {"id": "fr", "type": "build_audience", "where": "country = 'FR'"}


def flow_campaign(**test_settings: Any) -> dict[str, Any]:
    """fr → fork(a, b); a → wait 2 days; b → split; both → and_join → test → ends."""
    return {
        "id": "flow",
        "variables": {"min_size": 10},
        "activities": [
            FR,
            {"id": "fork", "type": "fork", "branches": ["a", "b"]},
            {"id": "pause", "type": "wait", "duration": "P2D"},
            {"id": "gold", "type": "build_audience", "where": "loyalty_tier = 'gold'"},
            {"id": "join", "type": "and_join", "primary": "t3"},
            {
                "id": "size",
                "type": "test",
                "conditions": [
                    {"label": "big", "when": "count >= 100000"},
                    {"label": "enough", "when": "count >= min_size"},
                ],
                **test_settings,
            },
            {"id": "note", "type": "alert", "title": "Enough people"},
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "fr", "to": "fork"},
            {"id": "t2", "from": "fork", "port": "a", "to": "pause"},
            {"id": "t3", "from": "pause", "to": "join"},
            {"id": "t4", "from": "fork", "port": "b", "to": "gold"},
            {"id": "t5", "from": "gold", "to": "join"},
            {"id": "t6", "from": "join", "to": "size"},
            {"id": "t7", "from": "size", "port": "big", "to": "end"},
            {"id": "t8", "from": "size", "port": "enough", "to": "note"},
            {"id": "t9", "from": "note", "to": "end"},
        ],
    }


def test_a_two_day_wait_finishes_in_milliseconds(sim_workspace: ajo.Workspace) -> None:
    clock = sim_workspace.clock
    assert isinstance(clock, ajo.SimulatedClock)
    campaign = sim_workspace.load_campaign(flow_campaign())
    run = campaign.start().wait(30)

    assert run.state == "waiting"
    assert run.task_status("pause") == "running"
    assert run.task_status("gold") == "success"
    assert run.task_status("join") == "not_run"
    assert clock.pending == [datetime(2026, 12, 3, 9, tzinfo=UTC)]

    clock.advance(days=1)
    assert run.state == "waiting"
    started = time.perf_counter()
    clock.advance(days=1)
    assert time.perf_counter() - started < 5
    assert run.state == "finished"

    french = sim_workspace.table("profiles").filter(pl.col("country") == "FR").height
    assert run.count("t3") == run.count("t6") == french
    assert run.task_status("size") == "success"
    assert run.count("t7") == 0  # not taken: no table
    assert run.task_status("note") == "success"
    assert run.count("t8") == french
    alerts = [a for a in run.alerts if a.code == "ACTIVITY_ALERT"]
    assert [a.activity_id for a in alerts] == ["note"]
    released = run.tasks.filter(pl.col("activity_id") == "pause").row(0, named=True)
    assert released["ended_at"] == datetime(2026, 12, 3, 9, tzinfo=UTC)


def test_chained_waits_release_in_order(sim_workspace: ajo.Workspace) -> None:
    document = {
        "id": "chained",
        "activities": [
            FR,
            {"id": "w1", "type": "wait", "duration": "PT1H"},
            {"id": "w2", "type": "wait", "duration": "PT1H"},
            {"id": "w3", "type": "wait", "until": "2026-12-01T12:30:00+00:00"},
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "fr", "to": "w1"},
            {"id": "t2", "from": "w1", "to": "w2"},
            {"id": "t3", "from": "w2", "to": "w3"},
            {"id": "t4", "from": "w3", "to": "end"},
        ],
    }
    run = sim_workspace.load_campaign(document).start().wait(30)
    sim_workspace.clock.advance(days=1)
    assert run.state == "finished"
    ended = dict(run.tasks.select("activity_id", "ended_at").iter_rows())
    assert ended["w1"] == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert ended["w2"] == datetime(2026, 12, 1, 11, tzinfo=UTC)
    assert ended["w3"] == datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


def test_no_match_and_no_default_ends_the_branch(sim_workspace: ajo.Workspace) -> None:
    document = flow_campaign()
    document["variables"] = {"min_size": 10_000_000}
    run = sim_workspace.load_campaign(document).start().wait(30)
    sim_workspace.clock.advance(days=2)
    assert run.state == "finished"
    assert run.task_status("note") == "not_run"
    assert run.task_status("end") == "not_run"
    warnings = run.logs.filter(
        (pl.col("activity_id") == "size") & (pl.col("level") == "warning")
    )
    assert "no condition holds and there is no default" in warnings["message"][0]


def test_default_branch(sim_workspace: ajo.Workspace) -> None:
    document = flow_campaign(default=True)
    document["variables"] = {"min_size": 10_000_000}
    document["transitions"].append(
        {"id": "t10", "from": "size", "port": "default", "to": "end"}
    )
    run = sim_workspace.load_campaign(document).start().wait(30)
    sim_workspace.clock.advance(days=2)
    assert run.count("t10") == run.count("t6") > 0
    assert run.task_status("end") == "success"


def test_and_join_with_an_empty_branch_still_joins(
    sim_workspace: ajo.Workspace,
) -> None:
    document = flow_campaign()
    document["activities"][3]["where"] = "loyalty_tier = 'diamond'"
    run = sim_workspace.load_campaign(document).start().wait(30)
    sim_workspace.clock.advance(days=2)
    assert run.count("t5") == 0
    assert run.task_status("join") == "success"
    assert run.count("t6") == run.count("t3")


def test_pause_while_waiting_then_resume(sim_workspace: ajo.Workspace) -> None:
    campaign = sim_workspace.load_campaign(flow_campaign())
    run = campaign.start().wait(30)
    campaign.pause()
    assert run.state == "paused"
    sim_workspace.clock.advance(days=3)
    assert run.state == "paused"  # the wake-up found it paused
    campaign.resume()
    run.wait(30)
    assert run.state == "finished"
    actions = campaign.logs["action"].to_list()
    assert "pause" in actions and "resume" in actions


def test_stop_while_waiting_abandons_the_rest(sim_workspace: ajo.Workspace) -> None:
    campaign = sim_workspace.load_campaign(flow_campaign())
    run = campaign.start().wait(30)
    campaign.stop()
    assert run.state == "stopped"
    assert run.task_status("pause") == "abandoned"
    assert run.task_status("join") == "abandoned"
    assert run.task_status("gold") == "success"
    sim_workspace.clock.advance(days=3)
    assert run.state == "stopped"


def test_wait_on_the_real_clock(workspace: ajo.Workspace) -> None:
    document = {
        "id": "short",
        "activities": [
            FR,
            {"id": "w", "type": "wait", "duration": "PT1S"},
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "fr", "to": "w"},
            {"id": "t2", "from": "w", "to": "end"},
        ],
    }
    run = workspace.load_campaign(document).start().wait(30)
    assert run.state == "waiting"
    deadline = time.monotonic() + 30
    while run.state != "finished" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.state == "finished"
    assert run.count("t2") == run.count("t1")


def test_skip_empty_skips_the_branch(workspace: ajo.Workspace) -> None:
    document = {
        "id": "skip",
        "activities": [
            FR,
            {
                "id": "split",
                "type": "split",
                "skip_empty": True,
                "complement": True,
                "subsets": [
                    {"label": "none", "where": "loyalty_tier = 'diamond'"},
                    {"label": "gold", "where": "loyalty_tier = 'gold'"},
                ],
            },
            {"id": "mail", "type": "email", "subject": "s", "body": "b"},
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "fr", "to": "split"},
            {"id": "t2", "from": "split", "port": "none", "to": "mail"},
            {"id": "t3", "from": "split", "port": "gold", "to": "end"},
            {"id": "t4", "from": "mail", "to": "end"},
        ],
    }
    run = workspace.load_campaign(document).start().wait(30)
    assert run.state == "finished"
    assert run.task_status("mail") == "skipped"
    assert run.task_status("end") == "success"
    assert run.count("t2") == 0
    assert run.count("t3") > 0


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("count >= nope", "unknown name 'nope'"),
        ("count +", "condition"),
        ("count IN (SELECT 1 FROM profiles)", "can't read tables"),
    ],
)
def test_bad_test_conditions_are_validation_errors(
    workspace: ajo.Workspace, when: str, message: str
) -> None:
    document = flow_campaign()
    document["activities"][5]["conditions"][0]["when"] = when
    alerts = workspace.load_campaign(document).alerts
    bad = [a for a in alerts if a.activity_id == "size" and a.level == "error"]
    assert bad and message in bad[0].message


def test_execution_alerts_join_the_campaign_alerts(
    sim_workspace: ajo.Workspace,
) -> None:
    campaign = sim_workspace.load_campaign(flow_campaign())
    campaign.start().wait(30)
    sim_workspace.clock.advance(days=2)  # type: ignore[attr-defined]
    alerts = campaign.alerts
    assert [(a.code, a.level, a.activity_id) for a in alerts] == [
        ("TEST_NO_DEFAULT", "warning", "size"),
        ("ACTIVITY_ALERT", "warning", "note"),
    ]
    assert campaign.available_actions()["start"] is None
