"""Saved audiences and incremental-query watermarks: state shared by campaigns."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ajo_workbench.errors import DataError
from ajo_workbench.storage.database import Database
from ajo_workbench.storage.swaps import now_text, replace_with_row


class CampaignState:
    """Audiences (named populations) and watermarks of a workspace."""

    def __init__(self, root: Path, database: Database) -> None:
        self.root = root
        self.database = database

    def audiences(self) -> dict[str, str]:
        """Saved audience names and the campaign that saved each."""
        rows = self.database.query("SELECT name, campaign_id FROM audiences")
        return {row["name"]: row["campaign_id"] for row in rows}

    def read_audience(self, name: str) -> tuple[str, pl.LazyFrame]:
        """The dimension and members of a saved audience."""
        row = self.database.one("SELECT * FROM audiences WHERE name = ?", (name,))
        if row is None:
            known = ", ".join(sorted(self.audiences())) or "none saved yet"
            raise DataError(f"unknown audience {name!r} (audiences: {known})")
        return row["dimension"], pl.scan_parquet(self.root / row["path"])

    def write_audience(
        self, name: str, campaign_id: str, dimension: str, members: pl.DataFrame
    ) -> None:
        """Save (or overwrite) an audience; refused when another campaign owns it."""
        owner = self.audiences().get(name, campaign_id)
        if owner != campaign_id:
            raise DataError(f"audience {name!r} is saved by campaign {owner!r}")
        replace_with_row(
            self.database,
            self.root,
            members,
            Path("audiences") / f"{name}.parquet",
            "audiences",
            lambda path: (
                name,
                campaign_id,
                dimension,
                members.height,
                path,
                now_text(),
            ),
        )

    def watermark(self, campaign_id: str, activity_id: str) -> Any:
        """The last processed value of an incremental query, or None."""
        row = self.database.one(
            "SELECT value FROM watermarks WHERE campaign_id = ? AND activity_id = ?",
            (campaign_id, activity_id),
        )
        if row is None:
            return None
        stored = json.loads(row["value"])
        if isinstance(stored, dict) and "datetime" in stored:
            return datetime.fromisoformat(stored["datetime"])
        if isinstance(stored, dict) and "date" in stored:
            return date.fromisoformat(stored["date"])
        return stored

    def set_watermark(self, campaign_id: str, activity_id: str, value: Any) -> None:
        """Remember the last processed value of an incremental query."""
        if isinstance(value, datetime):
            stored: Any = {"datetime": value.isoformat()}
        elif isinstance(value, date):
            stored = {"date": value.isoformat()}
        else:
            stored = value
        self.database.execute(
            "INSERT OR REPLACE INTO watermarks VALUES (?, ?, ?)",
            (campaign_id, activity_id, json.dumps(stored)),
        )
