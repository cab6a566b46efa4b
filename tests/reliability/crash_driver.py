"""One reliability scenario on a workspace, run in its own process to be killed.

``python crash_driver.py FOLDER SCENARIO [ARGUMENT …] [--hold EVENT:COUNT[:MATCH]]``

Scenarios:

- ``test-run``: start a test execution of ``long-sale`` and wait for it.
- ``signal``: signal the live ``saver`` campaign (it saves an audience) and wait.
- ``publish``: publish ``asap-mail`` (no confirmation: it sends at once), or the
  campaign named, and wait until it finishes or waits.
- ``import``: ``import FILE [NAME]`` imports a CSV or Parquet file of purchases as
  NAME (``purchases`` by default).
- ``race``: ``race ACTION@CAMPAIGN[:ACTIVITY] …`` performs each action once the
  file ``go-N`` (N counts from 0) exists beside the workspace, and prints ``won N``
  (once the execution it acted on settled) or ``lost N <error>``.
- ``test-loop``: ``test-loop CAMPAIGN N`` runs N test executions in a row and
  prints each one's id, state, error and transition counts as JSON.
- ``import-loop``: ``import-loop N`` imports ``purchases`` N times, alternating the
  files ``purchases-a.parquet`` and ``purchases-b.parquet`` beside the workspace.

Without ``--hold`` the driver prints ``ready`` just before the scenario's action, and
the test kills it after a delay of its choosing. With ``--hold commit:3`` it prints
``ready`` right after the third database commit of the action and then makes no
further progress (every thread that would commit or move a file into place again
blocks), so a kill lands exactly there; ``--hold replace:1:audiences/`` does the same
after the first ``os.replace`` whose target contains ``audiences/``, and
``--hold link:1`` after the first hard link (a live execution's snapshot).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ajo_workbench as ajo
from ajo_workbench.errors import WorkbenchError
from ajo_workbench.storage.database import Database

EXAMPLES = Path(__file__).parents[2] / "examples"
LINKS = {"profile_id": "profiles", "product_id": "products"}
EXTRA_STEPS = 20
"""Enrichments added to the spring sale so that a test execution lasts long enough
(about 0.7 s on 200,000 profiles) to be killed inside."""


def long_sale() -> dict[str, Any]:
    """The spring sale with a chain of enrichments between its spend and its dedup."""
    document: dict[str, Any] = json.loads((EXAMPLES / "spring-sale.json").read_text())
    activities = document["activities"]
    steps = [
        {
            "id": f"e{i}",
            "type": "enrichment",
            "attributes": [
                {
                    "name": f"orders_{i}",
                    "link": "purchases",
                    "aggregate": "count",
                    "where": f"quantity >= {1 + i % 3}",
                }
            ],
        }
        for i in range(EXTRA_STEPS)
    ]
    chain = ["spend", *(step["id"] for step in steps), "dedup"]
    transitions = [t for t in document["transitions"] if t["id"] != "t2"]
    transitions += [
        {"id": f"c{i}", "from": source, "to": target}
        for i, (source, target) in enumerate(itertools.pairwise(chain))
    ]
    document.update(
        id="long-sale",
        name="Long sale",
        activities=[*activities[:2], *steps, *activities[2:]],
        transitions=transitions,
    )
    return document


SAVER = {
    "format": "ajo-workbench/campaign@1",
    "id": "saver",
    "name": "Saver",
    "schedule": {"type": "signal", "min_interval": "PT0S"},
    "activities": [
        {
            "id": "chosen",
            "type": "build_audience",
            "where": "profile_id IN (SELECT profile_id FROM chosen)",
        },
        {"id": "save", "type": "save_audience", "audience": "keepers"},
        {"id": "end", "type": "end"},
    ],
    "transitions": [
        {"id": "t1", "from": "chosen", "to": "save"},
        {"id": "t2", "from": "save", "to": "end"},
    ],
}
"""Saves the profiles listed in the workspace table ``chosen`` as ``keepers``."""


def mailing(campaign_id: str, where: str, confirm: bool) -> dict[str, Any]:
    """An as-soon-as-possible e-mail to the profiles matching ``where``."""
    return {
        "format": "ajo-workbench/campaign@1",
        "id": campaign_id,
        "name": campaign_id,
        "settings": {"send_confirmation": confirm},
        "activities": [
            {"id": "who", "type": "build_audience", "where": where},
            {
                "id": "mail",
                "type": "email",
                "subject": "Hello {{ first_name }}",
                "body": "<p>Dear {{ first_name }} of {{ city }}</p>",
                "sender": "news@example.test",
            },
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "who", "to": "mail"},
            {"id": "t2", "from": "mail", "to": "end"},
        ],
    }


ASAP_MAIL = mailing("asap-mail", "profile_id <= 1200", confirm=False)


# -- holding the process at an exact point ------------------------------------------

_frozen = threading.Event()
_lock = threading.Lock()
_seen = {"commit": 0, "replace": 0, "link": 0}


def _block() -> None:
    threading.Event().wait()  # until the test kills the process


def _reached(event: str, wanted: int) -> None:
    with _lock:
        _seen[event] += 1
        if _seen[event] != wanted:
            return
        _frozen.set()
    print("ready", flush=True)
    _block()


def hold(spec: str) -> Callable[[], None]:
    """Patch this process to freeze at ``EVENT:COUNT[:MATCH]``; returns the arming
    function (events before it are not counted)."""
    event, count, *rest = spec.split(":", 2)
    wanted, match = int(count), rest[0] if rest else ""
    armed = threading.Event()
    original_transaction = Database.transaction
    original_replace = os.replace
    original_link = os.link

    @contextmanager
    def transaction(self: Database) -> Iterator[Any]:
        if _frozen.is_set():
            _block()
        with original_transaction(self) as connection:
            yield connection
        committed = not connection.in_transaction  # not a transaction's inner part
        if event == "commit" and armed.is_set() and committed:
            _reached("commit", wanted)

    def replace(source: Any, target: Any, **options: Any) -> None:
        if _frozen.is_set():
            _block()
        original_replace(source, target, **options)
        if event == "replace" and armed.is_set() and match in str(target):
            _reached("replace", wanted)

    def link(source: Any, target: Any, **options: Any) -> None:
        if _frozen.is_set():
            _block()
        original_link(source, target, **options)
        if event == "link" and armed.is_set() and match in str(target):
            _reached("link", wanted)

    Database.transaction = transaction  # type: ignore[method-assign]
    os.replace = replace
    os.link = link
    return armed.set


# -- scenarios -----------------------------------------------------------------------


def settle(execution: ajo.Execution) -> None:
    execution.wait(120)
    print(f"settled {execution.state} {execution.error}", flush=True)


def race(ws: ajo.Workspace, folder: Path, steps: list[str]) -> None:
    """Perform each step (``ACTION@CAMPAIGN[:ACTIVITY]``) once the file ``go-N``
    exists beside the workspace; print ``won N`` or ``lost N <error>``."""
    print("ready", flush=True)
    for number, step in enumerate(steps):
        action, _, target = step.partition("@")
        campaign_id, _, activity = target.partition(":")
        campaign = ws.campaign(campaign_id)
        go = folder.parent / f"go-{number}"
        while not go.exists():
            time.sleep(0.001)
        try:
            if action == "resume":
                execution: ajo.Execution | None = campaign.resume()
            elif action == "confirm_send":
                campaign.confirm_send(activity)
                execution = campaign.latest_execution("live")
            elif action == "stop_campaign":
                campaign.stop_campaign()
                execution = None
            else:
                raise SystemExit(f"unknown action {action!r}")
        except WorkbenchError as error:
            print(f"lost {number} {type(error).__name__}: {error}", flush=True)
            continue
        if execution is not None:
            execution.wait(120)
        print(f"won {number}", flush=True)
    # A process does not leave while its executions go on (a confirmation another
    # process recorded lets one of them go on).
    for running in list(ws.running.values()):
        running.wait(120)


def test_loop(ws: ajo.Workspace, campaign_id: str, runs: int) -> None:
    campaign = ws.campaign(campaign_id)
    print("ready", flush=True)
    for _ in range(runs):
        execution = campaign.start().wait(120)
        counts = {t.id: execution.count(t.id) for t in campaign.definition.transitions}
        outcome = {
            "id": execution.id,
            "state": execution.state,
            "error": execution.error,
            "counts": counts,
        }
        print(json.dumps(outcome), flush=True)
        if execution.state == "paused":  # on an error: end it, the next one starts
            campaign.stop()


def import_loop(ws: ajo.Workspace, folder: Path, runs: int) -> None:
    print("ready", flush=True)
    for number in range(runs):
        source = folder.parent / f"purchases-{'ab'[number % 2]}.parquet"
        info = ws.import_table("purchases", source, key="purchase_id", links=LINKS)
        print(f"imported {info.rows}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("scenario")
    parser.add_argument("arguments", nargs="*")
    parser.add_argument("--hold")
    parser.add_argument("--user", default="driver")
    options = parser.parse_args()
    arm = hold(options.hold) if options.hold else None

    def begin() -> None:
        if arm is None:
            print("ready", flush=True)
        else:
            arm()

    folder, scenario, arguments = options.folder, options.scenario, options.arguments
    ws = ajo.Workspace(folder, user=options.user)
    if scenario == "test-run":
        campaign = ws.campaign("long-sale")
        begin()
        settle(campaign.start())
    elif scenario == "signal":
        campaign = ws.campaign("saver")
        begin()
        settle(campaign.signal({}))
    elif scenario == "publish":
        campaign = ws.campaign(arguments[0] if arguments else "asap-mail")
        begin()
        live = campaign.publish()
        assert live is not None
        settle(live)
    elif scenario == "import":
        begin()
        name = arguments[1] if len(arguments) > 1 else "purchases"
        info = ws.import_table(name, Path(arguments[0]), key="purchase_id", links=LINKS)
        print(f"imported {info.rows}", flush=True)
    elif scenario == "race":
        race(ws, folder, arguments)
    elif scenario == "test-loop":
        test_loop(ws, arguments[0], int(arguments[1]))
    elif scenario == "import-loop":
        import_loop(ws, folder, int(arguments[0]))
    else:
        sys.exit(f"unknown scenario {scenario!r}")


if __name__ == "__main__":
    main()
