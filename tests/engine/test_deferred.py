"""Added columns that no later activity reads wait until a table is shown."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo

WINDOW = "purchased_at >= TIMESTAMP '2026-09-01 00:00:00'"


def campaign(**settings: Any) -> dict[str, Any]:
    """An enrichment whose ``last_buy`` and ``orders`` nothing reads later."""
    return {
        "id": "deferred",
        "settings": settings,
        "activities": [
            {"id": "fr", "type": "build_audience", "where": "country = 'FR'"},
            {
                "id": "spend",
                "type": "enrichment",
                "attributes": [
                    {
                        "name": "orders",
                        "link": "purchases",
                        "aggregate": "count",
                        "where": WINDOW,
                    },
                    {
                        "name": "spent",
                        "link": "purchases",
                        "aggregate": "sum",
                        "column": "amount",
                        "where": WINDOW,
                        "default": 0,
                    },
                    {
                        "name": "last_buy",
                        "link": "purchases",
                        "aggregate": "max",
                        "column": "purchased_at",
                    },
                ],
            },
            {"id": "big", "type": "build_audience", "where": "spent >= 100"},
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "fr", "to": "spend"},
            {"id": "t2", "from": "spend", "to": "big"},
            {"id": "t3", "from": "big", "to": "end"},
        ],
    }


def expected(ws: ajo.Workspace) -> pl.DataFrame:
    """The enriched French profiles, computed with plain polars."""
    purchases = ws.table("purchases")
    window = pl.col("purchased_at") >= pl.datetime(2026, 9, 1)
    counts = (
        purchases.group_by("profile_id")
        .agg(
            window.sum().cast(pl.Int64).alias("orders"),
            pl.col("amount").filter(window).sum().alias("spent"),
            window.any().alias("any"),
            pl.col("purchased_at").max().alias("last_buy"),
        )
        .with_columns(pl.when(pl.col("any")).then(pl.col("spent")).alias("spent"))
    )
    french = ws.table("profiles").filter(pl.col("country") == "FR")
    return (
        french.select("profile_id")
        .join(counts, on="profile_id", how="left")
        .with_columns(pl.col("orders").fill_null(0), pl.col("spent").fill_null(0.0))
        .select("profile_id", "orders", "spent", "last_buy")
        .sort("profile_id")
    )


def test_deferred_columns_have_their_values_when_shown(
    workspace: ajo.Workspace,
) -> None:
    run = workspace.load_campaign(campaign()).start().wait(60)
    assert run.state == "finished"
    messages = run.logs.filter(pl.col("activity_id") == "spend")["message"]
    assert "computed when shown: orders, last_buy" in messages.to_list()
    truth = expected(workspace)
    assert truth["last_buy"].null_count() < truth.height  # the column is not empty

    shown = run.frame("t2").sort("profile_id")
    assert shown.equals(truth)
    big = run.frame("t3").sort("profile_id")
    assert big.equals(truth.filter(pl.col("spent") >= 100))
    schema = run.schema("t3")
    last_buy = schema.filter(pl.col("column") == "last_buy").row(0, named=True)
    assert last_buy["nulls"] == big["last_buy"].null_count()


def test_kept_tables_compute_every_column_while_running(
    workspace: ajo.Workspace,
) -> None:
    kept = workspace.load_campaign(campaign(keep_interim_results=True))
    run = kept.start().wait(60)
    assert run.state == "finished"
    assert not run.logs["message"].str.contains("computed when shown").any()
    path = workspace.path / "worktables" / run.id / "t2.parquet"
    on_disk = pl.read_parquet(path).sort("profile_id")
    assert on_disk.equals(expected(workspace))


def test_a_page_completes_only_its_rows(workspace: ajo.Workspace) -> None:
    run = workspace.load_campaign(campaign()).start().wait(60)
    page = run.page("t2", offset=5, length=7, columns=["email"])
    assert page.height == 7
    whole = run.frame("t2", columns=["email"])
    assert page.equals(whole.slice(5, 7))
    assert run.page("t2", offset=whole.height).height == 0
    with pytest.raises(ValueError, match="offset and length must be 0 or more"):
        run.page("t2", offset=-1)


def test_schema_summarises_the_whole_table_with_its_attributes(
    workspace: ajo.Workspace,
) -> None:
    run = workspace.load_campaign(campaign()).start().wait(60)
    whole = run.frame("t2", columns=True)
    expected_rows = [
        {
            "column": name,
            "type": str(dtype),
            "nulls": whole[name].null_count(),
            "sample": (
                str(whole[name].drop_nulls()[0])
                if whole[name].null_count() < whole.height
                else None
            ),
        }
        for name, dtype in whole.schema.items()
    ]
    schema = run.schema("t2")
    assert schema.select("column", "type", "nulls").to_dicts() == [
        {k: row[k] for k in ("column", "type", "nulls")} for row in expected_rows
    ]
    phone = schema.filter(pl.col("column") == "phone").row(0, named=True)
    assert phone["nulls"] > 0  # sample profiles without a phone
    assert all(s is not None for s in schema["sample"].to_list()[:4])
