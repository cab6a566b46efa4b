"""Fixtures for the reports: the spring-sale campaign run in test and live mode."""

from __future__ import annotations

import copy
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.engine import Execution

CHANNELS = {
    "email": ("email", "email_consent"),
    "sms": ("phone", "sms_consent"),
    "push": ("push_token", "push_consent"),
}
"""The address and consent columns of each channel."""


def without_confirmation(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every channel activity sending as soon as it is reached."""
    changed = copy.deepcopy(document)
    for activity in changed["activities"]:
        if activity["type"] in CHANNELS:
            activity["send_confirmation"] = False
    return changed


@pytest.fixture
def sale(workspace: ajo.Workspace, spring_sale: dict[str, Any]) -> ajo.Campaign:
    """The spring-sale example (its work tables kept) as a Draft campaign."""
    return workspace.load_campaign(spring_sale)


@pytest.fixture
def tested(sale: ajo.Campaign) -> Execution:
    """A finished test execution of the spring sale."""
    run = sale.start().wait(60)
    assert run.state == "finished", run.error
    return run


@pytest.fixture
def live(workspace: ajo.Workspace, spring_sale: dict[str, Any]) -> Execution:
    """A finished live execution of the spring sale, sent through the outbox."""
    campaign = workspace.load_campaign(without_confirmation(spring_sale))
    execution = campaign.publish()
    assert execution is not None
    assert execution.wait(60).state == "finished", execution.error
    return execution


def reasons_by_hand(
    workspace: ajo.Workspace, run: Execution, transition_id: str, channel: str
) -> dict[str, int]:
    """Exclusions of the population on a transition, from the profiles themselves:
    no address first, then no consent (every example channel is marketing)."""
    address, consent = CHANNELS[channel]
    rows = (
        run.frame(transition_id)
        .select("profile_id")
        .join(workspace.table("profiles"), on="profile_id", how="left")
    )
    blank = pl.col(address).is_null() | (pl.col(address).str.strip_chars() == "")
    no_consent = ~blank & ~pl.col(consent).fill_null(False)
    counted = rows.select(no_address=blank.sum(), no_consent=no_consent.sum()).row(
        0, named=True
    )
    return {reason: int(count) for reason, count in counted.items()}
