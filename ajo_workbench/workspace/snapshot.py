"""Snapshots: the frozen tables that one live execution reads.

A snapshot holds a table's Parquet file as it was when the execution began: a hard
link where the file system allows it (imports replace a table's file, never change
it in place, so the link keeps the old content), a copy otherwise.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl

from ajo_workbench.activities import Tables
from ajo_workbench.activities.base import TableInfoLike
from ajo_workbench.storage.tables import TableCatalog, write_parquet_atomically


def take_snapshot(
    catalog: TableCatalog, names: list[str], folder: Path
) -> dict[str, Path]:
    """Freeze the files of ``names`` under ``folder``; their paths by table."""
    folder.mkdir(parents=True, exist_ok=True)
    frozen = {}
    for name in names:
        source = catalog.info(name).path
        target = folder / f"{name}.parquet"
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        frozen[name] = target
    return frozen


class SnapshotTables:
    """The workspace's tables, with some of them read from a snapshot."""

    def __init__(self, tables: Tables, frozen: dict[str, Path]) -> None:
        self._tables = tables
        self._frozen = frozen

    def info(self, name: str) -> TableInfoLike:
        return self._tables.info(name)

    def scan(self, name: str) -> pl.LazyFrame:
        if name not in self._frozen:
            return self._tables.scan(name)
        frozen = pl.scan_parquet(self._frozen[name])
        created = created_path(self._frozen[name])
        if created.exists():
            return pl.concat([frozen, pl.scan_parquet(created)], how="vertical")
        return frozen

    def add_records(self, name: str, records: pl.DataFrame) -> None:
        """Add records created during the execution to a frozen table."""
        created = created_path(self._frozen[name])
        if created.exists():
            records = pl.concat([pl.read_parquet(created), records], how="vertical")
        write_parquet_atomically(records, created)

    def scans(self) -> dict[str, pl.LazyFrame]:
        return {name: self.scan(name) for name in self._tables.scans()}

    def children(self, name: str) -> dict[str, str]:
        return self._tables.children(name)

    def parents(self, name: str) -> dict[str, str]:
        return self._tables.parents(name)


def created_path(frozen: Path) -> Path:
    """The file of records created after a snapshot was taken, beside it."""
    return frozen.with_name(f"{frozen.stem}.created.parquet")
