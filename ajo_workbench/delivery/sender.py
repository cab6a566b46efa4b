"""Sending one channel activity's message to a population, exactly once per profile.

For each row: a profile the ledger already holds is skipped; a profile without an
address, or without consent for a marketing message, gets an ``exclude`` event; any
other is rendered, claimed, delivered and completed with its feedback event. A
message is rendered before its claim, so a template error stops the send without
leaving a claimed key behind.

A live execution sends a work table like this::

    ledger = SendLedger(workspace.database, workspace.clock)
    ledger.recover(execution_id, outbox)  # once, before resuming after a crash
    summary = send_population(
        frame.iter_rows(named=True),
        channel="email",
        settings=activity.settings,
        campaign_id=campaign_id,
        campaign_version=version,
        execution_id=execution_id,
        activity_id=activity.id,
        ledger=ledger,
        provider=provider_for("email", config, workspace.path),
        clock=workspace.clock,
    )
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ajo_workbench.clock import Clock
from ajo_workbench.delivery.ledger import DeliveryKey, FeedbackEvent, SendLedger
from ajo_workbench.delivery.outcome import Outcome, Provider, deliver
from ajo_workbench.delivery.pacing import Pacer
from ajo_workbench.delivery.templates import RenderedMessage, render_message
from ajo_workbench.errors import DataError, ExecutionError
from ajo_workbench.model.catalogue import CHANNEL_ADDRESS, CHANNEL_CONSENT

logger = logging.getLogger(__name__)

NO_ADDRESS = "no_address"
NO_CONSENT = "no_consent"
ERROR_LIMIT = 10
"""Failed messages in a row that stop a send by default."""


@dataclass
class SendSummary:
    """What one call of :func:`send_population` did.

    ``targeted`` counts the rows it read; every one of them was skipped (already in
    the ledger), excluded, sent, bounced or failed.
    """

    targeted: int = 0
    skipped: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    bounced: int = 0
    errors: int = 0
    stopped: bool = False
    elapsed: float = 0.0

    @property
    def excluded_total(self) -> int:
        """Exclusions of every reason."""
        return sum(self.excluded.values())

    @property
    def per_second(self) -> float:
        """Messages sent, bounced or failed per second of the send."""
        attempted = self.sent + self.bounced + self.errors
        return attempted / self.elapsed if self.elapsed > 0 else 0.0


def _consents(value: Any) -> bool:
    return value is True or (type(value) is int and value == 1)


def _address(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def send_population(
    rows: Iterable[Mapping[str, Any]],
    *,
    channel: str,
    settings: Mapping[str, Any],
    campaign_id: str,
    campaign_version: int | None,
    execution_id: str,
    activity_id: str,
    ledger: SendLedger,
    provider: Provider,
    clock: Clock,
    rate_per_second: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
    key_column: str = "profile_id",
    variables: Mapping[str, Any] | None = None,
    attempts: int = 4,
    backoff: float = 0.5,
    error_limit: int | None = ERROR_LIMIT,
) -> SendSummary:
    """Send a channel activity's message to every row, at most once per profile.

    Parameters
    ----------
    rows
        The population that reached the activity, one mapping per profile with its
        key, address, consent and the columns the templates read.
    channel
        ``"email"``, ``"sms"`` or ``"push"``.
    settings
        The activity's settings (content, ``sender``, ``category``,
        ``address_field``, ``rate_per_second``).
    campaign_id, campaign_version, execution_id, activity_id
        Where the messages come from; they key the ledger and the events.
    ledger
        Records claims and events.
    provider
        Delivers the messages.
    clock
        Paces the send and measures it.
    rate_per_second
        Messages per second at most; None reads the activity's ``rate_per_second``,
        and no rate (or 0) sends as fast as the provider takes them.
    should_stop
        Asked before each row; the send stops when it answers True.
    sleep
        Waits for the rate and between retries (injectable for tests).
    key_column
        The column of the profile key.
    variables
        The campaign's variables, which templates read too; a row's column wins
        over a variable of the same name.
    attempts, backoff
        Passed to :func:`~ajo_workbench.delivery.outcome.deliver`.
    error_limit
        Failed messages in a row (after their retries) that stop the send with an
        error, so a broken provider (a server down, a wrong password) is fixed
        and the send resumed rather than failing every remaining message; None
        never stops.

    Returns
    -------
    SendSummary
        Counts of this call and its duration on the clock.

    Raises
    ------
    DataError
        When a row lacks the key, address or (for marketing) consent column.
    TemplateError
        When a message can't be rendered for a row; nothing was sent for it.
    ExecutionError
        When ``error_limit`` messages in a row failed; each has its event, and a
        later call for the same execution carries on with the rest.
    """
    rate = (
        settings.get("rate_per_second") if rate_per_second is None else rate_per_second
    )
    send = _Send(
        channel,
        settings,
        campaign_version,
        DeliveryKey(campaign_id, execution_id, activity_id, ""),
        ledger,
        key_column,
        dict(variables or {}),
        error_limit,
        lambda message: deliver(
            provider, message, attempts=attempts, backoff=backoff, sleep=sleep
        ),
    )
    pacer = Pacer(rate, clock, sleep)
    started = clock.now()

    for row in rows:
        if should_stop():
            send.summary.stopped = True
            break
        send.row(row, pacer)

    summary = send.summary
    summary.elapsed = (clock.now() - started).total_seconds()
    where = f"{campaign_id}/{execution_id}/{activity_id}"
    logger.info(
        "%s: %d targeted, %d sent, %d bounced, %d errors, %d excluded, "
        "%d skipped in %.1f s",
        where,
        summary.targeted,
        summary.sent,
        summary.bounced,
        summary.errors,
        summary.excluded_total,
        summary.skipped,
        summary.elapsed,
    )
    if summary.stopped:
        logger.warning("%s: stopped after %d rows", where, summary.targeted)
    return summary


class _Send:
    """One activity's send: the steps each row goes through."""

    def __init__(
        self,
        channel: str,
        settings: Mapping[str, Any],
        campaign_version: int | None,
        activity: DeliveryKey,
        ledger: SendLedger,
        key_column: str,
        variables: dict[str, Any],
        error_limit: int | None,
        deliver: Callable[[RenderedMessage], Outcome],
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.version = campaign_version
        self.activity = activity
        self.ledger = ledger
        self.key_column = key_column
        self.variables = variables
        self.error_limit = error_limit
        self.failed_in_a_row = 0
        self.deliver = deliver
        self.address_field = settings.get("address_field") or CHANNEL_ADDRESS[channel]
        self.consent_field = CHANNEL_CONSENT[channel]
        self.marketing = settings.get("category", "marketing") == "marketing"
        self.needed = [key_column, self.address_field]
        if self.marketing:
            self.needed.append(self.consent_field)
        self.done = ledger.profiles(*activity[:3])
        self.summary = SendSummary()

    def row(self, row: Mapping[str, Any], pacer: Pacer) -> None:
        """Skip, exclude or send one row."""
        self.summary.targeted += 1
        for column in self.needed:
            if column not in row:
                raise DataError(
                    f"{self.channel} {self.activity.activity_id!r}: the population "
                    f"has no column {column!r} (columns: {', '.join(sorted(row))})"
                )
        profile_id = str(row[self.key_column])
        if profile_id in self.done:
            self.summary.skipped += 1
            return
        key = self.activity._replace(profile_id=profile_id)

        address = _address(row[self.address_field])
        if address is None:
            self.exclude(key, address, NO_ADDRESS)
        elif self.marketing and not _consents(row[self.consent_field]):
            self.exclude(key, address, NO_CONSENT)
        else:
            self.send(key, address, row, pacer)

    def exclude(self, key: DeliveryKey, address: str | None, reason: str) -> None:
        """Record an exclusion, unless another sender recorded the key first."""
        event = FeedbackEvent(
            "exclude", self.channel, address, self.version, exclusion_reason=reason
        )
        if self.ledger.exclude(key, event):
            self.summary.excluded[reason] += 1
        else:
            self.summary.skipped += 1

    def send(
        self, key: DeliveryKey, address: str, row: Mapping[str, Any], pacer: Pacer
    ) -> None:
        """Render, claim, deliver and complete one message."""
        values = {**self.variables, **row} if self.variables else row
        message = render_message(
            self.channel,
            self.settings,
            values,
            activity_id=key.activity_id,
            message_id=uuid.uuid4().hex,
            profile_id=key.profile_id,
        )
        claimed = self.ledger.claim(
            key,
            message.message_id,
            channel=self.channel,
            address=address,
            campaign_version=self.version,
        )
        if not claimed:
            self.summary.skipped += 1
            return

        pacer.wait()
        outcome = self.deliver(message)
        self.ledger.complete(key, FeedbackEvent.of(outcome, message, self.version))
        logger.debug("%s: %s %s", key.profile_id, outcome.status, address)
        if outcome.ok:
            self.summary.sent += 1
        elif outcome.status == "bounce":
            self.summary.bounced += 1
        else:
            self.summary.errors += 1
            self.failed_in_a_row += 1
            if self.error_limit and self.failed_in_a_row >= self.error_limit:
                raise ExecutionError(
                    f"{self.channel} {key.activity_id!r}: {self.failed_in_a_row} "
                    f"messages in a row failed (last: {outcome.failure_reason}); "
                    "the send stopped, resume it once the provider works"
                )
            return
        self.failed_in_a_row = 0
