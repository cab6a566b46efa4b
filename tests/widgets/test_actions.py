"""Which buttons are enabled in each status, and what a click does."""

from __future__ import annotations

from typing import Any

import pytest

import ajo_workbench as ajo
from ajo_workbench.widgets import Workbench
from ajo_workbench.widgets.actions import ACTION_LABELS
from ajo_workbench.widgets.palette import colour

from .conftest import settle

WAIT = {"id": "hold", "type": "wait", "duration": "PT2H"}


def waiting_test(ws: ajo.Workspace, spring_sale: dict[str, Any]) -> ajo.Campaign:
    """A campaign whose test execution waits for the (simulated) clock."""
    document = {**spring_sale, "id": "held"}
    document["activities"] = [*spring_sale["activities"], WAIT]
    document["transitions"] = [
        {"id": "t1", "from": "members", "to": "hold"},
        {"id": "t2", "from": "hold", "to": "end"},
    ]
    document["activities"] = [
        a for a in document["activities"] if a["id"] in ("members", "hold", "end")
    ]
    campaign = ws.load_campaign(document)
    campaign.start().wait(timeout=60)
    return campaign


def in_status(
    status: str, ws: ajo.Workspace, spring_sale: dict[str, Any]
) -> ajo.Campaign:
    """The spring-sale campaign brought to a status (or a test state) by actions."""
    if status == "draft waiting":
        return waiting_test(ws, spring_sale)
    if status == "draft paused":
        campaign = waiting_test(ws, spring_sale)
        campaign.pause()
        return campaign
    if status == "draft with errors":
        broken = {**spring_sale, "id": "broken"}
        broken["activities"] = [
            {**a, "where": "no_such_column = 1"} if a["id"] == "members" else a
            for a in spring_sale["activities"]
        ]
        return ws.load_campaign(broken)
    schedules = {
        "scheduled": {"type": "once", "at": "2027-06-01T09:00:00+00:00"},
        "completed": {"type": "recurring", "cron": "0 9 * * 1", "timezone": "UTC"},
    }
    document = {**spring_sale, "schedule": schedules.get(status, {"type": "asap"})}
    campaign = ws.load_campaign(document)
    if status == "draft":
        return campaign
    live = campaign.publish()
    if live is not None:
        live.wait(60)  # its channel activities wait for Confirm send
    if status == "stopped":
        campaign.stop_campaign()
    if status == "archived":
        campaign.archive()
    if status == "completed":
        campaign.close()  # no execution runs, so it completes at once
    assert campaign.status == status.split()[0]
    return campaign


EXPECTED = {
    "draft": {"start", "restart", "publish", "duplicate", "delete"},
    "draft waiting": {"stop", "restart", "pause", "publish", "duplicate"},
    "draft paused": {"stop", "restart", "resume", "publish", "duplicate"},
    "draft with errors": {"duplicate", "delete"},
    "scheduled": {"back_to_draft", "stop_campaign", "archive", "duplicate"},
    "live": {"confirm_send", "pause", "stop_campaign", "archive", "duplicate"},
    "completed": {"archive", "duplicate"},
    "stopped": {"archive", "duplicate"},
    "archived": {"duplicate"},
}


@pytest.mark.parametrize("status", list(EXPECTED))
def test_enabled_buttons_per_status(
    status: str, sim_workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    campaign = in_status(status, sim_workspace, spring_sale)
    bench = Workbench(campaign)
    try:
        assert set(bench.actions.enabled()) == EXPECTED[status]
        available = campaign.available_actions()
        for action, button in bench.actions.buttons.items():
            reason = available[action]
            assert button.disabled == (reason is not None), action
            if reason is not None:
                assert button.tooltip == reason
    finally:
        bench.close()


def test_the_bar_has_every_lifecycle_action(bench: Workbench) -> None:
    assert list(bench.actions.buttons) == list(ACTION_LABELS)
    assert set(ACTION_LABELS) == set(bench.campaign.available_actions())
    labels = [b.description for b in bench.actions.children]
    assert labels[:3] == ["Start", "Stop", "Restart"]


def test_publish_is_greyed_out_while_errors_exist(
    sim_workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    bench = Workbench(in_status("draft with errors", sim_workspace, spring_sale))
    try:
        publish = bench.actions.buttons["publish"]
        assert publish.disabled
        assert publish.button_style == ""  # grey, not the blue of an allowed publish
        assert bench.actions.buttons["start"].button_style == ""
        assert "validation found" in publish.tooltip
        assert "no_such_column" in publish.tooltip
        assert bench.header.alerts_button.description.startswith("1 error(s)")
    finally:
        bench.close()


def test_clicking_start_runs_a_test_and_paints_the_canvas(bench: Workbench) -> None:
    bench.actions.buttons["start"].click()
    settle(bench)
    assert bench.execution is not None and bench.execution.state == "finished"
    assert set(bench.canvas.statuses.values()) == {"success"}
    assert bench.canvas.counts["t4"] == bench.execution.count("t4") > 0
    assert bench.canvas.look("t4")["label"] == f"big: {bench.canvas.counts['t4']}"
    assert bench.canvas.look("segments")["background-color"] == colour("success")
    assert bench.canvas.look("segments")["label"] == "Segments\n(done)"
    assert bench.canvas.nodes["segments"].classes == "targeting"
    assert bench.canvas.nodes["mail_big"].classes == "channel"
    assert bench.canvas.nodes["end"].classes == "flow"
    assert "success: 8" in bench.canvas.legend.value
    assert "execution: <b>finished</b>" in bench.header.title.value
    starts = bench.logs.source.filter(bench.logs.source["action"] == "start")
    assert starts.height == 2  # the campaign's action and the execution's start


def test_clicking_publish_makes_it_live(bench: Workbench) -> None:
    assert bench.actions.buttons["publish"].button_style == "primary"
    bench.actions.buttons["publish"].click()
    assert bench.campaign.status == "live"
    assert ">live<" in bench.header.title.value
    assert bench.actions.buttons["publish"].disabled
    assert bench.actions.buttons["publish"].button_style == ""
    assert not bench.actions.buttons["stop_campaign"].disabled


def test_clicking_duplicate_creates_a_draft(bench: Workbench) -> None:
    bench.actions.buttons["duplicate"].click()
    ws = bench.campaign.workspace
    assert ws.campaign("spring-sale-copy").status == "draft"
    assert "spring-sale-copy" in bench.notice.value


def test_delete_needs_a_second_click(bench: Workbench) -> None:
    delete = bench.actions.buttons["delete"]
    delete.click()
    assert bench.campaign.workspace.has_campaign("spring-sale")
    assert delete.description == "Click again to delete"
    delete.click()
    assert not bench.campaign.workspace.has_campaign("spring-sale")
    assert bench.deleted and bench.actions.enabled() == []
    assert "was deleted" in bench.notice.value


def test_a_refused_action_shows_why(bench: Workbench) -> None:
    bench.actions.buttons["stop"].click()  # disabled, but a click still arrives
    assert bench.errors.last is not None
    assert bench.errors.last.startswith("Stop refused:")
    assert "no test execution is running" in bench.errors.last
    assert bench.errors.layout.display is None


def test_confirm_send_needs_a_selected_activity(bench: Workbench) -> None:
    bench.actions.buttons["confirm_send"].click()
    assert bench.errors.last is not None
    assert "select the channel activity to confirm first" in bench.errors.last
