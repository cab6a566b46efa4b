"""Fuzzed table imports (SPEC §8, §12): clear errors that name the line, no change.

Every case goes through :func:`imported`: a bad import raises
:class:`~ajo_workbench.DataError` and leaves the workspace's database and files as
they were (an earlier table of the same name included); a good one returns the
table's description.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ajo_workbench as ajo
from ajo_workbench.storage.tables import SCHEMA_ROWS, TableInfo

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HEADER = ["visit_id", "profile_id", "store", "amount"]
LINKS = {"profile_id": "profiles"}

Imported = Callable[..., "TableInfo | str"]


@pytest.fixture(scope="module")
def imported(
    module_workspace: ajo.Workspace,
    state_of: Callable[[ajo.Workspace], object],
) -> Imported:
    """Imports into the module's workspace; a DataError's message when refused."""
    ws = module_workspace

    def run(source: Any, *, key: str = "visit_id", **options: Any) -> TableInfo | str:
        before = state_of(ws)
        try:
            return ws.import_table(
                options.pop("name", "visits"), source, key=key, **options
            )
        except ajo.DataError as error:
            message = str(error)
        assert state_of(ws) == before, (
            f"a refused import changed the workspace: {message}"
        )
        assert "\n" not in message
        return message

    return run


@contextmanager
def csv_file(data: bytes | str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "visits.csv"
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8", newline="")
        else:
            path.write_bytes(data)
        yield path


def refusal(result: TableInfo | str) -> str:
    assert isinstance(result, str), f"expected a DataError, imported {result}"
    return result


def names_line(message: str, line: int) -> bool:
    return re.search(rf"\bline {line}\b", message) is not None


# --------------------------------------------------------- generated files

store_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
    max_size=12,
).map(lambda text: "S" + text) | st.sampled_from(
    ["Lyon", "Paris, Nord", 'Le "Bon" Coin', "Gent\nCentrum", "Zoë"]
)
"""Store names: always text (never read as a number), some needing quotes."""


@st.composite
def visit_rows(draw: st.DrawFn, size: int | None = None) -> list[list[str]]:
    count = size if size is not None else draw(st.integers(3, 40))
    stores = draw(st.lists(store_names, min_size=count, max_size=count))
    return [
        [str(i + 1), str(i % 50 + 1), store, f"{i * 1.5:.2f}"]
        for i, store in enumerate(stores)
    ]


def records(rows: list[list[str]], newline: str = "\n") -> list[str]:
    """The header and each row as CSV text, one string per record."""
    out = []
    for fields in [HEADER, *rows]:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=newline).writerow(fields)
        out.append(buffer.getvalue())
    return out


def line_of(texts: list[str], record: int) -> int:
    """The line a record starts on (a quoted field may hold newlines)."""
    return 1 + sum(text.count("\n") for text in texts[:record])


@given(rows=visit_rows(), newline=st.sampled_from(["\n", "\r\n"]))
@FUZZ
def test_generated_files_import(
    imported: Imported, rows: list[list[str]], newline: str
) -> None:
    with csv_file("".join(records(rows, newline))) as path:
        info = imported(path, links=LINKS)

    assert isinstance(info, TableInfo) and info.rows == len(rows)


DEFECTS = ["extra", "short", "blank", "utf8", "quote", "duplicate", "null", "typed"]


@pytest.mark.parametrize("defect", DEFECTS)
@given(rows=visit_rows(size=SCHEMA_ROWS + 20), data=st.data())
@settings(FUZZ, max_examples=8)
def test_one_bad_row_is_named_by_its_line(
    imported: Imported, rows: list[list[str]], defect: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(2, len(rows)), label="record")
    if defect == "quote":
        at = len(rows)  # an open quote runs to the end of the file
    if defect == "typed":
        at = data.draw(st.integers(SCHEMA_ROWS + 2, len(rows)), label="record")
    first = data.draw(st.integers(1, at - 1), label="first")
    texts = records(rows)
    line = line_of(texts, at)
    raw = "".join(texts[:at]).encode("utf-8")
    row = rows[at - 1]

    if defect == "extra":
        bad = (texts[at].rstrip("\n") + ",extra\n").encode("utf-8")
        expected = f"line {line} has 5 field(s); the header has 4"
    elif defect == "short":
        bad = ",".join(row[:2]).encode("utf-8") + b"\n"
        expected = f"line {line} has 2 field(s); the header has 4"
    elif defect == "blank":
        bad = b"\n" + texts[at].encode("utf-8")
        expected = f"line {line} is empty; the header has 4"
    elif defect == "utf8":
        bad = f"{row[0]},{row[1]},".encode() + b"\xff" + b",1.0\n"
        column = len(f"{row[0]},{row[1]},") + 1
        expected = f"line {line}, column {column}: byte 0xff is not UTF-8"
    elif defect == "quote":
        bad = f'{row[0]},{row[1]},"never closed,1.0\n'.encode()
        expected = f"line {line}: a quoted field is never closed"
    elif defect == "duplicate":
        bad = (str(first) + texts[at][len(row[0]) :]).encode("utf-8")
        expected = (
            f"is not unique: 2 rows share a value, e.g. {first} at line "
            f"{line_of(texts, first)} and line {line}"
        )
    elif defect == "null":
        bad = ("," + texts[at].split(",", 1)[1]).encode("utf-8")
        expected = "has 1 null value(s), the first at line " + str(line)
    else:
        bad = ("oops," + texts[at].split(",", 1)[1]).encode("utf-8")
        expected = f"line {line}, column 'visit_id': 'oops' can't be read as i64"
    rest = "".join(records(rows)[at + 1 :]).encode("utf-8")

    with csv_file(raw + bad + rest) as path:
        message = refusal(imported(path, links=LINKS))

    assert expected in message, message
    assert message.startswith(f"can't read {path}: ") or "primary key" in message


@given(data=st.binary(max_size=200))
@FUZZ
def test_random_bytes_are_refused_or_imported(imported: Imported, data: bytes) -> None:
    with csv_file(b"visit_id,x\n" + data) as path:
        result = imported(path)

    event("imported" if isinstance(result, TableInfo) else "refused")


@given(
    cells=st.lists(
        st.lists(
            st.sampled_from(["1", "2", "", "x", '"', '""', "é", ",", "\n"]), max_size=5
        ),
        max_size=8,
    )
)
@FUZZ
def test_ragged_files_are_refused_or_imported(
    imported: Imported, cells: list[list[str]]
) -> None:
    text = "visit_id,store\n" + "\n".join("".join(line) for line in cells)

    with csv_file(text) as path:
        result = imported(path)

    event("imported" if isinstance(result, TableInfo) else "refused")


# ------------------------------------------------------------ fixed cases


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty, it needs a header line"),
        (b"\xef\xbb\xbf", "the file is empty, it needs a header line"),
        (b"\n\n\n", "the file is empty, it needs a header line"),
        (b"visit_id,visit_id\n1,2\n", "line 1 names column 'visit_id' twice"),
        (b"visit_id,,store\n1,2,3\n", "line 1, column 2 of the header has no name"),
        (b"\xff\xfevisit_id\n", "line 1, column 1: byte 0xff is not UTF-8"),
        (b"visit_id,store\n1,Caf\xe9\n", "line 2, column 6: byte 0xe9 is not UTF-8"),
        (b"visit_id,store\n1,a\n2,b,c\n", "line 3 has 3 field(s); the header has 2"),
        (b"visit_id,store\n1,a\n2\n3,c\n", "line 3 has 1 field(s); the header has 2"),
        (b"visit_id,store\n1,a\n\n3,c\n", "line 3 is empty; the header has 2"),
        (b'visit_id,store\n1,"a\nb"\n2\n', "line 4 has 1 field(s)"),
        (b'visit_id,store\n1,a\n2,"b\n3,c\n', "line 3: a quoted field is never closed"),
        (b"visit_id,store\n1,a\n1,b\n", "e.g. 1 at line 2 and line 3"),
        (b"visit_id,store\n1,a\n,b\n", "has 1 null value(s), the first at line 3"),
        (b"store\nx\n", "primary key 'visit_id' is not a column of 'visits'"),
        (b"visit_id;store\n1;a\n", "primary key 'visit_id' is not a column"),
    ],
)
def test_bad_files_are_refused_with_the_line(
    imported: Imported, data: bytes, expected: str
) -> None:
    with csv_file(data) as path:
        message = refusal(imported(path))

    assert expected in message


def test_a_header_alone_is_an_empty_table(imported: Imported) -> None:
    with csv_file("visit_id,store\n") as path:
        info = imported(path)

    assert isinstance(info, TableInfo) and info.rows == 0


def test_orphan_link_values_are_kept(
    imported: Imported, module_workspace: ajo.Workspace
) -> None:
    # change_dimension keeps only linked keys that exist (SPEC §4.4), so rows whose
    # parent is missing are data, not an error.
    with csv_file("visit_id,profile_id\n1,1\n2,999999\n") as path:
        info = imported(path, links=LINKS)

    assert isinstance(info, TableInfo) and info.rows == 2
    assert module_workspace.table("visits")["profile_id"].to_list() == [1, 999999]


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ({"profile_id": "regions"}, "unknown table 'regions'"),
        ({"shop_id": "profiles"}, "link column 'shop_id' is not in table 'visits'"),
        ({"store": "profiles"}, "can't point at profiles.profile_id (Int64)"),
        (["profile_id"], "links of 'visits' must map a column to a table"),
    ],
)
def test_links_to_missing_parents_are_refused(
    imported: Imported, links: Any, expected: str
) -> None:
    with csv_file("visit_id,profile_id,store\n1,1,a\n") as path:
        message = refusal(imported(path, links=links))

    assert expected in message


@pytest.mark.parametrize(
    ("source", "options", "expected"),
    [
        (None, {}, "can't import a NoneType"),
        (42, {}, "can't import a int"),
        (["a.csv"], {}, "can't import a list"),
        ("missing.csv", {}, "no file at missing.csv"),
        (".", {}, "no file at ."),
        (
            pl.LazyFrame({"visit_id": [1]}).select(pl.col("nope")),
            {},
            "can't read the frame",
        ),
        (pl.DataFrame({"visit_id": [1]}), {"name": "visits\n"}, "table name"),
        (pl.DataFrame({"visit_id": [1]}), {"name": "Visits"}, "table name"),
        (pl.DataFrame({"visit_id": [1]}), {"name": 7}, "table name"),
        (pl.DataFrame({"visit_id": [1]}), {"key": 1}, "primary key 1"),
        (
            pl.DataFrame({"visit_id": [None, None]}),
            {},
            "2 null value(s), the first at row 1",
        ),
        (pl.DataFrame({"visit_id": [3, 1, 3]}), {}, "e.g. 3 at row 1 and row 3"),
    ],
)
def test_bad_api_calls_are_refused(
    imported: Imported, source: Any, options: dict[str, Any], expected: str
) -> None:
    message = refusal(imported(source, **options))

    assert expected in message


# ------------------------------------------------------------- one big file


def test_a_100_mb_file_with_bad_rows_is_refused_quickly(
    fresh_workspace: ajo.Workspace,
    state_of: Callable[[ajo.Workspace], object],
    tmp_path: Path,
) -> None:
    ws = fresh_workspace
    ws.import_table("visits", pl.DataFrame({"visit_id": [1]}), key="visit_id")
    path = tmp_path / "visits.csv"
    rows = 1_650_000
    bad_at = 1_000_000  # data row index of the first bad row
    rng = np.random.default_rng(7)
    frame = pl.DataFrame(
        {
            "visit_id": np.arange(rows),
            "profile_id": rng.integers(1, 20_000, rows),
            "store": rng.choice(["Lyon", "Gent", "Nice", "Paris, Nord"], rows),
            "amount": rng.random(rows) * 100,
            "note": ['came back, said "hi"'] * rows,
        }
    )
    with path.open("wb") as out:
        frame[:bad_at].write_csv(out)
        out.write(b"1000000,17,Lyon\n")  # a short row
        frame[bad_at + 1 : bad_at + 50_000].write_csv(out, include_header=False)
        out.write(b"1050000,17,Lyon,1.5,x,too many\n")
        frame[bad_at + 50_001 :].write_csv(out, include_header=False)
    size = path.stat().st_size
    assert size > 100_000_000
    before = state_of(ws)
    started = time.perf_counter()

    with pytest.raises(ajo.DataError) as info:
        ws.import_table("visits", path, key="visit_id", links=LINKS)

    elapsed = time.perf_counter() - started
    assert str(info.value) == (
        f"can't read {path}: line {bad_at + 2} has 3 field(s); the header has 5"
    )
    assert state_of(ws) == before
    assert ws.table("visits")["visit_id"].to_list() == [1]
    assert elapsed < 30, f"{size / 1e6:.0f} MB took {elapsed:.1f} s to refuse"
