"""Delivery report of an execution's channel activities (SPEC §10)."""

from __future__ import annotations

from typing import Any

import polars as pl

from ajo_workbench.delivery.sender import NO_ADDRESS, NO_CONSENT
from ajo_workbench.engine import Execution
from ajo_workbench.model.graph import topological_order
from ajo_workbench.reporting.activities import check_events

REASONS = (NO_ADDRESS, NO_CONSENT)
"""The exclusion reasons the sender writes; each has its column in every report."""
UNKNOWN_REASON = "unknown"
COUNTS = ("targeted", "excluded", "sent", "delivered", "bounced", "errors")

CHANNEL_REPORT: dict[str, Any] = {
    "activity_id": pl.String,
    "channel": pl.String,
    "label": pl.String,
    "status": pl.String,
    "reached": pl.Int64,
    "targeted": pl.Int64,
    "excluded": pl.Int64,
    **{f"excluded_{reason}": pl.Int64 for reason in REASONS},
    "sent": pl.Int64,
    "delivered": pl.Int64,
    "bounced": pl.Int64,
    "errors": pl.Int64,
}
"""The columns every :func:`channel_report` has, in order; a column per other
exclusion reason found in the events comes after ``excluded_no_consent``."""


def channel_report(execution: Execution, events: pl.DataFrame) -> pl.DataFrame:
    """One row per channel activity of an execution: what its send did.

    Parameters
    ----------
    execution
        A test or live execution.
    events
        Feedback events, such as ``ws.feedback_events``; only the rows of this
        execution are read.

    Returns
    -------
    polars.DataFrame
        ``activity_id``, ``channel``, ``label``, ``status``, ``reached`` (rows
        that reached the activity, null before its task finished), then counts:

        - ``targeted``: profiles the send went through, one feedback event each;
        - ``excluded``: ``exclude`` events, and ``excluded_<reason>`` per
          exclusion reason: one column for each reason the sender writes
          (``no_address``, ``no_consent``), always present, then one for every
          other reason found in the events (``excluded_unknown`` for an
          exclusion without a reason);
        - ``sent``: messages the provider accepted (``sent`` and ``delivered``
          events), of which ``delivered`` were confirmed delivered;
        - ``bounced`` (``bounce`` events) and ``errors`` (``error`` events).

        In a live execution, ``targeted`` is ``excluded + sent + bounced +
        errors``. A test execution sends nothing and writes no events: its
        ``targeted`` is the population that reached the activity and the other
        counts are 0.

    Examples
    --------
    >>> channel_report(live, ws.feedback_events)  # doctest: +SKIP
    """
    check_events(events)
    definition = execution.definition
    channels = [
        definition.activity(aid)
        for aid in topological_order(definition)
        if definition.activity(aid).spec.category == "channel"
    ]
    tasks = execution.tasks.select("activity_id", "status", "input_count")
    base = (
        pl.DataFrame(
            {
                "activity_id": [a.id for a in channels],
                "channel": [a.type for a in channels],
                "label": [a.label for a in channels],
            },
            schema={"activity_id": pl.String, "channel": pl.String, "label": pl.String},
        )
        .join(tasks, on="activity_id", how="left")
        .with_columns(pl.col("status").fill_null("not_run"))
        .rename({"input_count": "reached"})
    )

    ids = [a.id for a in channels]
    own = events.filter(
        (pl.col("execution_id") == execution.id) & pl.col("activity_id").is_in(ids)
    )
    if execution.mode == "test":
        own = own.clear()
    counts = _counts(own)
    reasons = _reasons(own)
    report = base.join(counts, on="activity_id", how="left").join(
        reasons, on="activity_id", how="left"
    )
    filled = [c for c in report.columns if c in COUNTS or c.startswith("excluded_")]
    report = report.with_columns(pl.col(filled).fill_null(0).cast(pl.Int64))
    if execution.mode == "test":
        report = report.with_columns(targeted=pl.col("reached").fill_null(0))
    ordered = [*COUNTS[:2], *reasons.columns[1:], *COUNTS[2:]]
    names = ("activity_id", "channel", "label", "status", "reached")
    return report.select(*names, *ordered)


def _counts(events: pl.DataFrame) -> pl.DataFrame:
    status = pl.col("status")
    return events.group_by("activity_id").agg(
        pl.len().alias("targeted"),
        (status == "exclude").sum().alias("excluded"),
        status.is_in(["sent", "delivered"]).sum().alias("sent"),
        (status == "delivered").sum().alias("delivered"),
        (status == "bounce").sum().alias("bounced"),
        (status == "error").sum().alias("errors"),
    )


def _reasons(events: pl.DataFrame) -> pl.DataFrame:
    """Exclusions per activity and reason, one ``excluded_<reason>`` column each."""
    excluded = events.filter(pl.col("status") == "exclude").select(
        "activity_id",
        pl.col("exclusion_reason").fill_null(UNKNOWN_REASON).alias("reason"),
    )
    found = set(excluded["reason"].to_list())
    names = [*REASONS, *sorted(found - set(REASONS))]
    long = excluded.group_by("activity_id", "reason").len()
    if long.height:
        wide = long.pivot(on="reason", index="activity_id", values="len")
    else:
        wide = pl.DataFrame(schema={"activity_id": pl.String})
    missing = [pl.lit(None, pl.UInt32).alias(n) for n in names if n not in wide.columns]
    wide = wide.with_columns(missing).select("activity_id", *names)
    return wide.rename({n: f"excluded_{n}" for n in names})
