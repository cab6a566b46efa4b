"""Send throughput: the outbox and a real SMTP server on 127.0.0.1.

Usage::

    python benchmarks/sending.py --messages 5000

Sends one e-mail activity's messages to generated recipients through
``send_population`` three ways, each with a fresh workspace database: to a provider
that accepts every message at once (what the ledger, the feedback events and the
rendering cost alone), to the outbox, and to a local SMTP server (aiosmtpd, which
counts what it received). Prints messages per second for each.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from ajo_workbench.clock import Clock
from ajo_workbench.delivery import (
    OutboxProvider,
    Outcome,
    RenderedMessage,
    SendLedger,
    SmtpProvider,
    send_population,
)
from ajo_workbench.storage.database import Database

SETTINGS = {
    "subject": "Hello {{ first_name }}",
    "body": "<p>Dear {{ first_name }}, thank you for your visit.</p>",
    "sender": "shop@example.test",
}


class Accepting:
    """A provider that accepts every message without sending it anywhere."""

    def send(self, message: RenderedMessage) -> Outcome:
        return Outcome("sent")


class Counting:
    """An aiosmtpd handler that counts the messages it received."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.received += len(envelope.rcpt_tos)
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Counting, int]]:
    handler = Counting()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def recipients(count: int) -> list[dict[str, Any]]:
    return [
        {
            "profile_id": i,
            "email": f"person{i}@example.test",
            "first_name": f"Name{i}",
            "email_consent": True,
        }
        for i in range(1, count + 1)
    ]


def rate(provider: Any, rows: list[dict[str, Any]], folder: Path) -> float:
    ledger = SendLedger(Database(folder / "workspace.db"), Clock())
    started = time.perf_counter()
    summary = send_population(
        rows,
        channel="email",
        settings=SETTINGS,
        campaign_id="bench",
        campaign_version=1,
        execution_id="e1",
        activity_id="mail",
        ledger=ledger,
        provider=provider,
        clock=Clock(),
    )
    seconds = time.perf_counter() - started
    assert summary.sent == len(rows), summary
    return len(rows) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    rows = recipients(args.messages)

    print(f"{args.messages:,} e-mails, one at a time, each claimed and recorded\n")
    print("| provider | messages per second |")
    print("|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        for name, provider in (
            ("accepts at once (ledger only)", Accepting()),
            ("outbox", OutboxProvider(base / "outbox")),
        ):
            (base / name).mkdir()
            print(f"| {name} | {rate(provider, rows, base / name):,.0f} |")
        (base / "smtp").mkdir()
        with smtp_server() as (handler, port):
            smtp = SmtpProvider("127.0.0.1", port)
            per_second = rate(smtp, rows, base / "smtp")
            assert handler.received == len(rows), handler.received
        print(f"| SMTP on 127.0.0.1 (aiosmtpd) | {per_second:,.0f} |")


if __name__ == "__main__":
    main()
