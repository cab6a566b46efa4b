"""The workbench follows changes to its campaign: a changed definition is drawn
again, and executions and edits of other processes show up without a refresh."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ajo_workbench as ajo
from ajo_workbench.widgets import Workbench
from ajo_workbench.widgets.live import Watcher

from .conftest import settle


def with_extra_channel(document: dict[str, Any]) -> dict[str, Any]:
    """The spring sale with one more e-mail, fed from the deduplication."""
    changed = copy.deepcopy(document)
    mail = next(a for a in changed["activities"] if a["id"] == "mail_big")
    changed["activities"].append({**mail, "id": "mail_all", "label": "mail all"})
    changed["transitions"].append({"id": "t_all", "from": "dedup", "to": "mail_all"})
    return changed


def in_other_process(folder: Path, code: str) -> None:
    """Run Python code with ``campaign`` (the spring sale) in another process."""
    script = (
        "import ajo_workbench as ajo, json, sys\n"
        f"campaign = ajo.Workspace({str(folder)!r}).campaign('spring-sale')\n" + code
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the workbench did not catch up in time"
        time.sleep(0.05)


def test_a_changed_definition_is_drawn_again(
    bench: Workbench, sale: ajo.Campaign, spring_sale: dict[str, Any]
) -> None:
    bench.act("start")
    settle(bench)
    first = bench.execution
    assert first is not None and bench.canvas.statuses["dedup"] == "success"
    bench.select("transition", "t3")

    sale.update(with_extra_channel(spring_sale))
    bench.refresh()
    assert "mail_all" in bench.canvas.nodes and "t_all" in bench.canvas.edges
    # the finished execution ran the old canvas: it is no longer painted on it
    assert bench.execution is None
    assert set(bench.canvas.statuses.values()) == {"not_run"}
    assert bench.canvas.counts["t3"] is None
    assert f"changed after test execution {first.id}" in bench.notice.value
    assert bench.selected == ("transition", "t3")  # still on the canvas
    assert "run a test execution first" in bench.properties.details.value

    bench.act("start")
    settle(bench)
    assert bench.canvas.statuses["mail_all"] == "success"
    assert bench.execution is not None
    assert bench.canvas.counts["t_all"] == bench.execution.count("t_all") > 0
    assert bench.canvas.look("t_all")["label"] == f"{bench.canvas.counts['t_all']:,}"
    assert "changed after" not in bench.notice.value

    bench.select("activity", "mail_all")
    sale.update(spring_sale)  # back to the first canvas: mail_all is gone
    bench.refresh()
    assert "mail_all" not in bench.canvas.nodes
    assert bench.selected is None and bench.properties.showing is None
    assert bench.canvas.chosen is None


def test_a_workbench_opens_on_a_campaign_changed_after_its_test(
    sale: ajo.Campaign, spring_sale: dict[str, Any]
) -> None:
    sale.start().wait()
    sale.update(with_extra_channel(spring_sale))
    bench = Workbench(sale, watch_interval=None)
    try:
        assert bench.errors.last is None
        assert "mail_all" in bench.canvas.nodes
        assert bench.canvas.statuses["mail_all"] == "not_run"
        assert bench.execution is None
    finally:
        bench.close()


def test_an_unchanged_definition_keeps_its_execution(bench: Workbench) -> None:
    bench.act("start")
    settle(bench)
    shown = bench.execution
    drawn = dict(bench.canvas.nodes)
    bench.refresh()
    assert bench.execution is shown
    assert bench.canvas.nodes == drawn  # the same node widgets: nothing redrawn


def test_an_execution_of_another_process_is_followed(sale: ajo.Campaign) -> None:
    bench = Workbench(sale, refresh_interval=0.05, watch_interval=0.1)
    try:
        assert bench.execution is None
        in_other_process(
            sale.workspace.path,
            "run = campaign.start().wait()\n"
            "print(json.dumps({'id': run.id, 't3': run.count('t3')}))\n",
        )
        latest = sale.latest_execution()
        assert latest is not None
        wait_for(lambda: getattr(bench.execution, "id", None) == latest.id)
        wait_for(lambda: set(bench.canvas.statuses.values()) == {"success"})
        wait_for(lambda: bench.canvas.counts["t3"] == latest.count("t3") > 0)
        assert bench.errors.last is None
    finally:
        bench.close()


def test_a_definition_changed_by_another_process_is_drawn(
    sale: ajo.Campaign, spring_sale: dict[str, Any], tmp_path: Path
) -> None:
    bench = Workbench(sale, refresh_interval=0.05, watch_interval=0.1)
    try:
        changed = tmp_path / "changed.json"
        changed.write_text(json.dumps(with_extra_channel(spring_sale)))
        in_other_process(
            sale.workspace.path, f"campaign.update(json.load(open({str(changed)!r})))\n"
        )
        wait_for(lambda: "mail_all" in bench.canvas.nodes)
        # the logs tab is filled in the same refresh, right after the canvas
        wait_for(
            lambda: any("definition updated" in m for m in bench.logs.source["message"])
        )
    finally:
        bench.close()


def test_the_watch_looks_only_after_a_commit(sale: ajo.Campaign) -> None:
    moves: list[int] = []
    watcher = Watcher(sale, lambda: moves.append(1), interval=3600)  # checked by hand
    try:
        assert watcher.check() is False  # nothing moved since it was made
        in_other_process(sale.workspace.path, "campaign.start().wait()\n")
        assert watcher.check() is True and len(moves) == 1
        assert watcher.check() is False  # no commit since
        other = sale.workspace.load_campaign(
            {**json.loads(sale.definition.to_json()), "id": "other"}
        )
        other.start().wait()  # commits, but moves only another campaign
        assert watcher.check() is False and len(moves) == 1
    finally:
        watcher.close()


def test_no_watch_when_asked(sale: ajo.Campaign) -> None:
    bench = Workbench(sale, watch_interval=None)
    try:
        assert bench.watcher is None
    finally:
        bench.close()
