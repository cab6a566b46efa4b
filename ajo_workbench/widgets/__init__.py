"""The JupyterLab workbench: small widgets composed by :class:`Workbench`.

Each module holds one part: the header, the action bar, the canvas, the properties
pane, the filtered grids, the report, and the live-update and error-boundary
machinery they share. polars frames become pandas frames only in
:mod:`ajo_workbench.widgets.frames`.
"""

from ajo_workbench.widgets.workbench import Workbench

__all__ = ["Workbench"]
