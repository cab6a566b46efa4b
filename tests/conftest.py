"""Shared fixtures: a small sample workspace and named campaign shapes."""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import ajo_workbench as ajo

# With CI set, the fuzz tests draw the same cases on every run, so a run fails
# only for what changed; without it, each run draws new cases.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

EXAMPLES = Path(__file__).parent.parent / "examples"
SAMPLE_PROFILES = 20_000


@pytest.fixture(scope="session")
def sample_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with sample data, generated once per test session."""
    folder = tmp_path_factory.mktemp("sample") / "ws"
    ajo.Workspace(folder).generate_sample_data(profiles=SAMPLE_PROFILES, seed=11)
    return folder


@pytest.fixture
def workspace(sample_folder: Path, tmp_path: Path) -> ajo.Workspace:
    """A fresh copy of the sample workspace for one test."""
    folder = tmp_path / "ws"
    shutil.copytree(sample_folder, folder)
    return ajo.Workspace(folder, user="tester")


@pytest.fixture
def spring_sale() -> dict[str, Any]:
    """The multi-branch example campaign as a document."""
    document: dict[str, Any] = json.loads(
        (EXAMPLES / "spring-sale.json").read_text(encoding="utf-8")
    )
    return document


def linear(*activities: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """A campaign ``chain`` whose activities are linked in order by t1, t2, …"""
    transitions = [
        {"id": f"t{i}", "from": a["id"], "to": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(activities), start=1)
    ]
    return {
        "id": "chain",
        "settings": settings,
        "activities": list(activities),
        "transitions": transitions,
    }


@pytest.fixture
def chain() -> Callable[..., dict[str, Any]]:
    """Builds a linear campaign from activities (settings as keywords)."""
    return linear


@pytest.fixture
def sim_workspace(sample_folder: Path, tmp_path: Path) -> ajo.Workspace:
    """A copy of the sample workspace on a simulated clock at 2026-12-01 09:00 UTC."""
    folder = tmp_path / "sim"
    shutil.copytree(sample_folder, folder)
    clock = ajo.SimulatedClock("2026-12-01T09:00:00+00:00")
    return ajo.Workspace(folder, clock=clock, user="tester")
