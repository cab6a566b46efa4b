"""Two real processes on one workspace at once.

Racing for one live campaign (Resume, Confirm send, Stop campaign), exactly one
process wins each action and the other gets a LifecycleError saying why; nothing is
sent twice. Stop campaign in one process stops the send that another one runs, or
the execution it keeps waiting; Confirm send given where the execution does not run
is sent by the process that runs it. Profiles created by two processes at once are
all kept.
Test executions reading ``purchases`` while another process imports it again and
again finish with the counts of one version or the other (never a mix), and every
log line of every process is there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from conftest import check_deliveries, launch, reopen
from crash_driver import EXAMPLES, LINKS, mailing

import ajo_workbench as ajo

STEPS = ["resume@confirmed", "confirm_send@confirmed:mail", "stop_campaign@stoppable"]


def test_two_processes_racing_for_a_live_campaign_never_both_win(
    workspace: ajo.Workspace,
) -> None:
    folder = workspace.path
    workspace.load_campaign(mailing("confirmed", "profile_id <= 400", confirm=True))
    workspace.load_campaign(mailing("stoppable", "profile_id <= 300", confirm=True))
    for campaign_id in ("confirmed", "stoppable"):
        # The process ends while its live execution waits for Confirm send.
        lines = launch(folder, "publish", campaign_id).finish()
        assert lines[-1] == "settled waiting None"

    racers = [launch(folder, "race", *STEPS) for _ in range(2)]
    for racer in racers:
        racer.expect("ready")
    outcomes = []
    for number in range(len(STEPS)):
        (folder.parent / f"go-{number}").touch()
        lines = [r.expect((f"won {number}", f"lost {number}")) for r in racers]
        outcomes.append(lines)
    for racer in racers:
        racer.finish()

    for number, lines in enumerate(outcomes):
        won = [line for line in lines if line.startswith("won")]
        lost = [line for line in lines if line.startswith("lost")]
        assert len(won) == 1 and len(lost) == 1, (STEPS[number], lines)
        assert "LifecycleError" in lost[0], lost[0]
    # Either process may confirm (the other one's is recorded for the process that
    # took the execution over); the one that comes second is told why.
    loser = outcomes[1][1 - outcomes[1].index("won 1")]
    assert (
        "another process confirmed the send of 'mail' first" in loser
        or "'mail' is not waiting for confirmation (waiting: none)" in loser
    ), loser

    ws = reopen(folder)
    confirmed = ws.campaign("confirmed")
    (live,) = confirmed.executions
    assert live.state == "finished" and confirmed.status == "completed"
    events = ws.feedback_events.filter(pl.col("execution_id") == live.id)
    targeted = ws.table("profiles").filter(pl.col("profile_id") <= 400)
    assert events.height == targeted.height == events["profile_id"].n_unique()
    check_deliveries(ws)

    stoppable = ws.campaign("stoppable")
    assert stoppable.status == "stopped"
    (stopped,) = stoppable.executions
    assert stopped.state == "stopped"
    assert ws.feedback_events.filter(pl.col("campaign_id") == "stoppable").height == 0
    for campaign in (confirmed, stoppable):
        recovered = campaign.logs.filter(pl.col("action") == "recover")
        assert recovered.height == 1, recovered  # one process recorded it


def test_stop_campaign_in_one_process_stops_the_send_of_another(
    workspace: ajo.Workspace,
) -> None:
    folder = workspace.path
    document = mailing("slow-mail", "profile_id <= 2000", confirm=False)
    document["activities"][1]["rate_per_second"] = 200  # 10 s for everyone
    workspace.load_campaign(document)
    sender = launch(folder, "publish", "slow-mail")
    sender.expect("ready")
    emails = folder / "outbox" / "email"
    deadline = time.monotonic() + 60
    while not emails.is_dir() or len(list(emails.glob("*.json"))) < 100:
        assert time.monotonic() < deadline and sender.process.poll() is None
        time.sleep(0.01)

    campaign = workspace.campaign("slow-mail")
    campaign.stop_campaign()
    at_stop = len(list(emails.glob("*.json")))
    assert sender.finish(30)[-1] == "settled stopped None"
    # The sender looks for a stop every 0.2 s: 40 more messages at 200 a second.
    assert len(list(emails.glob("*.json"))) <= at_stop + 60

    ws = reopen(folder)
    (live,) = ws.campaign("slow-mail").executions
    assert live.state == "stopped" and ws.campaign("slow-mail").status == "stopped"
    assert set(live.tasks["status"].to_list()) == {"success", "abandoned"}
    check_deliveries(ws)
    noticed = live.logs.filter(pl.col("message").str.contains("another process"))
    assert noticed.height == 1


EXECUTIONS = 10
IMPORTS = 14


def test_executions_reading_a_table_that_another_process_imports(
    large: Path,
) -> None:
    ws = ajo.Workspace(large, user="tester")
    first = ws.table("purchases")
    second = first.filter(pl.col("purchase_id") % 4 != 0).with_columns(
        pl.col("amount") * 3
    )
    first.write_parquet(large.parent / "purchases-a.parquet")
    second.write_parquet(large.parent / "purchases-b.parquet")
    campaign = ws.load_campaign(EXAMPLES / "spring-sale.json")
    campaign.duplicate("spring-copy")
    expected = {}
    for version, frame in (("b", second), ("a", first)):
        ws.import_table("purchases", frame, key="purchase_id", links=LINKS)
        run = campaign.start().wait(60)
        expected[version] = {t.id: run.count(t.id) for t in run.definition.transitions}
    assert expected["a"] != expected["b"]
    lines_per_run = run.logs.height

    drivers = {
        "first": launch(
            large, "test-loop", "spring-sale", str(EXECUTIONS), user="first"
        ),
        "second": launch(
            large, "test-loop", "spring-copy", str(EXECUTIONS), user="second"
        ),
        "importer": launch(large, "import-loop", str(IMPORTS), user="importer"),
    }
    printed = {user: driver.finish(120) for user, driver in drivers.items()}

    ws = reopen(large)
    last = "ab"[(IMPORTS - 1) % 2]
    assert ws.table("purchases").equals(first if last == "a" else second)
    assert printed["importer"][1:] == [
        f"imported {frame.height}" for frame in [first, second] * (IMPORTS // 2)
    ]
    outcomes = [
        json.loads(line) for user in ("first", "second") for line in printed[user][1:]
    ]
    assert len(outcomes) == 2 * EXECUTIONS
    for outcome in outcomes:
        if outcome["state"] == "finished":
            assert outcome["counts"] in (expected["a"], expected["b"]), outcome
            logs = ws.journal.logs(execution_id=outcome["id"])
            assert logs.height == lines_per_run, logs
        else:
            assert "purchases" in (outcome["error"] or ""), outcome
    finished = [o for o in outcomes if o["state"] == "finished"]
    assert len(finished) == len(outcomes)
    # The imports went on while the executions ran: some read each version.
    read = {
        v for o in finished for v, counts in expected.items() if o["counts"] == counts
    }
    assert read == {"a", "b"}

    # Every log line of each process is there.
    logs = ws.logs
    for user in ("first", "second"):
        started = logs.filter((pl.col("user") == user) & (pl.col("action") == "start"))
        assert started.height == EXECUTIONS
    imported = logs.filter(
        (pl.col("user") == "importer") & (pl.col("action") == "import")
    )
    assert imported.height == IMPORTS


CREATOR = """\
import sys, time
from pathlib import Path

import polars as pl
import pytest

import ajo_workbench as ajo

folder, name = Path(sys.argv[1]), sys.argv[2]
ws = ajo.Workspace(folder)
go = folder.parent / "go-create"
while not go.exists():
    time.sleep(0.01)
for call in range(15):
    rows = pl.DataFrame({"email": [f"{name}-{call}-{i}@example.org" for i in range(4)]})
    ws.create_records("profiles", rows)
print("done", flush=True)
"""


def test_two_processes_creating_profiles_at_once_lose_none(
    workspace: ajo.Workspace,
) -> None:
    folder = workspace.path
    before = workspace.table("profiles")
    script = folder.parent / "creator.py"
    script.write_text(CREATOR)
    creators = [
        subprocess.Popen(
            [sys.executable, str(script), str(folder), name],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("left", "right")
    ]
    time.sleep(1.0)  # both have opened the workspace and wait for the start
    (folder.parent / "go-create").touch()
    for creator in creators:
        out, _ = creator.communicate(timeout=120)
        assert creator.returncode == 0 and out.strip() == "done"

    after = reopen(folder).table("profiles")
    created = after.filter(~pl.col("profile_id").is_in(before["profile_id"].implode()))
    assert created.height == 2 * 15 * 4  # every call of both processes kept
    assert created["profile_id"].is_unique().all()
    assert sorted(created["profile_id"]) == list(
        range(before["profile_id"].max() + 1, before["profile_id"].max() + 121)
    )
    emails = set(created["email"])
    assert all(
        f"{n}-{c}-{i}@example.org" in emails
        for n in ("left", "right")
        for c in range(15)
        for i in range(4)
    )


OWNER = """\
import sys, time

import ajo_workbench as ajo

campaign = ajo.Workspace(sys.argv[1]).campaign(sys.argv[2])
live = campaign.publish().wait(60)
print("waiting", ",".join(live.awaiting), flush=True)
deadline = time.monotonic() + 60
while live.state == "waiting" and time.monotonic() < deadline:
    time.sleep(0.05)
live.wait(60)
print("ended", live.state, campaign.status, flush=True)
"""


@contextmanager
def live_elsewhere(folder: Path, campaign_id: str) -> Iterator[subprocess.Popen[str]]:
    """A process that publishes a campaign and runs its live execution, which
    waits for Confirm send; entered once it has printed what it waits for."""
    script = folder.parent / "owner.py"
    script.write_text(OWNER)
    owner = subprocess.Popen(
        [sys.executable, str(script), str(folder), campaign_id],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        assert owner.stdout.readline().strip() == "waiting mail"
        yield owner
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


def test_a_send_confirmed_in_another_process_is_sent_by_the_owner(
    workspace: ajo.Workspace,
) -> None:
    from ajo_workbench.widgets import Workbench

    folder = workspace.path
    campaign = workspace.load_campaign(mailing("far", "profile_id <= 200", True))
    with live_elsewhere(folder, "far") as owner:
        bench = Workbench(campaign, refresh_interval=0.05, watch_interval=0.1)
        try:
            live = campaign.latest_execution("live")
            assert live is not None and live.awaiting == ("mail",)
            with pytest.raises(ajo.LifecycleError, match="'who' is not waiting"):
                campaign.confirm_send("who")
            bench.select("activity", "mail")
            bench.properties.confirm_button.click()  # this process does not run it
            assert bench.errors.last is None
            out, _ = owner.communicate(timeout=60)
            assert out.strip() == "ended finished completed"
            ws = reopen(folder)
            check_deliveries(ws)
            events = ws.feedback_events.filter(pl.col("execution_id") == live.id)
            assert events.height == live.count("t1") > 0  # one per targeted profile
            confirmed = ws.campaign("far").logs.filter(
                pl.col("action") == "confirm_send"
            )
            assert confirmed["user"].drop_nulls().to_list()  # who confirmed is kept
            deadline = time.monotonic() + 10
            while ">completed<" not in bench.header.title.value:
                assert time.monotonic() < deadline, bench.header.title.value
                time.sleep(0.05)
        finally:
            bench.close()


def test_a_waiting_execution_stopped_in_another_process_stops(
    workspace: ajo.Workspace,
) -> None:
    folder = workspace.path
    campaign = workspace.load_campaign(mailing("halt", "profile_id <= 200", True))
    with live_elsewhere(folder, "halt") as owner:
        campaign.stop_campaign()
        out, _ = owner.communicate(timeout=60)
        assert out.strip() == "ended stopped stopped"
    assert not (folder / "outbox").exists()  # nothing was sent
    messages = reopen(folder).campaign("halt").logs["message"].to_list()
    assert "stop recorded by another process: execution stopped" in messages
