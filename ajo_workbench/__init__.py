"""ajo-workbench: a notebook-native workbench for orchestrated marketing campaigns.

>>> import ajo_workbench as ajo
>>> ws = ajo.Workspace("demo")  # doctest: +SKIP
"""

import logging
import typing as _typing

from ajo_workbench.clock import Clock, SimulatedClock
from ajo_workbench.engine import Execution, ExecutionState, TaskStatus
from ajo_workbench.errors import (
    ConditionError,
    DataError,
    DefinitionError,
    ExecutionError,
    LifecycleError,
    SignalNotAcceptedError,
    SignalRefusedError,
    SignalThrottledError,
    UnknownCampaignError,
    ValidationError,
    WorkbenchError,
    WorkspaceError,
)
from ajo_workbench.lifecycle import CampaignStatus
from ajo_workbench.model.alerts import Alert
from ajo_workbench.model.builder import CampaignBuilder
from ajo_workbench.model.definition import (
    CampaignDefinition,
    load_definition,
    parse_definition,
)
from ajo_workbench.workspace import Campaign, Workspace

if _typing.TYPE_CHECKING:
    from ajo_workbench.widgets import Workbench

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "Alert",
    "Campaign",
    "CampaignBuilder",
    "CampaignDefinition",
    "CampaignStatus",
    "Clock",
    "ConditionError",
    "DataError",
    "DefinitionError",
    "Execution",
    "ExecutionError",
    "ExecutionState",
    "LifecycleError",
    "SignalNotAcceptedError",
    "SignalRefusedError",
    "SignalThrottledError",
    "SimulatedClock",
    "TaskStatus",
    "UnknownCampaignError",
    "ValidationError",
    "Workbench",
    "WorkbenchError",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "load_definition",
    "parse_definition",
]


def __getattr__(name: str) -> _typing.Any:
    # The workbench pulls in the widget libraries; the CLI and headless runs don't
    # need them, so it is imported on first use.
    if name == "Workbench":
        from ajo_workbench.widgets import Workbench

        globals()["Workbench"] = Workbench
        return Workbench
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
