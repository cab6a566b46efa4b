"""Sending one channel activity's message to a population, exactly once per profile.

For each row: a profile the ledger already holds is skipped; a profile without an
address, or without consent for a marketing message, gets an ``exclude`` event; any
other is rendered, claimed, delivered and completed with its feedback event. A
message is rendered before its claim, so a template error stops the send without
leaving a claimed key behind.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ajo_workbench.clock import Clock
from ajo_workbench.delivery.ledger import DeliveryKey, FeedbackEvent, SendLedger
from ajo_workbench.delivery.outcome import Provider, deliver
from ajo_workbench.delivery.templates import render_message
from ajo_workbench.errors import DataError
from ajo_workbench.model.catalogue import CHANNEL_ADDRESS, CHANNEL_CONSENT

logger = logging.getLogger(__name__)

NO_ADDRESS = "no_address"
NO_CONSENT = "no_consent"


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


class _Pacer:
    """Spaces messages at least ``1 / rate`` seconds apart on the clock."""

    def __init__(
        self, rate: float | None, clock: Clock, sleep: Callable[[float], None]
    ) -> None:
        if rate is not None and rate < 0:
            raise ValueError(f"rate_per_second must be positive, got {rate}")
        self.interval = timedelta(seconds=1 / rate) if rate else None
        self.clock = clock
        self.sleep = sleep
        self.next_at: datetime | None = None

    def wait(self) -> None:
        if self.interval is None:
            return
        now = self.clock.now()
        if self.next_at is not None and now < self.next_at:
            self.sleep((self.next_at - now).total_seconds())
            now = max(self.clock.now(), self.next_at)
        self.next_at = now + self.interval


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
    attempts: int = 4,
    backoff: float = 0.5,
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
    attempts, backoff
        Passed to :func:`~ajo_workbench.delivery.outcome.deliver`.

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
    """
    address_field = settings.get("address_field") or CHANNEL_ADDRESS[channel]
    consent_field = CHANNEL_CONSENT[channel]
    marketing = settings.get("category", "marketing") == "marketing"
    needed = [key_column, address_field] + ([consent_field] if marketing else [])
    rate = (
        settings.get("rate_per_second") if rate_per_second is None else rate_per_second
    )
    pacer = _Pacer(rate, clock, sleep)
    done = ledger.profiles(campaign_id, execution_id, activity_id)
    summary = SendSummary()
    started = clock.now()

    for row in rows:
        if should_stop():
            summary.stopped = True
            break
        summary.targeted += 1
        for column in needed:
            if column not in row:
                raise DataError(
                    f"{channel} {activity_id!r}: the population has no column "
                    f"{column!r} (columns: {', '.join(sorted(row))})"
                )
        profile_id = str(row[key_column])
        if profile_id in done:
            summary.skipped += 1
            continue
        key = DeliveryKey(campaign_id, execution_id, activity_id, profile_id)

        address = _address(row[address_field])
        reason = None
        if address is None:
            reason = NO_ADDRESS
        elif marketing and not _consents(row[consent_field]):
            reason = NO_CONSENT
        if reason is not None:
            event = FeedbackEvent(
                "exclude", channel, address, campaign_version, exclusion_reason=reason
            )
            if ledger.exclude(key, event):
                summary.excluded[reason] += 1
            else:
                summary.skipped += 1
            continue

        message_id = uuid.uuid4().hex
        message = render_message(
            channel,
            settings,
            row,
            activity_id=activity_id,
            message_id=message_id,
            profile_id=profile_id,
        )
        claimed = ledger.claim(
            key,
            message_id,
            channel=channel,
            address=address,
            campaign_version=campaign_version,
        )
        if not claimed:
            summary.skipped += 1
            continue

        pacer.wait()
        outcome = deliver(
            provider, message, attempts=attempts, backoff=backoff, sleep=sleep
        )
        ledger.complete(key, FeedbackEvent.of(outcome, message, campaign_version))
        if outcome.ok:
            summary.sent += 1
        elif outcome.status == "bounce":
            summary.bounced += 1
        else:
            summary.errors += 1
        logger.debug("%s/%s: %s %s", activity_id, profile_id, outcome.status, address)

    summary.elapsed = (clock.now() - started).total_seconds()
    logger.info(
        "%s/%s/%s: %d targeted, %d sent, %d bounced, %d errors, %d excluded, "
        "%d skipped in %.1f s",
        campaign_id,
        execution_id,
        activity_id,
        summary.targeted,
        summary.sent,
        summary.bounced,
        summary.errors,
        summary.excluded_total,
        summary.skipped,
        summary.elapsed,
    )
    if summary.stopped:
        logger.warning(
            "%s/%s/%s: stopped after %d rows",
            campaign_id,
            execution_id,
            activity_id,
            summary.targeted,
        )
    return summary
