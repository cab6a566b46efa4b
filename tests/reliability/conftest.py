"""Fixtures of the reliability tests: a large sample workspace, a driver process to
kill with SIGKILL, and the checks every reopened workspace must pass.

Each check reads the files and the database itself (read-only SQLite), so it does
not rely on the code under test to say that the workspace is whole.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl
import pytest

import ajo_workbench as ajo

sys.path.insert(0, str(Path(__file__).parent))
DRIVER = Path(__file__).with_name("crash_driver.py")
PROFILES = 200_000


@pytest.fixture(scope="session")
def large_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with 200,000 sample profiles (seed 11), generated once."""
    folder = tmp_path_factory.mktemp("large") / "ws"
    ajo.Workspace(folder).generate_sample_data(profiles=PROFILES, seed=11)
    return folder


@pytest.fixture
def large(large_folder: Path, tmp_path: Path) -> Path:
    """A fresh copy of the large workspace for one test (its folder)."""
    folder = tmp_path / "ws"
    shutil.copytree(large_folder, folder)
    return folder


@dataclass
class Driver:
    """A driver process and the lines it printed."""

    process: subprocess.Popen[str]
    stderr: Path
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, wanted: str | tuple[str, ...], timeout: float = 60) -> str:
        """The first line starting with ``wanted`` (or one of them); fails when the
        driver ends first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {wanted!r} after {timeout} s") from None
            if line is None:
                raise AssertionError(
                    f"the driver ended before {wanted!r}: {self.seen}\n{self.errors()}"
                )
            self.seen.append(line)
            if line.startswith(wanted):
                return line

    def errors(self) -> str:
        return self.stderr.read_text() if self.stderr.exists() else ""

    def kill(self) -> None:
        """SIGKILL the driver, which must still be running."""
        running = self.process.poll() is None
        if running:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        assert running, (
            f"the driver ended before it was killed: {self.seen}\n{self.errors()}"
        )
        assert self.process.returncode == -signal.SIGKILL

    def finish(self, timeout: float = 60) -> list[str]:
        """Wait for the driver to end by itself; every line it printed."""
        self.process.wait(timeout=timeout)
        while (line := self.lines.get(timeout=10)) is not None:
            self.seen.append(line)
        assert self.process.returncode == 0, f"{self.seen}\n{self.errors()}"
        return self.seen


def launch(
    folder: Path, *arguments: str, hold: str | None = None, user: str = "driver"
) -> Driver:
    """Start the driver on a workspace folder, acting as ``user``."""
    command = [sys.executable, str(DRIVER), str(folder), *arguments, "--user", user]
    if hold:
        command += ["--hold", hold]
    stderr = folder.parent / f"driver-{time.monotonic_ns()}.err"
    with stderr.open("w") as errors:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=errors, text=True
        )
    assert process.stdout is not None
    driver = Driver(process, stderr)
    threading.Thread(target=driver.read, args=(process.stdout,), daemon=True).start()
    return driver


def kill_after(
    folder: Path,
    *arguments: str,
    delay: float = 0.0,
    hold: str | None = None,
    until: Callable[[], bool] | None = None,
) -> Driver:
    """Run the driver and SIGKILL it: ``delay`` seconds after it printed ``ready``,
    or once ``until()`` holds (polled every 5 ms), or at its ``hold`` point."""
    driver = launch(folder, *arguments, hold=hold)
    try:
        driver.expect("ready")
        if until is not None:
            deadline = time.monotonic() + 60
            while not until():
                assert time.monotonic() < deadline, "the kill point never came"
                assert driver.process.poll() is None, driver.errors()
                time.sleep(0.005)
        time.sleep(delay)
    finally:
        driver.kill()
    return driver


def read_only(folder: Path) -> sqlite3.Connection:
    """The workspace database, opened read-only."""
    uri = f"file:{folder / 'workspace.db'}?mode=ro"
    connection = sqlite3.connect(uri, uri=True)
    connection.row_factory = sqlite3.Row
    return connection


def query(folder: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
    connection = read_only(folder)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def registered_files(folder: Path, table: str, count: str) -> dict[Path, int]:
    rows = query(folder, f"SELECT path, {count} FROM {table} WHERE path IS NOT NULL")
    return {folder / row[0]: row[1] for row in rows}


def check_files(folder: Path) -> None:
    """Every table, audience and kept work table the database names is a whole
    Parquet file with the recorded row count (a table's key unique too), and the
    folders of tables and audiences hold no other data but the files that were
    replaced lately (listed as retired).

    Stray ``.partial`` files (a write cut short) may remain, but are hidden and
    never named by the database.
    """
    keys = {row[0]: row[1] for row in query(folder, "SELECT path, key FROM tables")}
    for table, count in (
        ("tables", "rows"),
        ("audiences", "rows"),
        ("work_tables", "count"),
    ):
        for path, rows in registered_files(folder, table, count).items():
            assert ".partial" not in path.name, path
            assert path.is_file(), f"{table}: {path} is missing"
            frame = pl.read_parquet(path)
            assert frame.height == rows, f"{table}: {path}"
            key = keys.get(path.relative_to(folder).as_posix())
            if table == "tables" and key is not None:
                assert frame[key].n_unique() == rows, f"{path}: key {key}"
    retired = {
        folder / row[0] for row in query(folder, "SELECT path FROM retired_files")
    }
    for table, subfolder in (("tables", "tables"), ("audiences", "audiences")):
        listed = set(registered_files(folder, table, "rows"))
        present = set((folder / subfolder).glob("[!.]*.parquet"))
        assert listed <= present and not listed & retired, subfolder
        # Files a later import or save replaced stay a while for their readers.
        assert present - listed <= retired, f"{subfolder}: {present - listed}"
    tables = {row[0] for row in query(folder, "SELECT name FROM tables")}
    assert not any("partial" in name for name in tables), tables


def reopen(folder: Path, user: str = "tester") -> ajo.Workspace:
    """Open a workspace after a kill and check its files (:func:`check_files`)."""
    ws = ajo.Workspace(folder, user=user)
    check_files(folder)
    return ws


def check_deliveries(ws: ajo.Workspace) -> None:
    """One event per (execution, activity, profile), and the outbox holds exactly
    the messages that have a ``sent`` event: a second message to a profile would be
    a file whose id the ledger does not know."""
    events = ws.feedback_events
    keys = events.select("execution_id", "activity_id", "profile_id")
    assert keys.n_unique() == events.height, "two events for one delivery"
    for channel in ("email", "sms", "push"):
        files = list((ws.path / "outbox" / channel).glob("*.json"))
        messages = [json.loads(path.read_text()) for path in files]
        sent = events.filter(
            (pl.col("channel") == channel) & (pl.col("status") == "sent")
        )
        assert sorted(m["message_id"] for m in messages) == sorted(
            sent["message_id"].to_list()
        ), channel
