"""Selection, previews, the error boundary and live updates of the workbench."""

from __future__ import annotations

import json
import logging
import time
from html import escape
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.widgets import Workbench
from ajo_workbench.widgets.palette import colour

from .conftest import settle


@pytest.fixture
def ran(bench: Workbench) -> Workbench:
    """The workbench after a finished test execution."""
    bench.act("start")
    settle(bench)
    return bench


def test_the_public_name_is_the_widget(sale: ajo.Campaign) -> None:
    bench = ajo.Workbench(sale)
    try:
        assert isinstance(bench, Workbench)
        assert repr(bench) == "<Workbench 'spring-sale'>"
    finally:
        bench.close()


def test_selecting_an_activity_filters_logs_and_tasks(ran: Workbench) -> None:
    ran.canvas.node_clicked({"data": {"id": "segments"}, "group": "nodes"})
    assert ran.selected == ("activity", "segments")
    assert ran.logs.activity.value == "segments"
    assert ran.tasks.activity.value == "segments"
    assert set(ran.logs.shown["activity_id"].to_list()) == {"segments"}
    ran.tabs.selected_index = 1  # the Tasks tab is filled when it is opened
    assert ran.tasks.shown["activity_id"].to_list() == ["segments"]
    assert ran.canvas.look("segments")["border-width"] == 4  # outlined
    assert "border-width" not in ran.canvas.look("dedup")
    ran.select("transition", "t3")
    assert ran.canvas.look("t3")["width"] == 3 and "border-width" not in (
        ran.canvas.look("segments")
    )
    ran.select("activity", "segments")
    details = ran.properties.details.value
    assert "task status" in details and "output big" in details
    assert "spend_90d &gt;= 500" in details  # its settings

    ran.clear_selection()
    assert ran.logs.activity.value == "(all)"
    assert ran.tasks.shown.height == 8


def test_logs_search_level_time_and_columns(ran: Workbench) -> None:
    logs = ran.logs
    logs.search.value = "START BY"
    assert logs.shown.height == 1 and logs.shown["action"].to_list() == ["start"]
    logs.search.value = ""
    logs.level.value = "info"
    assert set(logs.shown["level"].to_list()) == {"info"}
    logs.level.value = "(all)"
    logs.since.value = "2999-01-01"
    assert logs.shown.height == 0
    logs.since.value = ""
    first = logs.source["time"][0]
    logs.until.value = first[:19]
    assert logs.shown.height >= 1
    assert all(t <= first[:19] + "~" for t in logs.shown["time"].to_list())
    logs.until.value = ""
    logs.columns.value = ["message", "time"]
    assert logs.shown.columns == ["message", "time"]
    assert list(logs.grid.data.columns) == ["message", "time"]


def test_selecting_a_transition_pages_its_rows(ran: Workbench) -> None:
    ran.canvas.edge_clicked({"data": {"id": "t3"}, "group": "edges"})
    assert ran.selected == ("transition", "t3")
    pane = ran.properties
    total = ran.execution.count("t3") if ran.execution else 0
    pane.results_button.click()
    assert len(pane.grid.data) == 20
    assert pane.page_label.value == f"page 1 of {-(-total // 20)} ({total:,} rows)"
    assert "first_name" in pane.grid.data.columns  # attributes joined
    assert pane.previous_button.disabled and not pane.next_button.disabled
    pane.next_button.click()
    assert pane.page == 1 and len(pane.grid.data) == 20
    assert pane.grid.data.index.tolist()[0] == 20  # rows keep their place
    last = pane.preview.pages - 1 if pane.preview else 0
    pane.show_page(last)
    assert len(pane.grid.data) == total - 20 * last
    assert pane.next_button.disabled
    pane.next_button.click()  # beyond the last page: refused, shown
    assert ran.errors.last is not None and "does not exist" in ran.errors.last


def test_only_one_page_is_sent_to_the_browser(
    ran: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    def whole(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the preview read the whole table")

    assert ran.execution is not None
    monkeypatch.setattr(ran.execution, "frame", whole)
    ran.select("transition", "t1")
    ran.properties.results_button.click()
    sent = ran.properties.grid._data["data"]
    assert len(sent) == 20 < (ran.execution.count("t1") if ran.execution else 0)


def test_preview_schema_lists_columns_types_nulls_samples(ran: Workbench) -> None:
    ran.select("transition", "t4")
    ran.properties.schema_button.click()
    grid = ran.properties.grid.data
    assert list(grid.columns) == ["column", "type", "nulls", "sample"]
    assert "spend_90d" in grid["column"].tolist()
    phone = grid[grid["column"] == "phone"].iloc[0]
    assert phone["type"] == "String" and int(phone["nulls"]) >= 0


def test_a_transition_before_any_run_says_so(bench: Workbench) -> None:
    bench.select("transition", "t1")
    assert "run a test execution first" in bench.properties.details.value
    bench.properties.results_button.click()
    assert bench.errors.last is not None
    assert "select a transition that carries a table" in bench.errors.last


def test_report_counts_durations_and_chart(ran: Workbench) -> None:
    ran.tabs.selected_index = 2
    report = ran.report.frame
    assert report["activity_id"].to_list()[0] == "members"
    segments = report.row(by_predicate=pl.col("activity_id") == "segments", named=True)
    assert ran.execution is not None
    assert segments["input"] == ran.execution.count("t3")
    assert segments["output"] == sum(ran.execution.count(t) for t in ("t4", "t5", "t6"))
    mail = report.row(by_predicate=pl.col("activity_id") == "mail_big", named=True)
    assert mail["excluded"] == mail["input"] - mail["output"]
    assert report["duration_s"].null_count() == 0
    assert ran.report.chart.value.count('class="ajo-bar"') == 8
    assert f">{ran.execution.count('t3'):,}<" in ran.report.chart.value


def test_clicking_an_alert_selects_its_activity(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    broken = {**spring_sale}
    broken["activities"] = [
        {**a, "where": "no_such_column = 1"} if a["id"] == "members" else a
        for a in spring_sale["activities"]
    ]
    bench = Workbench(workspace.load_campaign(broken))
    try:
        bench.header.alerts_button.click()
        assert bench.header.alerts_list.layout.display is None
        first = bench.header.alerts_list.children[0]
        assert "no_such_column" in first.description
        first.click()
        assert bench.selected == ("activity", "members")
    finally:
        bench.close()


def test_an_exception_in_a_callback_is_shown_logged_and_survived(
    bench: Workbench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(bench.campaign, "start", broken)
    with caplog.at_level(logging.ERROR, logger="ajo_workbench.widgets"):
        bench.actions.buttons["start"].click()
    assert bench.errors.last == "Start failed: the disk is full"
    assert "the disk is full" in bench.errors.value
    records = [r for r in caplog.records if r.name == "ajo_workbench.widgets.boundary"]
    assert records and records[0].exc_info is not None
    assert records[0].getMessage() == "Start failed"

    monkeypatch.undo()
    bench.actions.buttons["start"].click()  # still usable
    settle(bench)
    assert bench.errors.last is None and bench.errors.layout.display == "none"
    assert bench.execution is not None and bench.execution.state == "finished"


def test_a_bad_canvas_event_is_shown(bench: Workbench) -> None:
    bench.canvas.graph._handle_interaction(
        None, {"widget": "node", "event": "click", "data": {"data": {"id": "nope"}}}, []
    )
    assert bench.errors.last is not None
    assert bench.errors.last.startswith("click on an activity failed")
    assert "nope" in bench.errors.last


def big_canvas(size: int) -> dict[str, Any]:
    """A chain of ``size`` activities: an audience, filters, and an end."""
    activities = [{"id": "a0", "type": "build_audience", "where": "country = 'FR'"}]
    for i in range(1, size - 1):
        activities.append(
            {"id": f"a{i}", "type": "build_audience", "where": f"profile_id > {i}"}
        )
    activities.append({"id": "end", "type": "end"})
    transitions = [
        {"id": f"t{i}", "from": activities[i - 1]["id"], "to": activities[i]["id"]}
        for i in range(1, size)
    ]
    return {"id": "big", "activities": activities, "transitions": transitions}


def test_a_200_activity_canvas_refreshes_in_batches(workspace: ajo.Workspace) -> None:
    campaign = workspace.load_campaign(big_canvas(200))
    started = time.perf_counter()
    bench = Workbench(campaign, refresh_interval=0.2)
    built = time.perf_counter() - started
    notifications: list[int] = []
    workspace.on_execution(lambda run: run.on_change(lambda _: notifications.append(1)))
    try:
        bench.act("start")
        assert bench.execution is not None
        settle(bench)
        assert set(bench.canvas.statuses.values()) == {"success"}
        assert bench.canvas.counts["t199"] == bench.execution.count("t199")
        assert bench.canvas.look("t199")["label"] == f"{bench.canvas.counts['t199']:,}"
        assert len(notifications) >= 200
        assert bench.throttle.applied < len(notifications) / 4
        started = time.perf_counter()
        bench.refresh()
        assert time.perf_counter() - started < 1.0
        assert built < 5.0
    finally:
        bench.close()


def slow_down(run: ajo.Execution) -> None:
    """Make each task of an execution take a little longer (a slow data source)."""
    run.on_change(lambda _: time.sleep(0.01))


def test_stop_works_while_it_runs(workspace: ajo.Workspace) -> None:
    campaign = workspace.load_campaign(big_canvas(200))
    workspace.on_execution(slow_down)
    bench = Workbench(campaign, refresh_interval=0.05)
    try:
        bench.act("start")
        deadline = time.monotonic() + 30
        while "success" not in bench.canvas.statuses.values():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert not bench.actions.buttons["stop"].disabled
        bench.actions.buttons["stop"].click()
        settle(bench)
        assert bench.errors.last is None
        assert bench.execution is not None and bench.execution.state == "stopped"
        statuses = set(bench.canvas.statuses.values())
        assert "abandoned" in statuses and "success" in statuses
        assert "execution: <b>stopped</b>" in bench.header.title.value
        assert not bench.actions.buttons["start"].disabled
    finally:
        bench.close()


def test_a_failing_live_refresh_is_shown(
    ran: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(execution: Any) -> int:
        raise RuntimeError("the canvas is gone")

    monkeypatch.setattr(ran.canvas, "show", broken)
    ran.throttle.mark()
    ran.throttle.flush()
    assert ran.errors.last == "live refresh failed: the canvas is gone"


def test_only_the_visible_tab_is_refreshed(ran: Workbench) -> None:
    assert ran.tasks.source.height == 0 and ran.report.frame["input"].null_count() == 8
    ran.tabs.selected_index = 1
    assert ran.tasks.source.height == 8
    ran.act("start")
    settle(ran)
    assert ran.execution is not None
    assert set(ran.tasks.source["execution_id"].to_list()) == {ran.execution.id}


def test_a_closed_workbench_follows_nothing(sale: ajo.Campaign) -> None:
    listeners = sale.workspace.execution_listeners
    before = len(listeners)
    bench = Workbench(sale)
    assert len(listeners) == before + 1
    bench.close()
    assert len(listeners) == before
    applied = bench.throttle.applied
    sale.start().wait(timeout=60)
    time.sleep(0.3)
    assert bench.throttle.applied == applied and bench.execution is None


def test_a_failing_task_turns_red_and_raises_an_alert(
    bench: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ajo_workbench.activities import RUNNERS

    end = RUNNERS["end"]

    def broken(context: Any) -> Any:
        if context.dry_run:  # validation still passes
            return end(context)
        raise RuntimeError("the end is broken")

    monkeypatch.setitem(RUNNERS, "end", broken)
    bench.act("start")
    settle(bench)
    assert bench.execution is not None and bench.execution.state == "paused"
    assert bench.canvas.look("end")["background-color"] == colour("error")
    assert bench.canvas.look("end")["label"] == "end\n(error)"
    assert bench.canvas.look("push_rest")["background-color"] == colour("success")
    assert bench.header.alerts_button.description == "1 error(s) · 0 warning(s)"
    assert "the end is broken" in bench.header.alerts_list.children[0].description
    assert {"resume", "stop"} <= set(bench.actions.enabled())
    assert "error: 1" in bench.canvas.legend.value


def test_a_broken_canvas_is_shown_with_its_alerts(workspace: ajo.Workspace) -> None:
    from .test_layout import broken_shape

    bench = Workbench(workspace.load_campaign(broken_shape()))
    try:
        assert set(bench.canvas.nodes) == {"a", "b", "c", "end"}
        assert set(bench.canvas.edges) == {"t1", "t2", "t3", "t4"}  # not t5
        codes = {alert.code for alert in bench.header.alerts}
        assert {"CYCLE", "DANGLING_TRANSITION"} <= codes
        assert bench.actions.enabled() == ["duplicate", "delete"]
        dangling = next(
            b for b in bench.header.alerts_list.children if "t5" in b.description
        )
        dangling.click()
        assert bench.selected == ("transition", "t5")
        assert bench.errors.last is None
    finally:
        bench.close()


def test_a_channel_activity_offers_confirm_send(bench: Workbench) -> None:
    confirm = bench.properties.confirm_button
    bench.select("activity", "mail_big")
    assert confirm.layout.display is None and confirm.disabled
    assert confirm.tooltip == "the campaign is draft; confirm_send needs: closed, live"
    confirm.click()  # refused: shown, and the refusal is in the campaign's log
    assert bench.errors.last is not None
    assert bench.errors.last.startswith("Confirm send refused: ")
    refusals = bench.campaign.logs.filter(pl.col("action") == "confirm_send")
    assert refusals["level"].to_list() == ["warning"]
    bench.select("activity", "segments")
    assert confirm.layout.display == "none"


def test_simulate_content_shows_the_message_for_chosen_profiles(
    ran: Workbench,
) -> None:
    pane = ran.properties
    ran.select("activity", "mail_big")
    assert pane.simulate_box.layout.display is None
    run = ran.campaign.latest_execution()
    assert run is not None
    chosen = run.frame("t4")["profile_id"].head(2).to_list()
    pane.simulate_input.value = ", ".join(str(k) for k in chosen)
    pane.simulate_button.click()
    assert ran.errors.last is None
    shown = pane.simulation.value
    assert shown.count('class="ajo-simulation"') == 2
    assert "<iframe sandbox=" in shown  # the HTML body can't run scripts
    expected = run.simulate("mail_big", chosen)
    for subject in expected["subject"].to_list():
        assert subject in shown

    outsider = run.frame("t6")["profile_id"][0]
    pane.simulate_input.value = str(outsider)
    pane.simulate_button.click()  # refused: shown in the workbench
    assert ran.errors.last is not None and "did not reach 'mail_big'" in (
        ran.errors.last
    )
    pane.simulate_input.value = ""  # no keys: the first three of the population
    pane.simulate_button.click()
    assert pane.simulation.value.count('class="ajo-simulation"') == 3
    first = run.simulate("mail_big")
    assert (
        first["profile_id"].to_list() == run.frame("t4")["profile_id"].head(3).to_list()
    )
    for address in first["address"].to_list():
        assert f"<td>{escape(address or '(no address)')}</td>" in pane.simulation.value
    ran.refresh()  # what a live refresh does: the messages stay on screen
    assert pane.simulation.value.count('class="ajo-simulation"') == 3
    ran.select("activity", "sms_fr")  # another activity: its own, none yet
    assert pane.simulation.value == ""
    ran.select("transition", "t4")
    assert pane.simulate_box.layout.display == "none"


def test_the_header_lists_the_next_occurrences(sim_workspace: ajo.Workspace) -> None:
    path = Path(__file__).parents[2] / "examples" / "spring-sale.json"
    document = json.loads(path.read_text())
    document["schedule"] = {
        "type": "recurring",
        "cron": "0 9 * * 1",
        "timezone": "Europe/Paris",
    }
    bench = Workbench(sim_workspace.load_campaign(document))
    try:
        header = bench.header.title.value
        assert "recurring: 0 9 * * 1 (Europe/Paris)" in header
        assert "next: 2026-12-07 09:00 +0100, 2026-12-14 09:00 +0100" in header
    finally:
        bench.close()
