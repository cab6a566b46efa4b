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
from ajo_workbench.delivery import OutboxProvider, Recovery, SendLedger
from ajo_workbench.storage.database import Database

HELPER = Path(__file__).with_name("crash_sender.py")
COUNT = 20_000
KILLS = (2_000, 5_000, 8_000)
"""Messages in the outbox when the sender is killed, one process each time."""


def outbox_count(folder: Path) -> int:
    emails = folder / "outbox" / "email"
    return sum(1 for _ in emails.glob("*.json")) if emails.is_dir() else 0


def send_and_kill(folder: Path, when: int) -> None:
    """Run the sender in a process and SIGKILL it once the outbox holds ``when``."""
    process = subprocess.Popen([sys.executable, str(HELPER), str(folder), str(COUNT)])
    deadline = time.monotonic() + 60
    try:
        while outbox_count(folder) < when and time.monotonic() < deadline:
            assert process.poll() is None, "the sender finished before it was killed"
            time.sleep(0.02)
        assert process.poll() is None, "the sender finished before it was killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def test_killed_sends_resume_without_duplicates_or_lost_events(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    ledger = SendLedger(Database(folder / "workspace.db"), Clock())
    outbox = OutboxProvider(folder / "outbox")
    execution_id = EXECUTION["execution_id"]
    interrupted = Recovery()
    for when in KILLS:
        send_and_kill(folder, when)
        before = ledger.events().height
        assert when <= before < COUNT
        recovery = ledger.recover(execution_id, outbox)
        # One message at a time is in flight, so a crash leaves at most one claim.
        assert recovery.sent + recovery.unknown <= 1
        interrupted = Recovery(
            interrupted.sent + recovery.sent, interrupted.unknown + recovery.unknown
        )
    recorded = ledger.events().height

    summary = send(folder, COUNT)
    assert summary.targeted == COUNT
    assert summary.skipped == recorded

    files = list((folder / "outbox" / "email").glob("*.json"))
    received = Counter(json.loads(path.read_text())["profile_id"] for path in files)
    assert received and max(received.values()) == 1
    events = ledger.events(execution_id=execution_id)
    assert events.height == COUNT
    assert events["profile_id"].n_unique() == COUNT
    assert ledger.pending(execution_id) == []

    sent = events.filter(status="sent")
    assert set(sent["profile_id"]) == set(received)
    assert set(sent["message_id"]) == {path.stem for path in files}
    statuses = Counter(events["status"])
    assert statuses["exclude"] == sum(
        1 for n in range(COUNT) if n % 10 == 3 or n % 7 == 5
    )
    assert statuses["sent"] + statuses["error"] + statuses["exclude"] == COUNT
    assert statuses["error"] == interrupted.unknown
