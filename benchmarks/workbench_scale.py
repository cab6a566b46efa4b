"""The workbench at scale, measured headless (no browser).

Usage::

    python benchmarks/workbench_scale.py --activities 200 --preview-profiles 10000000

Builds a generated canvas of ``--activities`` activities (an audience, a fork into
ten branches of enrichments, an end) over small sample data, then times: building
the workbench; one refresh of every node's status and every edge's count after a
test execution (the live refresh the workbench runs after a task finishes, and a
full refresh that also validates again); and the first page of Preview results and
Preview schema of a transition carrying every profile of a large sample
(``--preview-profiles``, cached under ``benchmarks/.cache`` like the engine
benchmark). The widget libraries are imported before the clock starts. The browser
side of the same canvas is timed by ``tests/browser/test_large_canvas.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ajo_workbench as ajo
from ajo_workbench.engine import nulls

ROOT = Path(__file__).parent


def canvas(activities: int) -> dict[str, Any]:
    """An audience, a fork into ten branches of enrichments, and an end."""
    branches = 10
    chain = activities - 3  # the audience, the fork and the end
    ports = [f"b{b}" for b in range(branches)]
    nodes: list[dict[str, Any]] = [
        {"id": "members", "type": "build_audience", "where": "country = 'FR'"},
        {"id": "fork", "type": "fork", "branches": ports},
    ]
    edges: list[dict[str, Any]] = [{"id": "t0", "from": "members", "to": "fork"}]
    for b, port in enumerate(ports):
        length = chain // branches + (1 if b < chain % branches else 0)
        previous, via = "fork", port
        for k in range(length):
            attribute = {"name": f"n{b}_{k}", "link": "purchases", "aggregate": "count"}
            nodes.append(
                {"id": f"e{b}_{k}", "type": "enrichment", "attributes": [attribute]}
            )
            edge = {"id": f"t{b}_{k}", "from": previous, "to": f"e{b}_{k}"}
            edges.append({**edge, "port": via} if via else edge)
            previous, via = f"e{b}_{k}", None
        edges.append({"id": f"t{b}_end", "from": previous, "to": "end"})
    nodes.append({"id": "end", "type": "end"})
    return {"id": "large", "activities": nodes, "transitions": edges}


def timed(action: Callable[[], Any], repeat: int = 5) -> tuple[float, float, float]:
    """Median, min and max seconds of ``repeat`` calls."""
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), min(seconds), max(seconds)


def report(label: str, result: tuple[float, float, float]) -> None:
    median, low, high = result
    print(f"| {label} | {median * 1000:,.0f} | {low * 1000:,.0f}-{high * 1000:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=200)
    parser.add_argument("--preview-profiles", type=int, default=10_000_000)
    args = parser.parse_args()

    print("| step | median ms | min-max ms |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        workspace = ajo.Workspace(Path(folder) / "ws")
        workspace.generate_sample_data(profiles=20_000, seed=7)
        campaign = workspace.load_campaign(canvas(args.activities))
        ajo.Workbench(campaign).close()  # imports the widget libraries, untimed
        report(
            f"build the workbench ({args.activities} activities)",
            timed(lambda: ajo.Workbench(campaign).close()),
        )
        bench = ajo.Workbench(campaign)
        run = campaign.start().wait(600)
        assert run.state == "finished", run.error
        bench.refresh()
        report("live refresh: every status and count", timed(bench._live_refresh))
        report("full refresh (validates again)", timed(bench.refresh))
        bench.close()

    preview(args.preview_profiles)


def preview(profiles: int) -> None:
    """First page of a transition that carries every profile of a large sample."""
    folder = ROOT / ".cache" / f"sample-{profiles}-7"
    workspace = ajo.Workspace(folder)
    if "profiles" not in workspace.tables:
        workspace.generate_sample_data(profiles=profiles, seed=7)
    everyone = {
        "id": "everyone",
        "activities": [
            {"id": "all", "type": "build_audience"},
            {"id": "end", "type": "end"},
        ],
        "transitions": [{"id": "t1", "from": "all", "to": "end"}],
    }
    run = workspace.load_campaign(everyone).start().wait(600)
    assert run.count("t1") == profiles, run.count("t1")
    report(
        f"first page of Preview results ({profiles:,} rows, every attribute)",
        timed(lambda: run.page("t1", 0, 50, columns=True)),
    )
    path = workspace.tables.info("profiles").path
    deadline = time.monotonic() + 120
    while nulls.ready(path) is None and time.monotonic() < deadline:
        time.sleep(0.1)  # the null marks are read in the background after the run
    report(
        f"Preview schema ({profiles:,} rows, every attribute)",
        timed(lambda: run.schema("t1"), repeat=3),
    )
    bench = ajo.Workbench(workspace.campaign("everyone"))
    bench.select("transition", "t1")
    pane = bench.properties
    report(
        "the same through the properties pane",
        timed(lambda: pane.results_button.click(), repeat=3),
    )
    bench.close()


if __name__ == "__main__":
    main()
