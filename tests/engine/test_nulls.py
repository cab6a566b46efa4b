"""Preview schema from the in-memory null marks of a large dimension."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.engine import nulls


def wait_indexed(path: Path) -> nulls.NullIndex:
    deadline = time.monotonic() + 60
    while (index := nulls.ready(path)) is None:
        assert time.monotonic() < deadline, "the null marks were never built"
        time.sleep(0.05)
    return index


def expected(ws: ajo.Workspace, frame: pl.DataFrame) -> dict[str, int]:
    members = ws.table("profiles").filter(
        pl.col("profile_id").is_in(frame["profile_id"].implode())
    )
    return {name: members[name].null_count() for name in members.columns}


def test_schema_from_the_null_marks_matches_the_rows(
    workspace: ajo.Workspace,
    spring_sale: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(nulls, "LARGE", 0)  # index even this small sample
    run = workspace.load_campaign(spring_sale).start().wait(60)
    index = wait_indexed(workspace.tables.info("profiles").path)
    assert index.rows == workspace.table("profiles").height
    profiles = workspace.table("profiles")
    for transition in ("t1", "t3", "t5", "t6"):
        frame = run.frame(transition)
        schema = run.schema(transition)
        counted = dict(zip(schema["column"], schema["nulls"], strict=True))
        for name, nulls_there in expected(workspace, frame).items():
            assert counted[name] == nulls_there, (transition, name)
        members = profiles.filter(
            pl.col("profile_id").is_in(frame["profile_id"].implode())
        )
        for row in schema.iter_rows(named=True):
            if row["column"] in frame.columns or row["sample"] is None:
                continue
            values = members[row["column"]].drop_nulls().to_list()
            assert row["sample"] in [str(v) for v in values], (transition, row)


def test_keys_that_are_not_consecutive_are_not_indexed() -> None:
    gaps = pl.LazyFrame({"k": [1, 2, 4], "a": [None, "x", "y"]})
    assert nulls.NullIndex.build(gaps, "k") is None
    text = pl.LazyFrame({"k": ["a", "b"], "a": [None, "x"]})
    assert nulls.NullIndex.build(text, "k") is None
    index = nulls.NullIndex.build(
        pl.LazyFrame({"k": [5, 6, 7], "a": [None, "x", None]}), "k"
    )
    assert index is not None
    found, counts, firsts = index.summary(pl.Series([7, 5, 9]))
    assert (found, counts, firsts) == (2, {"a": 3}, {"a": None})  # 9 is missing
    assert index.summary(pl.Series([6, 7]))[1:] == ({"a": 1}, {"a": 6})


def test_a_live_execution_reads_its_snapshot_not_the_marks(
    workspace: ajo.Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nulls, "LARGE", 0)
    document = {
        "format": "ajo-workbench/campaign@1",
        "id": "fr",
        "name": "fr",
        "settings": {"send_confirmation": False},
        "activities": [
            {"id": "fr", "type": "build_audience", "where": "country = 'FR'"},
            {"id": "end", "type": "end"},
        ],
        "transitions": [{"id": "t1", "from": "fr", "to": "end"}],
    }
    live = workspace.load_campaign(document).publish()
    assert live is not None
    live.wait(60)
    assert live._null_index("profiles") is None  # reads its snapshot
    schema = live.schema("t1")
    counted = dict(zip(schema["column"], schema["nulls"], strict=True))
    assert counted == {**expected(workspace, live.frame("t1")), "profile_id": 0}
