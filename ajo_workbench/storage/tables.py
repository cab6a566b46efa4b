"""Workspace tables: Parquet files with a primary key and links, listed in SQLite."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ajo_workbench.errors import DataError
from ajo_workbench.storage.database import Database, dumps

TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
TableSource = str | Path | pl.DataFrame | pl.LazyFrame


@dataclass(frozen=True)
class TableInfo:
    """A table of the workspace: its key, links (column → table) and file."""

    name: str
    key: str
    path: Path
    rows: int
    links: Mapping[str, str] = field(default_factory=dict)


def write_parquet_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Write a Parquet file so that readers see the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        frame.write_parquet(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


class TableCatalog:
    """The tables of a workspace and the links between them."""

    def __init__(self, root: Path, database: Database) -> None:
        self.root = root
        self.database = database

    def names(self) -> list[str]:
        """Names of the imported tables, sorted."""
        return [row["name"] for row in self.database.query("SELECT name FROM tables")]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def info(self, name: str) -> TableInfo:
        """The description of a table; DataError names the known tables."""
        row = self.database.one("SELECT * FROM tables WHERE name = ?", (name,))
        if row is None:
            known = ", ".join(self.names()) or "none imported yet"
            raise DataError(f"unknown table {name!r} (tables: {known})")
        return TableInfo(
            name=row["name"],
            key=row["key"],
            path=self.root / row["path"],
            rows=row["rows"],
            links=json.loads(row["links"]),
        )

    def scan(self, name: str) -> pl.LazyFrame:
        """A lazy scan of the table's Parquet file."""
        return pl.scan_parquet(self.info(name).path)

    def schema(self, name: str) -> pl.Schema:
        """Column names and types of a table."""
        return self.scan(name).collect_schema()

    def scans(self) -> dict[str, pl.LazyFrame]:
        """Every table as a lazy scan, by name."""
        return {name: self.scan(name) for name in self.names()}

    def children(self, name: str) -> dict[str, str]:
        """1-N links of a table: linked table → its column that points here."""
        links: dict[str, str] = {}
        for other in self.names():
            for column, target in self.info(other).links.items():
                if target == name and other not in links:
                    links[other] = column
        return links

    def parents(self, name: str) -> dict[str, str]:
        """1-1 links of a table: linked table → this table's column pointing there."""
        return {target: column for column, target in self.info(name).links.items()}

    def import_table(
        self,
        name: str,
        source: TableSource,
        *,
        key: str,
        links: Mapping[str, str] | None = None,
    ) -> TableInfo:
        """Check a table and store it; replaces a table of the same name.

        Nothing changes when a check fails: the key must exist, be unique and have
        no nulls; every link column must exist and point at an imported table.
        """
        links = dict(links or {})
        if not TABLE_NAME.match(name):
            raise DataError(
                f"table name {name!r} must be lower-case letters, digits and '_', "
                "starting with a letter"
            )
        frame = _read_source(source)
        _check_key(name, frame, key)
        for column, target in links.items():
            self._check_link(name, frame, key, column, target)

        relative = Path("tables") / f"{name}.parquet"
        write_parquet_atomically(frame, self.root / relative)
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO tables VALUES (?, ?, ?, ?, ?, datetime('now'))",
                (name, key, dumps(links), str(relative), frame.height),
            )
        return self.info(name)

    def _check_link(
        self, name: str, frame: pl.DataFrame, key: str, column: str, target: str
    ) -> None:
        if column not in frame.columns:
            raise DataError(
                f"link column {column!r} is not in table {name!r} "
                f"(columns: {', '.join(frame.columns)})"
            )
        if target == name:
            target_key, target_type = key, frame.schema[key]
        else:
            info = self.info(target)
            target_key = info.key
            target_type = self.schema(target)[target_key]
        mine = frame.schema[column]
        if mine.is_integer() != target_type.is_integer():
            raise DataError(
                f"link {name}.{column} ({mine}) can't point at "
                f"{target}.{target_key} ({target_type}): the types differ"
            )


def _read_source(source: TableSource) -> pl.DataFrame:
    if isinstance(source, pl.DataFrame):
        return source
    if isinstance(source, pl.LazyFrame):
        return source.collect()
    path = Path(source)
    if not path.exists():
        raise DataError(f"no file at {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix == ".csv":
            return pl.read_csv(path, try_parse_dates=True)
    except (pl.exceptions.PolarsError, OSError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise DataError(f"can't read {path}: {first_line}") from None
    raise DataError(f"can't import {path}: the format must be .parquet or .csv")


def _check_key(name: str, frame: pl.DataFrame, key: str) -> None:
    if key not in frame.columns:
        raise DataError(
            f"primary key {key!r} is not a column of {name!r} "
            f"(columns: {', '.join(frame.columns)})"
        )
    nulls = frame[key].null_count()
    if nulls:
        raise DataError(f"primary key {name}.{key} has {nulls} null value(s)")
    duplicated = frame.filter(pl.col(key).is_duplicated())[key]
    if len(duplicated):
        raise DataError(
            f"primary key {name}.{key} is not unique: {len(duplicated)} rows share "
            f"a value, e.g. {duplicated[0]!r}"
        )
