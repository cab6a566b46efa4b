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
from typing import Any, Literal, Protocol

import polars as pl

from ajo_workbench.errors import ExecutionError
from ajo_workbench.model.conditions import filter_frame
from ajo_workbench.model.definition import Activity, CampaignDefinition, Transition

Mode = Literal["test", "live"]
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

    @property
    def key(self) -> str:
        """The key column of the population's dimension."""
        return self.tables.info(self.dimension).key

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
        dimension = self.tables.scan(self.dimension)
        present = set(frame.collect_schema().names())
        wanted = [
            name
            for name in (columns or dimension.collect_schema().names())
            if name not in present and name != self.key
        ]
        attributes = dimension.select(self.key, *wanted)
        return frame.join(attributes, on=self.key, how="left", maintain_order="left")

    def filter(self, frame: pl.LazyFrame, condition: str, where: str) -> pl.LazyFrame:
        """Rows of a work table whose attributes match a condition; lean columns."""
        lean = frame.collect_schema().names()
        full = self.with_attributes(frame)
        return filter_frame(self.tables.scans(), full, condition, where=where).select(
            lean
        )

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
            maintain_order=True,
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
    """The work table of each output port, and notes for the log."""

    outputs: dict[str, pl.LazyFrame]
    dimension: str
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)


Runner = Callable[[ActivityContext], ActivityResult]
