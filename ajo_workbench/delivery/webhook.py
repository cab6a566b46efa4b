"""The webhook provider: SMS and push as one HTTP POST per message.

Each message is posted as JSON with an ``Idempotency-Key`` header holding its message
id, so an endpoint can drop the copy a retry sends after a lost answer. A 2xx answer
is ``sent``; 429, 5xx, timeouts and connection errors are soft, transient errors; any
other 4xx is a hard error, not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx

from ajo_workbench.delivery.outcome import SENT, Outcome, hard_error, soft_error
from ajo_workbench.delivery.templates import RenderedMessage

logger = logging.getLogger(__name__)

REASON_LIMIT = 200
"""Characters of a response body kept in a failure reason."""


class WebhookProvider:
    """Posts each message to an HTTP endpoint.

    Parameters
    ----------
    url
        The endpoint.
    timeout
        Seconds to wait for the endpoint.
    headers
        Extra headers of every request (e.g. an authorization).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._client = httpx.Client(timeout=timeout, headers=dict(headers or {}))

    def __repr__(self) -> str:
        return f"WebhookProvider({self.url!r})"

    def __enter__(self) -> WebhookProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, message: RenderedMessage) -> Outcome:
        """Post one message and turn the answer into an outcome."""
        payload = {
            "message_id": message.message_id,
            "channel": message.channel,
            "profile_id": message.profile_id,
            "address": message.address,
            "title": message.subject,
            "body": message.body,
        }
        headers = {"Idempotency-Key": message.message_id}
        try:
            response = self._client.post(self.url, json=payload, headers=headers)
        except httpx.TimeoutException:
            return soft_error(f"webhook: no answer from {self.url} in {self.timeout} s")
        except httpx.HTTPError as error:
            return soft_error(f"webhook: {self.url}: {error or type(error).__name__}")
        return _answer(response)

    def close(self) -> None:
        """Close the connections kept open."""
        self._client.close()


def _answer(response: httpx.Response) -> Outcome:
    code = response.status_code
    if 200 <= code < 300:
        return SENT
    said = response.text.strip()[:REASON_LIMIT]
    reason = f"webhook {code}: {said or response.reason_phrase}"
    if code == 429 or code >= 500:
        return soft_error(reason)
    return hard_error(reason)
