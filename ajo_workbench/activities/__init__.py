"""Activities: one function per activity type, from work tables to work tables."""

from __future__ import annotations

from collections.abc import Mapping

from ajo_workbench.activities import channels, dimensions, flow, sources, targeting
from ajo_workbench.activities.base import (
    ActivityContext,
    ActivityResult,
    Inbound,
    Runner,
    State,
    Tables,
)

RUNNERS: Mapping[str, Runner] = {
    "build_audience": targeting.build_audience,
    "split": targeting.split,
    "combine": targeting.combine,
    "deduplication": targeting.deduplication,
    "enrichment": targeting.enrichment,
    "read_audience": sources.read_audience,
    "save_audience": sources.save_audience,
    "load_file": sources.load_file,
    "incremental_query": sources.incremental_query,
    "reconciliation": dimensions.reconciliation,
    "change_dimension": dimensions.change_dimension,
    "wait": flow.wait,
    "fork": flow.fork,
    "and_join": flow.and_join,
    "test": flow.choose_branch,
    "alert": flow.alert,
    "end": flow.end,
    "email": channels.channel,
    "sms": channels.channel,
    "push": channels.channel,
}
"""Every activity type with the function that runs it."""

__all__ = [
    "RUNNERS",
    "ActivityContext",
    "ActivityResult",
    "Inbound",
    "Runner",
    "State",
    "Tables",
]
