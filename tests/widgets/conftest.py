"""Fixtures for the headless widget tests: campaigns in known statuses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import ajo_workbench as ajo
from ajo_workbench.widgets import Workbench


@pytest.fixture
def sale(workspace: ajo.Workspace, spring_sale: dict[str, Any]) -> ajo.Campaign:
    """The spring-sale example as a Draft campaign of the sample workspace."""
    return workspace.load_campaign(spring_sale)


@pytest.fixture
def bench(sale: ajo.Campaign) -> Iterator[Workbench]:
    """A workbench on the spring-sale campaign (closed after the test)."""
    workbench = Workbench(sale, refresh_interval=0.05, page_size=20)
    yield workbench
    workbench.close()


def settle(workbench: Workbench) -> None:
    """Wait for the execution shown, then apply what is pending."""
    if workbench.execution is not None:
        workbench.execution.wait(timeout=60)
    workbench.throttle.flush()
