"""In-memory tables for testing activities without a workspace."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ajo_workbench.activities import RUNNERS, ActivityContext, ActivityResult, Inbound
from ajo_workbench.model.definition import Activity, CampaignDefinition, Transition


@dataclass(frozen=True)
class Info:
    key: str
    links: Mapping[str, str] = field(default_factory=dict)


class MemoryTables:
    """Frames with keys and links, answering like the workspace catalogue."""

    def __init__(
        self,
        frames: Mapping[str, pl.DataFrame],
        keys: Mapping[str, str],
        links: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.frames = dict(frames)
        self.infos = {
            name: Info(keys[name], (links or {}).get(name, {})) for name in frames
        }

    def info(self, name: str) -> Info:
        return self.infos[name]

    def scan(self, name: str) -> pl.LazyFrame:
        return self.frames[name].lazy()

    def scans(self) -> dict[str, pl.LazyFrame]:
        return {name: frame.lazy() for name, frame in self.frames.items()}

    def children(self, name: str) -> dict[str, str]:
        return {
            other: column
            for other, info in self.infos.items()
            for column, target in info.links.items()
            if target == name
        }

    def parents(self, name: str) -> dict[str, str]:
        return {target: column for column, target in self.infos[name].links.items()}


def run_activity(
    tables: MemoryTables,
    activity_type: str,
    inputs: list[pl.DataFrame],
    dimension: str = "profiles",
    **settings: Any,
) -> dict[str, pl.DataFrame]:
    """Run one activity on work tables t1, t2, … and collect its outputs."""
    activity = Activity("a", activity_type, settings=settings)
    transitions = [Transition(f"t{i}", f"s{i}", "a") for i in range(1, len(inputs) + 1)]
    definition = CampaignDefinition("c", "c", (activity,), tuple(transitions))
    context = ActivityContext(
        activity=activity,
        definition=definition,
        inputs=[Inbound(t, f.lazy()) for t, f in zip(transitions, inputs, strict=True)],
        dimension=dimension,
        tables=tables,
        path="activities[0]",
    )
    result: ActivityResult = RUNNERS[activity_type](context)
    return {port: frame.collect() for port, frame in result.outputs.items()}
