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

from ajo_workbench.errors import ExecutionError
from ajo_workbench.model.conditions import check_condition, filter_frame
from ajo_workbench.model.definition import Activity, CampaignDefinition, Transition

Mode = Literal["test", "live"]
FILE_PREFIX = "file:"
"""Populations read from a file carry the dimension ``file:<activity id>``."""
LINE = "line"
"""The key of a file population: the row's line number in the file."""
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
        attributes = dimension.select(self.key, *wanted)
        return frame.join(attributes, on=self.key, how="left", maintain_order="left")

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


Runner = Callable[[ActivityContext], ActivityResult]
