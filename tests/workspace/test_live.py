"""Publish runs a live execution: snapshot, Confirm send, delivery, Completed."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import polars as pl
import pytest

import ajo_workbench as ajo
from ajo_workbench.engine import Execution

FR = {"id": "fr", "type": "build_audience", "where": "country = 'FR'"}
MAIL = {
    "id": "mail",
    "type": "email",
    "subject": "Bonjour {{ first_name }}",
    "body": "<p>Hello {{ first_name }}</p>",
    "sender": "shop@example.test",
}
END = {"id": "end", "type": "end"}


def french(ws: ajo.Workspace) -> pl.DataFrame:
    return ws.table("profiles").filter(pl.col("country") == "FR")


def reachable(profiles: pl.DataFrame) -> pl.DataFrame:
    return profiles.filter(
        pl.col("email").is_not_null()
        & (pl.col("email").str.strip_chars() != "")
        & pl.col("email_consent")
    )


def outbox(ws: ajo.Workspace) -> list[str]:
    return sorted(p.name for p in (ws.path / "outbox" / "email").glob("*.json"))


def published(ws: ajo.Workspace, chain: Any) -> tuple[ajo.Campaign, Execution]:
    """The French mail campaign, published, its execution settled (waiting)."""
    campaign = ws.load_campaign(chain(FR, MAIL, END))
    live = campaign.publish()
    assert live is not None
    live.wait(60)
    return campaign, live


def test_publish_waits_for_confirm_send_then_sends_once_per_profile(
    workspace: ajo.Workspace, chain: Any
) -> None:
    campaign, live = published(workspace, chain)
    assert (live.state, live.mode, live.version) == ("waiting", "live", 1)
    assert live.task_status("mail") == "attention"
    assert campaign.status == "live"
    assert campaign.available_actions()["confirm_send"] is None
    assert outbox(workspace) == []  # nothing leaves before the confirmation

    with pytest.raises(ajo.LifecycleError, match="not waiting for confirmation"):
        campaign.confirm_send("fr")
    campaign.confirm_send("mail")
    live.wait(60)
    assert live.state == "finished", live.error
    assert campaign.status == "completed"

    targeted = french(workspace)
    addressed = reachable(targeted)
    assert live.count("t2") == addressed.height > 0
    events = workspace.feedback_events
    assert events.height == targeted.height  # one event per targeted profile
    assert events["profile_id"].n_unique() == targeted.height
    sent = events.filter(pl.col("status") == "sent")
    assert sent.height == addressed.height == len(outbox(workspace))
    excluded = events.filter(pl.col("status") == "exclude")
    assert excluded.height == targeted.height - addressed.height
    assert excluded["exclusion_reason"].null_count() == 0
    assert set(events["campaign_version"].to_list()) == {1}
    assert set(events["execution_id"].to_list()) == {live.id}


def test_without_confirmation_the_send_starts_at_once(
    workspace: ajo.Workspace, chain: Any
) -> None:
    document = chain(FR, dict(MAIL, send_confirmation=False), END)
    campaign = workspace.load_campaign(document)
    live = campaign.publish()
    assert live is not None
    assert live.wait(60).state == "finished", live.error
    assert len(outbox(workspace)) == reachable(french(workspace)).height
    assert campaign.status == "completed"


def test_the_live_execution_reads_the_snapshot_taken_at_publication(
    workspace: ajo.Workspace, chain: Any
) -> None:
    campaign, live = published(workspace, chain)
    before = reachable(french(workspace)).height

    # Everyone opts out after publication: consent is read from the snapshot.
    opted_out = workspace.table("profiles").with_columns(email_consent=False)
    workspace.import_table("profiles", opted_out, key="profile_id")
    assert reachable(french(workspace)).height == 0

    campaign.confirm_send("mail")
    assert live.wait(60).state == "finished", live.error
    assert len(outbox(workspace)) == before > 0


def test_stop_campaign_ends_the_waiting_execution_without_sending(
    workspace: ajo.Workspace, chain: Any
) -> None:
    campaign, live = published(workspace, chain)
    campaign.stop_campaign()
    assert campaign.status == "stopped"
    assert live.state == "stopped"
    assert live.task_status("mail") == "abandoned"
    assert outbox(workspace) == []
    assert workspace.feedback_events.height == 0
    with pytest.raises(ajo.LifecycleError):
        campaign.confirm_send("mail")


def test_pause_and_resume_act_on_the_live_execution(
    workspace: ajo.Workspace, chain: Any
) -> None:
    campaign, live = published(workspace, chain)
    assert campaign.pause() is live
    assert live.state == "paused"
    with pytest.raises(ajo.LifecycleError, match="paused on an error"):
        campaign.back_to_draft()  # paused by the user, not on an error
    assert campaign.resume() is live
    live.wait(60)
    assert live.state == "waiting" and live.awaiting == ("mail",)
    campaign.confirm_send("mail")
    assert live.wait(60).state == "finished"
    assert campaign.status == "completed"


def test_audiences_are_saved_before_any_message_is_sent(
    workspace: ajo.Workspace,
) -> None:
    document = {
        "id": "fans",
        "settings": {"send_confirmation": False},
        "activities": [
            FR,
            {"id": "both", "type": "fork", "branches": ["send", "keep"]},
            MAIL,
            {"id": "save", "type": "save_audience", "audience": "french-fans"},
            END,
        ],
        "transitions": [
            {"id": "t1", "from": "fr", "to": "both"},
            {"id": "t2", "from": "both", "port": "send", "to": "mail"},
            {"id": "t3", "from": "both", "port": "keep", "to": "save"},
            {"id": "t4", "from": "mail", "to": "end"},
            {"id": "t5", "from": "save", "to": "end"},
        ],
    }
    campaign = workspace.load_campaign(document)
    live = campaign.publish()
    assert live is not None
    assert live.wait(60).state == "finished", live.error
    messages = live.logs["message"].to_list()
    saved = next(i for i, m in enumerate(messages) if "audience 'french-fans'" in m)
    sent = next(i for i, m in enumerate(messages) if "targeted:" in m)
    assert saved < sent
    assert live.task_status("save") == "success"


class Switchboard(BaseHTTPRequestHandler):
    """An SMS endpoint that refuses every message (400) until told otherwise."""

    answer = 400
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        if type(self).answer == 200:
            type(self).received.append(body)
        self.send_response(type(self).answer)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_live_send_paused_on_errors_resumes_or_goes_back_to_draft(
    workspace: ajo.Workspace, chain: Any
) -> None:
    Switchboard.answer, Switchboard.received = 400, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Switchboard)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    workspace.delivery = {"sms": {"provider": "webhook", "url": url}}
    sms = {"id": "text", "type": "sms", "body": "Hi {{ first_name }}"}
    try:
        campaign = workspace.load_campaign(
            chain(FR, dict(sms, send_confirmation=False), END)
        )
        live = campaign.publish()
        assert live is not None
        live.wait(60)
        assert live.state == "paused" and live.error
        assert live.task_status("text") == "error"
        refused = workspace.feedback_events.filter(pl.col("status") == "error")
        assert refused.height == 10  # ten failures in a row pause the send
        assert campaign.available_actions()["back_to_draft"] is None  # none sent

        Switchboard.answer = 200  # the provider works again
        campaign.resume()
        assert live.wait(60).state == "finished", live.error
        assert campaign.status == "completed"
        assert campaign.available_actions()["back_to_draft"] is not None
    finally:
        server.shutdown()
        server.server_close()

    events = workspace.feedback_events
    targeted = french(workspace)
    assert events.height == targeted.height  # still one event per profile
    sent = events.filter(pl.col("status") == "sent")
    assert sent.height == len(Switchboard.received) > 0
    assert events["profile_id"].n_unique() == targeted.height


def test_simulate_content_renders_for_chosen_profiles_of_the_population(
    workspace: ajo.Workspace, chain: Any
) -> None:
    personal = {
        **MAIL,
        "subject": "{{ season }} news for {{ first_name }}",
        "body": "<p>{{ first_name }} in {{ city }}</p>",
    }
    definition = chain(FR, personal, END)
    definition["variables"] = {"season": "Winter"}
    campaign = workspace.load_campaign(definition)
    with pytest.raises(ajo.LifecycleError, match="Start a test execution first"):
        campaign.simulate_content("mail", [1])
    run = campaign.start().wait(60)
    french_ids = french(workspace).sort("profile_id")
    chosen = french_ids["profile_id"].head(3).to_list()[::-1]

    shown = campaign.simulate_content("mail", chosen)
    assert shown["profile_id"].to_list() == chosen  # in the given order
    rows = french_ids.filter(pl.col("profile_id").is_in(chosen))
    for profile in rows.iter_rows(named=True):
        message = shown.filter(pl.col("profile_id") == profile["profile_id"]).row(
            0, named=True
        )
        assert message["subject"] == f"Winter news for {profile['first_name']}"
        assert message["body"] == f"<p>{profile['first_name']} in {profile['city']}</p>"
        assert message["address"] == (profile["email"] or "").strip()

    outsider = workspace.table("profiles").filter(pl.col("country") != "FR")[
        "profile_id"
    ][0]
    with pytest.raises(ajo.DataError, match=f"{outsider}.*did not reach 'mail'"):
        run.simulate("mail", [chosen[0], outsider])
    with pytest.raises(ajo.DataError, match="not a channel"):
        run.simulate("fr", chosen)

    # no keys: the first profiles of the population, in its order
    population = run.frame("t1")["profile_id"]
    assert campaign.simulate_content("mail")["profile_id"].to_list() == (
        population.head(3).to_list()
    )
    assert run.simulate("mail", [], first=5)["profile_id"].to_list() == (
        population.head(5).to_list()
    )
    assert not (workspace.path / "outbox").exists()  # nothing was sent


def test_simulate_content_says_when_nobody_reached_the_activity(
    workspace: ajo.Workspace, chain: Any
) -> None:
    nobody = {**FR, "where": "country = 'nowhere'"}
    run = workspace.load_campaign(chain(nobody, MAIL, END)).start().wait(60)
    assert run.count("t1") == 0
    with pytest.raises(ajo.DataError, match="no profile reached 'mail'"):
        run.simulate("mail")


def versions(ws: ajo.Workspace, campaign_id: str) -> int:
    row = ws.database.one(
        "SELECT count(*) AS n FROM versions WHERE campaign_id = ?", (campaign_id,)
    )
    assert row is not None
    return int(row["n"])


def test_publish_refuses_an_audience_another_published_campaign_saves(
    workspace: ajo.Workspace, chain: Any
) -> None:
    save = {"id": "keep", "type": "save_audience", "audience": "french-fans"}
    first = workspace.load_campaign({**chain(FR, save, END), "id": "first"})
    second = workspace.load_campaign({**chain(FR, save, END), "id": "second"})
    assert second.alerts == [] or all(a.level != "error" for a in second.alerts)

    live = first.publish()
    assert live is not None and first.status in ("live", "completed")
    with pytest.raises(ajo.LifecycleError) as refused:
        second.publish()
    assert "AUDIENCE_RESERVED" in str(refused.value)
    assert "'french-fans' is saved by campaign 'first'" in str(refused.value)
    assert second.status == "draft" and versions(workspace, "second") == 0
    log = second.logs.filter(pl.col("action") == "publish")
    assert log["level"].to_list() == ["warning"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("no_body", "CHANNEL_NO_CONTENT"),
        ("eleven_channels", "TOO_MANY_CHANNELS"),
    ],
)
def test_publish_refuses_missing_content_and_too_many_channels(
    workspace: ajo.Workspace, change: str, code: str
) -> None:
    if change == "no_body":
        mails = [{**MAIL, "body": "  "}]
    else:
        mails = [{**MAIL, "id": f"mail{n}"} for n in range(11)]
    ids = list(enumerate(mails))
    document = {
        "format": "ajo-workbench/campaign@1",
        "id": "bad-publish",
        "name": "Bad publish",
        "activities": [FR, *mails, END],
        "transitions": [
            *({"id": f"a{n}", "from": "fr", "to": m["id"]} for n, m in ids),
            *({"id": f"b{n}", "from": m["id"], "to": "end"} for n, m in ids),
        ],
    }
    campaign = workspace.load_campaign(document)
    with pytest.raises(ajo.LifecycleError, match=code):
        campaign.publish()
    assert campaign.status == "draft" and versions(workspace, "bad-publish") == 0
    assert campaign.executions == []


def test_unmatched_recipients_get_profiles_created_on_the_fly(
    workspace: ajo.Workspace, tmp_path: Any
) -> None:
    profiles = workspace.table("profiles")
    known = profiles.filter(
        pl.col("email").is_not_null() & ~pl.col("email").is_duplicated()
    ).head(2)
    path = tmp_path / "leads.csv"
    pl.DataFrame(
        {
            "email": [*known["email"].to_list(), "new.one@example.test", "x@new.test"],
            "first_name": ["A", "B", "Nadia", "Xavier"],
            "email_consent": ["true", "true", "true", "false"],
        }
    ).write_csv(path)
    document = {
        "format": "ajo-workbench/campaign@1",
        "id": "leads",
        "name": "Leads",
        "settings": {"send_confirmation": False},
        "activities": [
            {
                "id": "file",
                "type": "load_file",
                "path": str(path),
                "columns": {"email_consent": "bool"},
            },
            {
                "id": "match",
                "type": "reconciliation",
                "match": {"email": "email"},
                "keep_unreconciled": True,
            },
            MAIL,
            END,
        ],
        "transitions": [
            {"id": "t1", "from": "file", "to": "match"},
            {"id": "t2", "from": "match", "to": "mail"},
            {"id": "t3", "from": "mail", "to": "end"},
        ],
    }
    campaign = workspace.load_campaign(document)
    test = campaign.start().wait(60)
    assert test.frame("t2")["profile_id"].null_count() == 2  # a test creates none
    assert workspace.table("profiles").height == profiles.height

    live = campaign.publish()
    assert live is not None
    live.wait(60)
    assert live.state == "finished", live.error

    after = workspace.table("profiles")
    assert after.height == profiles.height + 2
    created = after.filter(pl.col("profile_id") > profiles["profile_id"].max())
    assert sorted(created["email"].to_list()) == ["new.one@example.test", "x@new.test"]
    assert set(created["first_name"].to_list()) == {"Nadia", "Xavier"}
    assert live.frame("t2")["profile_id"].null_count() == 0
    assert set(created["profile_id"].to_list()) <= set(
        live.frame("t2")["profile_id"].to_list()
    )

    events = workspace.feedback_events.filter(pl.col("execution_id") == live.id)
    assert events.height == 4  # one per recipient, created ones included
    by_email = dict(zip(events["address"], events["status"], strict=True))
    assert by_email["new.one@example.test"] == "sent"
    assert by_email["x@new.test"] == "exclude"  # the file said: no consent
    logged = campaign.logs.filter(pl.col("action") == "create_records")
    assert logged.height == 1 and "2 profiles record(s) created" in logged["message"][0]
