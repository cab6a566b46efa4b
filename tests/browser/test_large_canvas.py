"""A 200-activity canvas in JupyterLab: drawn, run with batched updates, clickable."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .conftest import ARTIFACTS, Server
from .test_workbench_in_browser import (
    GREEN,
    canvas,
    click_element,
    code_notebook,
    no_broken_widgets,
    run_notebook,
    wait_drawn,
    wait_text,
)

ACTIVITIES = 200

BENCHMARKS = Path(__file__).parent.parent.parent / "benchmarks"

# The canvas of the headless benchmark: an audience, a fork into ten branches of
# enrichments, and an end.
SETUP = f"""\
import sys

import ajo_workbench as ajo

sys.path.insert(0, {str(BENCHMARKS)!r})
from workbench_scale import canvas

ws = ajo.Workspace("large-workspace")
ws.generate_sample_data(profiles=20_000, seed=7)
campaign = ws.load_campaign(canvas({ACTIVITIES}))
bench = ajo.Workbench(campaign)
bench
"""

GREY = "rgb(158,158,158)"

# One refresh as the kernel sends it after a task: ``code`` changes every node's
# state and every edge's count in one stylesheet; the answer is the milliseconds
# from asking the kernel to cytoscape having drawn all of it.
ONE_REFRESH = """async ([code, colour, labelled]) => {
  const cy = document.querySelector('.ajo-canvas')._cyreg.cy;
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const done = () => cy.nodes().every(
      n => n.style('background-color').replace(/ /g, '') === colour)
    && cy.edges().every(e => /(^|: )[0-9,]+$/.test(e.style('label')) === labelled);
  const started = performance.now();
  kernel.requestExecute({code: code, silent: true});
  while (!done()) {
    await new Promise(r => requestAnimationFrame(r));
    if (performance.now() - started > 30000) return -1;
  }
  return performance.now() - started;
}"""


def large_notebook(site: Path, activities: int = ACTIVITIES) -> str:
    setup = SETUP.replace(f"canvas({ACTIVITIES})", f"canvas({activities})")
    return code_notebook(site, f"large-{activities}.ipynb", setup)


# How much of the canvas the drawing fills, along the side that binds its fit.
FILLED = """() => {
  const el = document.querySelector('.ajo-canvas');
  const cy = el._cyreg.cy;
  const box = cy.elements().renderedBoundingBox();
  return {height: cy.height(), filled: Math.max(
    box.h / (cy.height() - 60), box.w / (cy.width() - 60))};
}"""


def test_a_tall_canvas_is_drawn_taller_and_fitted_to_it(
    lab: Server, site: Path, page: Any
) -> None:
    notebook = large_notebook(site, 20)  # ten branches side by side: tall
    run_notebook(page, lab, notebook)
    wait_drawn(page, 20, 28)
    page.wait_for_function(f"() => ({FILLED})().filled > 0.95", timeout=10_000)
    fitted = page.evaluate(FILLED)
    assert fitted["height"] == 800  # not cytoscape's 400 px
    assert fitted["filled"] < 1.05  # the whole drawing is inside
    page.screenshot(path=str(ARTIFACTS / "lab-tall-canvas.png"), full_page=True)


def test_a_200_activity_canvas_stays_responsive(
    lab: Server, site: Path, page: Any
) -> None:
    notebook = large_notebook(site)
    run_notebook(page, lab, notebook)
    # t0, one transition into each enrichment, and ten into the end
    wait_drawn(page, ACTIVITIES, 208)
    drawn = canvas(page)

    page.locator(".ajo-action-start").click()
    clicked = time.monotonic()
    wait_text(page, ".ajo-execution-state", "finished", timeout=120)
    done = wait_text(page, ".ajo-legend", f"success: {ACTIVITIES}", timeout=60)
    drawn = canvas(page)
    assert {n["colour"] for n in drawn["nodes"]} == {GREEN}
    assert all(e["label"] for e in drawn["edges"])  # every edge has its count

    # One refresh each way: every node back to not_run and every count gone,
    # then the execution's states and counts again.
    refreshes = []
    for _ in range(3):
        cleared = page.evaluate(ONE_REFRESH, ["bench.canvas.show(None)", GREY, False])
        shown = page.evaluate(
            ONE_REFRESH, ["bench.canvas.show(bench.execution)", GREEN, True]
        )
        assert cleared > 0 and shown > 0, "a refresh was not drawn within 30 s"
        refreshes += [cleared, shown]

    answer = click_element(page, "nodes", "e9_10", "e9_10 · enrichment")
    no_broken_widgets(page)
    page.screenshot(path=str(ARTIFACTS / "lab-200-activities.png"), full_page=True)
    (ARTIFACTS / "large-canvas-timings.txt").write_text(
        f"{ACTIVITIES} activities: {done - clicked:.2f} s from Start to the last "
        f"update; a click on a node answered in {answer:.2f} s; one refresh of "
        f"every node and edge, from the kernel to the drawn canvas: "
        f"{', '.join(f'{ms:.0f}' for ms in refreshes)} ms\n"
    )
    assert answer < 3.0
