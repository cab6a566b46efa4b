"""Scheduled, recurring and signal-triggered campaigns on the simulated clock."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.errors import SignalNotAcceptedError, SignalThrottledError

WHERE = "country = 'FR' AND loyalty_tier = 'platinum'"
FR = {"id": "fr", "type": "build_audience", "where": WHERE}
MAIL = {
    "id": "mail",
    "type": "email",
    "subject": "Hello {{ first_name }}",
    "body": "<p>{{ first_name }}, the {{ season }} news</p>",
    "sender": "shop@example.test",
}
END = {"id": "end", "type": "end"}


def document(schedule: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {
        "format": "ajo-workbench/campaign@1",
        "id": "news",
        "name": "News",
        "schedule": schedule,
        "settings": settings,
        "variables": {"season": "winter"},
        "activities": [FR, MAIL, END],
        "transitions": [
            {"id": "t1", "from": "fr", "to": "mail"},
            {"id": "t2", "from": "mail", "to": "end"},
        ],
    }


DAILY = {"type": "recurring", "cron": "0 9 * * *", "timezone": "Europe/Paris"}


def live_runs(campaign: ajo.Campaign) -> list[ajo.Execution]:
    return [e for e in campaign.executions if e.mode == "live"]


def clock_of(ws: ajo.Workspace) -> ajo.SimulatedClock:
    assert isinstance(ws.clock, ajo.SimulatedClock)
    return ws.clock


def test_a_week_of_a_daily_campaign_runs_seven_executions_in_order(
    sim_workspace: ajo.Workspace,
) -> None:
    campaign = sim_workspace.load_campaign(document(DAILY))
    preview = campaign.schedule_preview(3)
    assert [t.isoformat() for t in preview] == [
        "2026-12-02T09:00:00+01:00",
        "2026-12-03T09:00:00+01:00",
        "2026-12-04T09:00:00+01:00",
    ]
    assert campaign.publish() is None  # the first occurrence is tomorrow
    assert campaign.status == "live" and live_runs(campaign) == []
    assert campaign.available_actions()["back_to_draft"] is None  # none ran yet

    clock_of(sim_workspace).advance(days=7)
    runs = live_runs(campaign)
    assert len(runs) == 7
    assert all(run.state == "finished" for run in runs)
    occurrences = sim_workspace.database.query(
        "SELECT due_at, execution_id FROM occurrences ORDER BY due_at"
    )
    assert [row["execution_id"] for row in occurrences] == [run.id for run in runs]
    days = [datetime.fromisoformat(row["due_at"]).day for row in occurrences]
    assert days == [2, 3, 4, 5, 6, 7, 8]
    # Each occurrence has its own snapshot, tasks and work tables.
    assert len({run.id for run in runs}) == 7
    for run in runs:
        assert (sim_workspace.path / "snapshots" / run.id / "profiles.parquet").exists()
    # Recurring sends need no confirmation; every French profile is targeted once
    # per occurrence.
    events = sim_workspace.feedback_events
    targeted = sim_workspace.table("profiles").filter(
        (pl.col("country") == "FR") & (pl.col("loyalty_tier") == "platinum")
    )
    assert events.height == 7 * targeted.height > 0
    assert campaign.status == "live"  # no end: more occurrences to come
    assert len(campaign.schedule_preview(1)) == 1


def test_close_lets_the_running_one_finish_then_completes(
    sim_workspace: ajo.Workspace,
) -> None:
    campaign = sim_workspace.load_campaign(document(DAILY))
    campaign.publish()
    clock_of(sim_workspace).advance(days=2)
    assert len(live_runs(campaign)) == 2
    with pytest.raises(ajo.LifecycleError, match="paused on an error"):
        campaign.back_to_draft()
    campaign.close()
    assert campaign.status == "completed"  # nothing was running
    clock_of(sim_workspace).advance(days=3)
    assert len(live_runs(campaign)) == 2  # no new occurrences


def test_stop_campaign_ends_the_schedule(sim_workspace: ajo.Workspace) -> None:
    campaign = sim_workspace.load_campaign(document(DAILY))
    campaign.publish()
    clock_of(sim_workspace).advance(days=1)
    campaign.stop_campaign()
    clock_of(sim_workspace).advance(days=3)
    assert campaign.status == "stopped" and len(live_runs(campaign)) == 1


def test_a_validity_window_ends_in_completed(sim_workspace: ajo.Workspace) -> None:
    window = {**DAILY, "start": "2026-12-03T00:00:00+01:00"}
    window["end"] = "2026-12-05T23:00:00+01:00"
    campaign = sim_workspace.load_campaign(document(window))
    campaign.publish()
    assert campaign.status == "scheduled"
    campaign.back_to_draft()  # allowed before the first occurrence
    campaign.publish()
    clock_of(sim_workspace).advance(days=10)
    runs = live_runs(campaign)
    assert [r.state for r in runs] == ["finished"] * 3  # the 3rd, 4th and 5th
    assert campaign.status == "completed"


def test_a_one_shot_schedule_waits_for_its_time_and_confirmation(
    sim_workspace: ajo.Workspace,
) -> None:
    once = {"type": "once", "at": "2026-12-01T18:00:00+01:00"}
    campaign = sim_workspace.load_campaign(document(once))
    assert campaign.publish() is None
    assert campaign.status == "scheduled"
    clock_of(sim_workspace).advance(hours=7)
    assert campaign.status == "scheduled"  # 17:00 in Paris: not yet
    clock_of(sim_workspace).advance(hours=1)
    assert campaign.status == "live"
    (live,) = live_runs(campaign)
    assert live.awaiting == ("mail",)  # a one-shot campaign waits for Confirm send
    campaign.confirm_send("mail")
    live.wait(60)
    assert campaign.status == "completed"


def test_a_once_time_already_passed_runs_at_publication(
    sim_workspace: ajo.Workspace,
) -> None:
    once = {"type": "once", "at": "2026-12-01T08:00:00+00:00"}
    campaign = sim_workspace.load_campaign(document(once, send_confirmation=False))
    assert [a.code for a in campaign.alerts] == ["SCHEDULE_PAST"]
    live = campaign.publish()
    assert live is not None and live.state == "finished"
    assert campaign.status == "completed"


def test_missed_occurrences_are_recorded_not_run(sim_workspace: ajo.Workspace) -> None:
    campaign = sim_workspace.load_campaign(document(DAILY))
    campaign.publish()
    # A process that did not follow the clock: three days pass unseen.
    other = ajo.Workspace(
        sim_workspace.path, clock=ajo.SimulatedClock("2026-12-04T10:00:00+00:00")
    )
    started = other.scheduler.run_due()
    assert len(started) == 1
    outcomes = other.database.query("SELECT outcome FROM occurrences ORDER BY due_at")
    assert [row["outcome"] for row in outcomes] == ["missed", "missed", "started"]
    assert other.scheduler.run_due() == []  # claimed already


SIGNALLED = {
    "type": "signal",
    "parameters": [
        {"name": "season", "type": "string", "test_value": "spring"},
        {"name": "limit", "type": "int", "test_value": 3},
    ],
}


def test_a_test_execution_waits_for_a_signal_with_test_values(
    sim_workspace: ajo.Workspace,
) -> None:
    campaign = sim_workspace.load_campaign(document(SIGNALLED))
    run = campaign.start().wait(60)
    assert run.state == "waiting" and run.awaits_signal
    assert run.task_status("fr") == "not_run"
    campaign.signal({"limit": "5"})
    run.wait(60)
    assert run.state == "finished", run.error
    assert run.variables["season"] == "spring" and run.variables["limit"] == 5
    root = run.tasks.filter(pl.col("activity_id") == "fr")["variables"][0]
    assert json.loads(root) == {"season": "spring", "limit": 5}
    message = run.simulate("mail", [run.frame("t1")["profile_id"][0]])
    assert "the spring news" in message["body"][0]
    # Test signals are never throttled: a new test takes another one at once.
    again = campaign.restart().wait(60)
    campaign.signal()
    assert again.wait(60).state == "finished"
    campaign.restart().wait(60)
    with pytest.raises(SignalNotAcceptedError, match="limit"):
        campaign.signal({"limit": "many"})


def test_live_signals_start_executions_at_most_once_per_interval(
    sim_workspace: ajo.Workspace,
) -> None:
    definition = document(
        {**SIGNALLED, "min_interval": "PT2H"}, send_confirmation=False
    )
    campaign = sim_workspace.load_campaign(definition)
    assert campaign.publish() is None
    first = campaign.signal({"season": "summer", "limit": 1}).wait(60)
    assert first.state == "finished" and first.variables["season"] == "summer"
    with pytest.raises(SignalThrottledError) as throttled:
        campaign.signal({"season": "autumn", "limit": 1})
    assert throttled.value.retry_after == pytest.approx(7200)
    clock_of(sim_workspace).advance(hours=2)
    second = campaign.signal({"season": "autumn", "limit": 1}).wait(60)
    assert second.state == "finished" and second.id != first.id
    clock_of(sim_workspace).advance(hours=2)
    with pytest.raises(SignalNotAcceptedError, match="colour"):
        campaign.signal({"colour": "red"})
    assert sim_workspace.trigger("news", {"season": "x", "limit": 2})
    with pytest.raises(ajo.WorkbenchError, match="no campaign"):
        sim_workspace.trigger("nope", {})


def test_an_end_activity_signals_a_downstream_campaign(
    sim_workspace: ajo.Workspace,
) -> None:
    downstream = sim_workspace.load_campaign(
        {**document(SIGNALLED, send_confirmation=False), "id": "follow-up"}
    )
    downstream.publish()
    upstream = document({"type": "asap"}, send_confirmation=False)
    upstream["activities"] = [
        FR,
        MAIL,
        {
            "id": "end",
            "type": "end",
            "signal": {
                "campaign": "follow-up",
                "variables": {"season": "spring", "limit": 9},
            },
        },
    ]
    upstream["id"] = "opener"
    campaign = sim_workspace.load_campaign(upstream)
    test = campaign.start().wait(60)
    assert test.state == "finished"
    assert live_runs(downstream) == []  # a test only says what it would do
    assert "would signal campaign 'follow-up'" in " ".join(test.logs["message"])
    live = campaign.publish()
    assert live is not None
    live.wait(60)
    (triggered,) = live_runs(downstream)
    triggered.wait(60)
    assert triggered.variables["limit"] == 9 and triggered.state == "finished"


def test_templates_may_use_the_signal_parameters(sim_workspace: ajo.Workspace) -> None:
    coupon = {**MAIL, "subject": "Your {{ coupon }}"}
    definition = document(
        {
            "type": "signal",
            "parameters": [{"name": "coupon", "type": "string", "test_value": "C1"}],
        }
    )
    definition["activities"] = [FR, coupon, END]
    campaign = sim_workspace.load_campaign(definition)
    assert [a for a in campaign.alerts if a.level == "error"] == []
    run = campaign.start().wait(60)
    campaign.signal({"coupon": "WINTER-10"})
    run.wait(60)
    shown = run.simulate("mail", [run.frame("t1")["profile_id"][0]])
    assert shown["subject"][0] == "Your WINTER-10"


def with_a_wait(schedule: dict[str, Any]) -> dict[str, Any]:
    definition = document(schedule)
    definition["activities"] = [
        FR,
        {"id": "pause", "type": "wait", "duration": "PT2H"},
        MAIL,
        END,
    ]
    definition["transitions"] = [
        {"id": "t1", "from": "fr", "to": "pause"},
        {"id": "t2", "from": "pause", "to": "mail"},
        {"id": "t3", "from": "mail", "to": "end"},
    ]
    return definition


def test_close_during_an_execution_lets_it_finish_then_completes(
    sim_workspace: ajo.Workspace,
) -> None:
    campaign = sim_workspace.load_campaign(with_a_wait(DAILY))
    campaign.publish()
    clock_of(sim_workspace).advance(hours=23, minutes=30)  # 08:30 UTC on the 2nd
    (running,) = live_runs(campaign)
    assert running.state == "waiting"  # in its two-hour wait
    campaign.close()
    assert campaign.status == "closed"
    clock_of(sim_workspace).advance(hours=2)
    assert running.state == "finished"
    assert campaign.status == "completed"
    clock_of(sim_workspace).advance(days=2)
    assert len(live_runs(campaign)) == 1  # closed: no new occurrences


def test_stop_campaign_during_an_execution_stops_it(
    sim_workspace: ajo.Workspace,
) -> None:
    campaign = sim_workspace.load_campaign(with_a_wait(DAILY))
    campaign.publish()
    clock_of(sim_workspace).advance(hours=23, minutes=30)
    (running,) = live_runs(campaign)
    campaign.stop_campaign()
    assert running.state == "stopped" and campaign.status == "stopped"
    assert running.task_status("mail") == "abandoned"
    clock_of(sim_workspace).advance(days=2)
    assert len(live_runs(campaign)) == 1
    assert sim_workspace.feedback_events.height == 0  # nothing was sent


def test_incremental_queries_read_only_new_rows_per_occurrence(
    sim_workspace: ajo.Workspace,
) -> None:
    definition = document(DAILY)
    definition["activities"] = [
        {
            "id": "new",
            "type": "incremental_query",
            "dimension": "purchases",
            "where": "amount >= 0",
            "processed_field": "purchase_id",
        },
        END,
    ]
    definition["transitions"] = [{"id": "t1", "from": "new", "to": "end"}]
    campaign = sim_workspace.load_campaign(definition)
    campaign.publish()
    clock_of(sim_workspace).advance(days=1)
    purchases = sim_workspace.table("purchases")
    first = live_runs(campaign)[0]
    assert first.count("t1") == purchases.height  # all rows, the first time

    newer = purchases.head(5).with_columns(
        pl.col("purchase_id") + purchases["purchase_id"].max()
    )
    sim_workspace.import_table(
        "purchases",
        pl.concat([purchases, newer]),
        key="purchase_id",
        links={"profile_id": "profiles", "product_id": "products"},
    )
    clock_of(sim_workspace).advance(days=2)
    second, third = live_runs(campaign)[1:]
    assert second.count("t1") == 5  # only the rows added since
    assert third.count("t1") == 0


def test_no_next_occurrences_once_closed_or_stopped(
    sim_workspace: ajo.Workspace,
) -> None:
    campaign = sim_workspace.load_campaign(document(DAILY))
    campaign.publish()
    assert len(campaign.schedule_preview(2)) == 2
    campaign.close()
    assert campaign.status == "completed" and campaign.schedule_preview(2) == []


def test_test_conditions_read_the_signal_variables(
    sim_workspace: ajo.Workspace,
) -> None:
    definition = document(SIGNALLED)
    definition["activities"] = [
        FR,
        {
            "id": "enough",
            "type": "test",
            "conditions": [{"label": "many", "when": "limit >= 3"}],
            "default": True,
        },
        MAIL,
        END,
    ]
    definition["transitions"] = [
        {"id": "t1", "from": "fr", "to": "enough"},
        {"id": "t2", "from": "enough", "port": "many", "to": "mail"},
        {"id": "t3", "from": "enough", "port": "default", "to": "end"},
        {"id": "t4", "from": "mail", "to": "end"},
    ]
    campaign = sim_workspace.load_campaign(definition)
    counts = {}
    for limit in (5, 1):
        run = campaign.restart().wait(60)
        campaign.signal({"limit": limit})
        run.wait(60)
        counts[limit] = (run.count("t2"), run.count("t3"))
    reached = counts[5][0]
    assert reached > 0 and counts == {5: (reached, 0), 1: (0, reached)}
