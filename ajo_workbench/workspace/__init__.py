"""The workspace and its campaigns: the Python API of SPEC §11.1."""

from ajo_workbench.workspace.campaign import Campaign, summary
from ajo_workbench.workspace.workspace import Workspace

__all__ = ["Campaign", "Workspace", "summary"]
