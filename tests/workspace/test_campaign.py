"""Campaign actions through the workspace: guards, logs, versions and history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.delivery import FEEDBACK_COLUMNS


def simple(campaign_id: str = "simple", **schedule: Any) -> dict[str, Any]:
    return {
        "id": campaign_id,
        "schedule": schedule or {"type": "asap"},
        "activities": [
            {"id": "fr", "type": "build_audience", "where": "country = 'FR'"},
            {"id": "end", "type": "end"},
        ],
        "transitions": [{"id": "t1", "from": "fr", "to": "end"}],
    }


def actions(campaign: ajo.Campaign) -> list[tuple[str, str]]:
    logs = campaign.logs.filter(pl.col("action").is_not_null())
    return list(zip(logs["action"], logs["level"], strict=True))


def test_every_action_allowed_or_refused_is_logged(workspace: ajo.Workspace) -> None:
    campaign = workspace.load_campaign(simple())
    with pytest.raises(ajo.LifecycleError, match="archive is not allowed"):
        campaign.archive()
    campaign.publish()

    logged = actions(campaign)
    assert ("archive", "warning") in logged
    assert ("publish", "info") in logged
    refused = campaign.logs.filter(pl.col("action") == "archive").row(0, named=True)
    assert refused["user"] == "tester"
    assert "needs:" in refused["message"]


def test_publish_stores_a_version_and_runs_the_live_execution(
    workspace: ajo.Workspace,
) -> None:
    campaign = workspace.load_campaign(simple())
    live = campaign.publish()
    assert live is not None and (live.mode, live.version) == ("live", 1)
    assert live.wait(60).state == "finished"
    assert campaign.status == "completed"  # it finished without an error
    assert campaign.executions[-1].id == live.id
    assert [v.id for v in campaign.versions] == ["simple"]
    with pytest.raises(ajo.LifecycleError, match="only a Draft"):
        campaign.update(campaign.definition)
    with pytest.raises(ajo.LifecycleError):
        workspace.load_campaign(simple())


def test_future_schedule_publishes_to_scheduled_and_back(
    workspace: ajo.Workspace,
) -> None:
    campaign = workspace.load_campaign(
        simple(type="once", at="2099-01-01T09:00:00+00:00")
    )
    campaign.publish()
    assert campaign.status == "scheduled"
    campaign.back_to_draft()
    assert campaign.status == "draft"
    campaign.publish()
    assert len(campaign.versions) == 2


def test_close_a_recurring_campaign_completes_it(workspace: ajo.Workspace) -> None:
    campaign = workspace.load_campaign(
        simple(type="recurring", cron="0 9 * * *", timezone="Europe/Paris")
    )
    campaign.publish()
    campaign.close()
    assert campaign.status == "completed"
    campaign.archive()
    assert campaign.status == "archived"


def test_stop_campaign_is_terminal(workspace: ajo.Workspace) -> None:
    campaign = workspace.load_campaign(simple())
    campaign.publish()
    campaign.stop_campaign()
    assert campaign.status == "stopped"
    with pytest.raises(ajo.LifecycleError, match="publish needs: draft"):
        campaign.publish()


def test_validation_errors_block_start_and_publish(workspace: ajo.Workspace) -> None:
    document = simple()
    document["activities"][0]["where"] = "countri = 'FR'"
    campaign = workspace.load_campaign(document)
    assert [a.code for a in campaign.alerts] == ["UNKNOWN_COLUMN"]
    for action in (campaign.start, campaign.publish):
        with pytest.raises(ajo.LifecycleError, match="1 error"):
            action()
    assert campaign.status == "draft"
    assert campaign.executions == []


def test_duplicate_copies_the_definition_only(workspace: ajo.Workspace) -> None:
    campaign = workspace.load_campaign(simple())
    campaign.start().wait(60)
    campaign.publish()

    copy = campaign.duplicate()
    assert copy.id == "simple-copy"
    assert copy.status == "draft"
    assert copy.definition.activities == campaign.definition.activities
    assert copy.executions == []
    assert campaign.duplicate().id == "simple-copy-2"


def test_delete_removes_a_draft_and_its_test_history(workspace: ajo.Workspace) -> None:
    campaign = workspace.load_campaign(
        dict(simple(), settings={"keep_interim_results": True})
    )
    run = campaign.start().wait(60)
    assert (workspace.path / "worktables" / run.id).exists()

    campaign.delete()
    assert not workspace.has_campaign("simple")
    assert not (workspace.path / "worktables" / run.id).exists()
    assert workspace.database.query("SELECT * FROM tasks") == []
    with pytest.raises(KeyError, match="no campaign 'simple'"):
        workspace.campaign("simple")


def test_available_actions_explain_themselves(workspace: ajo.Workspace) -> None:
    campaign = workspace.load_campaign(simple())
    available = campaign.available_actions()
    assert available["start"] is None
    assert available["publish"] is None
    assert (
        available["resume"] == "resume needs a paused test execution "
        "(last one: never started)"
    )


def test_load_campaign_replaces_a_drafts_definition(workspace: ajo.Workspace) -> None:
    workspace.load_campaign(simple())
    document = simple()
    document["name"] = "Renamed"
    campaign = workspace.load_campaign(document)
    assert campaign.name == "Renamed"
    assert [c.id for c in workspace.campaigns] == ["simple"]


def test_create_campaign_takes_a_document_or_a_file_and_refuses_a_taken_id(
    workspace: ajo.Workspace, tmp_path: Path
) -> None:
    campaign = workspace.create_campaign(simple())
    assert campaign.status == "draft"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(simple("other")), encoding="utf-8")
    assert workspace.create_campaign(path).id == "other"
    with pytest.raises(ajo.LifecycleError, match="a campaign 'simple' exists already"):
        workspace.create_campaign(simple())
    with pytest.raises(ajo.DefinitionError):
        workspace.create_campaign({"id": "broken", "activities": "none"})
    assert sorted(c.id for c in workspace.campaigns) == ["other", "simple"]


def test_feedback_events_have_the_specified_columns_and_tests_add_none(
    workspace: ajo.Workspace, chain: Any
) -> None:
    audience = {"id": "fr", "type": "build_audience", "where": "country = 'FR'"}
    mail = {"id": "mail", "type": "email", "subject": "Hi", "body": "<p>Hi</p>"}
    end = {"id": "end", "type": "end"}
    run = workspace.load_campaign(chain(audience, mail, end)).start().wait(60)
    assert run.state == "finished" and run.count("t2") > 0
    events = workspace.feedback_events
    assert events.columns == list(FEEDBACK_COLUMNS)
    assert events.columns[:3] == ["timestamp", "campaign_id", "campaign_version"]
    assert events.height == 0  # a test execution never sends
