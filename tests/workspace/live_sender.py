"""Publish, or resume, the live e-mail campaign of a crash-test workspace.

``python live_sender.py FOLDER publish`` creates the workspace's sample data and a
campaign mailing every profile, publishes it and confirms its send;
``python live_sender.py FOLDER resume`` reopens the workspace and resumes the live
execution that a killed process left behind. Either way the process sends until
the execution finishes, unless the crash test kills it first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ajo_workbench as ajo

PROFILES = 30_000
CAMPAIGN = {
    "format": "ajo-workbench/campaign@1",
    "id": "everyone",
    "name": "Everyone",
    "activities": [
        {"id": "all", "type": "build_audience", "where": "profile_id > 0"},
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
        {"id": "t1", "from": "all", "to": "mail"},
        {"id": "t2", "from": "mail", "to": "end"},
    ],
}


def publish(folder: Path) -> ajo.Execution:
    ws = ajo.Workspace(folder)
    ws.generate_sample_data(profiles=PROFILES, seed=11)
    campaign = ws.load_campaign(CAMPAIGN)
    live = campaign.publish()
    assert live is not None
    live.wait(60)
    campaign.confirm_send("mail")
    return live


def resume(folder: Path) -> ajo.Execution:
    return ajo.Workspace(folder).campaign("everyone").resume()


if __name__ == "__main__":
    where, what = Path(sys.argv[1]), sys.argv[2]
    execution = publish(where) if what == "publish" else resume(where)
    execution.wait()
    print(execution.state, execution.error)
