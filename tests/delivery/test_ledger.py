"""The send ledger: claims, atomic completion, exclusions, recovery and events."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from ajo_workbench.clock import SimulatedClock
from ajo_workbench.delivery import (
    FEEDBACK_COLUMNS,
    DeliveryKey,
    FeedbackEvent,
    OutboxProvider,
    RenderedMessage,
    SendLedger,
)
from ajo_workbench.delivery.ledger import INTERRUPTED
from ajo_workbench.errors import WorkspaceError
from ajo_workbench.storage.database import SCHEMA_VERSION, Database

KEY = DeliveryKey("spring", "e1", "mail", "7")
SENT = FeedbackEvent("sent", "email", "ann@example.org", 2, message_id="m7")


def claim(ledger: SendLedger, key: DeliveryKey = KEY, message_id: str = "m7") -> bool:
    return ledger.claim(
        key, message_id, channel="email", address="ann@example.org", campaign_version=2
    )


def test_a_key_is_claimed_once_even_from_another_connection(
    ledger: SendLedger, tmp_path: Path, clock: SimulatedClock
) -> None:
    assert claim(ledger)
    assert not claim(ledger, message_id="other")
    second = SendLedger(Database(tmp_path / "workspace.db"), clock)
    assert not claim(second, message_id="other")
    assert claim(second, KEY._replace(activity_id="sms"), "m8")
    assert [row["message_id"] for row in ledger.pending("e1")] == ["m7", "m8"]
    assert ledger.profiles("spring", "e1", "mail") == {"7"}


def test_complete_writes_the_one_event_of_a_claimed_key(
    ledger: SendLedger, clock: SimulatedClock
) -> None:
    claim(ledger)
    clock.advance(seconds=3)
    ledger.complete(KEY, SENT)
    events = ledger.events()
    assert events.to_dicts() == [
        {
            "timestamp": datetime(2026, 12, 1, 9, 0, 3, tzinfo=UTC),
            "campaign_id": "spring",
            "campaign_version": 2,
            "execution_id": "e1",
            "activity_id": "mail",
            "message_id": "m7",
            "profile_id": "7",
            "channel": "email",
            "address": "ann@example.org",
            "status": "sent",
            "failure_reason": None,
            "failure_type": None,
            "exclusion_reason": None,
        }
    ]
    assert ledger.pending("e1") == []
    with pytest.raises(WorkspaceError, match="can't complete spring/e1/mail/7"):
        ledger.complete(KEY, SENT)
    with pytest.raises(WorkspaceError, match="it is not claimed or already done"):
        ledger.complete(KEY._replace(profile_id="8"), SENT)
    assert ledger.events().height == 1


def test_complete_is_one_transaction(
    ledger: SendLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim(ledger)

    def fail(*args: object) -> None:
        raise RuntimeError("disk gone between the two writes")

    monkeypatch.setattr(ledger, "_insert_event", fail)
    with pytest.raises(RuntimeError, match="disk gone"):
        ledger.complete(KEY, SENT)
    assert [row["state"] for row in ledger.pending("e1")] == ["pending"]
    assert ledger.events().is_empty()

    monkeypatch.undo()
    ledger.complete(KEY, SENT)
    assert ledger.pending("e1") == []
    assert ledger.events()["status"].to_list() == ["sent"]


def test_an_exclusion_is_a_done_key_with_its_event(ledger: SendLedger) -> None:
    event = FeedbackEvent("exclude", "email", None, 2, exclusion_reason="no_address")
    assert ledger.exclude(KEY, event)
    assert not ledger.exclude(KEY, event)
    assert not claim(ledger)
    assert claim(ledger, KEY._replace(profile_id="8"))
    assert not ledger.exclude(KEY._replace(profile_id="8"), event)
    events = ledger.events()
    assert events.select("profile_id", "status", "exclusion_reason").rows() == [
        ("7", "exclude", "no_address")
    ]
    assert events["message_id"].to_list() == [None]
    with pytest.raises(ValueError, match="an exclusion needs status 'exclude'"):
        ledger.exclude(KEY._replace(profile_id="9"), SENT)


def test_recover_records_what_the_outbox_holds_and_never_resends(
    ledger: SendLedger, tmp_path: Path
) -> None:
    outbox = OutboxProvider(tmp_path / "outbox")
    delivered, lost, done = (KEY._replace(profile_id=p) for p in ("1", "2", "3"))
    claim(ledger, delivered, "m1")
    outbox.send(RenderedMessage("email", "a@x.org", "s", "b", "m1"))
    claim(ledger, lost, "m2")
    claim(ledger, done, "m3")
    ledger.complete(done, SENT)
    claim(ledger, KEY._replace(execution_id="e2"), "m4")

    recovery = ledger.recover("e1", outbox)
    assert (recovery.sent, recovery.unknown) == (1, 1)
    events = ledger.events(execution_id="e1").sort("profile_id")
    assert events.select("profile_id", "message_id", "status").rows() == [
        ("1", "m1", "sent"),
        ("2", "m2", "error"),
        ("3", "m7", "sent"),
    ]
    assert events["failure_reason"].to_list() == [None, INTERRUPTED, None]
    assert events["failure_type"].to_list() == [None, "soft", None]
    assert events["address"].unique().to_list() == ["ann@example.org"]
    assert ledger.pending("e1") == []
    assert len(ledger.pending("e2")) == 1
    assert ledger.recover("e1", outbox) == type(recovery)(0, 0)


def test_without_an_outbox_every_interrupted_send_is_unknown(
    ledger: SendLedger,
) -> None:
    claim(ledger)
    assert ledger.recover("e1", None).unknown == 1
    assert ledger.events()["status"].to_list() == ["error"]


def test_events_have_the_feedback_columns_even_when_empty(ledger: SendLedger) -> None:
    empty = ledger.events()
    assert empty.is_empty()
    assert empty.schema == pl.Schema(FEEDBACK_COLUMNS)
    assert list(FEEDBACK_COLUMNS) == [
        "timestamp",
        "campaign_id",
        "campaign_version",
        "execution_id",
        "activity_id",
        "message_id",
        "profile_id",
        "channel",
        "address",
        "status",
        "failure_reason",
        "failure_type",
        "exclusion_reason",
    ]
    claim(ledger)
    ledger.complete(KEY, SENT)
    assert ledger.events(campaign_id="spring").schema == empty.schema
    assert ledger.events(campaign_id="other").is_empty()


def test_an_older_workspace_gets_the_new_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE campaigns (id TEXT PRIMARY KEY, name TEXT)")
        old.execute("PRAGMA user_version = 1")
    database = Database(path)
    tables = {row[0] for row in database.query("SELECT name FROM sqlite_master")}
    assert {"send_ledger", "feedback_events"} <= tables
    assert database.one("PRAGMA user_version")[0] == SCHEMA_VERSION == 3  # type: ignore[index]
