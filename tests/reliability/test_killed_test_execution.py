"""A test execution killed with SIGKILL at several points, then resumed or restarted.

The campaign is the spring sale with twenty more enrichments (28 activities, about
0.7 s on 200,000 profiles with every work table kept), so each kill lands inside
the execution: a few tenths of a second in, or once some tasks are done.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
from conftest import check_files, kill_after, query, reopen
from crash_driver import long_sale

import ajo_workbench as ajo

RUNNING = (
    "SELECT e.id FROM executions AS e LEFT JOIN tasks AS t"
    " ON t.execution_id = e.id AND t.status = 'success'"
    " WHERE e.campaign_id = 'long-sale' AND e.state = 'running'"
    " GROUP BY e.id HAVING count(t.activity_id) >= ?"
)


def tasks_done(folder: Path, count: int) -> Callable[[], bool]:
    """Whether a running execution of the campaign has ``count`` tasks done."""
    return lambda: bool(query(folder, RUNNING, (count,)))


def counts(run: ajo.Execution) -> dict[str, int]:
    return {t.id: run.count(t.id) for t in run.definition.transitions}


def test_a_killed_test_execution_is_paused_and_resumes_to_the_same_counts(
    large: Path,
) -> None:
    ws = ajo.Workspace(large, user="tester")
    campaign = ws.load_campaign(long_sale())
    reference = campaign.start().wait(120)
    assert reference.state == "finished", reference.error
    expected = counts(reference)
    activities = [a.id for a in campaign.definition.activities]

    # Seconds after the execution was recorded, or tasks done, at the kill.
    kills: list[dict[str, object]] = [
        {"until": tasks_done(large, 0)},
        {"until": tasks_done(large, 0), "delay": 0.25},
        {"until": tasks_done(large, 4)},
        {"until": tasks_done(large, 22)},
        {"until": tasks_done(large, 0), "delay": 0.1, "then": "restart"},
    ]
    seen = {reference.id}
    for kill in kills:
        kill_after(
            large,
            "test-run",
            delay=float(kill.get("delay", 0.0)),  # type: ignore[arg-type]
            until=kill.get("until"),  # type: ignore[arg-type]
        )

        ws = reopen(large)
        campaign = ws.campaign("long-sale")
        left = campaign.latest_execution("test")
        assert left is not None and left.id not in seen
        seen.add(left.id)
        assert left.state == "paused"
        assert "process that ran it ended" in (left.error or "")
        assert campaign.available_actions()["resume"] is None
        statuses = set(left.tasks["status"].to_list())
        assert statuses <= {"not_run", "success"}, statuses
        done = left.tasks.filter(pl.col("status") == "success").height
        assert done < len(activities)  # the kill landed inside the execution

        if kill.get("then") == "restart":
            run = campaign.restart().wait(120)
            assert run.id != left.id
            assert ws.journal.execution(left.id)["state"] == "stopped"  # type: ignore[index]
        else:
            run = campaign.resume().wait(120)
            assert run.id == left.id
        assert run.state == "finished", run.error
        assert counts(run) == expected
        assert set(run.tasks["status"].to_list()) == {"success"}
        finished = run.logs.filter(pl.col("message").str.starts_with("done in"))
        assert sorted(finished["activity_id"].to_list()) == sorted(activities)
        check_files(large)  # whole after the resume too
