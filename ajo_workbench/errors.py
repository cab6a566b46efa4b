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
    ├── TemplateError (ValueError)     a message can't be rendered for a recipient
    ├── SignalRefusedError             a signal can't start the campaign (§11.3)
    │   ├── UnknownCampaignError (LookupError)   no campaign has the id
    │   ├── SignalNotAcceptedError (ValueError)  not live, not signal-triggered,
    │   │                                        or bad variables
    │   └── SignalThrottledError                 triggered again too soon
    └── ServiceError                   the signal service can't start as configured

Messages start lower-case and say what was wrong, the value, and what is allowed.
"""

from __future__ import annotations

import math
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


class SignalRefusedError(WorkbenchError):
    """A signal can't trigger the campaign; no execution was started."""

    def __init__(self, campaign_id: str, message: str) -> None:
        self.campaign_id = campaign_id
        super().__init__(message)


class UnknownCampaignError(SignalRefusedError, LookupError):
    """No campaign of the workspace has the signalled id."""

    def __init__(self, campaign_id: str, message: str | None = None) -> None:
        if message is None:
            message = f"no campaign has the id {campaign_id!r}"
        super().__init__(campaign_id, message)


class SignalNotAcceptedError(SignalRefusedError, ValueError):
    """The campaign is not live, is not signal-triggered, or the variables are bad."""


class SignalThrottledError(SignalRefusedError):
    """The campaign was triggered again within its minimum interval.

    ``retry_after`` is how many seconds remain until a signal is accepted again
    (never negative); ``retry_after_seconds`` is the same rounded up to whole seconds,
    as an HTTP ``Retry-After`` header carries it.
    """

    def __init__(
        self, campaign_id: str, retry_after: float, message: str | None = None
    ) -> None:
        self.retry_after = max(0.0, float(retry_after))
        if message is None:
            message = (
                f"campaign {campaign_id!r} was triggered within its minimum "
                f"interval; retry in {self.retry_after_seconds} s"
            )
        super().__init__(campaign_id, message)

    @property
    def retry_after_seconds(self) -> int:
        """Seconds to wait, rounded up to a whole number."""
        return math.ceil(self.retry_after)


class ServiceError(WorkbenchError):
    """The signal service can't start: a bad address, a port in use, a bad token."""
