"""Reporting: what an execution did, per activity and per channel, and how two
executions differ (SPEC §10).

Every report is a polars frame built from an execution handle and, for
deliveries, the feedback events (``ws.feedback_events``)::

    from ajo_workbench.reporting import channel_report, compare

    channel_report(live, ws.feedback_events)
    diff = compare(first_run, second_run)
    diff.activities, diff.changed_profiles()
"""

from ajo_workbench.reporting.activities import (
    ACTIVITY_REPORT,
    activity_report,
    execution_report,
)
from ajo_workbench.reporting.channels import CHANNEL_REPORT, REASONS, channel_report
from ajo_workbench.reporting.compare import COMPARED_ACTIVITIES, Comparison, compare
from ajo_workbench.reporting.funnel import FLOWS, STEPS, funnel, funnel_along

__all__ = [
    "ACTIVITY_REPORT",
    "CHANNEL_REPORT",
    "COMPARED_ACTIVITIES",
    "FLOWS",
    "REASONS",
    "STEPS",
    "Comparison",
    "activity_report",
    "channel_report",
    "compare",
    "execution_report",
    "funnel",
    "funnel_along",
]
