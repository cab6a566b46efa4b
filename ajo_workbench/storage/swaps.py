"""Files of tables and audiences, replaced together with the row that names them.

A table or an audience is a Parquet file named by a database row. Replacing one
writes the new file under a name of its own, then moves it into place and writes
its row in one transaction; a ``file_swaps`` row committed before says what is
under way. So:

- after a crash the workspace shows the old file and row, or the new file and row
  (:func:`finish_swaps`, run when a workspace opens, completes the row of a file
  that was moved into place);
- a reader never sees a file change under it: a file, once named, keeps its content
  until it is removed. The file a swap retires stays for :data:`RETIRED_FOR`, so a
  query planned on it (in this process or another) still reads it whole.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from ajo_workbench.storage.database import Database
from ajo_workbench.storage.journal import OWNER, owner_alive

SwapTarget = Literal["tables", "audiences"]
"""Database tables whose rows each name one Parquet file (``name`` first)."""

PATH_COLUMN = {"tables": 3, "audiences": 4}
"""Where a row of each target holds its file's path."""

RETIRED_FOR = timedelta(minutes=10)
"""How long a replaced file stays for the queries that still read it."""


def replace_with_row(
    database: Database,
    root: Path,
    frame: pl.DataFrame,
    relative: Path,
    target: SwapTarget,
    row: Callable[[str], Sequence[Any]],
) -> None:
    """Write ``frame`` as the file of a row of ``target``, and the row.

    ``relative`` is the file's usual name (``tables/purchases.parquet``), used when
    no file has it yet; otherwise the file gets a name of its own beside it.
    ``row(path)`` gives the row that names the file at ``path``.
    """
    folder = root / relative.parent
    folder.mkdir(parents=True, exist_ok=True)
    if (root / relative).exists():
        relative = relative.with_name(
            f"{relative.stem}.{uuid.uuid4().hex[:12]}{relative.suffix}"
        )
    path = root / relative
    partial = folder / f".{path.name}.{uuid.uuid4().hex}.partial"
    values = list(row(str(relative)))
    swap = (str(relative), str(partial.relative_to(root)))
    try:
        frame.write_parquet(partial)
        database.execute(
            "INSERT INTO file_swaps VALUES (?, ?, ?, ?, ?)",
            (*swap, target, json.dumps(values), OWNER),
        )
        with database.transaction() as connection:
            os.replace(partial, path)
            _settle(connection, target, values)
    except BaseException:
        if partial.exists():  # not moved into place: nothing changed
            partial.unlink()
            database.execute(
                "DELETE FROM file_swaps WHERE path = ? AND partial = ?", swap
            )
        raise
    remove_retired(database, root)


def finish_swaps(database: Database, root: Path) -> None:
    """Settle the swaps left by processes that ended, and remove retired files."""
    if database.one("SELECT 1 FROM file_swaps LIMIT 1") is not None:
        with database.transaction() as connection:
            for swap in connection.execute("SELECT * FROM file_swaps").fetchall():
                if owner_alive(swap["owner"]):
                    continue
                partial = root / swap["partial"]
                if partial.exists():
                    partial.unlink()  # never moved into place: the old file stands
                    connection.execute(
                        "DELETE FROM file_swaps WHERE path = ?", (swap["path"],)
                    )
                else:
                    _settle(connection, swap["target"], json.loads(swap["row"]))
    remove_retired(database, root)


def _settle(connection: sqlite3.Connection, target: str, row: Sequence[Any]) -> None:
    """Write a row in place of the one of the same name, retiring its old file;
    the swaps of that name are over."""
    if target not in PATH_COLUMN:
        raise ValueError(f"no file is named by rows of {target!r}")
    name, path = row[0], row[PATH_COLUMN[target]]
    old = connection.execute(
        f"SELECT path FROM {target} WHERE name = ?", (name,)
    ).fetchone()
    if old is not None and old["path"] != path:
        connection.execute(
            "INSERT OR REPLACE INTO retired_files VALUES (?, ?)",
            (old["path"], now_text()),
        )
    marks = ", ".join("?" for _ in row)
    connection.execute(f"INSERT OR REPLACE INTO {target} VALUES ({marks})", row)
    connection.execute(
        "DELETE FROM file_swaps WHERE target = ? AND json_extract(row, '$[0]') = ?",
        (target, name),
    )


def remove_retired(database: Database, root: Path) -> None:
    """Remove the files retired more than :data:`RETIRED_FOR` ago."""
    before = (datetime.now(UTC) - RETIRED_FOR).strftime("%Y-%m-%d %H:%M:%S")
    rows = database.query(
        "SELECT path FROM retired_files WHERE retired_at < ?", (before,)
    )
    for row in rows:
        (root / row["path"]).unlink(missing_ok=True)
        database.execute("DELETE FROM retired_files WHERE path = ?", (row["path"],))


def now_text() -> str:
    """The time as SQLite's ``datetime('now')`` writes it (UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
