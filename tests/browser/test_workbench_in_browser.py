"""The workbench in a real JupyterLab and under Voilà, driven through Chromium."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat

import ajo_workbench as ajo

from .conftest import ARTIFACTS, Server

NOTEBOOK = "notebooks/01-quickstart.ipynb"
EXAMPLES = Path(__file__).parents[2] / "examples"
ACTIVITIES = 8
TRANSITIONS = 9
GREEN = "rgb(67,160,71)"
BROKEN = ("Error displaying widget", "javascript error", "Click to show javascript")

# The cytoscape instance is kept on its container element; reading it tells what
# the canvas really drew (positions, colours, labels), not what the kernel meant.
CANVAS_STATE = """() => {
  const el = document.querySelector('.ajo-canvas');
  const cy = el && el._cyreg && el._cyreg.cy;
  if (!cy) return null;
  // the renderer's own origin: the container's content box, inside any padding
  const [left, top] = cy.renderer().findContainerClientCoords();
  const box = {left, top};
  return {
    nodes: cy.nodes().map(n => ({id: n.id(),
      colour: n.style('background-color').replace(/ /g, ''),
      shape: n.style('shape'),
      x: box.left + n.renderedPosition().x, y: box.top + n.renderedPosition().y})),
    edges: cy.edges().map(e => ({id: e.id(), label: e.style('label'),
      x: box.left + e.renderedMidpoint().x, y: box.top + e.renderedMidpoint().y})),
  };
}"""

KERNEL_IDLE = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}"""

ALL_CELLS_RAN = """() => {
  const prompts = [...document.querySelectorAll('.jp-InputArea-prompt')];
  const code = prompts.filter(p => p.closest('.jp-CodeCell'));
  return code.length > 0 && code.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


# ipydatagrid draws its cells on canvases: count the dark (text) pixels it drew.
INKED_PIXELS = """(selector) => {
  let inked = 0;
  for (const c of document.querySelectorAll(selector + ' canvas')) {
    if (!c.width || !c.height) continue;
    const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < pixels.length; i += 4) {
      if (pixels[i + 3] > 0 && pixels[i] + pixels[i + 1] + pixels[i + 2] < 300) inked++;
    }
  }
  return inked;
}"""


def run_notebook(page: Any, lab: Server, notebook: str) -> None:
    """Open a notebook in JupyterLab, run all its cells and wait for the canvas."""
    page.goto(f"{lab.url}/lab/tree/{notebook}?token={lab.token}")
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(".ajo-canvas canvas", timeout=60_000)
    page.wait_for_function(ALL_CELLS_RAN, timeout=60_000)


def code_notebook(site: Path, name: str, code: str) -> str:
    """Write a one-cell notebook under the site's notebooks; its path for Lab."""
    document = nbformat.v4.new_notebook()
    document.cells = [nbformat.v4.new_code_cell(code)]
    document.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nbformat.write(document, site / "notebooks" / name)
    return f"notebooks/{name}"


def wait_drawn(page: Any, nodes: int, edges: int, timeout: float = 60) -> None:
    """Wait until the canvas holds its nodes and edges (their models arrive one by
    one after the cell has run)."""
    page.wait_for_function(
        "([n, e]) => { const el = document.querySelector('.ajo-canvas');"
        " const cy = el && el._cyreg && el._cyreg.cy;"
        " return !!cy && cy.nodes().length === n && cy.edges().length === e; }",
        arg=[nodes, edges],
        timeout=timeout * 1000,
    )


def canvas(page: Any) -> dict[str, Any]:
    state = page.evaluate(CANVAS_STATE)
    assert state is not None, "the canvas has no cytoscape instance"
    return state


def no_broken_widgets(page: Any) -> None:
    text = page.inner_text("body")
    for sign in BROKEN:
        assert sign not in text, f"the page shows {sign!r}"


def wait_text(page: Any, selector: str, text: str, timeout: float = 30) -> float:
    """Wait until an element's text contains ``text``; returns when (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = page.locator(selector).all_inner_texts()
        if any(text in t for t in found):
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"no {selector} with {text!r} within {timeout} s: {found}")


def click_element(page: Any, group: str, element_id: str, shows: str) -> float:
    """Click a node or an edge with the mouse until the workbench shows ``shows``;
    returns the seconds from the click that worked to the answer.

    A click can land while the canvas is still settling after a refresh, so the
    position is read again before each of at most three clicks.
    """
    for attempt in range(3):
        element = next(e for e in canvas(page)[group] if e["id"] == element_id)
        clicked = time.monotonic()
        page.mouse.click(element["x"], element["y"])
        try:
            return wait_text(page, ".ajo-workbench", shows, timeout=5) - clicked
        except AssertionError:
            page.screenshot(path=str(ARTIFACTS / f"missed-click-{attempt}.png"))
    raise AssertionError(f"three clicks on {element_id} did not select it")


def big_spender() -> int:
    """A profile that reaches ``mail_big`` in the quickstart's workspace."""
    with tempfile.TemporaryDirectory() as folder:
        ws = ajo.Workspace(folder)
        ws.generate_sample_data(profiles=20_000, seed=7)
        run = ws.load_campaign(EXAMPLES / "spring-sale.json").start().wait(60)
        return int(run.frame("t4")["profile_id"][0])


def test_the_workbench_runs_a_campaign_in_jupyterlab(lab: Server, page: Any) -> None:
    run_notebook(page, lab, NOTEBOOK)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.locator(".ajo-workbench").scroll_into_view_if_needed()

    # The notebook's own test execution painted every activity green.
    wait_drawn(page, ACTIVITIES, TRANSITIONS)
    wait_text(page, ".ajo-legend", f"success: {ACTIVITIES}")
    drawn = canvas(page)
    assert len(drawn["nodes"]) == ACTIVITIES and len(drawn["edges"]) == TRANSITIONS
    shapes = {n["id"]: n["shape"] for n in drawn["nodes"]}
    assert shapes["members"] == "round-rectangle" and shapes["mail_big"] == "ellipse"
    no_broken_widgets(page)
    page.screenshot(path=str(ARTIFACTS / "lab-after-run-all.png"), full_page=True)

    # Start from the button: a new execution, green again, counts on the edges.
    page.locator(".ajo-action-start").click()
    clicked = time.monotonic()
    wait_text(page, ".ajo-notice", "Start: test execution")
    wait_text(page, ".ajo-execution-state", "finished")
    done = wait_text(page, ".ajo-legend", f"success: {ACTIVITIES}")
    drawn = canvas(page)
    assert {n["colour"] for n in drawn["nodes"]} == {GREEN}
    labels = {e["id"]: e["label"] for e in drawn["edges"]}
    assert labels["t4"] == "big: 77" and labels["t1"] == "996"
    (ARTIFACTS / "start-to-last-update.txt").write_text(
        f"{done - clicked:.2f} s from clicking Start to the last status update\n"
    )
    page.screenshot(path=str(ARTIFACTS / "lab-after-start.png"), full_page=True)

    # Click transition t3 (dedup to segments), then page through its rows.
    click_element(page, "edges", "t3", "Transition t3: dedup")
    empty = page.evaluate(INKED_PIXELS, ".ajo-preview-grid")
    page.get_by_role("button", name="Preview results").click()
    wait_text(page, ".ajo-workbench", "page 1 of 20 (995 rows)")
    page.wait_for_function(
        f"() => ({INKED_PIXELS})('.ajo-preview-grid') > 3 * {empty} + 500",
        timeout=15_000,
    )
    page.get_by_role("button", name="▶").click()
    wait_text(page, ".ajo-workbench", "page 2 of 20 (995 rows)")
    grid = page.locator(".ajo-preview-grid")
    assert grid.bounding_box()["height"] > 100
    page.screenshot(path=str(ARTIFACTS / "lab-preview.png"), full_page=True)

    # The Logs tab finds both Start actions: the notebook's and the button's.
    page.get_by_role("tab", name="Logs").click()
    search = page.locator(".ajo-workbench input[placeholder='search']").first
    search.fill("start by")
    wait_text(page, ".ajo-workbench", "2 of ")
    no_broken_widgets(page)
    page.screenshot(path=str(ARTIFACTS / "lab-logs.png"), full_page=True)

    # Clicking an activity filters the Tasks tab to it; the Report has its chart.
    page.locator(".ajo-workbench input[placeholder='search']").first.fill("")
    click_element(page, "nodes", "segments", "output big")
    page.get_by_role("tab", name="Tasks").click()
    wait_text(page, ".ajo-workbench", "1 of 8 rows")
    page.screenshot(path=str(ARTIFACTS / "lab-tasks.png"), full_page=True)
    page.get_by_role("tab", name="Report").click()
    assert page.locator(".ajo-population .ajo-bar").count() == ACTIVITIES
    page.screenshot(path=str(ARTIFACTS / "lab-report.png"), full_page=True)

    # Publish: the live execution waits for Confirm send on its three channels.
    page.locator(".ajo-action-publish").click()
    wait_text(page, ".ajo-header", "live")
    wait_text(page, ".ajo-legend", "attention: 3", timeout=60)
    click_element(page, "nodes", "mail_big", "mail_big · email")
    # Simulate content for a profile of its population, then confirm the send.
    page.locator(".ajo-simulate input").fill(str(big_spender()))
    page.get_by_role("button", name="Simulate content").click()
    page.wait_for_selector(".ajo-simulation iframe", timeout=15_000)
    assert "Merci " in page.locator(".ajo-simulation").inner_text()
    page.screenshot(path=str(ARTIFACTS / "lab-simulate.png"), full_page=True)
    waiting = 3
    for activity, kind in (("mail_big", "email"), ("sms_fr", "sms")):
        click_element(page, "nodes", activity, f"{activity} · {kind}")
        page.locator(".ajo-confirm-send").click()
        waiting -= 1
        wait_text(page, ".ajo-legend", f"attention: {waiting}", timeout=60)
    click_element(page, "nodes", "push_rest", "push_rest · push")
    page.locator(".ajo-confirm-send").click()
    wait_text(page, ".ajo-header", "completed", timeout=60)
    wait_text(page, ".ajo-legend", f"success: {ACTIVITIES}")
    no_broken_widgets(page)
    page.screenshot(path=str(ARTIFACTS / "lab-completed.png"), full_page=True)


def test_the_same_notebook_renders_under_voila(voila: Server, page: Any) -> None:
    page.goto(f"{voila.url}/?token={voila.token}", timeout=120_000)
    page.wait_for_selector(".ajo-canvas canvas", timeout=120_000)
    wait_drawn(page, ACTIVITIES, TRANSITIONS)
    wait_text(page, ".ajo-legend", f"success: {ACTIVITIES}", timeout=60)
    drawn = canvas(page)
    assert len(drawn["nodes"]) == ACTIVITIES
    assert {n["colour"] for n in drawn["nodes"]} == {GREEN}
    no_broken_widgets(page)
    page.screenshot(path=str(ARTIFACTS / "voila.png"), full_page=True)

    # The buttons work there too: Start runs a second test execution.
    page.locator(".ajo-action-start").click()
    wait_text(page, ".ajo-notice", "Start: test execution")
    wait_text(page, ".ajo-execution-state", "finished")
    wait_text(page, ".ajo-legend", f"success: {ACTIVITIES}")
