"""Channel activities: who would be (or was) addressed by email, SMS or push."""

from __future__ import annotations

import polars as pl

from ajo_workbench.activities.base import ActivityContext, ActivityResult
from ajo_workbench.errors import ExecutionError
from ajo_workbench.model.catalogue import CHANNEL_ADDRESS, CHANNEL_CONSENT


def channel(context: ActivityContext) -> ActivityResult:
    """The inbound rows with an address and, for marketing messages, consent.

    Notes
    -----
    In test mode nothing is rendered or sent: the ``out`` work table is the
    population that would be addressed.
    """
    activity = context.activity
    address = activity.get("address_field") or CHANNEL_ADDRESS[activity.type]
    consent = CHANNEL_CONSENT[activity.type]
    marketing = activity.get("category", "marketing") == "marketing"
    frame = context.single_input()
    lean = frame.collect_schema().names()

    needed = [address, consent] if marketing else [address]
    full = context.with_attributes(frame, needed)
    known = full.collect_schema().names()
    for column in needed:
        if column not in known:
            raise ExecutionError(
                f"{context.path}: the population has no column {column!r} "
                f"(columns: {', '.join(known)})"
            )

    reachable = pl.col(address).is_not_null()
    if full.collect_schema()[address] == pl.String:
        reachable &= pl.col(address).str.strip_chars() != ""
    if marketing:
        reachable &= pl.col(consent).fill_null(False)
    return ActivityResult(
        {"out": full.filter(reachable).select(lean)}, context.dimension
    )
