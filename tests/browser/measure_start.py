"""Measure, in a real JupyterLab, the time from clicking Start to the last update.

Not a test: run it by hand with the number of profiles to generate::

    .venv/bin/python -m tests.browser.measure_start 1000000

It makes a workspace with sample data, a notebook that shows the spring-sale
campaign in the workbench, opens it in Chromium, clicks Start and waits until the
header says ``finished`` and the legend counts every activity as ``success``.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from playwright.sync_api import sync_playwright

import ajo_workbench as ajo
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, serve
from tests.browser.test_workbench_in_browser import KERNEL_IDLE, wait_text


def notebook(workspace: Path) -> nbformat.NotebookNode:
    document = nbformat.v4.new_notebook()
    document.cells = [
        nbformat.v4.new_code_cell(
            "import ajo_workbench as ajo\n"
            f"ws = ajo.Workspace({str(workspace)!r})\n"
            "ajo.Workbench(ws.campaign('spring-sale'))"
        )
    ]
    document.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    return document


def measure(profiles: int) -> tuple[float, float]:
    """Seconds from the click to the first and to the last status update."""
    folder = Path(tempfile.mkdtemp(prefix="ajo-measure-"))
    ws = ajo.Workspace(folder / "workspace")
    ws.generate_sample_data(profiles=profiles, seed=7)
    ws.load_campaign(ROOT / "examples" / "spring-sale.json")
    nbformat.write(notebook(folder / "workspace"), folder / "measure.ipynb")

    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
        "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    process = serve(
        command, f"{url}/api/status?token={token}", folder, folder / "lab.log"
    )
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{url}/lab/tree/measure.ipynb?token={token}")
            page.wait_for_function(KERNEL_IDLE, timeout=60_000)
            page.evaluate(
                "window.jupyterapp.commands.execute('notebook:run-all-cells')"
            )
            page.wait_for_selector(".ajo-action-start:not([disabled])", timeout=60_000)
            page.locator(".ajo-action-start").click()
            clicked = time.monotonic()
            first = wait_text(page, ".ajo-execution-state", "running", timeout=120)
            wait_text(page, ".ajo-execution-state", "finished", timeout=300)
            last = wait_text(page, ".ajo-legend", "success: 8", timeout=60)
            page.screenshot(path=str(folder / "measured.png"))
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=15)
        shutil.rmtree(folder / "workspace", ignore_errors=True)
    print(f"screenshot and log in {folder}")
    return first - clicked, last - clicked


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    first, last = measure(size)
    print(f"{size:,} profiles: first update {first:.2f} s, last update {last:.2f} s")
