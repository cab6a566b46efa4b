"""A real JupyterLab (or Voilà) on 127.0.0.1 and Debian's Chromium driven by Playwright.

Without a browser the tests fail with a clear message when the environment variable
``CI`` is set, and are skipped with that message otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing_browser() -> str | None:
    """Why the browser tests can't run here, or None."""
    if not CHROMIUM.exists():
        return (
            f"the browser tests need Debian's Chromium at {CHROMIUM} "
            "(apt-get install -y chromium); .ci/run installs it"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the browser tests need Playwright for Python (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Chromium through Playwright (fails in CI, skips elsewhere, when missing)."""
    reason = missing_browser()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page of 1400 by 1100 pixels."""
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the notebooks and examples, so the server never writes the repo's."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


@dataclass
class Server:
    url: str
    token: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    """Whether ``url`` answers 200, or (for a bare host:port) accepts connections."""
    if url.count("/") == 2:
        host, port = url.removeprefix("http://").split(":")
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return True
        except OSError:
            return False
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def serve(
    command: list[str], url: str, cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    """Start a server and wait until ``url`` answers (at most 60 s)."""
    environment = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1"}
    environment["JUPYTERLAB_WORKSPACES_DIR"] = str(cwd / ".workspaces")
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=environment,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server ended early; see {log}")
        if answers(url):
            return process
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError(f"the server did not answer {url} within 60 s; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def quiet_settings(folder: Path) -> Path:
    """User settings of their own for the test's JupyterLab: no news, no toasts
    (they would cover the grids), whatever the machine's own settings say."""
    plugin = folder / "@jupyterlab" / "apputils-extension"
    plugin.mkdir(parents=True, exist_ok=True)
    quiet = {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}
    (plugin / "notification.jupyterlab-settings").write_text(json.dumps(quiet))
    return folder


@pytest.fixture
def lab(site: Path, browser: Any) -> Iterator[Server]:
    """JupyterLab on 127.0.0.1 with a token, its app exposed to the page."""
    port, token = free_port(), secrets.token_hex(16)
    ARTIFACTS.mkdir(exist_ok=True)
    settings = quiet_settings(site / ".lab-settings")
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        f"--LabApp.user_settings_dir={settings}",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={site}", "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    process = serve(
        command, f"{url}/api/status?token={token}", site, ARTIFACTS / "lab.log"
    )
    yield Server(url, token)
    stop(process)


@pytest.fixture
def voila(site: Path, browser: Any) -> Iterator[Server]:
    """Voilà serving the quickstart notebook on 127.0.0.1."""
    port, token = free_port(), secrets.token_hex(16)
    ARTIFACTS.mkdir(exist_ok=True)
    command = [
        sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1",
        f"--port={port}", f"--token={token}", "--show_tracebacks=True",
        "notebooks/01-quickstart.ipynb",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    # Voilà runs the notebook on each page load, so readiness is an open port.
    process = serve(command, url, site, ARTIFACTS / "voila.log")
    yield Server(url, token)
    stop(process)
