"""Fixtures for fuzzing bad input: a sample workspace and a picture of its state.

A picture is taken straight from the files (SQLite opened read-only, file names,
sizes and contents' digests), so it does not rely on the code under test to say
that nothing changed.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import ajo_workbench as ajo

FUZZ_PROFILES = 2000
FUZZ_SEED = 7

WorkspaceState = dict[str, object]
"""Row count and content digest per database table, and digest per file."""


def workspace_state(folder: Path) -> WorkspaceState:
    """Every database table's rows and every file of a workspace folder, digested."""
    state: WorkspaceState = {}
    uri = f"file:{folder / 'workspace.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True) as connection:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        for name in names:
            rows = connection.execute(f'SELECT * FROM "{name}"').fetchall()
            digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
            state[f"db:{name}"] = (len(rows), digest)
    connection.close()

    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("workspace.db"):
            continue
        relative = path.relative_to(folder).as_posix()
        state[f"file:{relative}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


@pytest.fixture(scope="session")
def fuzz_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with 2,000 sample profiles (seed 7), generated once."""
    folder = tmp_path_factory.mktemp("fuzz") / "ws"
    ajo.Workspace(folder).generate_sample_data(profiles=FUZZ_PROFILES, seed=FUZZ_SEED)
    return folder


@pytest.fixture(scope="module")
def module_workspace(
    fuzz_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> ajo.Workspace:
    """A copy of the sample workspace shared by one module's generated cases.

    Tests that use it check that every case leaves it as it was, so the cases
    can't influence each other.
    """
    folder = tmp_path_factory.mktemp("module") / "ws"
    shutil.copytree(fuzz_folder, folder)
    return ajo.Workspace(folder, user="fuzzer")


@pytest.fixture
def fresh_workspace(fuzz_folder: Path, tmp_path: Path) -> ajo.Workspace:
    """A copy of the sample workspace for one test."""
    folder = tmp_path / "ws"
    shutil.copytree(fuzz_folder, folder)
    return ajo.Workspace(folder, user="fuzzer")


@pytest.fixture(scope="session")
def state_of() -> Callable[[ajo.Workspace], WorkspaceState]:
    """Takes the picture of a workspace's database and files."""
    return lambda ws: workspace_state(ws.path)
