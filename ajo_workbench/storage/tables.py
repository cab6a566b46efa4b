"""Workspace tables: Parquet files with a primary key and links, listed in SQLite."""

from __future__ import annotations

import csv
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ajo_workbench.errors import DataError
from ajo_workbench.storage.database import Database, dumps
from ajo_workbench.storage.swaps import finish_swaps, now_text, replace_with_row

TABLE_NAME = re.compile(r"\A[a-z][a-z0-9_]*\Z")
TableSource = str | Path | pl.DataFrame | pl.LazyFrame
SCHEMA_ROWS = 100
"""Rows of a CSV file that its column types are guessed from (polars' default)."""

RowNames = Callable[[Iterable[int]], dict[int, str]]
"""Names rows of a source by index: ``row 3`` for frames, ``line 4`` for CSV."""


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
        finish_swaps(database, root)

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
        if not isinstance(links, Mapping | None):
            raise DataError(
                f"links of {name!r} must map a column to a table, got {links!r}"
            )
        links = dict(links or {})
        if not isinstance(name, str) or not TABLE_NAME.match(name):
            raise DataError(
                f"table name {name!r} must be lower-case letters, digits and '_', "
                "starting with a letter"
            )
        frame, rows = _read_source(source)
        _check_key(name, frame, key, rows)
        for column, target in links.items():
            self._check_link(name, frame, key, column, target)

        replace_with_row(
            self.database,
            self.root,
            frame,
            Path("tables") / f"{name}.parquet",
            "tables",
            lambda path: (name, key, dumps(links), path, frame.height, now_text()),
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


def _read_source(source: TableSource) -> tuple[pl.DataFrame, RowNames]:
    if isinstance(source, pl.DataFrame):
        return source, _frame_rows
    if isinstance(source, pl.LazyFrame):
        try:
            return source.collect(), _frame_rows
        except pl.exceptions.PolarsError as error:
            raise DataError(f"can't read the frame: {_first_line(error)}") from None
    if not isinstance(source, str | Path):
        raise DataError(
            f"can't import a {type(source).__name__}: give a path to a .parquet or "
            ".csv file, or a polars frame"
        )
    path = Path(source)
    if not path.is_file():
        raise DataError(f"no file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path), _CsvRows(path).names
    if suffix != ".parquet":
        raise DataError(f"can't import {path}: the format must be .parquet or .csv")
    try:
        return pl.read_parquet(path), _frame_rows
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as error:
        raise DataError(f"can't read {path}: {_first_line(error)}") from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _frame_rows(indices: Iterable[int]) -> dict[int, str]:
    return {index: f"row {index + 1}" for index in indices}


def _check_key(name: str, frame: pl.DataFrame, key: str, rows: RowNames) -> None:
    if not isinstance(key, str) or key not in frame.columns:
        raise DataError(
            f"primary key {key!r} is not a column of {name!r} "
            f"(columns: {', '.join(frame.columns)})"
        )
    nulls = frame[key].is_null()
    if nulls.any():
        first = int(nulls.arg_true()[0])
        raise DataError(
            f"primary key {name}.{key} has {nulls.sum()} null value(s), the first "
            f"at {rows([first])[first]}"
        )
    duplicated = frame.select(pl.col(key).is_duplicated()).to_series()
    if duplicated.any():
        value, (first, second) = (
            frame.with_row_index("row")
            .filter(duplicated)
            .group_by(key, maintain_order=True)
            .agg(pl.col("row").head(2))
            .row(0)
        )
        names = rows([first, second])
        raise DataError(
            f"primary key {name}.{key} is not unique: {duplicated.sum()} rows share "
            f"a value, e.g. {value!r} at {names[first]} and {names[second]}"
        )


# ---------------------------------------------------------------------- CSV

_PARSE_FAILURE = re.compile(
    r"could not parse `(?P<value>.*?)` as dtype `(?P<dtype>[^`]*)` at column "
    r"'(?P<column>[^']*)'",
    re.DOTALL,
)


def _read_csv(path: Path) -> pl.DataFrame:
    """A UTF-8 CSV file with a header; DataError names the line of a bad row."""
    try:
        header = _csv_header(path)
        frame = pl.read_csv(path, try_parse_dates=True)
    except OSError as error:
        raise DataError(f"can't read {path}: {error.strerror or error}") from None
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as error:
        raise DataError(
            f"can't read {path}: {_csv_problem(path, header, error)}"
        ) from None

    # polars fills a short row with nulls, so only a file with nulls can have one.
    if frame.height and frame.null_count().sum_horizontal().item():
        problem = _field_count_problem(path, header)
        if problem:
            raise DataError(f"can't read {path}: {problem}")
    return frame


def _csv_header(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as text:
            header = next(csv.reader(text), None)
    except UnicodeDecodeError:
        raise DataError(f"can't read {path}: {_utf8_problem(path)}") from None
    except csv.Error as error:
        raise DataError(f"can't read {path}: line 1: {error}") from None

    if not header:
        raise DataError(f"can't read {path}: the file is empty, it needs a header line")
    for index, column in enumerate(header, start=1):
        if not column.strip():
            raise DataError(
                f"can't read {path}: line 1, column {index} of the header has no name"
            )
        if header.index(column) + 1 != index:
            raise DataError(
                f"can't read {path}: line 1 names column {column!r} twice (columns "
                f"{header.index(column) + 1} and {index})"
            )
    return header


def _csv_problem(path: Path, header: list[str], error: BaseException) -> str:
    message = _first_line(error)
    if "utf-8" in message.lower() or "utf8" in message.lower():
        return _utf8_problem(path)

    failure = _PARSE_FAILURE.search(str(error))
    if failure and failure.group("dtype") != "str":
        located = _parse_failure(path, **failure.groupdict())
        if located:
            return located

    return _field_count_problem(path, header) or message


def _parse_failure(path: Path, value: str, dtype: str, column: str) -> str | None:
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.PolarsError:
        return None
    if column not in raw.columns:
        return None
    found = raw.select(pl.col(column) == value).to_series().arg_true()
    if not len(found):
        return None
    index = int(found[0])
    line = _CsvRows(path).names([index])[index]
    return (
        f"{line}, column {column!r}: {value!r} can't be read as {dtype}, the type "
        f"of the column's first {SCHEMA_ROWS} rows; fix the value"
    )


def _field_count_problem(path: Path, header: list[str]) -> str | None:
    """The first line whose number of fields is not the header's, if any."""
    expected = len(header)
    with open(path, encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text, strict=True)
        end = 0
        try:
            for number, record in enumerate(reader):
                start, end = end + 1, reader.line_num
                # A blank line is one empty field when there is only one column.
                count = len(record) if record or expected > 1 else 1
                if number and count != expected:
                    what = "is empty" if not record else f"has {count} field(s)"
                    return f"line {start} {what}; the header has {expected}"
        except csv.Error as error:
            if "end of data" in str(error).lower():
                return f"line {end + 1}: a quoted field is never closed"
            return f"line {end + 1}: {error}"
    return None


def _utf8_problem(path: Path) -> str:
    """Where the first bytes that are not UTF-8 are, by line and column."""
    line, tail = 1, b""
    with open(path, "rb") as data:
        while chunk := data.read(1 << 20):
            block = tail + chunk
            try:
                block.decode("utf-8")
            except UnicodeDecodeError as error:
                if error.reason != "unexpected end of data":
                    return _bad_byte(block, error.start, line)
                cut = error.start  # a character cut by the block's end
            else:
                cut = len(block)
            line += block.count(b"\n", 0, cut)
            tail = block[cut:]
    if tail:
        return _bad_byte(tail, 0, line)
    return "the file is not UTF-8 text; save it as UTF-8"


def _bad_byte(block: bytes, start: int, line: int) -> str:
    line += block.count(b"\n", 0, start)
    column = start - (block.rfind(b"\n", 0, start) + 1) + 1
    return (
        f"line {line}, column {column}: byte 0x{block[start]:02x} is not UTF-8; "
        "save the file as UTF-8"
    )


class _CsvRows:
    """Line numbers of a CSV file's data rows (a quoted field may span lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def names(self, indices: Iterable[int]) -> dict[int, str]:
        wanted = set(indices)
        found: dict[int, str] = {}
        with open(self.path, encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text)
            end = 0
            for number, _ in enumerate(reader):
                if number - 1 in wanted:
                    found[number - 1] = f"line {end + 1}"
                    if len(found) == len(wanted):
                        break
                end = reader.line_num
        return {index: found.get(index, f"row {index + 1}") for index in wanted}
