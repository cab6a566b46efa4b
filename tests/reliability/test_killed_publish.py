"""Publish killed with SIGKILL: inside and after its transaction, while sending,
between a message and its feedback event, and at once.

The campaign mails the 1,200 first profiles as soon as it is published, without
waiting for a confirmation, through the outbox. After each kill the campaign is a
Draft with nothing published, or Live with its version and its execution, which
resumes to one feedback event per targeted profile and no second message.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import check_deliveries, kill_after, query, reopen
from crash_driver import ASAP_MAIL

import ajo_workbench as ajo

KILLS = {
    "at once": {},
    "inside the publish transaction": {"hold": "link:1"},  # the snapshot
    "after the publish commit": {"hold": "commit:1"},
    "early in the send": {"hold": "commit:40"},
    "between a message and its event": {"hold": "replace:300:outbox/"},
    "late in the send": {"until": 900},
}
"""Where the driver is killed: at its ``hold`` point, or once the outbox holds
``until`` messages."""


@pytest.fixture(scope="module")
def mailing_folder(
    large_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The large workspace with the draft ``asap-mail``."""
    folder = tmp_path_factory.mktemp("mailing") / "ws"
    shutil.copytree(large_folder, folder)
    ajo.Workspace(folder).load_campaign(ASAP_MAIL)
    return folder


def outbox(folder: Path) -> int:
    emails = folder / "outbox" / "email"
    return sum(1 for _ in emails.glob("*.json")) if emails.is_dir() else 0


@pytest.mark.parametrize("where", list(KILLS))
def test_a_killed_publish_leaves_a_draft_or_a_live_campaign_that_resumes(
    mailing_folder: Path, tmp_path: Path, where: str
) -> None:
    folder = tmp_path / "ws"
    shutil.copytree(mailing_folder, folder)
    kill = KILLS[where]
    until = kill.get("until")
    kill_after(
        folder,
        "publish",
        hold=kill.get("hold"),  # type: ignore[arg-type]
        until=None if until is None else lambda: outbox(folder) >= int(until),
    )

    ws = reopen(folder)
    campaign = ws.campaign("asap-mail")
    versions = query(folder, "SELECT version FROM versions")
    if campaign.status == "draft":
        assert where in ("at once", "inside the publish transaction")
        assert versions == [] and campaign.executions == []
        assert ws.feedback_events.height == 0 and outbox(folder) == 0
        live = campaign.publish()  # publishing again works
        assert live is not None
    else:
        assert where != "inside the publish transaction"
        assert campaign.status == "live"
        assert [row[0] for row in versions] == [1]
        (live,) = campaign.executions
        assert live.mode == "live" and live.version == 1
        assert live.state == "paused"
        assert "process that ran it ended" in (live.error or "")
        assert campaign.available_actions()["resume"] is None
        live = campaign.resume()
    live.wait(120)
    assert live.state == "finished", live.error
    assert campaign.status == "completed"

    targeted = ws.table("profiles").filter(pl.col("profile_id") <= 1200)
    events = ws.feedback_events.filter(pl.col("execution_id") == live.id)
    assert sorted(events["profile_id"].to_list()) == sorted(
        str(p) for p in targeted["profile_id"].to_list()
    )
    check_deliveries(ws)
    interrupted = events.filter(pl.col("failure_reason").str.contains("interrupted"))
    assert interrupted.height <= 1  # a message in flight at the kill, never resent
    sent = events.filter(pl.col("status") == "sent").height
    assert (
        sent + interrupted.height + events.filter(pl.col("status") == "exclude").height
        == targeted.height
    )
    assert outbox(folder) == sent
