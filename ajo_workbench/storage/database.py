"""The workspace's embedded SQLite database.

One connection per thread, write-ahead logging, and short transactions, so a
notebook, a background execution and (later) the service can share one file. What a
transaction committed survives a crash of the process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ajo_workbench.errors import WorkspaceError

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    campaign_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, version)
);
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    version INTEGER,
    state TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ended_at TEXT,
    error TEXT,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS executions_campaign ON executions (campaign_id);
CREATE TABLE IF NOT EXISTS tasks (
    execution_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT,
    started_at TEXT,
    ended_at TEXT,
    duration REAL,
    input_count INTEGER,
    output_counts TEXT,
    variables TEXT,
    error TEXT,
    PRIMARY KEY (execution_id, activity_id)
);
CREATE TABLE IF NOT EXISTS work_tables (
    execution_id TEXT NOT NULL,
    transition_id TEXT NOT NULL,
    dimension TEXT NOT NULL,
    count INTEGER NOT NULL,
    path TEXT,
    PRIMARY KEY (execution_id, transition_id)
);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    level TEXT NOT NULL,
    campaign_id TEXT,
    execution_id TEXT,
    activity_id TEXT,
    user TEXT,
    action TEXT,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_campaign ON logs (campaign_id);
CREATE TABLE IF NOT EXISTS audiences (
    name TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    dimension TEXT NOT NULL,
    rows INTEGER NOT NULL,
    path TEXT NOT NULL,
    saved_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS watermarks (
    campaign_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (campaign_id, activity_id)
);
CREATE TABLE IF NOT EXISTS tables (
    name TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    links TEXT NOT NULL,
    path TEXT NOT NULL,
    rows INTEGER NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS send_ledger (
    campaign_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    campaign_version INTEGER,
    channel TEXT NOT NULL,
    address TEXT,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, execution_id, activity_id, profile_id)
);
CREATE INDEX IF NOT EXISTS send_ledger_state ON send_ledger (execution_id, state);
CREATE TABLE IF NOT EXISTS feedback_events (
    timestamp TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    campaign_version INTEGER,
    execution_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    message_id TEXT,
    profile_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT,
    status TEXT NOT NULL,
    failure_reason TEXT,
    failure_type TEXT,
    exclusion_reason TEXT
);
CREATE INDEX IF NOT EXISTS feedback_events_execution
    ON feedback_events (execution_id, activity_id);
CREATE TABLE IF NOT EXISTS occurrences (
    campaign_id TEXT NOT NULL,
    due_at TEXT NOT NULL,
    execution_id TEXT,
    owner TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (campaign_id, due_at)
);
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    mode TEXT NOT NULL,
    variables TEXT NOT NULL,
    execution_id TEXT
);
CREATE INDEX IF NOT EXISTS signals_campaign ON signals (campaign_id, received_at);
CREATE TABLE IF NOT EXISTS file_swaps (
    path TEXT NOT NULL,
    partial TEXT NOT NULL,
    target TEXT NOT NULL,
    row TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (path, partial)
);
CREATE TABLE IF NOT EXISTS retired_files (
    path TEXT PRIMARY KEY,
    retired_at TEXT NOT NULL
);
"""


class Database:
    """A thread-safe handle on the workspace database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.RLock()
        try:
            with self._write_lock:
                connection = self._connection()
                # executescript commits on its own; every statement is idempotent.
                connection.executescript(SCHEMA)
                _add_missing_columns(connection)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as error:
            raise WorkspaceError(f"can't open the database {path}: {error}") from None

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA busy_timeout = 30000")
            _write_ahead(connection)
            connection.execute("PRAGMA synchronous = NORMAL")
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed at the end, rolled back on an exception.

        Inside another transaction of the same thread, it joins that one (as a
        savepoint): its writes commit with the outer transaction or not at all.
        """
        with self._write_lock:
            connection = self._connection()
            if connection.in_transaction:
                connection.execute("SAVEPOINT inner")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK TO inner")
                    connection.execute("RELEASE inner")
                    raise
                connection.execute("RELEASE inner")
                return
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        """Run one statement in its own transaction."""
        with self.transaction() as connection:
            connection.execute(sql, parameters)

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read query."""
        return self._connection().execute(sql, parameters).fetchall()

    def one(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Row | None:
        """The first row of a read query, or None."""
        rows = self.query(sql, parameters)
        return rows[0] if rows else None

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


def _write_ahead(connection: sqlite3.Connection) -> None:
    """Switch to write-ahead logging, waiting for another opener if need be.

    Two processes opening a new database at once can race for the switch; SQLite
    then answers "database is locked" at once instead of waiting, so try again.
    """
    for attempt in range(100):
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 99:
                raise
            time.sleep(0.05)


ADDED_COLUMNS = {"executions": {"owner": "TEXT"}}
"""Columns newer than the first schema, added to older workspaces on open."""


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    for table, columns in ADDED_COLUMNS.items():
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in present:
                connection.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def dumps(value: Any) -> str:
    """Compact, key-sorted JSON for a database column."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
