"""ajo-workbench: a notebook-native workbench for orchestrated marketing campaigns.

>>> import ajo_workbench as ajo
>>> ws = ajo.Workspace("demo")  # doctest: +SKIP
"""

import logging

from ajo_workbench.clock import Clock, SimulatedClock
from ajo_workbench.engine import Execution, ExecutionState, TaskStatus
from ajo_workbench.errors import (
    ConditionError,
    DataError,
    DefinitionError,
    ExecutionError,
    LifecycleError,
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
    "SimulatedClock",
    "TaskStatus",
    "ValidationError",
    "WorkbenchError",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "load_definition",
    "parse_definition",
]
