"""Executions: background runs, states, Stop, Restart, Resume and error policies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.engine import Execution

Chain = Callable[..., dict[str, Any]]
AUDIENCE = {"id": "all", "type": "build_audience", "where": "country = 'FR'"}
CODES = {
    "id": "codes",
    "type": "build_audience",
    "where": "profile_id IN (SELECT CAST(code AS INT) FROM codes)",
}
END = {"id": "end", "type": "end"}


def import_codes(ws: ajo.Workspace, codes: list[str]) -> None:
    ws.import_table("codes", pl.DataFrame({"code": codes}), key="code")


def test_start_returns_at_once_and_wait_blocks(
    workspace: ajo.Workspace, chain: Chain
) -> None:
    campaign = workspace.load_campaign(chain(AUDIENCE, END))
    run = campaign.start()
    assert isinstance(run, Execution)
    assert run.wait(60) is run
    assert run.state == "finished"
    assert (
        run.count("t1")
        == workspace.table("profiles").filter(pl.col("country") == "FR").height
    )


def test_suspend_pauses_on_error_and_resume_continues(
    workspace: ajo.Workspace, chain: Chain
) -> None:
    import_codes(workspace, ["1", "2", "x"])
    campaign = workspace.load_campaign(chain(AUDIENCE, CODES, END))

    run = campaign.start().wait(60)
    assert run.state == "paused"
    assert run.task_status("all") == "success"
    assert run.task_status("codes") == "error"
    assert run.task_status("end") == "not_run"
    assert "conversion from `str`" in (run.error or "")
    with pytest.raises(ajo.LifecycleError, match="already paused"):
        campaign.start()

    french = workspace.table("profiles").filter(pl.col("country") == "FR")
    import_codes(workspace, [str(i) for i in french["profile_id"].head(3)])
    before = run.tasks.filter(pl.col("activity_id") == "all")["ended_at"][0]
    campaign.resume()
    run.wait(60)
    assert run.state == "finished"
    assert run.count("t2") == 3
    after = run.tasks.filter(pl.col("activity_id") == "all")["ended_at"][0]
    assert after == before  # the finished task was not run again


def test_abort_fails_and_abandons_the_rest(
    workspace: ajo.Workspace, chain: Chain
) -> None:
    import_codes(workspace, ["x"])
    campaign = workspace.load_campaign(
        chain(AUDIENCE, CODES, END, error_policy="abort")
    )
    run = campaign.start().wait(60)
    assert run.state == "failed"
    assert [run.task_status(a) for a in ("all", "codes", "end")] == [
        "success",
        "error",
        "abandoned",
    ]


def test_ignore_goes_on_with_other_branches(
    workspace: ajo.Workspace, chain: Chain
) -> None:
    import_codes(workspace, ["x"])
    document = {
        "id": "branches",
        "settings": {"error_policy": "ignore"},
        "activities": [
            AUDIENCE,
            {"id": "fork", "type": "fork", "branches": ["a", "b"]},
            {**CODES, "id": "bad", "where": CODES["where"]},
            {"id": "good", "type": "build_audience", "where": "city IS NOT NULL"},
            END,
        ],
        "transitions": [
            {"id": "t1", "from": "all", "to": "fork"},
            {"id": "t2", "from": "fork", "port": "a", "to": "bad"},
            {"id": "t3", "from": "fork", "port": "b", "to": "good"},
            {"id": "t4", "from": "bad", "to": "end"},
            {"id": "t5", "from": "good", "to": "end"},
        ],
    }
    run = workspace.load_campaign(document).start().wait(60)
    assert run.state == "finished"
    assert run.task_status("bad") == "error"
    assert run.task_status("good") == "success"
    assert run.task_status("end") == "abandoned"
    assert run.count("t5") > 0


def test_stop_between_tasks_keeps_finished_tables(
    workspace: ajo.Workspace, chain: Chain
) -> None:
    campaign = workspace.load_campaign(chain(AUDIENCE, dict(AUDIENCE, id="again"), END))
    reached, release = threading.Event(), threading.Event()

    def hold_after_first_task(execution: Execution) -> None:
        if execution.task_status("all") == "success" and not reached.is_set():
            reached.set()
            release.wait(30)

    workspace.on_execution(lambda e: e.on_change(hold_after_first_task))
    run = campaign.start()
    assert reached.wait(30)
    stopper = threading.Thread(target=campaign.stop)
    stopper.start()
    deadline = time.monotonic() + 30
    while not run.stopping and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    stopper.join(30)

    assert run.state == "stopped"
    assert run.task_status("all") == "success"
    assert run.task_status("again") == "abandoned"
    assert run.frame("t1").height == run.count("t1") > 0
    with pytest.raises(ajo.LifecycleError, match="no test execution is running"):
        campaign.stop()


def test_restart_runs_a_fresh_execution(workspace: ajo.Workspace, chain: Chain) -> None:
    campaign = workspace.load_campaign(chain(AUDIENCE, END))
    first = campaign.start().wait(60)
    second = campaign.restart().wait(60)
    assert second.id != first.id
    assert second.state == "finished"
    assert [e.id for e in campaign.executions] == [first.id, second.id]


def test_kept_work_tables_reopen_with_the_workspace(
    workspace: ajo.Workspace, chain: Chain
) -> None:
    campaign = workspace.load_campaign(chain(AUDIENCE, END, keep_interim_results=True))
    run = campaign.start().wait(60)

    reopened = ajo.Workspace(workspace.path).campaign("chain").executions[-1]
    assert reopened.id == run.id
    assert reopened.state == "finished"
    assert reopened.task_status("all") == "success"
    assert reopened.frame("t1").equals(run.frame("t1"))


def test_unknown_transition_and_activity(
    workspace: ajo.Workspace, chain: Chain
) -> None:
    run = workspace.load_campaign(chain(AUDIENCE, END)).start().wait(60)
    with pytest.raises(KeyError, match="no transition 't9'"):
        run.count("t9")
    with pytest.raises(KeyError, match="no activity 'nope'"):
        run.task_status("nope")


def test_disabled_activity_and_its_path_are_skipped(
    workspace: ajo.Workspace, chain: Chain
) -> None:
    document = chain(AUDIENCE, dict(AUDIENCE, id="second", disabled=True), END)
    run = workspace.load_campaign(document).start().wait(60)
    assert run.state == "finished"
    assert run.task_status("second") == "skipped"
    assert run.task_status("end") == "skipped"
    assert run.count("t2") == 0


def test_only_the_current_execution_holds_tables_that_are_not_kept(
    workspace: ajo.Workspace, chain: Chain
) -> None:
    campaign = workspace.load_campaign(chain(AUDIENCE, END))
    first = campaign.start().wait(60)
    assert first.frame("t1").height == first.count("t1")
    campaign.restart().wait(60)

    earlier = campaign.executions[0]
    assert earlier.count("t1") == first.count("t1")
    with pytest.raises(ajo.DataError, match="was not kept"):
        earlier.frame("t1")


def test_ignore_stops_after_consecutive_errors(
    workspace: ajo.Workspace, chain: Chain
) -> None:
    import_codes(workspace, ["x"])
    failing = [dict(CODES, id=f"bad{i}") for i in range(3)]
    document = {
        "id": "many",
        "settings": {"error_policy": "ignore", "consecutive_errors": 2},
        "activities": [*failing, dict(AUDIENCE, id="fine"), END],
        "transitions": [
            *({"id": f"t{i}", "from": f"bad{i}", "to": "end"} for i in range(3)),
            {"id": "t3", "from": "fine", "to": "end"},
        ],
    }
    run = workspace.load_campaign(document).start().wait(60)
    assert run.state == "failed"
    assert run.error == "2 consecutive errors"
    assert [run.task_status(f"bad{i}") for i in range(3)] == [
        "error",
        "error",
        "abandoned",
    ]
    assert [a.code for a in run.alerts] == ["TASK_ERROR", "TASK_ERROR"]
