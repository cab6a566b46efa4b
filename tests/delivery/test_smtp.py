"""E-mail through a real SMTP server on 127.0.0.1 that accepts and refuses."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from servers import MailServer, free_port, mail_server

from ajo_workbench.clock import SimulatedClock
from ajo_workbench.delivery import (
    RenderedMessage,
    SendLedger,
    SmtpProvider,
    deliver,
    provider_for,
    send_population,
)

SETTINGS = {
    "subject": "Hello {{ first_name }}",
    "body": "<p>Dear {{ first_name }}</p>",
    "sender": "news@example.org",
}
ROWS = [
    {"profile_id": 1, "email": "ann@example.org", "first_name": "<Ann>"},
    {"profile_id": 2, "email": "unknown@example.org", "first_name": "Bob"},
    {"profile_id": 3, "email": "full@example.org", "first_name": "Cy"},
    {"profile_id": 4, "email": "grey@example.org", "first_name": "Di"},
    {"profile_id": 5, "email": "eve@example.org", "first_name": "Eve"},
]


def parsed(server: MailServer) -> dict[str, Message]:
    mails = {}
    for mail in server.received:
        assert len(mail.recipients) == 1
        mails[mail.recipients[0]] = message_from_bytes(mail.content)
    return mails


def test_server_answers_become_outcomes_and_events(
    smtp_server: MailServer, ledger: SendLedger, clock: SimulatedClock
) -> None:
    delays: list[float] = []
    with SmtpProvider("127.0.0.1", smtp_server.port) as provider:
        summary = send_population(
            ROWS,
            channel="email",
            settings={**SETTINGS, "category": "transactional"},
            campaign_id="c",
            campaign_version=3,
            execution_id="e",
            activity_id="mail",
            ledger=ledger,
            provider=provider,
            clock=clock,
            sleep=delays.append,
        )

    mails = parsed(smtp_server)
    assert sorted(mails) == ["ann@example.org", "eve@example.org", "grey@example.org"]
    ann = mails["ann@example.org"]
    assert ann["Subject"] == "Hello <Ann>"
    assert ann["From"] == "news@example.org"
    assert ann.get_content_type() == "text/html"
    assert "<p>Dear &lt;Ann&gt;</p>" in ann.get_payload(decode=True).decode()
    assert all(m["From"] == "news@example.org" for m in mails.values())

    events = ledger.events().sort("profile_id")
    assert events["status"].to_list() == ["sent", "bounce", "error", "sent", "sent"]
    assert events["failure_type"].to_list() == [None, "hard", "soft", None, None]
    reasons = events["failure_reason"].to_list()
    assert reasons[1].startswith("smtp 550: recipient refused: 5.1.1 no such user")
    assert reasons[2].startswith("smtp 451: recipient refused: 4.2.2 mailbox full")
    assert events["campaign_version"].unique().to_list() == [3]
    ids = dict(zip(events["address"], events["message_id"], strict=True))
    assert ann["X-Ajo-Message-Id"] == ids["ann@example.org"]

    # A 550 is tried once; the 451 mailbox four times; the greylisted one twice.
    assert smtp_server.tries["unknown@example.org"] == 1
    assert smtp_server.tries["full@example.org"] == 4
    assert smtp_server.tries["grey@example.org"] == 2
    assert delays == [0.5, 1.0, 2.0, 0.5]
    assert (summary.sent, summary.bounced, summary.errors) == (3, 1, 1)


def test_the_connection_is_kept_across_messages(smtp_server: MailServer) -> None:
    provider = SmtpProvider("127.0.0.1", smtp_server.port, sender="a@example.org")
    first = RenderedMessage("email", "x@example.org", "s", "b", "m1")
    assert provider.send(first).status == "sent"
    connection = provider._connection
    assert provider.send(RenderedMessage("email", "y@example.org", "s", "b", "m2")).ok
    assert provider._connection is connection is not None
    provider.close()
    assert provider._connection is None
    assert [m.recipients for m in smtp_server.received] == [
        ["x@example.org"],
        ["y@example.org"],
    ]


def test_no_server_is_a_transient_error() -> None:
    provider = SmtpProvider("127.0.0.1", free_port(), sender="a@example.org", timeout=2)
    outcome = provider.send(RenderedMessage("email", "x@example.org", "s", "b", "m1"))
    assert (outcome.status, outcome.failure_type, outcome.transient) == (
        "error",
        "soft",
        True,
    )
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith("smtp: 127.0.0.1:")


def test_a_message_without_sender_is_a_hard_error() -> None:
    provider = SmtpProvider("127.0.0.1", free_port())
    outcome = provider.send(RenderedMessage("email", "x@example.org", "s", "b", "m1"))
    assert (outcome.status, outcome.failure_type, outcome.transient) == (
        "error",
        "hard",
        False,
    )


def test_non_ascii_subjects_and_bodies_arrive_intact(smtp_server: MailServer) -> None:
    message = RenderedMessage(
        "email", "zoe@example.org", "Grüße, Zoë", "<p>Crème brûlée €5</p>", "m1"
    )
    with SmtpProvider("127.0.0.1", smtp_server.port, sender="a@example.org") as smtp:
        assert smtp.send(message).ok
    [mail] = smtp_server.received
    received = message_from_bytes(mail.content, policy=policy.default)
    assert received["Subject"] == "Grüße, Zoë"
    assert isinstance(received, EmailMessage)
    assert received.get_content().strip() == "<p>Crème brûlée €5</p>"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_credentials_from_the_environment_log_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SMTP_USER", "robot")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    message = RenderedMessage("email", "x@example.org", "s", "b", "m1")
    with mail_server(login=("robot", "s3cret")) as server:
        config = {
            "provider": "smtp",
            "host": "127.0.0.1",
            "port": server.port,
            "username_env": "TEST_SMTP_USER",
            "password_env": "TEST_SMTP_PASSWORD",
            "sender": "news@example.org",
        }
        provider = provider_for("email", {"email": config}, tmp_path)
        assert provider.send(message).ok
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
        refused = provider_for("email", {"email": config}, tmp_path).send(message)
        anonymous = SmtpProvider("127.0.0.1", server.port, sender="a@example.org")
        unknown = anonymous.send(message)
    assert len(server.received) == 1
    assert (refused.status, refused.failure_type, refused.transient) == (
        "error",
        "hard",
        False,
    )
    assert refused.failure_reason is not None
    assert refused.failure_reason.startswith("smtp 535: server answered:")
    assert (unknown.status, unknown.failure_type) == ("error", "hard")
    assert unknown.failure_reason is not None
    assert unknown.failure_reason.startswith("smtp 530")


def test_a_lost_connection_is_opened_again_on_retry() -> None:
    message = RenderedMessage("email", "x@example.org", "s", "b", "m1")
    provider = SmtpProvider("127.0.0.1", free_port(), sender="a@example.org")
    delays: list[float] = []
    with mail_server() as first:
        provider.port = first.port
        assert provider.send(message).ok
    # The server went away with the open connection; a new one takes its port.
    handler = MailServer(port=first.port)
    controller = Controller(handler, hostname="127.0.0.1", port=first.port)
    controller.start()
    try:
        outcome = deliver(provider, message, sleep=delays.append)
    finally:
        provider.close()
        controller.stop()
    assert (outcome.status, outcome.attempts) == ("sent", 2)
    assert delays == [0.5]
    assert len(handler.received) == 1


def test_a_connection_lost_while_handing_over_is_not_retried(
    smtp_server: MailServer,
) -> None:
    message = RenderedMessage("email", "vanish@example.org", "s", "b", "m1")
    provider = SmtpProvider("127.0.0.1", smtp_server.port, sender="a@example.org")
    delays: list[float] = []
    try:
        outcome = deliver(provider, message, sleep=delays.append)
        after = deliver(
            provider,
            RenderedMessage("email", "ann@example.org", "s", "b", "m2"),
            sleep=delays.append,
        )
    finally:
        provider.close()
    assert (outcome.status, outcome.failure_type) == ("error", "soft")
    assert not outcome.transient and outcome.attempts == 1
    assert "delivery outcome unknown" in (outcome.failure_reason or "")
    assert delays == []
    recipients = [mail.recipients for mail in smtp_server.received]
    assert recipients == [["vanish@example.org"], ["ann@example.org"]]
    assert after.status == "sent"  # a new connection serves the next message
