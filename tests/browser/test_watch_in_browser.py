"""In JupyterLab, the workbench follows what it did not start: an execution run
by another process, and a definition changed after it was drawn."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .conftest import ARTIFACTS, Server
from .test_workbench_in_browser import (
    GREEN,
    canvas,
    code_notebook,
    no_broken_widgets,
    run_notebook,
    wait_drawn,
    wait_text,
)

SETUP = """\
import copy, json, subprocess, sys

import ajo_workbench as ajo

ws = ajo.Workspace("watched-workspace")
ws.generate_sample_data(profiles=20_000, seed=7)
document = json.load(open("../examples/spring-sale.json"))
campaign = ws.load_campaign(document)
bench = ajo.Workbench(campaign, watch_interval=0.5)
bench
"""

# Another process runs a test execution of the campaign the workbench shows.
OTHER_PROCESS = """\
subprocess.Popen([sys.executable, "-c",
    "import ajo_workbench as ajo; "
    "ajo.Workspace('watched-workspace').campaign('spring-sale').start().wait()"])
"""

# The kernel adds a channel activity to the Draft; nobody calls bench.refresh().
ADD_CHANNEL = """\
changed = copy.deepcopy(document)
mail = next(a for a in changed["activities"] if a["id"] == "mail_big")
changed["activities"].append({**mail, "id": "mail_all", "label": "mail all"})
changed["transitions"].append({"id": "t_all", "from": "dedup", "to": "mail_all"})
campaign.update(changed)
"""

INSIDE = """() => {
  const el = document.querySelector('.ajo-canvas');
  const cy = el._cyreg.cy;
  const {width, height} = el.getBoundingClientRect();
  return cy.nodes().every(n => {
    const p = n.renderedPosition();
    return p.x > 0 && p.y > 0 && p.x < width && p.y < height;
  });
}"""


def run_in_kernel(page: Any, code: str) -> None:
    page.evaluate(
        "(code) => window.jupyterapp.shell.currentWidget.sessionContext.session"
        ".kernel.requestExecute({code: code, silent: true})",
        code,
    )


def test_the_workbench_follows_another_process_and_a_changed_canvas(
    lab: Server, site: Path, page: Any
) -> None:
    run_notebook(page, lab, code_notebook(site, "watched.ipynb", SETUP))
    wait_drawn(page, 8, 9)
    wait_text(page, ".ajo-legend", "not_run: 8")

    run_in_kernel(page, OTHER_PROCESS)
    started = time.monotonic()
    wait_text(page, ".ajo-execution-state", "finished", timeout=90)
    followed = wait_text(page, ".ajo-legend", "success: 8", timeout=30) - started
    drawn = canvas(page)
    assert {n["colour"] for n in drawn["nodes"]} == {GREEN}
    labels = {e["id"]: e["label"] for e in drawn["edges"]}
    assert labels["t1"] == "996" and labels["t4"] == "big: 77"
    page.screenshot(path=str(ARTIFACTS / "lab-other-process.png"), full_page=True)

    run_in_kernel(page, ADD_CHANNEL)
    wait_drawn(page, 9, 10, timeout=30)
    wait_text(page, ".ajo-legend", "not_run: 9")
    wait_text(page, ".ajo-notice", "The canvas changed after test execution")
    assert page.evaluate(INSIDE), "a node of the redrawn canvas is outside it"

    page.locator(".ajo-action-start").click()
    wait_text(page, ".ajo-legend", "success: 9", timeout=60)
    labels = {e["id"]: e["label"] for e in canvas(page)["edges"]}
    assert labels["t_all"] == "995"  # everyone left after deduplication
    no_broken_widgets(page)
    page.screenshot(path=str(ARTIFACTS / "lab-redrawn.png"), full_page=True)
    (ARTIFACTS / "watch-timings.txt").write_text(
        f"another process's test execution shown finished {followed:.2f} s "
        "after it was started\n"
    )
