"""The outbox: one file per message id, written whole, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ajo_workbench.delivery import OutboxProvider, RenderedMessage


def message(message_id: str, body: str = "hi") -> RenderedMessage:
    return RenderedMessage(
        "email", "ann@example.org", "Hello", body, message_id, "news@x.org", "7"
    )


def test_a_message_is_one_json_file_named_by_its_id(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path / "outbox")
    assert outbox.send(message("m1")).status == "sent"
    path = tmp_path / "outbox" / "email" / "m1.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "message_id": "m1",
        "channel": "email",
        "profile_id": "7",
        "address": "ann@example.org",
        "sender": "news@x.org",
        "subject": "Hello",
        "body": "hi",
    }
    assert outbox.contains("m1")
    assert not outbox.contains("m2")


def test_writing_the_same_message_again_keeps_one_file(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path)
    outbox.send(message("m1", "first"))
    outbox.send(message("m1", "second"))
    outbox.send(message("m2"))
    files = sorted(path.name for path in (tmp_path / "email").iterdir())
    assert files == ["m1.json", "m2.json"]
    assert json.loads((tmp_path / "email" / "m1.json").read_text())["body"] == "second"
    assert sorted(p.name for p in outbox.messages("email")) == files
    assert list(outbox.messages("sms")) == []


def test_a_failing_disk_is_a_transient_error(tmp_path: Path) -> None:
    (tmp_path / "email").write_text("not a folder")
    outcome = OutboxProvider(tmp_path).send(message("m1"))
    assert (outcome.status, outcome.failure_type, outcome.transient) == (
        "error",
        "soft",
        True,
    )
    assert outcome.failure_reason is not None
    assert outcome.failure_reason.startswith("outbox: can't write")


@pytest.mark.parametrize("bad", ["", "../escape", "a b", "x/y"])
def test_message_ids_must_be_safe_file_names(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="can't name an outbox file"):
        OutboxProvider(tmp_path).send(message(bad))
