"""The Voilà dashboard notebook: the workbench after a test execution, no code."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ARTIFACTS, Server, free_port, serve, stop
from .test_workbench_in_browser import (
    ACTIVITIES,
    GREEN,
    TRANSITIONS,
    canvas,
    no_broken_widgets,
    wait_drawn,
    wait_text,
)

DASHBOARD = "notebooks/dashboard.ipynb"
# Words of the notebook's code cells: none of them may reach the page.
SOURCE = ("import ajo_workbench", "generate_sample_data", "ajo.Workbench(", "tempfile")

LEGEND = """() => Object.fromEntries(
  [...document.querySelectorAll('.ajo-legend-state')].map(
    s => [s.dataset.state, Number(s.textContent.split(':').pop())]))"""

# Code cells' input areas, editors and prompts, wherever a template would put them.
VISIBLE_CODE = """() => [...document.querySelectorAll(
    '.jp-CodeCell .jp-InputArea, .jp-InputArea-editor, .cm-editor, .CodeMirror,'
    + ' .jp-InputPrompt')]
  .filter(e => e.offsetParent !== null || e.getClientRects().length > 0).length"""


@pytest.fixture
def dashboard(site: Path, browser: Any) -> Iterator[Server]:
    """Voilà serving the dashboard notebook on 127.0.0.1."""
    port, token = free_port(), secrets.token_hex(16)
    ARTIFACTS.mkdir(exist_ok=True)
    command = [
        sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1",
        f"--port={port}", f"--token={token}", "--show_tracebacks=True", DASHBOARD,
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    process = serve(command, url, site, ARTIFACTS / "voila-dashboard.log")
    yield Server(url, token)
    stop(process)


def test_the_dashboard_shows_the_finished_test_execution_and_no_code(
    dashboard: Server, page: Any
) -> None:
    page.goto(f"{dashboard.url}/?token={dashboard.token}", timeout=120_000)
    page.wait_for_selector(".ajo-canvas canvas", timeout=120_000)
    wait_drawn(page, ACTIVITIES, TRANSITIONS)
    wait_text(page, ".ajo-legend", f"success: {ACTIVITIES}", timeout=60)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # Every activity of the notebook's test execution is green, with its counts.
    drawn = canvas(page)
    assert len(drawn["nodes"]) == ACTIVITIES
    assert {n["colour"] for n in drawn["nodes"]} == {GREEN}
    labels = {e["id"]: e["label"] for e in drawn["edges"]}
    assert labels["t1"] == "996" and labels["t4"] == "big: 77"
    legend = page.evaluate(LEGEND)
    assert legend.pop("success") == ACTIVITIES
    assert legend and set(legend.values()) == {0}, legend
    wait_text(page, ".ajo-execution-state", "finished")
    no_broken_widgets(page)

    # The markdown title shows; no code cell's input does.
    assert page.locator("h1").first.inner_text().startswith("Spring sale")
    assert page.evaluate(VISIBLE_CODE) == 0
    text = page.inner_text("body")
    shown = [words for words in SOURCE if words in text]
    assert not shown, f"the page shows code: {shown}"
