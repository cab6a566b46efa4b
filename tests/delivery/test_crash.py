"""Exactly once across a crash: a sending process killed with SIGKILL, then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from crash_sender import EXECUTION, send

from ajo_workbench.clock import Clock
from ajo_workbench.delivery import OutboxProvider, SendLedger
from ajo_workbench.storage.database import Database

HELPER = Path(__file__).with_name("crash_sender.py")
COUNT = 20_000
KILL_AFTER = 4_000
"""Messages in the outbox when the sender is killed."""


def outbox_count(folder: Path) -> int:
    emails = folder / "outbox" / "email"
    return sum(1 for _ in emails.glob("*.json")) if emails.is_dir() else 0


def test_a_killed_send_resumes_without_duplicates_or_lost_events(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    process = subprocess.Popen([sys.executable, str(HELPER), str(folder), str(COUNT)])
    deadline = time.monotonic() + 60
    try:
        while outbox_count(folder) < KILL_AFTER and time.monotonic() < deadline:
            assert process.poll() is None, "the sender finished before it was killed"
            time.sleep(0.01)
        assert process.poll() is None, "the sender finished before it was killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    ledger = SendLedger(Database(folder / "workspace.db"), Clock())
    before = ledger.events().height
    assert KILL_AFTER <= before < COUNT
    recovery = ledger.recover(
        EXECUTION["execution_id"], OutboxProvider(folder / "outbox")
    )
    assert recovery.sent + recovery.unknown <= 1  # one message at a time is in flight

    summary = send(folder, COUNT)
    assert summary.targeted == COUNT
    assert summary.skipped == before + recovery.sent + recovery.unknown

    files = list((folder / "outbox" / "email").glob("*.json"))
    received = Counter(json.loads(path.read_text())["profile_id"] for path in files)
    assert received and max(received.values()) == 1
    events = ledger.events(execution_id=EXECUTION["execution_id"])
    assert events.height == COUNT
    assert events["profile_id"].n_unique() == COUNT
    assert ledger.pending(EXECUTION["execution_id"]) == []

    sent = events.filter(status="sent")
    assert set(sent["profile_id"]) == set(received)
    assert set(sent["message_id"]) == {path.stem for path in files}
    statuses = Counter(events["status"])
    assert statuses["exclude"] == sum(
        1 for n in range(COUNT) if n % 10 == 3 or n % 7 == 5
    )
    assert statuses["sent"] + statuses["error"] + statuses["exclude"] == COUNT
    assert statuses["error"] == recovery.unknown
