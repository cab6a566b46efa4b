"""Replaced table files: a query planned on the old file still reads it whole, and
the old file goes once it has been retired long enough."""

from __future__ import annotations

import polars as pl

import ajo_workbench as ajo


def test_a_query_planned_before_an_import_reads_the_old_table_whole(
    workspace: ajo.Workspace,
) -> None:
    old = workspace.table("purchases")
    planned = workspace.tables.scan("purchases").select(pl.col("amount").sum())
    first = workspace.tables.info("purchases").path
    assert first == workspace.path / "tables" / "purchases.parquet"

    doubled = old.with_columns(pl.col("amount") * 2)
    workspace.import_table("purchases", doubled, key="purchase_id", links={})
    assert workspace.tables.info("purchases").path != first
    assert workspace.table("purchases").equals(doubled)
    assert planned.collect().item() == old["amount"].sum()  # not the new file's


def test_retired_files_go_after_their_time(workspace: ajo.Workspace) -> None:
    frame = workspace.table("products")
    paths = [workspace.tables.info("products").path]
    for _ in range(2):
        workspace.import_table("products", frame, key="product_id", links={})
        paths.append(workspace.tables.info("products").path)
    assert len(set(paths)) == 3 and all(path.exists() for path in paths)

    workspace.database.execute("UPDATE retired_files SET retired_at = '2000-01-01'")
    ajo.Workspace(workspace.path)  # opening removes what is due
    assert [path.exists() for path in paths] == [False, False, True]
    assert workspace.database.query("SELECT * FROM retired_files") == []
