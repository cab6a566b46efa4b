"""What every activity receives and returns.

An activity reads the work tables of its inbound transitions and returns one lazy
work table per output port. Work tables stay lean: the dimension's key plus the
columns that activities added; attributes are joined from the dimension only where a
condition, an order or an address needs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import polars as pl

from ajo_workbench.errors import ConditionError, ExecutionError
from ajo_workbench.model.catalogue import CHANNEL_ADDRESS, CHANNEL_CONSENT
from ajo_workbench.model.conditions import check_condition, filter_frame
from ajo_workbench.model.definition import Activity, CampaignDefinition, Transition

Mode = Literal["test", "live"]
FILE_PREFIX = "file:"
"""Populations read from a file carry the dimension ``file:<activity id>``."""
LINE = "line"
"""The key of a file population: the row's line number in the file."""
ROW = "__row"
"""A temporary row index that keeps a frame's order through a join."""
ORDER_ITEM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\s(ASC|DESC))?\s*$", re.I)


class TableInfoLike(Protocol):
    """The parts of a table description activities use."""

    @property
    def key(self) -> str: ...

    @property
    def links(self) -> Mapping[str, str]: ...


class Tables(Protocol):
    """Read access to the workspace's tables."""

    def info(self, name: str) -> TableInfoLike: ...

    def scan(self, name: str) -> pl.LazyFrame: ...

    def scans(self) -> dict[str, pl.LazyFrame]: ...

    def children(self, name: str) -> dict[str, str]: ...

    def parents(self, name: str) -> dict[str, str]: ...


class State(Protocol):
    """Workspace state activities may read or write: audiences and watermarks."""

    def read_audience(self, name: str) -> tuple[str, pl.LazyFrame]: ...

    def write_audience(
        self, name: str, campaign_id: str, dimension: str, members: pl.DataFrame
    ) -> None: ...

    def watermark(self, campaign_id: str, activity_id: str) -> Any: ...

    def set_watermark(self, campaign_id: str, activity_id: str, value: Any) -> None: ...


@dataclass(frozen=True)
class Inbound:
    """One inbound work table, with the transition that carried it."""

    transition: Transition
    frame: pl.LazyFrame


@dataclass
class ActivityContext:
    """Everything an activity may read while it runs."""

    activity: Activity
    definition: CampaignDefinition
    inputs: list[Inbound]
    dimension: str
    tables: Tables
    mode: Mode = "test"
    variables: Mapping[str, Any] = field(default_factory=dict)
    path: str = "activity"
    state: State | None = None
    folder: Path | None = None
    dry_run: bool = False
    carry: frozenset[str] = frozenset()
    """Names that later activities read: sources read such attributes with their
    rows, and only such added columns must be computed while the canvas runs."""
    defer: bool = False
    """Whether added columns that no later activity reads may wait until shown."""
    create_records: Callable[[str, pl.DataFrame], pl.Series] | None = None
    """Creates records of a dimension from rows of its columns and returns their
    new keys, in order; only a live execution has it (tests change no data)."""

    @property
    def key(self) -> str:
        """The key column of the population's dimension."""
        if self.from_file:
            return LINE
        return self.tables.info(self.dimension).key

    @property
    def from_file(self) -> bool:
        """Whether the population comes from a file rather than a table."""
        return self.dimension.startswith(FILE_PREFIX)

    def attributes(self) -> list[str]:
        """The population's dimension attributes (its columns but the key)."""
        if self.from_file:
            return []
        names = self.tables.scan(self.dimension).collect_schema().names()
        return [name for name in names if name != self.key]

    def lean(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """A work table without the dimension attributes it carries."""
        attributes = set(self.attributes())
        names = frame.collect_schema().names()
        return frame.select([name for name in names if name not in attributes])

    def workspace_state(self) -> State:
        """Audiences and watermarks (an error when the engine gave none)."""
        if self.state is None:
            raise ExecutionError(f"{self.path}: no workspace state is available")
        return self.state

    def single_input(self) -> pl.LazyFrame:
        """The one inbound work table of a single-input activity."""
        if len(self.inputs) != 1:
            raise ExecutionError(
                f"activity {self.activity.id!r} needs exactly one inbound transition, "
                f"got {len(self.inputs)}"
            )
        return self.inputs[0].frame

    def with_attributes(
        self, frame: pl.LazyFrame, columns: list[str] | None = None
    ) -> pl.LazyFrame:
        """A work table joined with its dimension's attributes (all, or some)."""
        if self.from_file:
            return frame
        dimension = self.tables.scan(self.dimension)
        present = set(frame.collect_schema().names())
        wanted = [
            name
            for name in (
                dimension.collect_schema().names() if columns is None else columns
            )
            if name not in present and name != self.key
        ]
        if not wanted:
            return frame
        attributes = dimension.select(self.key, *wanted)
        return left_join(frame, attributes, on=self.key)

    def filter(self, frame: pl.LazyFrame, condition: str, where: str) -> pl.LazyFrame:
        """Rows of a work table whose attributes match a condition; lean columns."""
        lean = frame.collect_schema().names()
        used = sorted(check_condition(condition, where=where).identifiers)
        full = self.with_attributes(frame, self.attribute_names(used, lean))
        return filter_frame(self.tables.scans(), full, condition, where=where).select(
            lean
        )

    def attribute_names(self, names: list[str], present: list[str]) -> list[str] | None:
        """The attributes a condition naming ``names`` needs joined.

        Joining only them keeps a condition from reading every column. When a
        name is neither an attribute nor a column already present (a column of a
        subquery's table, or a typo), every attribute is joined (None), so that an
        error lists all the columns the condition could use.
        """
        if self.from_file:
            return []
        attributes = self.tables.scan(self.dimension).collect_schema().names()
        if any(n not in attributes and n not in present for n in names):
            return None
        return [name for name in names if name in attributes] or [self.key]

    def order(
        self, frame: pl.LazyFrame, order_by: list[str], where: str
    ) -> pl.LazyFrame:
        """Sort by ``"column ASC|DESC"`` items, nulls last, key as the tie-breaker."""
        names, descending = parse_order_by(order_by, where)
        lean = frame.collect_schema().names()
        full = self.with_attributes(frame, [n for n in names if n not in lean])
        known = set(full.collect_schema().names())
        for name in names:
            if name not in known:
                raise ExecutionError(
                    f"{where}: unknown column {name!r} in order_by "
                    f"(columns: {', '.join(sorted(known))})"
                )
        ordered = full.sort(
            [*names, self.key],
            descending=[*descending, False],
            nulls_last=True,
        )
        return ordered.select(lean)


def read_attributes(
    definition: CampaignDefinition, among: set[str] | None = None
) -> frozenset[str]:
    """Names of the attributes that activities of the canvas read.

    Conditions, orders, deduplication keys and channel addresses and consents of
    every activity, or of those whose ids are in ``among``. A source reads these
    with its rows, so that the activities after it don't join them from the
    dimension again; a name that is not an attribute of its dimension is ignored.
    """
    names: set[str] = set()
    for activity in definition.activities:
        if among is not None and activity.id not in among:
            continue
        conditions = [activity.get("where")]
        for subset in activity.get("subsets") or []:
            conditions.append(subset.get("where"))
            names.update(_order_names(subset.get("order_by")))
        for condition in conditions:
            if isinstance(condition, str) and condition.strip():
                try:
                    names.update(check_condition(condition).identifiers)
                except ConditionError:
                    continue  # validation reports it
        names.update(_order_names(activity.get("order_by")))
        keys = activity.get("keys")
        if isinstance(keys, list):
            names.update(k for k in keys if isinstance(k, str))
        if activity.type in CHANNEL_ADDRESS:
            names.add(activity.get("address_field") or CHANNEL_ADDRESS[activity.type])
            names.add(CHANNEL_CONSENT[activity.type])
    return frozenset(names)


def _order_names(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    matches = [ORDER_ITEM.match(item) for item in items if isinstance(item, str)]
    return [match.group(1) for match in matches if match]


def left_join(
    frame: pl.LazyFrame,
    other: pl.LazyFrame,
    on: str | None = None,
    *,
    left_on: list[str] | None = None,
    right_on: list[str] | None = None,
) -> pl.LazyFrame:
    """``frame`` with the columns of ``other`` that match it, in ``frame``'s order.

    ``other`` holds at most one row per join key, so each row of ``frame`` gets
    one match or nulls. Only the join keys go through the join; a row index and a
    sort put the new columns in ``frame``'s order, and they are set beside it.
    With polars' default engine this is several times faster on large, wide
    frames than a join with ``maintain_order="left"``.
    """
    keys = [on] if on is not None else list(left_on or [])
    matched = (
        frame.select(keys)
        .with_row_index(ROW)
        .join(other, on=on, left_on=left_on, right_on=right_on, how="left")
        .sort(ROW)
    )
    added = [name for name in matched.collect_schema().names() if name != ROW]
    added = [name for name in added if name not in keys]
    return pl.concat([frame, matched.select(added)], how="horizontal")


def parse_order_by(items: list[str], where: str) -> tuple[list[str], list[bool]]:
    """Column names and directions of ``order_by`` items."""
    names: list[str] = []
    descending: list[bool] = []
    for index, item in enumerate(items):
        match = ORDER_ITEM.match(item)
        if match is None:
            raise ExecutionError(
                f"{where}.order_by[{index}]: {item!r} is not 'column ASC' or "
                "'column DESC'"
            )
        names.append(match.group(1))
        descending.append((match.group(2) or "ASC").upper() == "DESC")
    return names, descending


@dataclass(frozen=True)
class Deferred:
    """An added column that is computed only when a table carrying it is shown.

    While the canvas runs the column holds nulls; ``values`` has the dimension's
    key and the column's value for each key that has one, and ``fill`` stands in
    for a key that has none.
    """

    dimension: str
    values: pl.LazyFrame
    fill: Any = None


@dataclass
class ActivityResult:
    """The work table of each output port, and what the log should say.

    A port missing from ``outputs`` carries no table: its branch ends there and the
    activities after it stay ``not_run``. A port in ``skipped_ports`` carries no
    table either, and the activities after it are ``skipped``. ``skipped`` set means
    the task itself shows as skipped (its outputs still flow on).
    """

    outputs: dict[str, pl.LazyFrame]
    dimension: str
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped_ports: set[str] = field(default_factory=set)
    watermark: Any = None
    deferred: dict[str, Deferred] = field(default_factory=dict)
    end_if_empty: set[str] = field(default_factory=set)
    """Ports whose branch ends when their table is empty (it is still counted)."""


Runner = Callable[[ActivityContext], ActivityResult]
