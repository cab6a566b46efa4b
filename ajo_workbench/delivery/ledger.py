"""The send ledger and the feedback events, kept together in the workspace database.

A message is sent at most once per (campaign, execution, activity, profile): a sender
first *claims* the key in its own committed transaction, sends, then *completes* the
key and writes its feedback event in one transaction. A crash leaves either a claimed
(``pending``) key or a completed one with its event, never a half of both; a claimed
key is never sent again, and :meth:`SendLedger.recover` gives it its one event.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

import polars as pl

from ajo_workbench.clock import Clock
from ajo_workbench.delivery.outcome import FailureType, Outcome
from ajo_workbench.delivery.templates import RenderedMessage
from ajo_workbench.errors import WorkspaceError
from ajo_workbench.storage.database import Database

logger = logging.getLogger(__name__)

EventStatus = Literal["sent", "delivered", "bounce", "error", "exclude"]

INTERRUPTED = "interrupted: delivery outcome unknown"
"""The failure reason of a message whose sender died before recording its outcome."""

FEEDBACK_COLUMNS: Mapping[str, Any] = {
    "timestamp": pl.Datetime("us", "UTC"),
    "campaign_id": pl.String,
    "campaign_version": pl.Int64,
    "execution_id": pl.String,
    "activity_id": pl.String,
    "message_id": pl.String,
    "profile_id": pl.String,
    "channel": pl.String,
    "address": pl.String,
    "status": pl.String,
    "failure_reason": pl.String,
    "failure_type": pl.String,
    "exclusion_reason": pl.String,
}
"""The columns of ``ajo_message_feedback_event`` and their types.

``profile_id`` is text whatever the type of the dimension's key, so one frame holds
the events of every dimension.
"""


class DeliveryKey(NamedTuple):
    """What is sent at most once: one activity's message to one profile."""

    campaign_id: str
    execution_id: str
    activity_id: str
    profile_id: str


@dataclass(frozen=True)
class FeedbackEvent:
    """One delivery outcome or exclusion, before the ledger stamps and keys it."""

    status: EventStatus
    channel: str
    address: str | None = None
    campaign_version: int | None = None
    message_id: str | None = None
    failure_reason: str | None = None
    failure_type: FailureType | None = None
    exclusion_reason: str | None = None

    @classmethod
    def of(
        cls, outcome: Outcome, message: RenderedMessage, campaign_version: int | None
    ) -> FeedbackEvent:
        """The event of a provider's answer for ``message``."""
        return cls(
            status=outcome.status,
            channel=message.channel,
            address=message.address,
            campaign_version=campaign_version,
            message_id=message.message_id,
            failure_reason=outcome.failure_reason,
            failure_type=outcome.failure_type,
        )


@dataclass(frozen=True)
class Recovery:
    """What :meth:`SendLedger.recover` recorded for the keys a crash left claimed."""

    sent: int = 0
    unknown: int = 0


class Receipts(Protocol):
    """Something that knows whether a message was delivered, like the outbox."""

    def contains(self, message_id: str) -> bool:
        """Whether the message with this id went out."""
        ...


class SendLedger:
    """Claims, completions, exclusions and feedback events of a workspace.

    Parameters
    ----------
    database
        The workspace database.
    clock
        Stamps every event.
    """

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock

    def _stamp(self) -> str:
        return self.clock.stamp()

    def profiles(
        self, campaign_id: str, execution_id: str, activity_id: str
    ) -> set[str]:
        """Profiles already claimed or completed by one activity of an execution."""
        rows = self.database.query(
            "SELECT profile_id FROM send_ledger"
            " WHERE campaign_id = ? AND execution_id = ? AND activity_id = ?",
            (campaign_id, execution_id, activity_id),
        )
        return {row[0] for row in rows}

    def claim(
        self,
        key: DeliveryKey,
        message_id: str,
        *,
        channel: str,
        address: str | None = None,
        campaign_version: int | None = None,
    ) -> bool:
        """Claim ``key`` before sending; False when it was claimed before.

        The claim is committed before this returns. A caller that gets False must
        not send.
        """
        with self.database.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO send_ledger (campaign_id, execution_id, activity_id,"
                " profile_id, message_id, state, campaign_version, channel, address,"
                " claimed_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (*key, message_id, campaign_version, channel, address, self._stamp()),
            )
            return cursor.rowcount == 1

    def complete(self, key: DeliveryKey, event: FeedbackEvent) -> None:
        """Mark a claimed key done and write its event, in one transaction.

        Raises
        ------
        WorkspaceError
            When ``key`` is not claimed, or is already done.
        """
        with self.database.transaction() as connection:
            self._mark_done(connection, key)
            self._insert_event(connection, key, event)

    def exclude(self, key: DeliveryKey, event: FeedbackEvent) -> bool:
        """Record an exclusion: a done key and its ``exclude`` event, together.

        Returns False, writing nothing, when ``key`` is already in the ledger.
        """
        if event.status != "exclude" or not event.exclusion_reason:
            raise ValueError(
                f"an exclusion needs status 'exclude' and a reason, got "
                f"{event.status!r} with reason {event.exclusion_reason!r}"
            )
        with self.database.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO send_ledger (campaign_id, execution_id, activity_id,"
                " profile_id, message_id, state, campaign_version, channel, address,"
                " claimed_at) VALUES (?, ?, ?, ?, '', 'done', ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (
                    *key,
                    event.campaign_version,
                    event.channel,
                    event.address,
                    self._stamp(),
                ),
            )
            if cursor.rowcount != 1:
                return False
            self._insert_event(connection, key, event)
        return True

    def pending(self, execution_id: str) -> list[sqlite3.Row]:
        """Keys of an execution claimed but never completed."""
        return self.database.query(
            "SELECT * FROM send_ledger WHERE execution_id = ? AND state = 'pending'"
            " ORDER BY rowid",
            (execution_id,),
        )

    def recover(self, execution_id: str, outbox: Receipts | None) -> Recovery:
        """Give every key a crash left claimed its one event; never send again.

        A message the outbox holds was sent. Any other one may or may not have gone
        out, so it gets an ``error`` event (``interrupted: delivery outcome
        unknown``, soft) rather than a second try.

        Notes
        -----
        Run it only when no sender works on the execution any more: a key that a
        live sender has claimed looks the same as one a crash left.
        """
        sent = unknown = 0
        for row in self.pending(execution_id):
            key = DeliveryKey(
                row["campaign_id"],
                row["execution_id"],
                row["activity_id"],
                row["profile_id"],
            )
            went_out = outbox is not None and outbox.contains(row["message_id"])
            event = FeedbackEvent(
                status="sent" if went_out else "error",
                channel=row["channel"],
                address=row["address"],
                campaign_version=row["campaign_version"],
                message_id=row["message_id"],
                failure_reason=None if went_out else INTERRUPTED,
                failure_type=None if went_out else "soft",
            )
            self.complete(key, event)
            if went_out:
                sent += 1
            else:
                unknown += 1
        if sent or unknown:
            logger.warning(
                "execution %s: recovered %d interrupted sends (%d in the outbox, "
                "%d with an unknown outcome)",
                execution_id,
                sent + unknown,
                sent,
                unknown,
            )
        return Recovery(sent, unknown)

    def events(
        self, campaign_id: str | None = None, execution_id: str | None = None
    ) -> pl.DataFrame:
        """Feedback events, oldest first, as ``ajo_message_feedback_event`` rows."""
        sql = f"SELECT {', '.join(FEEDBACK_COLUMNS)} FROM feedback_events WHERE 1 = 1"
        parameters: list[str] = []
        if campaign_id is not None:
            sql += " AND campaign_id = ?"
            parameters.append(campaign_id)
        if execution_id is not None:
            sql += " AND execution_id = ?"
            parameters.append(execution_id)
        rows = self.database.query(sql + " ORDER BY rowid", parameters)
        schema = {**FEEDBACK_COLUMNS, "timestamp": pl.String}
        frame = pl.DataFrame([tuple(row) for row in rows], schema=schema, orient="row")
        stamp = pl.col("timestamp").str.to_datetime(time_zone="UTC", time_unit="us")
        return frame.with_columns(stamp)

    def _mark_done(self, connection: sqlite3.Connection, key: DeliveryKey) -> None:
        cursor = connection.execute(
            "UPDATE send_ledger SET state = 'done' WHERE campaign_id = ?"
            " AND execution_id = ? AND activity_id = ? AND profile_id = ?"
            " AND state = 'pending'",
            key,
        )
        if cursor.rowcount != 1:
            raise WorkspaceError(
                f"send ledger: can't complete {'/'.join(key)}: it is not claimed "
                "or already done"
            )

    def _insert_event(
        self, connection: sqlite3.Connection, key: DeliveryKey, event: FeedbackEvent
    ) -> None:
        connection.execute(
            f"INSERT INTO feedback_events ({', '.join(FEEDBACK_COLUMNS)})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self._stamp(),
                key.campaign_id,
                event.campaign_version,
                key.execution_id,
                key.activity_id,
                event.message_id,
                key.profile_id,
                event.channel,
                event.address,
                event.status,
                event.failure_reason,
                event.failure_type,
                event.exclusion_reason,
            ),
        )
