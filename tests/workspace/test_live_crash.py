"""A live execution killed mid-send (SIGKILL), reopened and resumed: exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl

import ajo_workbench as ajo

SENDER = Path(__file__).with_name("live_sender.py")
NO_SUCH_PID = 2**23 + 1  # above any Linux pid_max


def outbox_count(folder: Path) -> int:
    emails = folder / "outbox" / "email"
    return sum(1 for _ in emails.glob("*.json")) if emails.is_dir() else 0


def run_and_kill(folder: Path, what: str, when: int) -> None:
    """Run the sender and SIGKILL it once the outbox holds ``when`` messages."""
    process = subprocess.Popen([sys.executable, str(SENDER), str(folder), what])
    deadline = time.monotonic() + 120
    try:
        while outbox_count(folder) < when and time.monotonic() < deadline:
            assert process.poll() is None, "the sender ended before it was killed"
            time.sleep(0.02)
        assert process.poll() is None, "the sender ended before it was killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def test_a_killed_live_send_resumes_without_duplicates_or_lost_events(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ws"
    run_and_kill(folder, "publish", 3_000)

    ws = ajo.Workspace(folder)
    campaign = ws.campaign("everyone")
    live = campaign.latest_execution("live")
    assert live is not None and live.state == "paused"
    assert "process that ran it ended" in (live.error or "")
    assert campaign.status == "live"
    assert campaign.available_actions()["resume"] is None
    assert campaign.available_actions()["back_to_draft"] is not None  # sent already
    first = ws.feedback_events.height
    assert 3_000 <= first < ws.table("profiles").height

    run_and_kill(folder, "resume", outbox_count(folder) + 5_000)
    assert ws.feedback_events.height > first

    resumed = campaign.resume()
    assert resumed.id == live.id
    resumed.wait(300)
    assert resumed.state == "finished", resumed.error
    assert campaign.status == "completed"

    files = list((folder / "outbox" / "email").glob("*.json"))
    received = Counter(json.loads(path.read_text())["profile_id"] for path in files)
    assert max(received.values()) == 1  # nobody got two messages

    targeted = ws.table("profiles").filter(pl.col("profile_id") > 0)
    events = ws.feedback_events.filter(pl.col("execution_id") == live.id)
    assert events.height == targeted.height  # one event per targeted profile
    assert events["profile_id"].n_unique() == targeted.height
    sent = events.filter(pl.col("status") == "sent")
    interrupted = events.filter(pl.col("failure_reason").str.contains("interrupted"))
    # A message in flight at a kill is either found in the outbox (sent) or has
    # an unknown outcome (an error, never sent again): at most one per kill.
    assert interrupted.height <= 2
    assert set(received) == set(sent["profile_id"].to_list())
    excluded = events.filter(pl.col("status") == "exclude")
    assert sent.height + excluded.height + interrupted.height == targeted.height

    recoveries = campaign.logs.filter(pl.col("action") == "recover")
    assert recoveries.height == 2  # one per killed process
    tasks = resumed.tasks
    assert tasks.filter(pl.col("activity_id") == "mail")["status"].item() == "success"


def orphan(ws: ajo.Workspace, execution_id: str) -> None:
    """Make an execution look as if the process that ran it had died."""
    ws.database.execute(
        "UPDATE executions SET owner = ? WHERE id = ?",
        (f"{socket.gethostname()}:{NO_SUCH_PID}", execution_id),
    )


def test_a_test_execution_left_by_a_dead_process_resumes_where_it_was(
    sim_workspace: ajo.Workspace,
) -> None:
    path = Path(__file__).parents[2] / "examples" / "welcome-series.json"
    campaign = sim_workspace.load_campaign(path)
    first = campaign.start().wait(60)
    assert first.state == "waiting"  # two days
    done_before = first.tasks.filter(pl.col("status") == "success")["activity_id"]
    del sim_workspace.running[first.id]  # this process forgets it, as if it died
    orphan(sim_workspace, first.id)

    clock = ajo.SimulatedClock(sim_workspace.clock.now())
    again = ajo.Workspace(sim_workspace.path, clock=clock)
    reopened = again.campaign("welcome-series")
    left = reopened.latest_execution("test")
    assert left is not None and left.state == "paused"
    assert reopened.available_actions()["resume"] is None

    resumed = reopened.resume().wait(60)
    assert resumed.id == first.id and resumed.state == "waiting"
    clock.advance(days=3)
    resumed.wait(60)
    assert resumed.state == "finished", resumed.error

    # Finished tasks were recomputed, not recorded or logged a second time.
    logs = resumed.logs
    for activity_id in done_before.to_list():
        done = logs.filter(
            (pl.col("activity_id") == activity_id)
            & pl.col("message").str.starts_with("done in")
        )
        assert done.height == 1, activity_id
    fresh = campaign.restart()
    clock_run = sim_workspace.clock
    fresh.wait(60)
    assert isinstance(clock_run, ajo.SimulatedClock)
    clock_run.advance(days=3)
    fresh.wait(60)
    counts = {t.id: resumed.count(t.id) for t in campaign.definition.transitions}
    assert counts == {t.id: fresh.count(t.id) for t in campaign.definition.transitions}


def test_only_one_process_takes_over_an_orphaned_execution(
    workspace: ajo.Workspace,
) -> None:
    path = Path(__file__).parents[2] / "examples" / "welcome-series.json"
    campaign = workspace.load_campaign(path)
    run = campaign.start().wait(60)
    assert run.state == "waiting"
    del workspace.running[run.id]
    orphan(workspace, run.id)
    record = workspace.journal.execution(run.id)
    assert record is not None

    assert workspace.journal.claim(run.id, record["owner"])
    assert not workspace.journal.claim(run.id, record["owner"])  # taken already
