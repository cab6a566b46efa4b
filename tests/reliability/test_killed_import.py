"""An import of a large CSV or Parquet file killed with SIGKILL.

The file (30 MB of CSV, or Parquet) replaces ``purchases`` (1,000,000 rows) with
600,000 rows whose amounts doubled, or creates a table that did not exist. After
the kill the table is entirely the old one (or absent) or entirely the new one: its
file, its row count and its key as the database records them; importing again
works.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from conftest import kill_after, reopen
from crash_driver import LINKS

import ajo_workbench as ajo

NEW_ROWS = 600_000
KILLS = {
    # source, table, where: a delay after "ready", or a hold point
    "csv read": ("csv", "purchases", {"delay": 0.1}),
    "csv checked": ("csv", "purchases", {"delay": 0.4}),
    "swap announced": ("csv", "purchases", {"hold": "commit:1"}),
    "csv file in place": ("csv", "purchases", {"hold": "replace:1:tables/"}),
    "csv committed": ("csv", "purchases", {"hold": "commit:2"}),
    "parquet at once": ("parquet", "purchases", {"delay": 0.0}),
    "parquet file in place": ("parquet", "purchases", {"hold": "replace:1:tables/"}),
    "new table read": ("parquet", "orders", {"delay": 0.1}),
    "new table in place": ("parquet", "orders", {"hold": "replace:1:tables/"}),
}


@pytest.fixture(scope="module")
def sources(
    large_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, pl.DataFrame]]:
    """The new table as ``csv`` and ``parquet`` files, and as each reads back."""
    folder = tmp_path_factory.mktemp("sources")
    old = ajo.Workspace(large_folder).table("purchases")
    new = old.head(NEW_ROWS).with_columns(pl.col("amount") * 2)
    new.write_csv(folder / "purchases.csv")
    new.write_parquet(folder / "purchases.parquet")
    return {
        "csv": (
            folder / "purchases.csv",
            pl.read_csv(folder / "purchases.csv", try_parse_dates=True),
        ),
        "parquet": (folder / "purchases.parquet", new),
    }


@pytest.mark.parametrize("where", list(KILLS))
def test_a_killed_import_leaves_the_old_table_or_the_new_one(
    large: Path, sources: dict[str, tuple[Path, pl.DataFrame]], where: str
) -> None:
    kind, name, kill = KILLS[where]
    source, new = sources[kind]
    old = ajo.Workspace(large).table("purchases") if name == "purchases" else None

    kill_after(
        large,
        "import",
        str(source),
        name,
        hold=kill.get("hold"),  # type: ignore[arg-type]
        delay=float(kill.get("delay", 0.0)),  # type: ignore[arg-type]
    )

    ws = reopen(large)
    if name in ws.tables:
        table = ws.table(name)
        info = ws.tables.info(name)
        assert info.rows == table.height and info.key == "purchase_id"
        assert dict(info.links) == LINKS
        assert table.equals(new) or (old is not None and table.equals(old))
        outcome = "old" if old is not None and table.equals(old) else "new"
    else:
        assert old is None  # a new table is absent, or whole
        outcome = "old"
    if "in place" in where or "committed" in where:
        assert outcome == "new"
    if "announced" in where or "read" in where:
        assert outcome == "old"

    parquet, frame = sources["parquet"]
    again = ws.import_table(name, parquet, key="purchase_id", links=LINKS)
    assert again.rows == frame.height and ws.table(name).equals(frame)
