"""Fixtures of the signal tests: a fake target and a real server on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ajo_workbench.service import ServiceHandle, start_in_thread

sys.path.insert(0, str(Path(__file__).parent))
from fake_target import TOKEN, FakeTarget


@pytest.fixture(scope="module")
def shared_target() -> FakeTarget:
    return FakeTarget()


@pytest.fixture(scope="module")
def service(shared_target: FakeTarget) -> Iterator[ServiceHandle]:
    """One server per test module, on a free port of 127.0.0.1, bodies up to 4 KiB."""
    with start_in_thread(shared_target, TOKEN, max_body=4096) as handle:
        yield handle


@pytest.fixture
def target(shared_target: FakeTarget, service: ServiceHandle) -> FakeTarget:
    """The served target, with no signal received yet."""
    shared_target.reset()
    return shared_target


@pytest.fixture
def client(service: ServiceHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=10) as http:
        yield http


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
