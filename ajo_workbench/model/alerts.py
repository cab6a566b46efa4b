"""Alerts: validation and execution problems shown to the analyst."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

AlertLevel = Literal["error", "warning"]


@dataclass(frozen=True)
class Alert:
    """One problem of a campaign, with a stable code and a hint to fix it.

    Parameters
    ----------
    code
        Stable identifier such as ``"CYCLE"`` or ``"UNKNOWN_COLUMN"``.
    level
        ``"error"`` blocks Start and Publish; ``"warning"`` does not.
    message
        What is wrong, naming the values involved.
    hint
        How to fix it.
    activity_id, transition_id
        The canvas element the alert points at, when there is one.
    """

    code: str
    level: AlertLevel
    message: str
    hint: str = ""
    activity_id: str | None = None
    transition_id: str | None = None

    def __str__(self) -> str:
        where = self.activity_id or self.transition_id
        place = f" [{where}]" if where else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.level} {self.code}{place}: {self.message}{hint}"

    def to_dict(self) -> dict[str, Any]:
        """The alert as a JSON-ready mapping."""
        return asdict(self)


def errors(alerts: list[Alert]) -> list[Alert]:
    """The alerts of level error."""
    return [alert for alert in alerts if alert.level == "error"]
