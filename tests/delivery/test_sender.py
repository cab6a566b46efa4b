"""Sending a population to the outbox: exclusions, consent, rate, stop, once only."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from servers import free_port

from ajo_workbench.clock import SimulatedClock
from ajo_workbench.delivery import (
    OutboxProvider,
    Outcome,
    RenderedMessage,
    SendLedger,
    SendSummary,
    SmtpProvider,
    send_population,
)
from ajo_workbench.delivery.outcome import SENT, soft_error
from ajo_workbench.errors import DataError, ExecutionError, TemplateError
from ajo_workbench.storage.database import Database

SETTINGS = {"subject": "Hi {{ first_name }}", "body": "<p>{{ first_name }}</p>"}
ROWS: list[dict[str, Any]] = [
    {"profile_id": 1, "email": "a@x.org", "email_consent": True, "first_name": "A"},
    {"profile_id": 2, "email": None, "email_consent": True, "first_name": "B"},
    {"profile_id": 3, "email": "  ", "email_consent": True, "first_name": "C"},
    {"profile_id": 4, "email": "d@x.org", "email_consent": False, "first_name": "D"},
    {"profile_id": 5, "email": "e@x.org", "email_consent": None, "first_name": "E"},
    {"profile_id": 6, "email": "f@x.org", "email_consent": True, "first_name": "F"},
]


@pytest.fixture
def outbox(tmp_path: Path) -> OutboxProvider:
    return OutboxProvider(tmp_path / "outbox")


@pytest.fixture
def send(
    ledger: SendLedger, outbox: OutboxProvider, clock: SimulatedClock
) -> Callable[..., SendSummary]:
    def run(rows: Any = ROWS, **options: Any) -> SendSummary:
        arguments: dict[str, Any] = {
            "channel": "email",
            "settings": SETTINGS,
            "campaign_id": "spring",
            "campaign_version": 1,
            "execution_id": "e1",
            "activity_id": "mail",
            "ledger": ledger,
            "provider": outbox,
            "clock": clock,
            "sleep": lambda seconds: clock.advance(seconds=seconds),
        }
        return send_population(rows, **{**arguments, **options})

    return run


def in_outbox(outbox: OutboxProvider) -> list[str]:
    return sorted(
        json.loads(path.read_text())["profile_id"] for path in outbox.messages("email")
    )


def test_exclusions_are_events_not_failures(
    send: Callable[..., SendSummary], ledger: SendLedger, outbox: OutboxProvider
) -> None:
    summary = send()
    assert (summary.targeted, summary.sent, summary.bounced, summary.errors) == (
        6,
        2,
        0,
        0,
    )
    assert summary.excluded == {"no_address": 2, "no_consent": 2}
    events = ledger.events().sort("profile_id")
    assert events.select("profile_id", "status", "exclusion_reason").rows() == [
        ("1", "sent", None),
        ("2", "exclude", "no_address"),
        ("3", "exclude", "no_address"),
        ("4", "exclude", "no_consent"),
        ("5", "exclude", "no_consent"),
        ("6", "sent", None),
    ]
    assert in_outbox(outbox) == ["1", "6"]
    sent = events.filter(status="sent")
    assert all(outbox.contains(m) for m in sent["message_id"])


def test_transactional_messages_need_only_an_address(
    send: Callable[..., SendSummary], outbox: OutboxProvider
) -> None:
    rows = [{k: v for k, v in row.items() if k != "email_consent"} for row in ROWS]
    summary = send(rows, settings={**SETTINGS, "category": "transactional"})
    assert (summary.sent, summary.excluded) == (4, {"no_address": 2})
    assert in_outbox(outbox) == ["1", "4", "5", "6"]


def test_a_second_send_of_the_execution_sends_nothing(
    send: Callable[..., SendSummary], ledger: SendLedger, outbox: OutboxProvider
) -> None:
    send()
    again = send()
    assert (again.targeted, again.skipped, again.sent, again.excluded_total) == (
        6,
        6,
        0,
        0,
    )
    assert ledger.events().height == 6
    assert in_outbox(outbox) == ["1", "6"]
    other = send(execution_id="e2")
    assert other.sent == 2
    assert in_outbox(outbox) == ["1", "1", "6", "6"]


def test_the_rate_spaces_messages_on_the_clock(
    send: Callable[..., SendSummary], ledger: SendLedger, clock: SimulatedClock
) -> None:
    rows = [
        {"profile_id": n, "email": f"p{n}@x.org", "email_consent": True}
        for n in range(5)
    ]
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        clock.advance(seconds=seconds)

    settings = {"subject": "s", "body": "b"}
    summary = send(rows, settings=settings, rate_per_second=2, sleep=sleep)
    assert delays == [0.5, 0.5, 0.5, 0.5]
    assert summary.elapsed == 2.0
    assert summary.per_second == 2.5
    stamps = ledger.events()["timestamp"].dt.timestamp("ms").diff().drop_nulls()
    assert stamps.to_list() == [500, 500, 500, 500]


def test_the_activity_rate_applies_when_none_is_given(
    send: Callable[..., SendSummary], clock: SimulatedClock
) -> None:
    rows = [{"profile_id": n, "email": f"p{n}@x.org"} for n in range(4)]
    settings = {"subject": "s", "body": "b", "category": "transactional"}
    summary = send(rows, settings={**settings, "rate_per_second": 10})
    assert summary.elapsed == pytest.approx(0.3)
    unlimited = send(rows, settings=settings, execution_id="e2")
    assert unlimited.elapsed == 0.0


def test_stop_is_honoured_between_messages(
    send: Callable[..., SendSummary], ledger: SendLedger, caplog: Any
) -> None:
    asked: list[int] = []

    def should_stop() -> bool:
        asked.append(1)
        return len(asked) > 3

    with caplog.at_level(logging.INFO, logger="ajo_workbench.delivery.sender"):
        summary = send(should_stop=should_stop)
    assert (summary.stopped, summary.targeted) == (True, 3)
    assert ledger.events().height == 3
    assert "spring/e1/mail: stopped after 3 rows" in caplog.text
    assert "spring/e1/mail: 3 targeted, 1 sent, 0 bounced, 0 errors" in caplog.text

    rest = send()
    assert (rest.stopped, rest.skipped, rest.sent) == (False, 3, 1)
    assert ledger.events()["profile_id"].sort().to_list() == list("123456")


def test_a_template_error_stops_without_claiming(
    send: Callable[..., SendSummary], ledger: SendLedger
) -> None:
    settings = {"subject": "Hi", "body": "{{ first_name }} {{ points }}"}
    with pytest.raises(TemplateError, match=r"email 'mail' body uses \{\{ points \}\}"):
        send(settings=settings)
    assert ledger.pending("e1") == []
    assert ledger.events().is_empty()


def test_a_missing_column_is_a_data_error(send: Callable[..., SendSummary]) -> None:
    rows = [{"profile_id": 1, "email": "a@x.org"}]
    with pytest.raises(DataError, match="email 'mail': the population has no column"):
        send(rows)


def test_two_senders_of_one_execution_never_send_twice(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    rows = [
        {"profile_id": n, "email": f"p{n}@x.org", "email_consent": n % 5 != 0}
        for n in range(400)
    ]
    summaries: list[SendSummary] = []
    # Create the workspace first: two connections that both create a fresh
    # database may find it locked while it turns to write-ahead logging.
    Database(tmp_path / "workspace.db").close()

    def sender() -> None:
        ledger = SendLedger(Database(tmp_path / "workspace.db"), clock)
        summary = send_population(
            rows,
            channel="email",
            settings={"subject": "s", "body": "b"},
            campaign_id="spring",
            campaign_version=1,
            execution_id="e1",
            activity_id="mail",
            ledger=ledger,
            provider=OutboxProvider(tmp_path / "outbox"),
            clock=clock,
        )
        summaries.append(summary)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(summaries) == 2, "a sender failed"
    outbox = OutboxProvider(tmp_path / "outbox")
    assert in_outbox(outbox) == sorted(str(n) for n in range(400) if n % 5 != 0)
    assert sum(s.sent for s in summaries) == 320
    assert sum(s.excluded_total for s in summaries) == 80
    assert all(s.targeted == s.sent + s.excluded_total + s.skipped for s in summaries)
    assert any(s.skipped > 0 for s in summaries), "the senders did not overlap"
    events = SendLedger(Database(tmp_path / "workspace.db"), clock).events()
    assert events.height == 400
    assert events["profile_id"].n_unique() == 400


def test_templates_read_campaign_variables_under_row_values(
    send: Callable[..., SendSummary], outbox: OutboxProvider
) -> None:
    rows = [
        {"profile_id": 1, "email": "a@x.org", "email_consent": True},
        {"profile_id": 2, "email": "b@x.org", "email_consent": True, "shop": "Lille"},
    ]
    settings = {"subject": "{{ discount }}% off", "body": "<p>{{ shop }}</p>"}
    send(rows, settings=settings, variables={"discount": 15, "shop": "Paris"})
    messages = sorted(
        (json.loads(path.read_text()) for path in outbox.messages("email")),
        key=lambda message: message["profile_id"],
    )
    assert [(m["subject"], m["body"]) for m in messages] == [
        ("15% off", "<p>Paris</p>"),
        ("15% off", "<p>Lille</p>"),
    ]


def test_a_broken_provider_stops_the_send_for_a_resume(
    send: Callable[..., SendSummary], ledger: SendLedger, outbox: OutboxProvider
) -> None:
    rows = [
        {"profile_id": n, "email": f"p{n}@x.org", "email_consent": True}
        for n in range(12)
    ]
    settings = {"subject": "s", "body": "b", "sender": "news@x.org"}
    down = SmtpProvider("127.0.0.1", free_port(), timeout=2)
    delays: list[float] = []
    with pytest.raises(ExecutionError) as caught:
        send(
            rows,
            settings=settings,
            provider=down,
            attempts=2,
            error_limit=5,
            sleep=delays.append,
        )
    assert str(caught.value).startswith(
        "email 'mail': 5 messages in a row failed (last: smtp: 127.0.0.1:"
    )
    assert str(caught.value).endswith("resume it once the provider works")
    assert delays == [0.5] * 5
    events = ledger.events()
    assert events["status"].to_list() == ["error"] * 5
    assert events["failure_type"].to_list() == ["soft"] * 5
    assert ledger.pending("e1") == []

    resumed = send(rows, settings=settings)
    assert (resumed.skipped, resumed.sent) == (5, 7)
    assert in_outbox(outbox) == sorted(str(n) for n in range(5, 12))


def test_a_success_between_failures_keeps_the_send_going(
    send: Callable[..., SendSummary],
) -> None:
    class Alternating:
        def __init__(self) -> None:
            self.count = 0

        def send(self, message: RenderedMessage) -> Outcome:
            self.count += 1
            return soft_error("busy") if self.count % 2 else SENT

        def close(self) -> None:
            """Nothing to release."""

    rows = [{"profile_id": n, "email": f"p{n}@x.org"} for n in range(6)]
    settings = {"subject": "s", "body": "b", "category": "transactional"}
    summary = send(
        rows, settings=settings, provider=Alternating(), attempts=1, error_limit=2
    )
    assert (summary.sent, summary.errors) == (3, 3)
