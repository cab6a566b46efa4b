"""The signal API over real HTTP: a uvicorn server on 127.0.0.1 and an httpx client."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from fake_target import (
    DRAFT,
    FAILING,
    LIVE,
    SCHEDULED,
    SECRET_DETAIL,
    SLOW,
    THROTTLED,
    TOKEN,
    FakeTarget,
    in_own_thread,
)

from ajo_workbench.errors import ServiceError
from ajo_workbench.service import ServiceHandle, create_app, start_in_thread

TRIGGER = f"/campaigns/{LIVE}/trigger"


def test_health_answers_without_a_token(client: httpx.Client) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_an_accepted_signal_reaches_the_target_with_its_variables(
    client: httpx.Client, target: FakeTarget, auth: dict[str, str]
) -> None:
    variables = {"coupon": "SPRING", "rate": 0.25, "count": 3, "vip": True, "x": None}
    answer = client.post(TRIGGER, json={"variables": variables}, headers=auth)
    assert answer.status_code == 200
    assert answer.json() == {"execution_id": "execution-1", "campaign_id": LIVE}
    assert target.calls == [(LIVE, variables)]
    assert type(target.calls[0][1]["count"]) is int


@pytest.mark.parametrize("body", [b"", b"  \n", b"{}", b'{"variables": {}}'], ids=repr)
def test_variables_are_optional(
    client: httpx.Client, target: FakeTarget, auth: dict[str, str], body: bytes
) -> None:
    answer = client.post(TRIGGER, content=body, headers=auth)
    assert answer.status_code == 200, answer.text
    assert target.calls == [(LIVE, {})]


def test_a_missing_token_is_refused_with_401(
    client: httpx.Client, target: FakeTarget
) -> None:
    answer = client.post(TRIGGER, json={"variables": {}})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "Authorization" in answer.json()["error"]
    assert target.calls == []


@pytest.mark.parametrize(
    "header",
    [
        TOKEN,
        f"Basic {TOKEN}",
        "Bearer",
        "Bearer =abc",
        f"Bearer {TOKEN} extra",
        f"Bearer {TOKEN[:5]}\u00e9{TOKEN[5:]}",
        f"Token {TOKEN}",
    ],
)
def test_a_garbled_authorization_header_is_refused_with_401(
    client: httpx.Client, target: FakeTarget, header: str
) -> None:
    answer = client.post(
        TRIGGER, json={}, headers={"Authorization": header.encode("latin-1")}
    )
    assert answer.status_code == 401
    assert 'error="invalid_request"' in answer.headers["WWW-Authenticate"]
    assert "malformed Authorization header" in answer.json()["error"]
    assert target.calls == []


@pytest.mark.parametrize(
    "token", [TOKEN + "x", TOKEN[:-1], "another-token", TOKEN.upper()]
)
def test_a_wrong_token_is_refused_with_403(
    client: httpx.Client, target: FakeTarget, token: str
) -> None:
    answer = client.post(TRIGGER, json={}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403
    assert answer.json() == {"error": "the bearer token is not the service's token"}
    assert target.calls == []


def test_the_bearer_scheme_is_case_insensitive(
    client: httpx.Client, target: FakeTarget
) -> None:
    answer = client.post(TRIGGER, headers={"Authorization": f"bearer {TOKEN}"})
    assert answer.status_code == 200
    assert len(target.calls) == 1


def test_the_token_is_checked_before_the_body(
    client: httpx.Client, target: FakeTarget
) -> None:
    answer = client.post(TRIGGER, content=b"not json")
    assert answer.status_code == 401
    assert target.calls == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "body is not valid JSON: Expecting property name"),
        (b'{"variables": {"a": 1,}}', "body is not valid JSON"),
        (b"variables=1", "body is not valid JSON: Expecting value (line 1, column 1)"),
        (b'{"variables": {"a": NaN}}', "NaN is not a JSON number"),
        (b'{"variables": {"a": Infinity}}', "Infinity is not a JSON number"),
        (b'{"variables": {}, "variables": {}}', "duplicate key 'variables'"),
        (b'{"variables": {"a": "\xff"}}', "body is not UTF-8: byte 21 is invalid"),
        (b"[" * 2000 + b"]" * 2000, "body is not valid JSON"),
    ],
    ids=[
        "truncated",
        "trailing-comma",
        "form",
        "nan",
        "infinity",
        "duplicate-key",
        "not-utf8",
        "deep-nesting",
    ],
)
def test_malformed_json_is_refused_with_400(
    client: httpx.Client,
    target: FakeTarget,
    auth: dict[str, str],
    body: bytes,
    message: str,
) -> None:
    answer = client.post(TRIGGER, content=body, headers=auth)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert target.calls == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], 'body must be a JSON object like {"variables": {...}}, got an array'),
        ("go", 'body must be a JSON object like {"variables": {...}}, got a string'),
        (7, "got a number"),
        ({"vars": {}}, "body has unknown key(s) 'vars'; allowed: 'variables'"),
        (
            {"variables": {}, "campaign": "x", "at": 1},
            "body has unknown key(s) 'at', 'campaign'; allowed: 'variables'",
        ),
        ({"variables": [1]}, "'variables' must be an object of JSON scalars, got an"),
        ({"variables": "a=1"}, "'variables' must be an object of JSON scalars"),
        (
            {"variables": None},
            "'variables' must be an object of JSON scalars, got null",
        ),
        (
            {"variables": {"ok": 1, "tags": ["a"]}},
            "variable 'tags' must be a string, number, boolean or null, got an array",
        ),
        (
            {"variables": {"address": {"city": "Lyon"}}},
            "variable 'address' must be a string, number, boolean or null, got an obj",
        ),
        ({"variables": {"": 1}}, "'variables' has an empty name"),
    ],
)
def test_a_wrong_body_shape_is_refused_with_400(
    client: httpx.Client,
    target: FakeTarget,
    auth: dict[str, str],
    document: Any,
    message: str,
) -> None:
    answer = client.post(TRIGGER, json=document, headers=auth)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert target.calls == []


def test_a_null_body_is_refused(
    client: httpx.Client, target: FakeTarget, auth: dict[str, str]
) -> None:
    answer = client.post(TRIGGER, content=b"null", headers=auth)
    assert answer.status_code == 400
    assert answer.json()["error"].endswith("got null")
    assert target.calls == []


def test_a_body_over_the_limit_is_refused_with_413_by_its_length(
    client: httpx.Client, target: FakeTarget, auth: dict[str, str]
) -> None:
    body = b'{"variables": {"a": "' + b"x" * 5000 + b'"}}'
    answer = client.post(TRIGGER, content=body, headers=auth)
    assert answer.status_code == 413
    assert answer.json()["error"] == (
        f"request body too large: Content-Length is {len(body)}; "
        "at most 4096 bytes are accepted"
    )
    assert answer.headers["Connection"] == "close"
    assert target.calls == []


def test_a_streamed_body_over_the_limit_is_refused_with_413(
    client: httpx.Client, target: FakeTarget, auth: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"variables": {"a": "'
        for _ in range(9):
            yield b"x" * 512
        yield b'"}}'

    answer = client.post(TRIGGER, content=chunks(), headers=auth)
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413
    assert "more than 4096 bytes arrived" in answer.json()["error"]
    assert target.calls == []


def test_a_body_at_the_limit_is_accepted(
    client: httpx.Client, target: FakeTarget, auth: dict[str, str]
) -> None:
    head, tail = b'{"variables": {"a": "', b'"}}'
    body = head + b"x" * (4096 - len(head) - len(tail)) + tail
    assert len(body) == 4096
    answer = client.post(TRIGGER, content=body, headers=auth)
    assert answer.status_code == 200
    assert target.calls == [(LIVE, {"a": "x" * (4096 - len(head) - len(tail))})]


def test_a_garbled_content_length_is_refused(
    service: ServiceHandle, target: FakeTarget
) -> None:
    # h11 refuses it before the application sees it; either way nothing runs.
    request = (
        f"POST {TRIGGER} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Length: 12abc\r\n\r\n{}"
    ).encode()
    reply = _raw(service, request)
    assert reply.startswith(b"HTTP/1.1 400")
    assert target.calls == []


def test_the_streamed_read_stops_at_the_limit() -> None:
    """The app pulls no more of an endless body than the limit and one chunk."""
    target = FakeTarget()
    app = create_app(target, TOKEN, max_body=10_000)
    pulled = 0

    async def endless() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    sent = _asgi(app, [], endless)
    assert sent[0]["status"] == 413
    assert pulled == 11
    assert target.calls == []


def test_a_content_length_that_is_no_number_is_400_in_the_app() -> None:
    target = FakeTarget()
    app = create_app(target, TOKEN)

    async def empty() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    sent = _asgi(app, [(b"content-length", "\u00b2".encode("latin-1"))], empty)
    assert sent[0]["status"] == 400
    assert b"Content-Length must be a byte count" in sent[1]["body"]
    assert target.calls == []


def _asgi(
    app: Any, headers: list[tuple[bytes, bytes]], receive: Any
) -> list[dict[str, Any]]:
    """The messages ``app`` sends for one authorised trigger request."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": TRIGGER,
        "raw_path": TRIGGER.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode()), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    in_own_thread(lambda: anyio.run(app, scope, receive, send))
    return sent


def test_an_unknown_campaign_is_404(
    client: httpx.Client, target: FakeTarget, auth: dict[str, str]
) -> None:
    answer = client.post("/campaigns/nope/trigger", json={}, headers=auth)
    assert answer.status_code == 404
    assert answer.json() == {"error": "no campaign has the id 'nope'"}
    assert target.calls == [("nope", {})]


@pytest.mark.parametrize(
    ("campaign", "message"),
    [
        (DRAFT, f"campaign {DRAFT!r} is not live (status: Draft)"),
        (SCHEDULED, f"campaign {SCHEDULED!r} is not signal-triggered"),
    ],
)
def test_a_campaign_that_takes_no_signal_is_400(
    client: httpx.Client, auth: dict[str, str], campaign: str, message: str
) -> None:
    answer = client.post(f"/campaigns/{campaign}/trigger", json={}, headers=auth)
    assert answer.status_code == 400
    assert answer.json() == {"error": message}


def test_a_throttled_campaign_is_429_with_retry_after(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    answer = client.post(f"/campaigns/{THROTTLED}/trigger", json={}, headers=auth)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1800"
    assert answer.json() == {
        "error": f"campaign {THROTTLED!r} was triggered within its minimum "
        "interval; retry in 1800 s"
    }


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", TRIGGER, 405),
        ("PUT", TRIGGER, 405),
        ("DELETE", TRIGGER, 405),
        ("POST", "/health", 405),
        ("GET", "/campaigns", 404),
        ("POST", "/campaigns/a/b/trigger", 404),
    ],
)
def test_other_methods_and_paths_are_refused(
    client: httpx.Client,
    target: FakeTarget,
    auth: dict[str, str],
    method: str,
    path: str,
    status: int,
) -> None:
    answer = client.request(method, path, headers=auth)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]
    if status == 405:
        allowed = {m.strip() for m in answer.headers["Allow"].split(",")}
        assert allowed == ({"POST"} if path == TRIGGER else {"GET", "HEAD"})
    assert target.calls == []


def test_a_failing_target_answers_500_without_its_traceback(
    client: httpx.Client, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="ajo_workbench.service"):
        answer = client.post(f"/campaigns/{FAILING}/trigger", json={}, headers=auth)
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error; the service log has the details"}
    assert SECRET_DETAIL not in answer.text
    assert "Traceback" not in answer.text
    assert "RuntimeError" not in answer.text
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.exc_info is not None
    assert SECRET_DETAIL in caplog.text


def test_a_target_that_returns_no_id_answers_500(auth: dict[str, str]) -> None:
    class Wrong:
        def trigger(self, campaign_id: str, variables: dict[str, Any]) -> str:
            return 42  # type: ignore[return-value]

    with (
        start_in_thread(Wrong(), TOKEN) as service,
        httpx.Client(base_url=service.url) as http,
    ):
        answer = http.post(TRIGGER, headers=auth)
    assert answer.status_code == 500
    assert "TypeError" not in answer.text


def test_every_refusal_is_logged_on_one_line_without_the_token(
    client: httpx.Client, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-token-value-Qx9"
    with caplog.at_level(logging.INFO, logger="ajo_workbench.service"):
        client.post(TRIGGER)
        client.post(TRIGGER, headers={"Authorization": f"Bearer {wrong}"})
        client.post(TRIGGER, headers={"Authorization": f"Basic {wrong}"})
        client.post(TRIGGER, content=b"{", headers=auth)
        client.post("/campaigns/nope/trigger", headers=auth)
        client.post(f"/campaigns/{THROTTLED}/trigger", headers=auth)
        client.get(TRIGGER, headers=auth)
        client.post(TRIGGER, headers=auth)

    refusals = [r for r in caplog.records if r.getMessage().startswith("refused ")]
    assert [r.getMessage().split(": ")[1][:3] for r in refusals] == [
        "401",
        "403",
        "401",
        "400",
        "404",
        "429",
        "405",
    ]
    assert all(r.levelno == logging.WARNING for r in refusals)
    for record in caplog.records:
        line = record.getMessage()
        assert "\n" not in line
        assert TOKEN not in line and wrong not in line
    assert "127.0.0.1:" in refusals[0].getMessage()
    accepted = [r for r in caplog.records if r.getMessage().startswith("triggered ")]
    assert len(accepted) == 1


def test_a_newline_in_the_path_stays_on_one_log_line(
    client: httpx.Client, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ajo_workbench.service"):
        answer = client.post("/campaigns/a%0Aforged/trigger", headers=auth)
    assert answer.status_code == 404
    [record] = caplog.records
    assert "\n" not in record.getMessage()


def test_a_blocking_target_does_not_stop_the_server(
    service: ServiceHandle, target: FakeTarget, auth: dict[str, str]
) -> None:
    answers: list[httpx.Response] = []

    def signal_slow() -> None:
        with httpx.Client(base_url=service.url, timeout=20) as http:
            answers.append(http.post(f"/campaigns/{SLOW}/trigger", headers=auth))

    worker = threading.Thread(target=signal_slow)
    worker.start()
    try:
        assert target.entered.wait(10)
        with httpx.Client(base_url=service.url, timeout=2) as http:
            assert http.get("/health").status_code == 200
            assert http.post(TRIGGER, headers=auth).status_code == 200
        assert answers == []
    finally:
        target.release.set()
        worker.join(20)
    assert answers[0].status_code == 200


def test_a_negative_body_limit_is_refused() -> None:
    with pytest.raises(ServiceError, match="max_body must be >= 0 bytes, got -1"):
        create_app(FakeTarget(), TOKEN, max_body=-1)


def test_an_unusable_token_string_is_refused() -> None:
    with pytest.raises(ServiceError, match="not a usable bearer token"):
        create_app(FakeTarget(), "two words")


def _raw(service: ServiceHandle, request: bytes) -> bytes:
    with socket.create_connection((service.host, service.port), timeout=5) as sock:
        sock.sendall(request)
        return sock.recv(4096)
