"""The Binder environment, built as repo2docker builds it, runs every notebook.

When a ``binder/`` folder exists, repo2docker reads only its files: it makes a
Python of the version in ``runtime.txt``, copies the repository in, runs
``pip install -r binder/requirements.txt`` from the repository root, then
``binder/postBuild`` when there is one. The test does the same in a fresh virtual
environment (pip's cache keeps it quick after the first time), adds what the image
gets from its base and CI adds to run notebooks (pytest and nbval), and runs the
notebooks of ``notebooks/`` there under nbval.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BINDER = ROOT / "binder"
TEST_TOOLS = ["nbval"]
"""Installed after the image's own packages: it runs the notebooks, the image
doesn't need it."""
NEEDED = ["ajo_workbench", "ipykernel", "voila", "pytest"]
"""What the notebooks need in the image (pytest for the pytest tutorial)."""
BROWSER_TOOLS = ["playwright", "pytest_playwright"]
"""The browser tests' tools, which the Binder image must not carry."""
LAB_EXTENSIONS = (
    "@jupyter-widgets/jupyterlab-manager",
    "jupyter-cytoscape",
    "ipydatagrid",
)
"""The prebuilt front-ends the workbench needs in JupyterLab and Voilà."""


def run(command: list[str], cwd: Path, timeout: float) -> str:
    """Run a command and return what it printed (standard output, then standard
    error); fail the test with that output when the command fails."""
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited with {result.returncode} in {cwd}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    return result.stdout + result.stderr


def runtime_python() -> str:
    """A Python of the version ``binder/runtime.txt`` asks for."""
    runtime = (BINDER / "runtime.txt").read_text().strip()
    found = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert found, f"binder/runtime.txt: {runtime!r} is not python-X.Y"
    wanted = (int(found[1]), int(found[2]))
    if sys.version_info[:2] == wanted:
        return sys.executable
    other = shutil.which(f"python{wanted[0]}.{wanted[1]}")
    if other is None:
        pytest.fail(
            f"Binder runs Python {wanted[0]}.{wanted[1]} (binder/runtime.txt), which "
            f"is not on this machine; install it to build the Binder environment",
            pytrace=False,
        )
    return other


def copy_repository(target: Path) -> Path:
    """The repository's files (tracked, or new and not ignored), as repo2docker
    copies them into the image; the checkout itself is never written."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the checkout is left out
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return target


def test_the_binder_environment_runs_every_notebook(tmp_path: Path) -> None:
    repository = copy_repository(tmp_path / "repo")
    venv = tmp_path / "venv"
    run([runtime_python(), "-m", "venv", str(venv)], tmp_path, timeout=120)
    python = str(venv / "bin" / "python")

    # The image: binder/requirements.txt from the repository root, then postBuild.
    requirements = ["-r", "binder/requirements.txt"]
    run([python, "-m", "pip", "install", "-q", *requirements], repository, 600)
    post_build = repository / "binder" / "postBuild"
    if post_build.exists():
        path = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        run(["env", f"PATH={path}", "bash", str(post_build)], repository, 600)

    # What the notebooks need is in it, browser-test tools are not, and the
    # widgets' front-ends are.
    probe = (
        "import importlib.util, sys\n"
        "print(*[m for m in sys.argv[1:] if importlib.util.find_spec(m)])"
    )
    found = run([python, "-c", probe, *NEEDED, *BROWSER_TOOLS], repository, 60)
    assert found.split() == NEEDED, f"in the Binder image: {found}"
    extensions = run([python, "-m", "jupyter", "labextension", "list"], repository, 120)
    for name in LAB_EXTENSIONS:
        line = next((x for x in extensions.splitlines() if name in x), "")
        assert re.search(r"enabled.*OK", re.sub(r"\x1b\[\d+m", "", line)), extensions

    # The notebooks, in that environment's own kernel.
    run([python, "-m", "pip", "install", "-q", *TEST_TOOLS], repository, 600)
    notebooks = sorted(
        p.relative_to(repository) for p in repository.glob("notebooks/*.ipynb")
    )
    assert Path("notebooks/01-quickstart.ipynb") in notebooks
    nbval = [
        python,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--nbval",
        "--nbval-current-env",
    ]
    report = run([*nbval, *map(str, notebooks)], repository, timeout=600)
    assert re.search(r"\b\d+ passed\b", report) and " failed" not in report, report
