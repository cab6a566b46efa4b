"""The action bar: one button per lifecycle action (SPEC §6).

A button is enabled only when the campaign's lifecycle allows its action now; a
disabled button's tooltip says why, in the lifecycle's own words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ajo_workbench.widgets.boundary import Guard, unguarded

ACTION_LABELS: dict[str, str] = {
    "start": "Start",
    "stop": "Stop",
    "restart": "Restart",
    "pause": "Pause",
    "resume": "Resume",
    "publish": "Publish",
    "back_to_draft": "Back to draft",
    "confirm_send": "Confirm send",
    "close": "Close",
    "stop_campaign": "Stop campaign",
    "archive": "Archive",
    "duplicate": "Duplicate",
    "delete": "Delete",
}
"""Every action of the lifecycle, in the order of the bar, with its button label."""

ACTION_HELP: dict[str, str] = {
    "start": "start a test execution",
    "stop": "stop the test execution",
    "restart": "stop, reset and start the test execution again",
    "pause": "pause the test execution between tasks",
    "resume": "resume the paused execution",
    "publish": "publish: go Live or Scheduled (the canvas becomes read-only)",
    "back_to_draft": "return to Draft",
    "confirm_send": "let the selected channel activity send",
    "close": "no new occurrences; Completed once the running ones end",
    "stop_campaign": "stop the campaign for good",
    "archive": "archive the campaign",
    "duplicate": "a new Draft with a copy of the definition",
    "delete": "delete the campaign and its test history (click twice)",
}
STYLES = {"start": "success", "stop": "danger", "publish": "primary"}
Act = Callable[[str], None]


class ActionBar(widgets.HBox):
    """The lifecycle buttons; ``on_action`` receives the action's name.

    Delete asks for a second click before it acts.
    """

    def __init__(self, on_action: Act, guard: Guard = unguarded) -> None:
        self.buttons: dict[str, widgets.Button] = {}
        self._on_action = on_action
        self.armed: str | None = None
        for action, label in ACTION_LABELS.items():
            button = widgets.Button(
                description=label,
                disabled=True,
                button_style=STYLES.get(action, ""),
                layout=widgets.Layout(width="auto"),
            )
            button.add_class(f"ajo-action-{action.replace('_', '-')}")
            button.on_click(guard(label)(self._clicked(action)))
            self.buttons[action] = button
        super().__init__(
            list(self.buttons.values()),
            layout=widgets.Layout(flex_flow="row wrap"),
        )

    def update(self, available: dict[str, str | None]) -> None:
        """Enable the allowed actions; a refused one's tooltip says why."""
        for action, button in self.buttons.items():
            if action not in available:
                reason: str | None = "this action is not available here"
            else:
                reason = available[action]
            button.disabled = reason is not None
            button.tooltip = ACTION_HELP[action] if reason is None else reason
            if action != self.armed:  # a refused action is grey, whatever its colour
                button.button_style = "" if button.disabled else STYLES.get(action, "")
        if self.armed and self.buttons[self.armed].disabled:
            self._disarm()

    def enabled(self) -> list[str]:
        """The actions whose buttons can be clicked now."""
        return [a for a, b in self.buttons.items() if not b.disabled]

    def _clicked(self, action: str) -> Callable[[Any], None]:
        def clicked(_: Any) -> None:
            if action == "delete" and self.armed != "delete":
                self.armed = "delete"
                self.buttons["delete"].description = "Click again to delete"
                self.buttons["delete"].button_style = "danger"
                return
            self._disarm()
            self._on_action(action)

        return clicked

    def _disarm(self) -> None:
        self.armed = None
        self.buttons["delete"].description = ACTION_LABELS["delete"]
        self.buttons["delete"].button_style = ""
