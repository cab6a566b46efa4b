"""A published campaign delivers through a real SMTP server and a webhook."""

from __future__ import annotations

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
