"""Logs, executions and tasks as rows of the workspace database."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl

from ajo_workbench.clock import Clock
from ajo_workbench.storage.database import Database, dumps

logger = logging.getLogger(__name__)

OWNER = f"{socket.gethostname()}:{os.getpid()}"
"""This process, as recorded in the executions it starts."""

LOG_COLUMNS = {
    "time": pl.String,
    "level": pl.String,
    "campaign_id": pl.String,
    "execution_id": pl.String,
    "activity_id": pl.String,
    "user": pl.String,
    "action": pl.String,
    "message": pl.String,
}
TASK_COLUMNS = {
    "execution_id": pl.String,
    "activity_id": pl.String,
    "type": pl.String,
    "status": pl.String,
    "created_at": pl.String,
    "started_at": pl.String,
    "ended_at": pl.String,
    "duration": pl.Float64,
    "input_count": pl.Int64,
    "output_counts": pl.String,
    "variables": pl.String,
    "error": pl.String,
}
TIME_COLUMNS = ("time", "created_at", "started_at", "ended_at")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def _frame(rows: list[Mapping[str, Any]], columns: Mapping[str, Any]) -> pl.DataFrame:
    frame = pl.DataFrame(
        [{name: row[name] for name in columns} for row in rows],
        schema=dict(columns),
        orient="row",
    )
    times = [
        pl.col(name).str.to_datetime(time_zone="UTC", time_unit="us")
        for name in TIME_COLUMNS
        if name in columns
    ]
    return frame.with_columns(times)


class Journal:
    """Writes and reads logs, executions and tasks."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def stamp(self) -> str:
        """The clock's time as stored text."""
        return self.clock.stamp()

    def log(
        self,
        level: str,
        message: str,
        *,
        campaign_id: str | None = None,
        execution_id: str | None = None,
        activity_id: str | None = None,
        user: str | None = None,
        action: str | None = None,
    ) -> None:
        """Append one log line (and pass it to Python logging)."""
        self.database.execute(
            "INSERT INTO logs (time, level, campaign_id, execution_id, activity_id,"
            " user, action, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.stamp(),
                level,
                campaign_id,
                execution_id,
                activity_id,
                user,
                action,
                message,
            ),
        )
        logger.log(
            LEVELS.get(level, logging.ERROR),
            "%s%s: %s",
            campaign_id or "workspace",
            f"/{activity_id}" if activity_id else "",
            message,
        )

    def logs(
        self, campaign_id: str | None = None, execution_id: str | None = None
    ) -> pl.DataFrame:
        """Log lines, oldest first, for a campaign or an execution."""
        sql = "SELECT * FROM logs WHERE 1 = 1"
        parameters: list[Any] = []
        if campaign_id is not None:
            sql += " AND campaign_id = ?"
            parameters.append(campaign_id)
        if execution_id is not None:
            sql += " AND execution_id = ?"
            parameters.append(execution_id)
        rows = self.database.query(sql + " ORDER BY id", parameters)
        return _frame([dict(row) for row in rows], LOG_COLUMNS)

    def create_execution(
        self,
        execution_id: str,
        campaign_id: str,
        mode: str,
        definition: str,
        version: int | None,
        tasks: list[tuple[str, str]],
    ) -> None:
        """Record a new execution and a ``not_run`` task per activity."""
        now = self.stamp()
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT INTO executions (id, campaign_id, mode, version, state,"
                " definition, created_at, owner)"
                " VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (execution_id, campaign_id, mode, version, definition, now, OWNER),
            )
            connection.executemany(
                "INSERT INTO tasks (execution_id, activity_id, type, status,"
                " created_at) VALUES (?, ?, ?, 'not_run', ?)",
                [(execution_id, aid, kind, now) for aid, kind in tasks],
            )

    def claim(self, execution_id: str, previous_owner: str | None) -> bool:
        """Make this process an execution's owner, if ``previous_owner`` still is.

        Of several processes that find the same orphaned execution, exactly one
        wins the claim.
        """
        with self.database.transaction() as connection:
            cursor = connection.execute(
                "UPDATE executions SET owner = ? WHERE id = ? AND owner IS ?",
                (OWNER, execution_id, previous_owner),
            )
            return cursor.rowcount == 1

    def set_state(
        self, execution_id: str, state: str, error: str | None = None
    ) -> None:
        """Record an execution's state; final states also record the end time."""
        ended = self.stamp() if state in ("finished", "stopped", "failed") else None
        self.database.execute(
            "UPDATE executions SET state = ?, error = ?, ended_at = ? WHERE id = ?",
            (state, error, ended, execution_id),
        )

    def update_task(self, execution_id: str, activity_id: str, **fields: Any) -> None:
        """Change some columns of a task."""
        for name in ("output_counts", "variables"):
            if name in fields and not isinstance(fields[name], str | None):
                fields[name] = dumps(fields[name])
        columns = ", ".join(f"{name} = ?" for name in fields)
        self.database.execute(
            f"UPDATE tasks SET {columns} WHERE execution_id = ? AND activity_id = ?",
            (*fields.values(), execution_id, activity_id),
        )

    def tasks(self, execution_id: str) -> pl.DataFrame:
        """One row per task of an execution, in activity order."""
        rows = self.database.query(
            "SELECT * FROM tasks WHERE execution_id = ? ORDER BY rowid", (execution_id,)
        )
        return _frame([dict(row) for row in rows], TASK_COLUMNS)

    def task_rows(self, execution_id: str) -> dict[str, dict[str, Any]]:
        """Tasks of an execution as plain rows by activity id."""
        rows = self.database.query(
            "SELECT * FROM tasks WHERE execution_id = ?", (execution_id,)
        )
        result = {}
        for row in rows:
            record = dict(row)
            record["output_counts"] = json.loads(record["output_counts"] or "{}")
            result[row["activity_id"]] = record
        return result

    def execution(self, execution_id: str) -> dict[str, Any] | None:
        """An execution's row, or None."""
        row = self.database.one(
            "SELECT * FROM executions WHERE id = ?", (execution_id,)
        )
        return dict(row) if row else None

    def claim_confirmation(
        self,
        execution_id: str,
        activity_id: str,
        *,
        campaign_id: str,
        message: str,
        user: str | None = None,
    ) -> bool:
        """Record the Confirm send of a channel activity, unless one is recorded.

        Check and record are one transaction, so of two processes confirming at
        once exactly one records it; returns whether this call did.
        """
        with self.database.transaction() as connection:
            found = connection.execute(
                "SELECT 1 FROM logs WHERE execution_id = ? AND activity_id = ?"
                " AND action = 'confirm_send' LIMIT 1",
                (execution_id, activity_id),
            ).fetchone()
            if found is not None:
                return False
            self.log(
                "info",
                message,
                campaign_id=campaign_id,
                execution_id=execution_id,
                activity_id=activity_id,
                user=user,
                action="confirm_send",
            )
        return True

    def confirmations(self, execution_id: str) -> set[str]:
        """The channel activities whose send was confirmed, by any process."""
        rows = self.database.query(
            "SELECT DISTINCT activity_id FROM logs WHERE execution_id = ?"
            " AND action = 'confirm_send' AND activity_id IS NOT NULL",
            (execution_id,),
        )
        return {str(row["activity_id"]) for row in rows}

    def executions(self, campaign_id: str) -> list[dict[str, Any]]:
        """Every execution of a campaign, oldest first."""
        rows = self.database.query(
            "SELECT * FROM executions WHERE campaign_id = ? ORDER BY created_at, rowid",
            (campaign_id,),
        )
        return [dict(row) for row in rows]

    def record_work_table(
        self,
        execution_id: str,
        transition_id: str,
        dimension: str,
        count: int,
        path: str | None,
    ) -> None:
        """Remember a transition's count and, when kept, its Parquet file."""
        self.database.execute(
            "INSERT OR REPLACE INTO work_tables VALUES (?, ?, ?, ?, ?)",
            (execution_id, transition_id, dimension, count, path),
        )

    def work_tables(self, execution_id: str) -> dict[str, dict[str, Any]]:
        """Work-table rows of an execution by transition id."""
        rows = self.database.query(
            "SELECT * FROM work_tables WHERE execution_id = ?", (execution_id,)
        )
        return {row["transition_id"]: dict(row) for row in rows}


def owner_alive(owner: str | None) -> bool:
    """Whether the process recorded as an execution's owner is still running.

    Owners on another host can't be checked and count as alive.
    """
    host, _, pid = (owner or "").rpartition(":")
    if not pid.isdigit() or host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parse_time(text: str | None) -> datetime | None:
    """A stored time back as a datetime."""
    return datetime.fromisoformat(text) if text else None
