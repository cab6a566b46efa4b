"""The public namespace, the clock, and the Python API walk-through of the README."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import ajo_workbench as ajo

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_all_is_sorted_and_complete() -> None:
    names = ajo.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(ajo, name), name
    public = {n for n in vars(ajo) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(ajo, n)).__name__ == "module"}
    assert public - modules - {"logging"} == set(names) - {"__version__"}


def test_simulated_clock_moves_only_forward() -> None:
    clock = ajo.SimulatedClock("2026-12-01T09:00:00+00:00")
    seen: list[datetime] = []
    clock.on_advance(seen.append)
    assert clock.now() == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert clock.advance(days=1, hours=2) == datetime(2026, 12, 2, 11, tzinfo=UTC)
    assert seen == [datetime(2026, 12, 2, 11, tzinfo=UTC)]
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(minutes=-1)
    assert ajo.SimulatedClock("2026-01-01T00:00:00").now().tzinfo is UTC


def test_workspace_uses_its_clock_for_every_time(tmp_path: Path) -> None:
    clock = ajo.SimulatedClock("2030-05-01T08:00:00+00:00")
    ws = ajo.Workspace(tmp_path / "ws", clock=clock)
    ws.import_table("stores", pl.DataFrame({"store_id": [1]}), key="store_id")
    assert ws.logs["time"].to_list() == [datetime(2030, 5, 1, 8, tzinfo=UTC)]


def test_the_spec_walkthrough(sample_folder: Path, tmp_path: Path) -> None:
    shutil.copytree(sample_folder, tmp_path / "demo")
    ws = ajo.Workspace(tmp_path / "demo")
    purchases = tmp_path / "purchases.parquet"
    ws.table("purchases").write_parquet(purchases)
    ws.import_table(
        "purchases",
        purchases,
        key="purchase_id",
        links={"profile_id": "profiles", "product_id": "products"},
    )
    campaign = ws.load_campaign(EXAMPLES / "spec-example.json")
    campaign = ws.campaign("spring-sale-spec")
    assert campaign.alerts == []

    run = campaign.start()
    run.wait()
    assert run.state == "finished"
    assert run.task_status("gold") == "success"
    gold = ws.table("profiles").filter(
        (pl.col("loyalty_tier") == "gold") & pl.col("country").is_in(["FR", "BE"])
    )
    assert run.count("t2") == gold.filter(pl.col("country") == "FR").height
    assert run.frame("t2").height == run.count("t2")
    assert run.count("t1") == run.count("t2") + run.count("t3")
    assert campaign.logs.height > 0
    assert run.tasks.height == 4
