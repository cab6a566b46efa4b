"""Provider faults in the middle of a batch: what is retried, recorded and sent once.

The guarantee: the ledger sends at most one message per profile and activity, and
records exactly one event for it. A provider that took a message but whose answer was
lost is handled per provider: a webhook is retried with the same ``Idempotency-Key``
(the receiver drops the copy); an SMTP server that took the message before the
connection dropped is not asked again (the outcome is recorded as unknown).
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from servers import Endpoint, MailServer

from ajo_workbench.clock import SimulatedClock
from ajo_workbench.delivery import (
    SendLedger,
    SmtpProvider,
    WebhookProvider,
    send_population,
)

EXECUTION = {
    "campaign_id": "faults",
    "campaign_version": 1,
    "execution_id": "e-faults",
    "activity_id": "msg",
}


def rows(addresses: list[str], field: str) -> list[dict[str, Any]]:
    consent = "sms_consent" if field == "phone" else "email_consent"
    return [
        {"profile_id": n, field: address, consent: True, "first_name": f"P{n}"}
        for n, address in enumerate(addresses)
    ]


def statuses(ledger: SendLedger) -> dict[str, tuple[str, str | None]]:
    events = ledger.events(execution_id="e-faults")
    return {
        row["address"]: (row["status"], row["failure_type"])
        for row in events.iter_rows(named=True)
    }


def test_webhook_faults_mid_batch(
    endpoint: Endpoint, ledger: SendLedger, clock: SimulatedClock
) -> None:
    addresses = ["ok1", "flaky", "ok2", "bad", "lagging", "down", "busy", "ok3"]
    provider = WebhookProvider(endpoint.url, timeout=0.2)
    summary = send_population(
        rows(addresses, "phone"),
        channel="sms",
        settings={"body": "Hi {{ first_name }}"},
        ledger=ledger,
        provider=provider,
        clock=clock,
        sleep=lambda seconds: None,
        attempts=3,
        error_limit=None,
        **EXECUTION,
    )
    provider.close()
    assert summary.targeted == len(addresses)
    assert statuses(ledger) == {
        "ok1": ("sent", None),
        "ok2": ("sent", None),
        "ok3": ("sent", None),
        "flaky": ("sent", None),  # 503 once, then taken on the retry
        "lagging": ("sent", None),  # taken, answer lost, retried with the same key
        "bad": ("error", "hard"),  # 400: recorded, never retried
        "down": ("error", "soft"),  # 503 every time: retried, then recorded
        "busy": ("error", "soft"),  # 429 every time
    }
    tries = Counter(body["address"] for body, _ in endpoint.requests)
    assert tries["bad"] == 1 and tries["down"] == 3 and tries["flaky"] == 2
    # The endpoint saw the lagging message twice, both with one idempotency key:
    # a receiver that drops repeated keys delivers it once.
    keys = [
        h["Idempotency-Key"] for b, h in endpoint.requests if b["address"] == "lagging"
    ]
    assert len(keys) == 2 and len(set(keys)) == 1
    delivered = {h["Idempotency-Key"] for _, h in endpoint.requests}
    sent = ledger.events(execution_id="e-faults").filter(status="sent")
    assert delivered >= set(sent["message_id"].to_list())
    assert ledger.pending("e-faults") == []


def test_smtp_faults_mid_batch(
    smtp_server: MailServer, ledger: SendLedger, clock: SimulatedClock
) -> None:
    addresses = [
        "a@x.test",
        "unknown.1@x.test",
        "grey.1@x.test",
        "full.1@x.test",
        "vanish.1@x.test",
        "b@x.test",
    ]
    provider = SmtpProvider("127.0.0.1", smtp_server.port, sender="s@x.test", timeout=5)
    send_population(
        rows(addresses, "email"),
        channel="email",
        settings={"subject": "Hi", "body": "<p>{{ first_name }}</p>"},
        ledger=ledger,
        provider=provider,
        clock=clock,
        sleep=lambda seconds: None,
        attempts=3,
        error_limit=None,
        **EXECUTION,
    )
    provider.close()
    found = statuses(ledger)
    assert found["a@x.test"] == found["b@x.test"] == ("sent", None)
    assert found["grey.1@x.test"] == ("sent", None)  # 451 once, then accepted
    assert found["unknown.1@x.test"] == ("bounce", "hard")  # 550
    assert found["full.1@x.test"] == ("error", "soft")  # 451 every time
    assert found["vanish.1@x.test"][0] == "error"  # taken, then the line dropped
    received = Counter(r for mail in smtp_server.received for r in mail.recipients)
    assert received["vanish.1@x.test"] == 1  # never handed over a second time
    assert max(received.values()) == 1
    assert set(received) == {"a@x.test", "b@x.test", "grey.1@x.test", "vanish.1@x.test"}
    assert len(found) == len(addresses)  # one event per profile


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()


def test_an_smtp_server_that_never_answers_times_out_and_is_recorded(
    silent_server: int, ledger: SendLedger, clock: SimulatedClock
) -> None:
    provider = SmtpProvider("127.0.0.1", silent_server, sender="s@x.test", timeout=0.3)
    waits: list[float] = []
    send_population(
        rows(["a@x.test", "b@x.test"], "email"),
        channel="email",
        settings={"subject": "Hi", "body": "<p>x</p>"},
        ledger=ledger,
        provider=provider,
        clock=clock,
        sleep=waits.append,
        attempts=2,
        error_limit=None,
        **EXECUTION,
    )
    provider.close()
    assert statuses(ledger) == {
        "a@x.test": ("error", "soft"),
        "b@x.test": ("error", "soft"),
    }
    assert len(waits) == 2  # one backoff per message between its two attempts
    reasons = ledger.events(execution_id="e-faults")["failure_reason"].to_list()
    assert all("timed out" in r or "timeout" in r.lower() for r in reasons), reasons
