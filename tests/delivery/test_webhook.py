"""SMS and push through a real HTTP endpoint on 127.0.0.1 that also fails."""

from __future__ import annotations

import pytest
from servers import Endpoint, free_port

from ajo_workbench.delivery import RenderedMessage, WebhookProvider, deliver


def sms(address: str, message_id: str = "m1") -> RenderedMessage:
    return RenderedMessage("sms", address, None, "Hi Ann", message_id, None, "7")


@pytest.fixture
def provider(endpoint: Endpoint) -> WebhookProvider:
    return WebhookProvider(endpoint.url, timeout=0.2)


def test_a_2xx_answer_is_sent(endpoint: Endpoint, provider: WebhookProvider) -> None:
    outcome = deliver(provider, sms("+33600000000"), sleep=pytest.fail)
    assert (outcome.status, outcome.attempts) == ("sent", 1)
    [(body, headers)] = endpoint.requests
    assert body == {
        "message_id": "m1",
        "channel": "sms",
        "profile_id": "7",
        "address": "+33600000000",
        "title": None,
        "body": "Hi Ann",
    }
    assert headers["Idempotency-Key"] == "m1"
    assert headers["Content-Type"] == "application/json"


def test_a_4xx_answer_is_a_hard_error_never_retried(
    endpoint: Endpoint, provider: WebhookProvider
) -> None:
    delays: list[float] = []
    outcome = deliver(provider, sms("bad"), sleep=delays.append)
    assert (outcome.status, outcome.failure_type, outcome.transient) == (
        "error",
        "hard",
        False,
    )
    assert outcome.failure_reason == "webhook 400: refused with 400"
    assert (outcome.attempts, delays, endpoint.tries["bad"]) == (1, [], 1)


def test_a_5xx_answer_is_retried_with_backoff(
    endpoint: Endpoint, provider: WebhookProvider
) -> None:
    delays: list[float] = []
    outcome = deliver(provider, sms("flaky"), backoff=0.1, sleep=delays.append)
    assert (outcome.status, outcome.attempts) == ("sent", 2)
    assert delays == [0.1]
    assert [body["message_id"] for body, _ in endpoint.requests] == ["m1", "m1"]


def test_a_lasting_5xx_ends_as_a_soft_error(
    endpoint: Endpoint, provider: WebhookProvider
) -> None:
    delays: list[float] = []
    outcome = deliver(provider, sms("down"), attempts=3, sleep=delays.append)
    assert (outcome.status, outcome.failure_type, outcome.attempts) == (
        "error",
        "soft",
        3,
    )
    assert outcome.failure_reason == "webhook 503: refused with 503"
    assert delays == [0.5, 1.0]
    assert endpoint.tries["down"] == 3


def test_429_timeouts_and_no_endpoint_are_transient(
    endpoint: Endpoint, provider: WebhookProvider
) -> None:
    busy = provider.send(sms("busy"))
    assert (busy.status, busy.failure_type, busy.transient) == ("error", "soft", True)
    slow = provider.send(sms("slow"))
    assert (slow.status, slow.failure_type, slow.transient) == ("error", "soft", True)
    assert slow.failure_reason == f"webhook: no answer from {endpoint.url} in 0.2 s"
    nobody = WebhookProvider(f"http://127.0.0.1:{free_port()}/send", timeout=2)
    refused = nobody.send(sms("+33600000000"))
    assert (refused.status, refused.failure_type, refused.transient) == (
        "error",
        "soft",
        True,
    )
    nobody.close()
    provider.close()
