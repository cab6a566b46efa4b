"""Audiences, files, reconciliation, change of dimension and incremental queries."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.engine import Execution

FR = {"id": "fr", "type": "build_audience", "where": "country = 'FR'"}
END = {"id": "end", "type": "end"}


def run_live(ws: ajo.Workspace, document: dict[str, Any]) -> Execution:
    """Run a definition as a live execution (delivery is not part of these tests)."""
    definition = ajo.parse_definition(document)
    execution = Execution(
        execution_id=uuid.uuid4().hex[:12],
        campaign_id=definition.id,
        definition=definition,
        tables=ws.tables,
        journal=ws.journal,
        folder=ws.path,
        mode="live",
        clock=ws.clock,
        state=ws.shared_state,
    )
    return execution.start().wait(60)


def saver(name: str = "french") -> dict[str, Any]:
    return {
        "id": "saver",
        "activities": [
            FR,
            {"id": "save", "type": "save_audience", "audience": name},
            END,
        ],
        "transitions": [
            {"id": "t1", "from": "fr", "to": "save"},
            {"id": "t2", "from": "save", "to": "end"},
        ],
    }


def test_save_audience_is_skipped_in_test_and_written_live(
    workspace: ajo.Workspace, chain: Any
) -> None:
    test_run = workspace.load_campaign(saver()).start().wait(60)
    assert test_run.task_status("save") == "skipped"
    assert test_run.count("t2") == test_run.count("t1")
    assert workspace.shared_state.audiences() == {}

    live = run_live(workspace, saver())
    assert live.task_status("save") == "success"
    assert workspace.shared_state.audiences() == {"french": "saver"}

    reader = chain(
        {"id": "members", "type": "read_audience", "audience": "french"},
        {"id": "gold", "type": "build_audience", "where": "loyalty_tier = 'gold'"},
        END,
    )
    run = workspace.load_campaign(reader).start().wait(60)
    french = workspace.table("profiles").filter(pl.col("country") == "FR")
    assert run.count("t1") == french.height
    assert run.count("t2") == french.filter(pl.col("loyalty_tier") == "gold").height


def test_audience_names_belong_to_one_campaign(workspace: ajo.Workspace) -> None:
    run_live(workspace, saver())
    other = dict(saver(), id="other")
    alerts = workspace.load_campaign(other).alerts
    assert [a.code for a in alerts] == ["AUDIENCE_TAKEN"]


def test_read_unknown_audience_is_a_validation_error(
    workspace: ajo.Workspace, chain: Any
) -> None:
    document = chain({"id": "m", "type": "read_audience", "audience": "nope"}, END)
    alerts = workspace.load_campaign(document).alerts
    assert [(a.code, a.activity_id) for a in alerts] == [("UNKNOWN_AUDIENCE", "m")]


def write_leads(folder: Path) -> Path:
    path = folder / "leads.csv"
    path.write_text(
        "email,age,joined,vip\n"
        "a@example.com,31,2026-01-02,true\n"
        "b@example.com,abc,2026-01-03,no\n"
        ",40,not a date,yes\n"
        "c@example.com,,2026-02-30,maybe\n"
        "d@example.com,22,,false\n",
        encoding="utf-8",
    )
    return path


def loader(path: Path, **settings: Any) -> dict[str, Any]:
    return {
        "id": "loader",
        "activities": [
            {
                "id": "file",
                "type": "load_file",
                "path": str(path),
                "columns": {"age": "int", "joined": "date", "vip": "bool"},
                **settings,
            },
            {"id": "adults", "type": "build_audience", "where": "age >= 30"},
            END,
        ],
        "transitions": [
            {"id": "t1", "from": "file", "to": "adults"},
            {"id": "t2", "from": "file", "port": "rejects", "to": "end"},
            {"id": "t3", "from": "adults", "to": "end"},
        ],
    }


def test_load_file_types_rows_and_rejects_bad_ones(
    workspace: ajo.Workspace, tmp_path: Path
) -> None:
    run = workspace.load_campaign(loader(write_leads(tmp_path))).start().wait(60)
    assert run.state == "finished", run.error

    good = run.frame("t1")
    assert good["line"].to_list() == [2, 6]
    assert good.schema["age"] == pl.Int64 and good.schema["joined"] == pl.Date
    assert good["vip"].to_list() == [True, False]
    rejects = dict(run.frame("t2").iter_rows())
    assert set(rejects) == {3, 4, 5}
    assert rejects[3] == "column 'age': abc is not a int"
    assert "column 'joined': not a date is not a date" in rejects[4]
    assert "column 'vip': maybe is not a bool" in rejects[5]
    assert run.count("t3") == 1


def test_load_file_fails_with_on_error_fail(
    workspace: ajo.Workspace, tmp_path: Path
) -> None:
    document = loader(write_leads(tmp_path), on_error="fail")
    run = workspace.load_campaign(document).start().wait(60)
    assert run.state == "paused"
    assert run.error == (
        "leads.csv line 3: column 'age': abc is not a int (3 bad row(s); "
        "on_error is 'fail')"
    )


def test_load_file_problems_are_validation_errors(
    workspace: ajo.Workspace, tmp_path: Path
) -> None:
    alerts = workspace.load_campaign(loader(tmp_path / "missing.csv")).alerts
    assert [a.code for a in alerts] == ["BAD_FILE"]
    path = write_leads(tmp_path)
    document = loader(path)
    document["activities"][0]["columns"] = {"height": "int"}
    alerts = workspace.load_campaign(document).alerts
    assert "has no column 'height'" in alerts[0].message


def test_reconciliation_and_complement(
    workspace: ajo.Workspace, tmp_path: Path
) -> None:
    profiles = workspace.table("profiles").filter(pl.col("email").is_not_null())
    # E-mails that several profiles share: each must map to its lowest id.
    shared = profiles.filter(pl.col("email").is_duplicated())
    known = shared.unique("email", keep="first").sort("profile_id").head(3)
    assert known.height == 3
    path = tmp_path / "emails.csv"
    rows = [*known["email"].to_list(), "nobody@nowhere.test", None]
    pl.DataFrame({"email": rows, "note": ["x", "y", "z", "w", "v"]}).write_csv(path)

    def document(keep: bool) -> dict[str, Any]:
        return {
            "id": "rec",
            "activities": [
                {"id": "file", "type": "load_file", "path": str(path)},
                {
                    "id": "match",
                    "type": "reconciliation",
                    "match": {"email": "email"},
                    "keep_unreconciled": keep,
                },
                END,
            ],
            "transitions": [
                {"id": "t1", "from": "file", "to": "match"},
                {"id": "t2", "from": "match", "to": "end"},
            ]
            + (
                []
                if keep
                else [{"id": "t3", "from": "match", "port": "complement", "to": "end"}]
            ),
        }

    run = workspace.load_campaign(document(False)).start().wait(60)
    assert run.state == "finished", run.error
    out = run.frame("t2")
    first_ids = (
        profiles.filter(pl.col("email").is_in(known["email"].implode()))
        .group_by("email")
        .agg(pl.col("profile_id").min())
    )
    assert sorted(out["profile_id"].to_list()) == sorted(
        first_ids["profile_id"].to_list()
    )
    assert out.columns == ["profile_id", "line", "note"]
    assert run.count("t3") == 2

    kept = workspace.load_campaign(document(True)).start().wait(60)
    assert kept.count("t2") == 5
    assert kept.frame("t2")["profile_id"].null_count() == 2


def test_change_dimension_both_ways(workspace: ajo.Workspace, chain: Any) -> None:
    big = chain(
        {
            "id": "big",
            "type": "build_audience",
            "dimension": "purchases",
            "where": "amount >= 200",
        },
        {
            "id": "buyers",
            "type": "change_dimension",
            "dimension": "profiles",
            "via": "profile_id",
        },
        {
            "id": "their",
            "type": "change_dimension",
            "dimension": "purchases",
            "via": "profile_id",
        },
        END,
    )
    run = workspace.load_campaign(big).start().wait(60)
    purchases = workspace.table("purchases")
    buyers = purchases.filter(pl.col("amount") >= 200)["profile_id"].unique()
    assert run.count("t1") == purchases.filter(pl.col("amount") >= 200).height
    assert run.count("t2") == buyers.len()
    assert run.frame("t2").columns == ["profile_id"]
    assert (
        run.count("t3")
        == purchases.filter(pl.col("profile_id").is_in(buyers.implode())).height
    )


def test_incremental_query_advances_its_watermark_live_only(
    workspace: ajo.Workspace,
) -> None:
    document = {
        "id": "inc",
        "activities": [
            {
                "id": "new",
                "type": "incremental_query",
                "dimension": "purchases",
                "where": "amount >= 100",
                "processed_field": "purchased_at",
            },
            END,
        ],
        "transitions": [{"id": "t1", "from": "new", "to": "end"}],
    }
    purchases = workspace.table("purchases").filter(pl.col("amount") >= 100)

    test_run = workspace.load_campaign(document).start().wait(60)
    assert test_run.count("t1") == purchases.height
    assert workspace.shared_state.watermark("inc", "new") is None

    first = run_live(workspace, document)
    assert first.count("t1") == purchases.height
    newest = purchases["purchased_at"].max()
    assert workspace.shared_state.watermark("inc", "new") == newest

    later = pl.DataFrame(
        {
            "purchase_id": [10**9],
            "profile_id": [1],
            "product_id": [1],
            "quantity": [1],
            "amount": [150.0],
            "purchased_at": [datetime(2027, 1, 1)],
        }
    ).cast(workspace.table("purchases").schema)
    workspace.import_table(
        "purchases",
        pl.concat([workspace.table("purchases"), later]),
        key="purchase_id",
        links={"profile_id": "profiles", "product_id": "products"},
    )
    second = run_live(workspace, document)
    assert second.count("t1") == 1

    third = run_live(workspace, document)
    assert third.state == "finished"
    assert third.count("t1") == 0
    assert third.task_status("end") == "not_run"
    messages = third.logs.filter(pl.col("activity_id") == "new")["message"].to_list()
    assert any("no new rows since 2027-01-01" in m for m in messages)


def test_read_audience_of_another_dimension_is_refused(
    workspace: ajo.Workspace, chain: Any
) -> None:
    run_live(workspace, saver())
    document = chain(
        {"id": "p", "type": "build_audience", "dimension": "purchases"},
        {"id": "m", "type": "read_audience", "audience": "french"},
        END,
    )
    alerts = workspace.load_campaign(document).alerts
    assert "holds 'profiles', the population is 'purchases'" in alerts[0].message


@pytest.mark.parametrize("rows", [0, 1])
def test_empty_and_single_row_files(
    workspace: ajo.Workspace, tmp_path: Path, rows: int
) -> None:
    path = tmp_path / "few.csv"
    path.write_text("age\n" + "42\n" * rows, encoding="utf-8")
    document = {
        "id": "few",
        "activities": [
            {
                "id": "file",
                "type": "load_file",
                "path": str(path),
                "columns": {"age": "int"},
            },
            END,
        ],
        "transitions": [{"id": "t1", "from": "file", "to": "end"}],
    }
    run = workspace.load_campaign(document).start().wait(60)
    assert run.state == "finished", run.error
    assert run.count("t1") == rows
