"""Validation: every problem of a campaign at once, as alerts (SPEC §5)."""

from ajo_workbench.validation.checks import validate

__all__ = ["validate"]
