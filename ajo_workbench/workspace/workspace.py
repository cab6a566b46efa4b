"""The workspace: a folder with a database, tables and campaigns."""

from __future__ import annotations

import getpass
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from filelock import FileLock

from ajo_workbench.clock import Clock
from ajo_workbench.delivery import SendLedger, check_delivery_config
from ajo_workbench.engine import Execution
from ajo_workbench.errors import (
    LifecycleError,
    SignalNotAcceptedError,
    UnknownCampaignError,
    WorkspaceError,
)
from ajo_workbench.lifecycle import CampaignStatus
from ajo_workbench.model.alerts import Alert
from ajo_workbench.model.definition import (
    CampaignDefinition,
    load_definition,
    parse_definition,
)
from ajo_workbench.storage.audiences import CampaignState
from ajo_workbench.storage.database import Database
from ajo_workbench.storage.journal import Journal
from ajo_workbench.storage.sample import generate_sample_frames
from ajo_workbench.storage.tables import TableCatalog, TableInfo, TableSource
from ajo_workbench.validation import validate
from ajo_workbench.workspace.campaign import Campaign
from ajo_workbench.workspace.scheduler import Scheduler
from ajo_workbench.workspace.snapshot import SnapshotTables

logger = logging.getLogger(__name__)

SAMPLE_LINKS = {
    "products": ("product_id", {}),
    "profiles": ("profile_id", {}),
    "purchases": ("purchase_id", {"profile_id": "profiles", "product_id": "products"}),
}


class Workspace:
    """A folder holding an embedded database and Parquet tables.

    Parameters
    ----------
    path
        The folder; created when missing.
    clock
        The clock all time goes through (the real clock by default).
    user
        The name written with every action in the logs.

    Examples
    --------
    >>> import ajo_workbench as ajo
    >>> ws = ajo.Workspace("demo")  # doctest: +SKIP
    >>> ws.generate_sample_data(profiles=50_000, seed=7)  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock | None = None,
        user: str | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise WorkspaceError(f"{self.path} exists and is not a folder")
        self.path.mkdir(parents=True, exist_ok=True)
        self.clock = clock or Clock()
        self.user = user or _user()
        self.database = Database(self.path / "workspace.db")
        self.tables = TableCatalog(self.path, self.database)
        self.journal = Journal(self.database, self.clock)
        self.shared_state = CampaignState(self.path, self.database)
        self.running: dict[str, Execution] = {}
        self.execution_listeners: list[Callable[[Execution], None]] = []
        self._records_lock = threading.Lock()
        self.scheduler = Scheduler(self)
        """Runs the due occurrences of scheduled and recurring campaigns."""
        self.delivery: dict[str, Any] = self._read_delivery()
        """Delivery providers by channel (``{"email": {"provider": "smtp", …}}``);
        a channel not named here writes to the workspace's outbox. Read from the
        workspace's ``delivery.json``; :meth:`configure_delivery` changes it."""
        self.scheduler.arm()

    def __repr__(self) -> str:
        return f"<Workspace {str(self.path)!r}>"

    def trigger(self, campaign_id: str, variables: dict[str, Any]) -> str:
        """Signal a live campaign from outside (the service's HTTP API).

        Returns the id of the execution it started. Raises
        :class:`~ajo_workbench.errors.UnknownCampaignError`, or the errors of
        :meth:`Campaign.signal`; a Draft's test execution is never fed this way.
        """
        if not self.has_campaign(campaign_id):
            raise UnknownCampaignError(campaign_id)
        campaign = self.campaign(campaign_id)
        if campaign.status != CampaignStatus.LIVE:
            raise SignalNotAcceptedError(
                campaign_id,
                f"campaign {campaign_id!r} is {campaign.status}; only a live "
                "campaign takes signals here",
            )
        return campaign.signal(variables).id

    def configure_delivery(self, config: dict[str, Any]) -> None:
        """Check a delivery config and keep it in the workspace (``delivery.json``).

        Raises WorkspaceError naming the channel and key at fault; the config in
        place stays then. Credentials are never stored: the config names the
        environment variables that hold them.
        """
        checked = check_delivery_config(config)
        target = self.path / DELIVERY_FILE
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(json.dumps(checked, indent=2, sort_keys=True) + "\n")
        os.replace(partial, target)
        self.delivery = checked
        self.journal.log(
            "info",
            f"delivery configured: {_providers(checked)}",
            user=self.user,
            action="configure_delivery",
        )

    def _read_delivery(self) -> dict[str, Any]:
        path = self.path / DELIVERY_FILE
        if not path.exists():
            return {}
        try:
            return check_delivery_config(json.loads(path.read_text()))
        except json.JSONDecodeError as error:
            raise WorkspaceError(
                f"{path}: not JSON (line {error.lineno}, column {error.colno}): "
                f"{error.msg}"
            ) from None
        except WorkspaceError as error:
            raise WorkspaceError(f"{path}: {error}") from None

    def on_execution(self, listener: Callable[[Execution], None]) -> None:
        """Call ``listener(execution)`` for each new execution, before it starts.

        A listener can subscribe to the execution's changes with
        :meth:`Execution.on_change`.
        """
        self.execution_listeners.append(listener)

    # -- tables --------------------------------------------------------------------

    def import_table(
        self,
        name: str,
        source: TableSource,
        *,
        key: str,
        links: dict[str, str] | None = None,
    ) -> TableInfo:
        """Import a table from Parquet, CSV or a polars frame, with key and links.

        ``links`` maps a column to the table it points at:
        ``{"profile_id": "profiles"}`` makes this table a 1-N link of ``profiles``.
        """
        info = self.tables.import_table(name, source, key=key, links=links)
        self.journal.log(
            "info",
            f"table {name!r} imported: {info.rows} rows",
            user=self.user,
            action="import",
        )
        return info

    def table(self, name: str) -> pl.DataFrame:
        """A whole table as a frame."""
        return self.tables.scan(name).collect()

    def create_records(
        self, name: str, rows: pl.DataFrame, also: SnapshotTables | None = None
    ) -> pl.Series:
        """Append new records to a table and return their keys, in order.

        Each record takes the values of ``rows``' columns named like the table's
        (cast to their types; other columns are null) and a new key: the next
        integers after the largest key, or fresh identifiers for a text key.
        ``also`` is a live execution's snapshot, which gets the records too, so
        the execution sees them.

        Notes
        -----
        The table file is rewritten whole, so records of one table are created one
        call at a time: across threads, and across processes through a lock file
        next to the database (``.records-<table>.lock``).
        """
        across_processes = FileLock(self.path / f".records-{name}.lock")
        with self._records_lock, across_processes:
            info = self.tables.info(name)
            current = self.tables.scan(name).collect()
            schema = current.schema
            kind = schema[info.key]
            count = rows.height
            if kind.is_integer():
                found = [current.select(pl.col(info.key).max()).item()]
                if also is not None:
                    found.append(
                        also.scan(name).select(pl.col(info.key).max()).collect().item()
                    )
                largest = max((int(v) for v in found if v is not None), default=0)
                keys = pl.Series(info.key, range(largest + 1, largest + 1 + count))
                keys = keys.cast(kind)
            else:
                keys = pl.Series(info.key, [uuid.uuid4().hex for _ in range(count)])
                keys = keys.cast(kind)
            records = pl.DataFrame(
                {
                    column: keys.alias(column)
                    if column == info.key
                    else rows[column].cast(dtype, strict=False)
                    if column in rows.columns
                    else pl.Series(column, [None] * count, dtype)
                    for column, dtype in schema.items()
                }
            )
            self.tables.import_table(
                name,
                pl.concat([current, records], how="vertical"),
                key=info.key,
                links=dict(info.links),
            )
            if also is not None:
                also.add_records(name, records)
        return keys

    @property
    def feedback_events(self) -> pl.DataFrame:
        """Every delivery outcome and exclusion (``ajo_message_feedback_event``).

        One row per delivery attempt or exclusion, with the columns of the
        specification's feedback events; test executions never add any.
        """
        return SendLedger(self.database, self.clock).events()

    def generate_sample_data(
        self,
        profiles: int = 50_000,
        seed: int = 7,
        purchases_per_profile: float = 5.0,
    ) -> dict[str, TableInfo]:
        """Generate and import ``profiles``, ``purchases`` and ``products``.

        The data is a deterministic function of the arguments.
        """
        frames = generate_sample_frames(
            profiles, seed, purchases_per_profile=purchases_per_profile
        )
        return {
            name: self.import_table(name, frames[name], key=key, links=links)
            for name, (key, links) in SAMPLE_LINKS.items()
        }

    # -- campaigns -----------------------------------------------------------------

    def validate(self, definition: CampaignDefinition) -> list[Alert]:
        """Every problem of a definition against this workspace."""
        campaigns = {
            row["id"]: parse_definition(row["definition"]).schedule.get("type", "")
            for row in self.database.query("SELECT id, definition FROM campaigns")
        }
        return validate(
            definition,
            self.tables,
            now=self.clock.now(),
            audiences=self.shared_state.audiences(),
            campaigns=campaigns,
            state=self.shared_state,
            folder=self.path,
        )

    def load_campaign(
        self, source: str | Path | dict[str, Any] | CampaignDefinition
    ) -> Campaign:
        """Create a campaign from a file, a document or a definition (such as a
        builder's), or replace a Draft's definition.

        Raises DefinitionError listing every problem; nothing changes then.
        """
        definition = _definition_of(source)
        if self.has_campaign(definition.id):
            campaign = self.campaign(definition.id)
            campaign.update(definition)
            return campaign
        return self.create_campaign(definition)

    def create_campaign(
        self, source: str | Path | dict[str, Any] | CampaignDefinition
    ) -> Campaign:
        """Store a new Draft campaign from a definition, a document or a file.

        Raises DefinitionError listing every problem, or LifecycleError when a
        campaign has the id already; nothing changes then.
        """
        definition = _definition_of(source)
        if self.has_campaign(definition.id):
            raise LifecycleError(
                "create", "draft", f"a campaign {definition.id!r} exists already"
            )
        now = self.journal.stamp()
        self.database.execute(
            "INSERT INTO campaigns VALUES (?, ?, ?, ?, ?, ?)",
            (
                definition.id,
                definition.name,
                CampaignStatus.DRAFT.value,
                definition.to_json(),
                now,
                now,
            ),
        )
        self.journal.log(
            "info",
            f"campaign {definition.id!r} created",
            campaign_id=definition.id,
            user=self.user,
            action="create",
        )
        return Campaign(self, definition.id)

    def has_campaign(self, campaign_id: str) -> bool:
        """Whether a campaign with this id exists."""
        row = self.database.one("SELECT 1 FROM campaigns WHERE id = ?", (campaign_id,))
        return row is not None

    def campaign(self, campaign_id: str) -> Campaign:
        """The campaign with this id; KeyError names the known ids."""
        if not self.has_campaign(campaign_id):
            known = ", ".join(c.id for c in self.campaigns) or "none"
            raise KeyError(f"no campaign {campaign_id!r} (campaigns: {known})")
        return Campaign(self, campaign_id)

    @property
    def campaigns(self) -> list[Campaign]:
        """Every campaign, by id."""
        rows = self.database.query("SELECT id FROM campaigns ORDER BY id")
        return [Campaign(self, row["id"]) for row in rows]

    def free_campaign_id(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``… whichever is not taken."""
        candidate, number = base, 1
        while self.has_campaign(candidate):
            number += 1
            candidate = f"{base}-{number}"
        return candidate

    @property
    def logs(self) -> pl.DataFrame:
        """Every log line of the workspace, oldest first."""
        return self.journal.logs()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "analyst"


DELIVERY_FILE = "delivery.json"
"""The workspace's delivery config, beside its database."""


def _providers(config: dict[str, Any]) -> str:
    chosen = {
        channel: entry.get("provider", "outbox") for channel, entry in config.items()
    }
    return ", ".join(f"{c} → {p}" for c, p in chosen.items()) or "the outbox for all"


def _definition_of(
    source: str | Path | dict[str, Any] | CampaignDefinition,
) -> CampaignDefinition:
    """A campaign definition from a definition, a file path or a document."""
    if isinstance(source, CampaignDefinition):
        return source
    if isinstance(source, str | Path):
        return load_definition(source)
    # Anything else is a document; parse_definition names what it is.
    return parse_definition(source)
