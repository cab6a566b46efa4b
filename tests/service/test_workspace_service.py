"""``ajo-workbench serve`` on a real workspace: signals over HTTP and the scheduler."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

import ajo_workbench as ajo

TOKEN = "a-token-for-these-tests-only-0123456789"
FR = {
    "id": "fr",
    "type": "build_audience",
    "where": "country = 'FR' AND loyalty_tier = 'platinum'",
}
MAIL = {
    "id": "mail",
    "type": "email",
    "subject": "Hello {{ first_name }}",
    "body": "<p>{{ first_name }}: {{ season }}</p>",
    "sender": "shop@example.test",
}
SIGNAL = {
    "type": "signal",
    "parameters": [{"name": "season", "type": "string", "test_value": "spring"}],
}


def document(campaign_id: str, schedule: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": "ajo-workbench/campaign@1",
        "id": campaign_id,
        "name": campaign_id,
        "schedule": schedule,
        "settings": {"send_confirmation": False},
        "variables": {"season": "winter"},
        "activities": [FR, MAIL, {"id": "end", "type": "end"}],
        "transitions": [
            {"id": "t1", "from": "fr", "to": "mail"},
            {"id": "t2", "from": "mail", "to": "end"},
        ],
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(workspace: ajo.Workspace) -> Iterator[tuple[ajo.Workspace, str]]:
    """The workspace, served by ``ajo-workbench serve`` in its own process."""
    port = free_port()
    env = {**os.environ, "AJO_WORKBENCH_TOKEN": TOKEN}
    command = [
        sys.executable, "-m", "ajo_workbench.cli", "-w", str(workspace.path),
        "serve", "--port", str(port), "--tick", "0.2",
    ]  # fmt: skip
    log = (workspace.path / "serve.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError((workspace.path / "serve.log").read_text())
    try:
        yield workspace, url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def live_ids(ws: ajo.Workspace, campaign_id: str) -> list[str]:
    rows = ws.journal.executions(campaign_id)
    return [row["id"] for row in rows if row["mode"] == "live"]


def wait_finished(ws: ajo.Workspace, execution_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        record = ws.journal.execution(execution_id)
        if record is not None and record["state"] == "finished":
            return record
        time.sleep(0.1)
    raise AssertionError(f"execution {execution_id} did not finish: {record}")


def test_signals_over_http_start_live_executions(
    served: tuple[ajo.Workspace, str],
) -> None:
    ws, url = served
    live = ws.load_campaign(document("signalled", SIGNAL))
    live.publish()
    ws.load_campaign(document("drafted", SIGNAL))
    trigger = f"{url}/campaigns/signalled/trigger"
    auth = {"Authorization": f"Bearer {TOKEN}"}

    assert httpx.post(trigger, json={"variables": {}}).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert httpx.post(trigger, json={}, headers=wrong).status_code == 403
    assert httpx.post(trigger, content=b"{oops", headers=auth).status_code == 400
    unknown = httpx.post(f"{url}/campaigns/nope/trigger", json={}, headers=auth)
    assert unknown.status_code == 404
    draft = httpx.post(f"{url}/campaigns/drafted/trigger", json={}, headers=auth)
    assert draft.status_code == 400 and "draft" in draft.json()["error"]
    assert live_ids(ws, "signalled") == []  # nothing refused left a trace

    accepted = httpx.post(
        trigger, json={"variables": {"season": "summer"}}, headers=auth
    )
    assert accepted.status_code == 200, accepted.text
    execution_id = accepted.json()["execution_id"]
    wait_finished(ws, execution_id)
    assert live_ids(ws, "signalled") == [execution_id]
    events = ws.feedback_events.filter(pl.col("execution_id") == execution_id)
    assert events.height > 0

    again = httpx.post(trigger, json={"variables": {"season": "x"}}, headers=auth)
    assert again.status_code == 429
    assert 3500 <= int(again.headers["Retry-After"]) <= 3600
    assert live_ids(ws, "signalled") == [execution_id]
    bad = httpx.post(trigger, json={"variables": {"colour": "red"}}, headers=auth)
    assert bad.status_code == 400 and "colour" in bad.json()["error"]


def test_the_service_and_a_notebook_never_run_one_occurrence_twice(
    served: tuple[ajo.Workspace, str],
) -> None:
    ws, _ = served
    due = datetime.now(UTC) + timedelta(seconds=2)
    once = {"type": "once", "at": due.isoformat()}
    campaign = ws.load_campaign(document("at-two", once))
    assert campaign.publish() is None and campaign.status == "scheduled"
    # This process armed a wake-up at that time, and the service checks every
    # 0.2 s: both find the occurrence due.
    deadline = time.monotonic() + 30
    while not live_ids(ws, "at-two") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)  # give the loser every chance to start a second one
    (execution_id,) = live_ids(ws, "at-two")
    wait_finished(ws, execution_id)
    rows = ws.database.query("SELECT * FROM occurrences WHERE campaign_id = 'at-two'")
    assert [row["outcome"] for row in rows] == ["started"]
    events = ws.feedback_events.filter(pl.col("execution_id") == execution_id)
    assert events["profile_id"].n_unique() == events.height > 0
    deadline = time.monotonic() + 10
    while ajo.Workspace(ws.path).campaign("at-two").status != "completed":
        assert time.monotonic() < deadline, "the campaign did not complete"
        time.sleep(0.1)


def test_serve_prints_a_generated_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AJO_WORKBENCH_TOKEN"}
    port = free_port()
    command = [
        sys.executable, "-m", "ajo_workbench.cli", "-w", str(tmp_path / "ws"),
        "serve", "--port", str(port),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        token = (tmp_path / "ws" / "service-token").read_text().strip()
        assert first.startswith("token generated into") and first.strip().endswith(
            token
        )
    finally:
        process.terminate()
        process.wait(timeout=20)


def cli(folder: Path, *args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "ajo_workbench.cli", "-w", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_a_send_the_service_waits_on_is_confirmed_from_the_command_line(
    served: tuple[ajo.Workspace, str],
) -> None:
    ws, _ = served
    at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    campaign_document = document("at-two", {"type": "once", "at": at})
    campaign_document["settings"] = {"send_confirmation": True}
    path = ws.path.parent / "at-two.json"
    path.write_text(json.dumps(campaign_document))
    # Published by a process that ends at once, so only the service follows the
    # clock for it; no --confirm: the send is confirmed when the service runs it.
    code, out, err = cli(ws.path, "publish", str(path))
    assert code == 0, err
    assert "confirm the sends that wait with `ajo-workbench confirm at-two" in out
    campaign = ws.campaign("at-two")
    assert campaign.status == "scheduled"

    deadline = time.monotonic() + 60
    while True:  # the service starts it when due; it waits for Confirm send
        live = campaign.latest_execution("live")
        if live is not None and live.awaiting == ("mail",):
            break
        assert time.monotonic() < deadline, "the service did not run the occurrence"
        time.sleep(0.1)
    assert live.id not in ws.running  # the service's process runs it

    code, _, err = cli(ws.path, "confirm", "at-two")
    assert code == 2 and "waiting for Confirm send: mail" in err
    code, _, err = cli(ws.path, "confirm", "nowhere", "mail")
    assert code == 2 and "nowhere" in err
    code, out, err = cli(ws.path, "confirm", "at-two", "mail", "--json")
    assert code == 0, err
    assert json.loads(out) == {"execution_id": live.id, "confirmed": ["mail"]}

    wait_finished(ws, live.id)
    code, _, err = cli(ws.path, "confirm", "at-two", "mail")  # nothing waits now
    assert code == 1 and "confirm_send is not allowed (" in err
    events = ws.feedback_events.filter(pl.col("execution_id") == live.id)
    assert events.height == live.count("t1") > 0  # one per targeted profile
    sent = events.filter(pl.col("status") == "sent").height
    assert len(list((ws.path / "outbox" / "email").glob("*.json"))) == sent
