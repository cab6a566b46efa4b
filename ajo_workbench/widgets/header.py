"""The header: campaign name, status, execution state, schedule and alerts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

import ipywidgets as widgets

from ajo_workbench.model.alerts import Alert
from ajo_workbench.widgets.boundary import Guard, unguarded

STATUS_COLOURS = {
    "draft": "#607d8b",
    "scheduled": "#5e35b1",
    "live": "#2e7d32",
    "closed": "#ef6c00",
    "completed": "#1565c0",
    "stopped": "#c62828",
    "archived": "#424242",
    "deleted": "#000000",
}
Select = Callable[[str, str], None]


def schedule_summary(schedule: Mapping[str, Any]) -> str:
    """A one-line description of a campaign's schedule."""
    kind = schedule.get("type", "asap")
    if kind == "once":
        return f"once at {schedule.get('at', '?')}"
    if kind == "recurring":
        zone = schedule.get("timezone", "UTC")
        return f"recurring: {schedule.get('cron', '?')} ({zone})"
    if kind == "signal":
        names = [str(p.get("name")) for p in schedule.get("parameters", [])]
        return "on signal" + (f" ({', '.join(names)})" if names else "")
    return "as soon as published"


def badge(text: str, background: str) -> str:
    return (
        f'<span style="background:{background};color:white;border-radius:8px;'
        f'padding:1px 8px;margin-left:6px;font-size:12px">{escape(text)}</span>'
    )


class Header(widgets.VBox):
    """Name, status badge, execution state, schedule, and an alerts badge.

    Clicking the alerts badge shows the alerts list; clicking an alert selects the
    activity (or transition) it points at.
    """

    def __init__(self, on_select: Select, guard: Guard = unguarded) -> None:
        self.title = widgets.HTML()
        self.title.add_class("ajo-header")
        self.alerts_button = widgets.Button(
            description="no alerts", layout=widgets.Layout(width="auto")
        )
        self.alerts_button.add_class("ajo-alerts-badge")
        self.alerts_list = widgets.VBox(layout=widgets.Layout(display="none"))
        self.alerts: list[Alert] = []
        self._on_select = on_select
        self._guard = guard
        self.alerts_button.on_click(guard("show alerts")(self.toggle))
        super().__init__(
            [widgets.HBox([self.title, self.alerts_button]), self.alerts_list]
        )

    def update(
        self,
        name: str,
        status: str,
        execution_state: str | None,
        schedule: Mapping[str, Any],
        alerts: list[Alert],
        upcoming: Sequence[datetime] = (),
        awaiting: Sequence[str] = (),
    ) -> None:
        """Show the campaign's current facts; ``upcoming`` are its next runs and
        ``awaiting`` the channel activities that wait for Confirm send."""
        state = execution_state or "no execution yet"
        coming = ", ".join(t.strftime("%Y-%m-%d %H:%M %z") for t in upcoming)
        waiting = ""
        if awaiting:
            waiting = (
                '<div class="ajo-awaiting" style="color:#e65100">'
                f"waiting for Confirm send: {escape(', '.join(awaiting))} — click "
                "one on the canvas, check it (Simulate content), then Confirm send"
                "</div>"
            )
        self.title.value = (
            f'<b style="font-size:15px">{escape(name)}</b>'
            + badge(status, STATUS_COLOURS.get(status, "#607d8b"))
            + f'<span class="ajo-execution-state" style="margin-left:10px">'
            f"execution: <b>{escape(state)}</b></span>"
            f'<span style="margin-left:10px;color:#616161">'
            f"schedule: {escape(schedule_summary(schedule))}</span>"
            + (
                f'<span class="ajo-upcoming" style="margin-left:10px;color:#616161">'
                f"next: {escape(coming)}</span>"
                if coming
                else ""
            )
            + waiting
        )
        if alerts != self.alerts:
            self.alerts = list(alerts)
            self._show_alerts()

    def toggle(self, _: Any = None) -> None:
        """Show or hide the alerts list."""
        hidden = self.alerts_list.layout.display == "none"
        self.alerts_list.layout.display = None if hidden else "none"

    def _show_alerts(self) -> None:
        errors = sum(1 for a in self.alerts if a.level == "error")
        warnings = len(self.alerts) - errors
        if not self.alerts:
            self.alerts_button.description = "no alerts"
            self.alerts_button.button_style = ""
        else:
            self.alerts_button.description = (
                f"{errors} error(s) · {warnings} warning(s)"
            )
            self.alerts_button.button_style = "danger" if errors else "warning"
        self.alerts_list.children = [self._alert_button(a) for a in self.alerts]

    def _alert_button(self, alert: Alert) -> widgets.Button:
        button = widgets.Button(
            description=str(alert)[:120],
            tooltip=str(alert),
            layout=widgets.Layout(width="auto"),
            button_style="danger" if alert.level == "error" else "warning",
        )

        def select(_: Any) -> None:
            if alert.activity_id:
                self._on_select("activity", alert.activity_id)
            elif alert.transition_id:
                self._on_select("transition", alert.transition_id)

        button.on_click(self._guard("select an alert's element")(select))
        return button
