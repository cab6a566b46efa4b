"""Delivery: rendering, providers, the send ledger and sending a population.

These are the building blocks of live sending; the engine calls
:func:`send_population` for each channel activity of a live execution.
"""

from ajo_workbench.delivery.ledger import (
    FEEDBACK_COLUMNS,
    DeliveryKey,
    FeedbackEvent,
    Recovery,
    SendLedger,
)
from ajo_workbench.delivery.outbox import OutboxProvider
from ajo_workbench.delivery.outcome import Outcome, Provider, deliver
from ajo_workbench.delivery.providers import check_delivery_config, provider_for
from ajo_workbench.delivery.sender import SendSummary, send_population
from ajo_workbench.delivery.smtp import SmtpProvider
from ajo_workbench.delivery.templates import RenderedMessage, render_message
from ajo_workbench.delivery.webhook import WebhookProvider

__all__ = [
    "FEEDBACK_COLUMNS",
    "DeliveryKey",
    "FeedbackEvent",
    "OutboxProvider",
    "Outcome",
    "Provider",
    "Recovery",
    "RenderedMessage",
    "SendLedger",
    "SendSummary",
    "SmtpProvider",
    "WebhookProvider",
    "check_delivery_config",
    "deliver",
    "provider_for",
    "render_message",
    "send_population",
]
