"""The Report tab: channel grid, Sankey chart and the comparison view."""

from __future__ import annotations

import copy
import re
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.reporting import channel_report, compare, funnel
from ajo_workbench.widgets import Workbench
from ajo_workbench.widgets.report import Report
from ajo_workbench.widgets.sankey import sankey_svg

from .conftest import settle

REPORT_TAB = 2


def opened(bench: Workbench) -> Workbench:
    bench.act("start")
    settle(bench)
    bench.tabs.selected_index = REPORT_TAB
    return bench


def test_the_report_shows_channels_and_flows(bench: Workbench) -> None:
    report = opened(bench).report
    run = bench.execution
    assert run is not None
    expected = channel_report(run, bench.campaign.workspace.feedback_events)
    assert report.channels.equals(expected)
    grid = report.channel_grid.data
    assert grid["activity_id"].tolist() == ["mail_big", "sms_fr", "push_rest"]
    assert grid["targeted"].tolist() == [run.count(t) for t in ("t4", "t5", "t6")]

    svg = report.sankey.value
    flows = funnel(run)
    carried = flows.filter(pl.col("count") > 0)
    assert svg.count('class="ajo-flow"') == carried.height == 9
    assert svg.count('class="ajo-node"') == len(run.definition.activities)
    assert f"t4: segments → mail_big: {run.count('t4'):,}" in svg


def test_bands_are_as_wide_as_their_counts(sale: ajo.Campaign) -> None:
    run = sale.start().wait(60)
    svg = sankey_svg(run.definition, funnel(run))
    widths = {
        tid: float(width)
        for tid, width in re.findall(
            r'data-transition="(\w+)"[^>]*stroke-width="([\d.]+)"', svg
        )
    }
    counts = {tid: run.count(tid) for tid in widths}
    ratio = widths["t1"] / counts["t1"]
    for tid, width in widths.items():
        assert width == pytest.approx(max(1.0, counts[tid] * ratio), abs=0.06)
    # the source's bar is as tall as the one band leaving it
    members = re.search(r'data-activity="members"[^>]*height="([\d.]+)"', svg)
    assert members is not None
    assert float(members.group(1)) == pytest.approx(widths["t1"], abs=0.06)
    empty = funnel(run).with_columns(count=pl.lit(0, pl.Int64))
    assert 'class="ajo-flow"' not in sankey_svg(run.definition, empty)


def test_comparing_with_an_earlier_execution(
    bench: Workbench, spring_sale: dict[str, Any]
) -> None:
    opened(bench)
    first = bench.execution
    document = copy.deepcopy(spring_sale)
    document["activities"][3]["subsets"][0]["where"] = "spend_90d >= 300"
    bench.campaign.update(document)
    bench.act("start")
    settle(bench)
    second = bench.execution
    assert first is not None and second is not None and first.id != second.id

    report = bench.report
    assert [value for _, value in report.against.options] == ["", first.id]
    report.against.value = first.id
    expected = compare(first, second)
    assert report.comparison is not None
    assert report.comparison.activities.equals(expected.activities)
    assert report.changed_count == expected.changed_profiles().height > 0
    assert f"<b>{report.changed_count:,}</b> profiles changed path" in (
        report.changed.value
    )
    deltas = report.deltas.data
    mail = deltas[deltas["activity_id"] == "mail_big"].iloc[0]
    assert int(mail["delta"]) == second.count("t4") - first.count("t4") > 0

    report.against.value = ""
    assert report.comparison is None and report.changed.value == ""


def test_a_comparison_without_kept_tables_says_why(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    document = copy.deepcopy(spring_sale)
    document["settings"]["keep_interim_results"] = False
    campaign = workspace.load_campaign(document)
    earlier = campaign.start().wait(60)
    bench = Workbench(campaign, refresh_interval=0.05)
    try:
        opened(bench)
        bench.report.against.value = earlier.id
        assert bench.report.changed_count is None
        assert "not available" in bench.report.changed.value
        assert "keep_interim_results" in bench.report.changed.value
        assert bench.errors.last is None
        assert bench.report.deltas.data["delta"].tolist() == [0] * 8
    finally:
        bench.close()


def test_a_failing_comparison_is_shown(
    bench: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened(bench)
    earlier = bench.execution
    bench.act("start")
    settle(bench)
    assert earlier is not None

    def broken(*args: Any) -> Any:
        raise RuntimeError("no comparison today")

    monkeypatch.setattr("ajo_workbench.widgets.report.compare", broken)
    bench.report.against.value = earlier.id
    assert bench.errors.last == "compare executions failed: no comparison today"


def test_a_live_execution_reports_its_deliveries(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    document = copy.deepcopy(spring_sale)
    for activity in document["activities"]:
        if activity["type"] in ("email", "sms", "push"):
            activity["send_confirmation"] = False
    campaign = workspace.load_campaign(document)
    bench = Workbench(campaign, refresh_interval=0.05)
    try:
        bench.act("publish")
        settle(bench)
        bench.tabs.selected_index = REPORT_TAB
        live = bench.execution
        assert live is not None and live.mode == "live" and live.state == "finished"
        events = workspace.feedback_events
        sent = events.filter(pl.col("status") == "sent").group_by("activity_id").len()
        grid = bench.report.channel_grid.data
        shown = dict(zip(grid["activity_id"], grid["sent"].astype(int), strict=True))
        assert shown == dict(sent.iter_rows())
    finally:
        bench.close()


def test_without_a_campaign_there_is_no_comparison(sale: ajo.Campaign) -> None:
    report = Report(sale.definition)
    assert report.comparing.layout.display == "none"
    run = sale.start().wait(60)
    report.show(run.tasks, run)
    assert report.channels["targeted"].to_list() == [
        run.count(t) for t in ("t4", "t5", "t6")
    ]
    assert report.channels["sent"].to_list() == [0, 0, 0]


def test_a_comparison_follows_the_shown_execution_to_its_end(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    document = copy.deepcopy(spring_sale)
    for activity in document["activities"]:
        if activity["id"] in ("sms_fr", "push_rest"):
            activity["send_confirmation"] = False
    campaign = workspace.load_campaign(document)
    tested = campaign.start().wait(60)
    bench = Workbench(campaign, refresh_interval=0.05)
    try:
        bench.act("publish")
        settle(bench)
        bench.tabs.selected_index = REPORT_TAB
        live = bench.execution
        assert live is not None and live.state == "waiting"
        assert live.awaiting == ("mail_big",)
        bench.report.against.value = tested.id
        # the thank-you mail is not sent yet: its profiles have not gone on to end
        assert bench.report.changed_count == tested.count("t7") > 0

        campaign.confirm_send("mail_big")
        settle(bench)
        assert live.state == "finished", live.error
        assert bench.report.changed_count == 0
        assert bench.report.against.value == tested.id
    finally:
        bench.close()
