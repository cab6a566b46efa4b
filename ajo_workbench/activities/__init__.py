"""Activities: one function per activity type, from work tables to work tables."""

from __future__ import annotations

from collections.abc import Mapping

from ajo_workbench.activities import channels, flow, targeting
from ajo_workbench.activities.base import (
    ActivityContext,
    ActivityResult,
    Inbound,
    Runner,
    Tables,
)

RUNNERS: Mapping[str, Runner] = {
    "build_audience": targeting.build_audience,
    "split": targeting.split,
    "combine": targeting.combine,
    "deduplication": targeting.deduplication,
    "enrichment": targeting.enrichment,
    "fork": flow.fork,
    "alert": flow.alert,
    "end": flow.end,
    "email": channels.channel,
    "sms": channels.channel,
    "push": channels.channel,
}
"""The activity types this version can run, with their functions."""

__all__ = [
    "RUNNERS",
    "ActivityContext",
    "ActivityResult",
    "Inbound",
    "Runner",
    "Tables",
]
