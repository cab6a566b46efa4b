"""A live ``save_audience`` killed while it overwrites an audience.

The signal-triggered campaign ``saver`` saves the profiles listed in the table
``chosen`` as the audience ``keepers``. A first execution saves 100,000 profiles;
then ``chosen`` changes to 66,666 and a driver process signals the campaign again
and is killed at commits along the way, just after the new audience file is moved
into place, and at once. The reopened workspace shows the old
audience or the new one, file and registry alike, and Resume saves the new one.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from conftest import check_files, kill_after, reopen
from crash_driver import SAVER

import ajo_workbench as ajo


def chosen(ws: ajo.Workspace, every: int) -> pl.DataFrame:
    profiles = ws.table("profiles").select("profile_id")
    picked = profiles.filter(pl.col("profile_id") % every == 0)
    ws.import_table("chosen", picked, key="profile_id", links={})
    return picked.sort("profile_id")


def keepers(ws: ajo.Workspace) -> pl.DataFrame:
    dimension, members = ws.shared_state.read_audience("keepers")
    assert dimension == "profiles"
    return members.collect().sort("profile_id")


def test_an_audience_is_the_old_or_the_new_one_after_a_kill(large: Path) -> None:
    ws = ajo.Workspace(large, user="tester")
    first = chosen(ws, 2)
    campaign = ws.load_campaign(SAVER)
    campaign.publish()
    saved = campaign.signal({}).wait(60)
    assert saved.state == "finished", saved.error
    assert keepers(ws).equals(first)
    second = chosen(ws, 3)

    # Commits of a signal: 1 the signal and its execution, 3 the first work
    # table, 7 the audience swap announced, 8 the audience and its row.
    kills = [
        {"hold": "commit:1"},
        {"hold": "commit:3"},
        {"hold": "commit:7"},
        {"hold": "replace:1:audiences/"},  # the file in place, its row not yet
        {"hold": "commit:8"},
        {"delay": 0.0},
    ]
    outcomes = []
    seen = {saved.id}
    for kill in kills:
        kill_after(
            large,
            "signal",
            hold=kill.get("hold"),  # type: ignore[arg-type]
            delay=float(kill.get("delay", 0.0)),
        )
        ws = reopen(large)
        members = keepers(ws)
        row = ws.database.one("SELECT rows FROM audiences WHERE name = 'keepers'")
        assert row is not None and row["rows"] == members.height
        assert members.equals(first) or members.equals(second)
        outcomes.append("new" if members.equals(second) else "old")
        assert not list((large / "audiences").glob(".*.partial"))

        campaign = ws.campaign("saver")
        live = campaign.latest_execution("live")
        assert live is not None
        if live.id in seen:  # killed before the signal was recorded
            assert outcomes[-1] == "old"
            live = campaign.signal({})
        else:
            assert live.state == "paused"
            assert "process that ran it ended" in (live.error or "")
            live = campaign.resume()
        live.wait(60)
        assert live.state == "finished", live.error
        assert keepers(ws).equals(second)
        check_files(large)

        # The next kill overwrites the first audience again.
        ws.import_table("chosen", first, key="profile_id", links={})
        again = campaign.signal({}).wait(60)
        assert again.state == "finished" and keepers(ws).equals(first)
        seen |= {live.id, again.id}
        ws.import_table("chosen", second, key="profile_id", links={})
    assert outcomes[:5] == ["old", "old", "old", "new", "new"]
