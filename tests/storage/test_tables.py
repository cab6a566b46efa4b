"""Importing tables: sources, keys, links, and nothing changed on failure."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import ajo_workbench as ajo


def stores() -> pl.DataFrame:
    return pl.DataFrame({"store_id": [1, 2, 3], "city": ["Lyon", "Gent", "Nice"]})


def test_import_from_frame_parquet_and_csv(tmp_path: Path) -> None:
    ws = ajo.Workspace(tmp_path / "ws")
    ws.import_table("stores", stores(), key="store_id")
    stores().write_parquet(tmp_path / "s.parquet")
    ws.import_table("stores_p", tmp_path / "s.parquet", key="store_id")
    stores().write_csv(tmp_path / "s.csv")
    info = ws.import_table("stores_c", str(tmp_path / "s.csv"), key="store_id")

    assert info.rows == 3
    for name in ("stores", "stores_p", "stores_c"):
        assert ws.table(name).equals(stores())
    assert ws.tables.names() == ["stores", "stores_c", "stores_p"]


def test_links_make_one_to_many_and_one_to_one(tmp_path: Path) -> None:
    ws = ajo.Workspace(tmp_path / "ws")
    ws.import_table("stores", stores(), key="store_id")
    visits = pl.DataFrame({"visit_id": [1, 2], "store_id": [1, 1]})
    ws.import_table("visits", visits, key="visit_id", links={"store_id": "stores"})
    assert ws.tables.children("stores") == {"visits": "store_id"}
    assert ws.tables.parents("visits") == {"stores": "store_id"}


@pytest.mark.parametrize(
    ("frame", "key", "links", "message"),
    [
        (stores(), "id", {}, "primary key 'id' is not a column of 'bad'"),
        (pl.DataFrame({"k": [1, 1]}), "k", {}, "is not unique: 2 rows share"),
        (pl.DataFrame({"k": [1, None]}), "k", {}, "has 1 null value"),
        (stores(), "store_id", {"town": "stores"}, "link column 'town' is not in"),
        (stores(), "store_id", {"city": "regions"}, "unknown table 'regions'"),
        (
            stores().with_columns(pl.col("city").alias("ref")),
            "store_id",
            {"ref": "products"},
            "the types differ",
        ),
    ],
)
def test_bad_imports_change_nothing(
    sample_folder: Path,
    tmp_path: Path,
    frame: pl.DataFrame,
    key: str,
    links: dict[str, str],
    message: str,
) -> None:
    ws = ajo.Workspace(tmp_path / "ws")
    ws.import_table("products", pl.DataFrame({"product_id": [1]}), key="product_id")
    before = sorted(p.name for p in (tmp_path / "ws").rglob("*"))
    with pytest.raises(ajo.DataError, match=message):
        ws.import_table("bad", frame, key=key, links=links)
    assert "bad" not in ws.tables.names()
    assert sorted(p.name for p in (tmp_path / "ws").rglob("*")) == before


def test_bad_files(tmp_path: Path) -> None:
    ws = ajo.Workspace(tmp_path / "ws")
    with pytest.raises(ajo.DataError, match="no file at"):
        ws.import_table("x", tmp_path / "missing.csv", key="k")
    (tmp_path / "x.txt").write_text("k\n1\n")
    with pytest.raises(ajo.DataError, match=r"must be \.parquet or \.csv"):
        ws.import_table("x", tmp_path / "x.txt", key="k")
    (tmp_path / "x.parquet").write_text("not parquet")
    with pytest.raises(ajo.DataError, match="can't read"):
        ws.import_table("x", tmp_path / "x.parquet", key="k")
    with pytest.raises(ajo.DataError, match="table name 'Bad Name'"):
        ws.import_table("Bad Name", stores(), key="store_id")


def test_workspace_path_must_be_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ajo.WorkspaceError, match="is not a folder"):
        ajo.Workspace(tmp_path / "file")
