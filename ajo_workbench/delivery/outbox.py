"""The outbox provider: rendered messages written as files in the workspace.

Each message is one JSON file named by its message id under
``<workspace>/outbox/<channel>/``. A file is written next to its final name and moved
into place with ``os.replace``, so a reader (or a process that was killed) sees either
the whole message or none; writing the same message id again replaces the file, so a
retry never makes a second message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from ajo_workbench.delivery.outcome import SENT, Outcome, soft_error
from ajo_workbench.delivery.templates import RenderedMessage
from ajo_workbench.model.catalogue import CHANNEL_CONTENT


class OutboxProvider:
    """Writes each message to ``folder/<channel>/<message_id>.json``.

    Parameters
    ----------
    folder
        The outbox folder, usually ``<workspace>/outbox``; created when needed.

    Notes
    -----
    Files are not flushed to disk one by one (no ``fsync``): a killed process leaves
    every file it moved into place, but a power cut may lose the last ones.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._made: set[str] = set()

    def __repr__(self) -> str:
        return f"OutboxProvider({str(self.folder)!r})"

    def path(self, message: RenderedMessage) -> Path:
        """Where ``message`` is (or will be) written."""
        return self.folder / message.channel / f"{_checked(message.message_id)}.json"

    def send(self, message: RenderedMessage) -> Outcome:
        """Write the message; a failing disk is a transient error."""
        target = self.path(message)
        staging = target.with_name(f".{target.stem}.{os.getpid()}.tmp")
        text = json.dumps(message.to_dict(), ensure_ascii=False, indent=1)
        try:
            if message.channel not in self._made:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(message.channel)
            staging.write_text(text, encoding="utf-8")
            os.replace(staging, target)
        except OSError as error:
            return soft_error(f"outbox: can't write {target}: {error}")
        return SENT

    def contains(self, message_id: str) -> bool:
        """Whether a message with this id is in the outbox (any channel)."""
        name = f"{_checked(message_id)}.json"
        return any(
            (self.folder / channel / name).is_file() for channel in CHANNEL_CONTENT
        )

    def close(self) -> None:
        """Nothing to release: every message is a file of its own."""

    def messages(self, channel: str) -> Iterator[Path]:
        """The files of one channel's messages, in no particular order."""
        folder = self.folder / channel
        return folder.glob("*.json") if folder.is_dir() else iter(())


def _checked(message_id: str) -> str:
    if not message_id or not all(c.isalnum() or c in "-_" for c in message_id):
        raise ValueError(
            f"message id {message_id!r} can't name an outbox file "
            "(allowed: letters, digits, '-' and '_')"
        )
    return message_id
