"""Send one e-mail activity of a big population to a workspace's outbox.

Run as ``python crash_sender.py FOLDER COUNT``; the crash test kills it midway. The
population is the same on every run, so a second run resumes the same execution.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ajo_workbench.clock import Clock
from ajo_workbench.delivery import (
    SendLedger,
    SendSummary,
    provider_for,
    send_population,
)
from ajo_workbench.storage.database import Database

SETTINGS = {
    "subject": "Hello {{ first_name }}",
    "body": "<p>Dear {{ first_name }}, your code is {{ code }}</p>",
    "sender": "news@example.org",
}
EXECUTION = {
    "campaign_id": "crash",
    "campaign_version": 1,
    "execution_id": "e-crash",
    "activity_id": "mail",
}


def population(count: int) -> Iterator[dict[str, Any]]:
    """Every 10th profile has no address, every 7th no consent."""
    for n in range(count):
        yield {
            "profile_id": n,
            "email": None if n % 10 == 3 else f"p{n}@example.org",
            "email_consent": n % 7 != 5,
            "first_name": f"P{n}",
            "code": f"C{n:06d}",
        }


def send(folder: Path, count: int) -> SendSummary:
    """Send the population once more, skipping what the ledger holds."""
    clock = Clock()
    ledger = SendLedger(Database(folder / "workspace.db"), clock)
    return send_population(
        population(count),
        channel="email",
        settings=SETTINGS,
        ledger=ledger,
        provider=provider_for("email", None, folder),
        clock=clock,
        **EXECUTION,
    )


if __name__ == "__main__":
    send(Path(sys.argv[1]), int(sys.argv[2]))
