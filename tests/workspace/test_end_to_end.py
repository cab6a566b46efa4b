"""A multi-branch campaign against an independent computation on the same data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

import ajo_workbench as ajo

SINCE = datetime(2026, 9, 2)
EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def expected_counts(ws: ajo.Workspace) -> dict[str, int]:
    """The spring-sale counts, computed with plain eager polars."""
    profiles = ws.table("profiles")
    purchases = ws.table("purchases")

    members = profiles.filter(
        pl.col("loyalty_tier").is_in(["gold", "platinum"])
        & pl.col("country").is_in(["FR", "BE"])
    )
    recent = purchases.filter(pl.col("purchased_at") >= SINCE)
    spend = recent.group_by("profile_id").agg(
        pl.len().alias("orders_90d"), pl.col("amount").sum().alias("spend_90d")
    )
    enriched = members.join(spend, on="profile_id", how="left").with_columns(
        pl.col("spend_90d").fill_null(0.0)
    )

    with_email = enriched.filter(pl.col("email").is_not_null())
    best = (
        with_email.sort(["spend_90d", "profile_id"], descending=[True, False])
        .group_by("email", maintain_order=True)
        .first()
    )
    deduplicated = pl.concat(
        [best.select(enriched.columns), enriched.filter(pl.col("email").is_null())]
    )

    big = deduplicated.filter(pl.col("spend_90d") >= 500)
    rest = deduplicated.filter(pl.col("spend_90d") < 500)
    french = (
        rest.filter(pl.col("country") == "FR")
        .sort(["created_at", "profile_id"])
        .head(300)
    )
    complement = rest.filter(
        ~pl.col("profile_id").is_in(french["profile_id"].implode())
    )

    def reachable(frame: pl.DataFrame, address: str, consent: str) -> int:
        return frame.filter(
            pl.col(address).is_not_null() & (pl.col(address) != "") & pl.col(consent)
        ).height

    return {
        "t1": members.height,
        "t2": members.height,
        "t3": deduplicated.height,
        "t4": big.height,
        "t5": french.height,
        "t6": complement.height,
        "t7": reachable(big, "email", "email_consent"),
        "t8": reachable(french, "phone", "sms_consent"),
        "t9": reachable(complement, "push_token", "push_consent"),
    }


def test_counts_match_an_independent_computation(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    campaign = workspace.load_campaign(spring_sale)
    assert [a for a in campaign.alerts if a.level == "error"] == []

    run = campaign.start().wait(60)

    assert run.state == "finished", run.error
    expected = expected_counts(workspace)
    assert {t: run.count(t) for t in expected} == expected
    assert expected["t4"] > 0 and expected["t5"] > 0 and expected["t6"] > 0
    assert expected["t3"] < expected["t2"]  # the sample has duplicate e-mails
    assert all(
        run.task_status(a.id) == "success" for a in campaign.definition.activities
    )


def test_work_tables_are_lean_and_frames_can_add_attributes(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    run = workspace.load_campaign(spring_sale).start().wait(60)

    assert run.frame("t1").columns == ["profile_id"]
    assert run.frame("t2").columns == ["profile_id", "orders_90d", "spend_90d"]
    wide = run.frame("t4", columns=["first_name", "country"])
    assert wide.columns == [
        "profile_id",
        "orders_90d",
        "spend_90d",
        "first_name",
        "country",
    ]
    assert (wide["spend_90d"] >= 500).all()
    schema = run.schema("t4")
    assert schema.columns == ["column", "type", "nulls", "sample"]
    assert "email" in schema["column"].to_list()


def test_logs_and_tasks_are_frames(
    workspace: ajo.Workspace, spring_sale: dict[str, Any]
) -> None:
    campaign = workspace.load_campaign(spring_sale)
    run = campaign.start().wait(60)

    tasks = run.tasks
    assert tasks.columns == [
        "execution_id",
        "activity_id",
        "type",
        "status",
        "created_at",
        "started_at",
        "ended_at",
        "duration",
        "input_count",
        "output_counts",
        "variables",
        "error",
    ]
    assert tasks.height == len(campaign.definition.activities)
    segments = tasks.filter(pl.col("activity_id") == "segments").row(0, named=True)
    assert segments["input_count"] == run.count("t3")
    assert '"big":' in segments["output_counts"]
    assert tasks["started_at"].dtype == pl.Datetime("us", "UTC")

    logs = campaign.logs
    actions = logs.filter(pl.col("action").is_not_null())["action"].to_list()
    assert actions[:2] == ["create", "start"]
    assert "finish" in actions
    finished = logs.filter(pl.col("activity_id") == "dedup")["message"].to_list()
    assert any(m.startswith("done in") and "complement=" in m for m in finished)


def ids(frame: pl.DataFrame) -> set[int]:
    return set(frame["profile_id"].to_list())


def test_set_algebra_example_against_plain_polars(workspace: ajo.Workspace) -> None:
    campaign = workspace.load_campaign(EXAMPLES / "loyal-not-recent.json")
    run = campaign.start().wait(60)
    assert run.state == "finished", run.error

    profiles = workspace.table("profiles")
    purchases = workspace.table("purchases")
    gold = ids(profiles.filter(pl.col("loyalty_tier") == "gold"))
    platinum = ids(profiles.filter(pl.col("loyalty_tier") == "platinum"))
    consenting = ids(profiles.filter(pl.col("email_consent")))
    recent = ids(purchases.filter(pl.col("purchased_at") >= datetime(2026, 9, 1)))
    loyal = gold | platinum
    reachable = loyal & consenting
    lapsed = reachable - recent
    with_address = ids(
        profiles.filter(pl.col("email").is_not_null() & pl.col("email_consent"))
    )

    assert {t: run.count(t) for t in ("t1", "t2", "t3", "t4", "t5", "t6")} == {
        "t1": len(gold),
        "t2": len(platinum),
        "t3": len(loyal),
        "t4": len(consenting),
        "t5": len(reachable),
        "t6": len(recent),
    }
    assert run.count("t10") == len((loyal | consenting) - reachable)
    assert run.count("t7") == run.count("t8") == len(lapsed)
    assert run.count("t9") == len(lapsed & with_address)
    assert run.task_status("keep") == "skipped"


def test_flow_example_against_plain_polars(sim_workspace: ajo.Workspace) -> None:
    campaign = sim_workspace.load_campaign(EXAMPLES / "welcome-series.json")
    run = campaign.start().wait(60)
    assert run.state == "waiting"
    sim_workspace.clock.advance(days=2)  # type: ignore[attr-defined]
    assert run.state == "finished"

    profiles = sim_workspace.table("profiles")
    new = profiles.filter(pl.col("created_at") >= datetime(2026, 9, 1))
    pushable = new.filter(pl.col("push_token").is_not_null() & pl.col("push_consent"))
    mailable = new.filter(pl.col("email").is_not_null() & pl.col("email_consent"))
    large = new.height >= 100
    assert run.count("t1") == run.count("t3") == run.count("t4") == new.height
    assert run.count("t5") == pushable.height
    assert run.count("t6") == new.height
    assert run.count("t7") == (new.height if large else 0)
    assert run.count("t9") == (mailable.height if large else 0)
    assert run.task_status("small") == ("not_run" if large else "success")


def test_files_example_against_plain_polars(
    workspace: ajo.Workspace, monkeypatch: Any
) -> None:
    monkeypatch.chdir(EXAMPLES.parent)  # the example names its file from there
    run = workspace.load_campaign(EXAMPLES / "store-visitors.json").start().wait(60)
    assert run.state == "finished", run.error

    raw = pl.read_csv(EXAMPLES / "data" / "store-visits.csv", infer_schema=False)
    typed = raw.select(
        pl.col("customer").cast(pl.Int64, strict=False),
        pl.col("score").cast(pl.Int64, strict=False),
        pl.col("visited").str.to_date(strict=False),
    )
    good = typed.drop_nulls()
    profiles = workspace.table("profiles")
    purchases = workspace.table("purchases")
    known = good.filter(pl.col("customer").is_in(profiles["profile_id"].implode()))
    engaged = known.filter(pl.col("score") >= 30)
    bought = purchases.filter(pl.col("profile_id").is_in(engaged["customer"].implode()))
    big = bought.filter(pl.col("amount") >= 100)
    buyers = profiles.filter(pl.col("profile_id").is_in(big["profile_id"].implode()))
    texted = buyers.filter(pl.col("phone").is_not_null() & pl.col("sms_consent"))

    assert raw.height - good.height == 3  # the file's three bad rows
    assert run.count("t1") == good.height
    assert run.count("t2") == 3
    assert run.count("t3") == known.height
    assert run.count("t4") == good.height - known.height
    assert run.count("t5") == engaged.height
    assert run.count("t6") == bought.height
    assert run.count("t7") == big.height
    assert run.count("t8") == buyers.height
    assert run.count("t9") == texted.height
    assert big.height > 0
