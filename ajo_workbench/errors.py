"""Errors raised by ajo-workbench.

Every error the project raises on purpose derives from one root::

    WorkbenchError
    ├── DefinitionError (ValueError)   a campaign document breaks the file format
    ├── ConditionError (ValueError)    a condition does not parse or leaves the sandbox
    ├── DataError (ValueError)         a table, column, import file or link is wrong
    ├── ValidationError                alerts of level error block an action
    ├── LifecycleError                 an action is refused in the campaign's status
    ├── ExecutionError                 an activity failed while it ran
    ├── WorkspaceError                 the workspace folder or database is unusable
    └── TemplateError (ValueError)     a message can't be rendered for a recipient

Messages start lower-case and say what was wrong, the value, and what is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ajo_workbench.model.alerts import Alert


class WorkbenchError(Exception):
    """Root of every error raised by ajo-workbench."""


@dataclass(frozen=True)
class Problem:
    """One problem of a campaign document: where, what came, and what is allowed."""

    path: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DefinitionError(WorkbenchError, ValueError):
    """A campaign document breaks the file format; lists every problem at once."""

    def __init__(self, problems: Sequence[Problem], source: str = "campaign") -> None:
        self.problems = list(problems)
        self.source = source
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{source} has {count} {noun}:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class ConditionError(WorkbenchError, ValueError):
    """A condition does not parse, names something unknown, or leaves the sandbox."""


class DataError(WorkbenchError, ValueError):
    """A table, column, link or import file is missing or malformed."""


class ValidationError(WorkbenchError):
    """Validation found errors that block the action."""

    def __init__(self, action: str, alerts: Sequence[Alert]) -> None:
        self.action = action
        self.alerts = list(alerts)
        lines = [f"{action} is blocked by {len(self.alerts)} validation error(s):"]
        lines += [f"  - {alert}" for alert in self.alerts]
        super().__init__("\n".join(lines))


class LifecycleError(WorkbenchError):
    """An action is not allowed in the campaign's current status."""

    def __init__(self, action: str, status: str, reason: str) -> None:
        self.action = action
        self.status = status
        self.reason = reason
        super().__init__(f"{action} is not allowed ({status}): {reason}")


class ExecutionError(WorkbenchError):
    """An activity failed while it ran."""


class WorkspaceError(WorkbenchError):
    """The workspace folder or its database can't be used."""


class TemplateError(WorkbenchError, ValueError):
    """A channel template doesn't parse, misses a value, or leaves the sandbox."""
