"""The error boundary: every widget callback reports its failure in the workbench.

ipywidgets swallows exceptions raised in callbacks (they only reach the kernel's
log). :func:`guarded` wraps a callback so that its exception is logged with its
traceback and shown in an :class:`ErrorArea`, and the widget stays usable.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from html import escape
from typing import Any, TypeVar

import ipywidgets as widgets

from ajo_workbench.errors import LifecycleError

logger = logging.getLogger(__name__)
Callback = TypeVar("Callback", bound=Callable[..., Any])
Guard = Callable[[str], Callable[[Callable[..., Any]], Callable[..., Any]]]
"""Makes the decorator that guards a callback, given what the callback does."""


class ErrorArea(widgets.HTML):
    """Shows the last failure of a callback; empty (and hidden) otherwise."""

    def __init__(self) -> None:
        super().__init__(value="")
        self.add_class("ajo-error-area")
        self.layout.display = "none"
        self.last: str | None = None

    def show(self, what: str, error: BaseException) -> None:
        """Show what failed and why."""
        kind = "refused" if isinstance(error, LifecycleError) else "failed"
        self.last = f"{what} {kind}: {error}"
        text = escape(self.last).replace("\n", "<br>")
        self.value = (
            '<div style="background:#fdecea;color:#b71c1c;border:1px solid #e57373;'
            f'padding:4px 8px;border-radius:3px">{text}</div>'
        )
        self.layout.display = None

    def clear(self) -> None:
        """Hide the area."""
        self.last = None
        self.value = ""
        self.layout.display = "none"


def guarded(area: ErrorArea, what: str) -> Callable[[Callback], Callback]:
    """Wrap a callback so an exception is logged and shown in ``area``.

    A refused lifecycle action is logged at WARNING (it is already in the campaign's
    log); any other exception at ERROR with its traceback.
    """

    def decorate(callback: Callback) -> Callback:
        @functools.wraps(callback)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return callback(*args, **kwargs)
            except LifecycleError as error:
                logger.warning("%s refused: %s", what, error)
                area.show(what, error)
            except Exception as error:
                logger.exception("%s failed", what)
                area.show(what, error)
            return None

        return wrapper  # type: ignore[return-value]

    return decorate


def unguarded(what: str) -> Callable[[Callback], Callback]:
    """A guard that leaves the callback as it is (for widgets used on their own)."""

    def keep(callback: Callback) -> Callback:
        return callback

    return keep
