"""A published campaign delivers through a real SMTP server and a webhook."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
from servers import Endpoint, MailServer

import ajo_workbench as ajo

GOLD_FR = {
    "id": "gold_fr",
    "type": "build_audience",
    "where": "country = 'FR' AND loyalty_tier = 'gold'",
}
MAIL = {
    "id": "mail",
    "type": "email",
    "subject": "Bonjour {{ first_name }}",
    "body": "<p>Dear {{ first_name }}</p>",
    "sender": "shop@example.test",
}
SMS = {"id": "sms", "type": "sms", "body": "Hi {{ first_name }}", "rate_per_second": 40}


def campaign_document() -> dict[str, object]:
    return {
        "format": "ajo-workbench/campaign@1",
        "id": "gold-fr",
        "name": "Gold members in France",
        "activities": [
            GOLD_FR,
            {"id": "both", "type": "fork", "branches": ["mail", "sms"]},
            MAIL,
            SMS,
            {"id": "end", "type": "end"},
        ],
        "transitions": [
            {"id": "t1", "from": "gold_fr", "to": "both"},
            {"id": "t2", "from": "both", "port": "mail", "to": "mail"},
            {"id": "t3", "from": "both", "port": "sms", "to": "sms"},
            {"id": "t4", "from": "mail", "to": "end"},
            {"id": "t5", "from": "sms", "to": "end"},
        ],
    }


def with_unknown_addresses(ws: ajo.Workspace, count: int) -> list[str]:
    """Give some French gold members an address the mail server refuses (550)."""
    profiles = ws.table("profiles")
    chosen = (
        profiles.filter(
            (pl.col("country") == "FR")
            & (pl.col("loyalty_tier") == "gold")
            & pl.col("email").is_not_null()
            & pl.col("email_consent")
        )
        .head(count)["profile_id"]
        .to_list()
    )
    changed = profiles.with_columns(
        pl.when(pl.col("profile_id").is_in(chosen))
        .then(pl.format("unknown.{}@example.test", pl.col("profile_id")))
        .otherwise(pl.col("email"))
        .alias("email")
    )
    ws.import_table("profiles", changed, key="profile_id")
    return [f"unknown.{n}@example.test" for n in chosen]


def test_draft_to_completed_through_smtp_and_a_webhook(
    workspace: ajo.Workspace, smtp_server: MailServer, endpoint: Endpoint
) -> None:
    refused = with_unknown_addresses(workspace, 3)
    workspace.delivery = {
        "email": {"provider": "smtp", "host": "127.0.0.1", "port": smtp_server.port},
        "sms": {"provider": "webhook", "url": endpoint.url},
    }
    campaign = workspace.load_campaign(campaign_document())
    live = campaign.publish()
    assert live is not None
    live.wait(60)
    assert set(live.awaiting) == {"mail", "sms"}
    assert smtp_server.received == [] and endpoint.requests == []

    campaign.confirm_send("mail")
    campaign.confirm_send("sms")
    live.wait(120)
    assert live.state == "finished", live.error
    assert campaign.status == "completed"

    events = workspace.feedback_events.filter(pl.col("execution_id") == live.id)
    targeted = live.count("t1")
    for channel in ("email", "sms"):
        mine = events.filter(pl.col("channel") == channel)
        assert mine.height == targeted  # one event per targeted profile
        assert mine["profile_id"].n_unique() == targeted

    mails = events.filter(pl.col("channel") == "email")
    sent = mails.filter(pl.col("status") == "sent")
    delivered_to = sorted(r for mail in smtp_server.received for r in mail.recipients)
    assert delivered_to == sorted(sent["address"].to_list())
    assert len(delivered_to) == len(set(delivered_to))  # nobody twice
    bounced = mails.filter(pl.col("status") == "bounce")
    assert sorted(bounced["address"].to_list()) == sorted(refused)
    assert set(bounced["failure_type"].to_list()) == {"hard"}

    texts = events.filter((pl.col("channel") == "sms") & (pl.col("status") == "sent"))
    assert len(endpoint.requests) == texts.height > 0
    # rate_per_second: 40 starts messages at least 25 ms apart, so n messages
    # span at least (n - 1) intervals, less the first one's own time.
    moments = texts["timestamp"].sort()
    span = (moments[-1] - moments[0]).total_seconds()
    assert span >= (texts.height - 2) / 40


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ajo_workbench.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_cli_configures_smtp_publishes_and_confirms(
    workspace: ajo.Workspace, smtp_server: MailServer, tmp_path: Path
) -> None:
    folder = str(workspace.path)
    config = tmp_path / "delivery.json"
    config.write_text(json.dumps({"email": {"provider": "smtp", "host": "127.0.0.1"}}))
    kept = cli("-w", folder, "delivery", str(config))  # the port defaults to 25
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout) == {
        "email": {"provider": "smtp", "host": "127.0.0.1"}
    }
    config.write_text(json.dumps({"email": {"provider": "carrier-pigeon"}}))
    refused = cli("-w", folder, "delivery", str(config))
    assert refused.returncode == 2
    assert "delivery config email.provider: 'carrier-pigeon'" in refused.stderr
    assert ajo.Workspace(folder).delivery["email"].get("port") is None  # unchanged

    entry = {"provider": "smtp", "host": "127.0.0.1", "port": smtp_server.port}
    config.write_text(json.dumps({"email": entry}))
    assert cli("-w", folder, "delivery", str(config)).returncode == 0
    document = campaign_document()
    document["activities"] = [GOLD_FR, MAIL, {"id": "end", "type": "end"}]
    document["transitions"] = [
        {"id": "t1", "from": "gold_fr", "to": "mail"},
        {"id": "t2", "from": "mail", "to": "end"},
    ]
    file = tmp_path / "gold-fr.json"
    file.write_text(json.dumps(document))
    done = cli("-w", folder, "publish", str(file), "--confirm", "mail", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["state"], result["status"]) == ("finished", "completed")

    events = ajo.Workspace(folder).feedback_events
    sent = events.filter(pl.col("status") == "sent")
    received = sorted(r for mail in smtp_server.received for r in mail.recipients)
    assert received == sorted(sent["address"].to_list()) and received
    assert events.height == result["counts"]["t1"]  # one event per targeted profile


def test_the_workbench_buttons_publish_confirm_and_complete_through_smtp(
    workspace: ajo.Workspace, smtp_server: MailServer
) -> None:
    from ajo_workbench.widgets import Workbench

    workspace.configure_delivery(
        {"email": {"provider": "smtp", "host": "127.0.0.1", "port": smtp_server.port}}
    )
    document = campaign_document()
    document["activities"] = [GOLD_FR, MAIL, {"id": "end", "type": "end"}]
    document["transitions"] = [
        {"id": "t1", "from": "gold_fr", "to": "mail"},
        {"id": "t2", "from": "mail", "to": "end"},
    ]
    bench = Workbench(workspace.load_campaign(document), refresh_interval=0.05)
    try:
        bench.actions.buttons["publish"].click()
        assert bench.errors.last is None
        live = bench.execution
        assert live is not None and live.mode == "live"
        live.wait(60)
        assert live.awaiting == ("mail",) and smtp_server.received == []
        bench.throttle.flush()
        assert "waiting for Confirm send: mail — click" in bench.header.title.value
        assert bench.canvas.look("t2")["label"] == ""  # nothing went through yet
        assert bench.canvas.look("t1")["label"] == f"{live.count('t1'):,}"
        bench.select("activity", "mail")
        bench.properties.confirm_button.click()  # the properties pane's button
        assert bench.errors.last is None
        live.wait(60)
        bench.throttle.flush()
        assert bench.campaign.status == "completed"
        assert ">completed<" in bench.header.title.value
        assert "waiting for Confirm send" not in bench.header.title.value
        assert bench.canvas.look("t2")["label"] == f"{live.count('t2'):,}"
    finally:
        bench.close()
    events = workspace.feedback_events.filter(pl.col("execution_id") == live.id)
    assert events.height == live.count("t1")  # one per targeted profile
    sent = events.filter(pl.col("status") == "sent")["address"].to_list()
    received = [r for mail in smtp_server.received for r in mail.recipients]
    assert sorted(received) == sorted(sent) and received
