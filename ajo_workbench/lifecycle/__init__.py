"""The campaign lifecycle: statuses, actions and their guards."""

from ajo_workbench.lifecycle.machine import (
    ACTIONS,
    RULES,
    USER_ACTIONS,
    CampaignStatus,
    Facts,
    Lifecycle,
)

__all__ = ["ACTIONS", "RULES", "USER_ACTIONS", "CampaignStatus", "Facts", "Lifecycle"]
