"""Fixtures of the delivery tests: a ledger, a real SMTP server and an HTTP endpoint.

Both servers listen on 127.0.0.1 on a free port and are stopped after the test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ajo_workbench.clock import SimulatedClock
from ajo_workbench.delivery import SendLedger
from ajo_workbench.storage.database import Database

sys.path.insert(0, str(Path(__file__).parent))
from servers import Endpoint, MailServer, http_endpoint, mail_server

START = "2026-12-01T09:00:00+00:00"


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def ledger(tmp_path: Path, clock: SimulatedClock) -> SendLedger:
    return SendLedger(Database(tmp_path / "workspace.db"), clock)


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    with mail_server() as server:
        yield server


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with http_endpoint() as state:
        yield state
