"""The HTTP API for signals (SPEC §11.3), as a Starlette application.

``POST /campaigns/{id}/trigger`` with ``Authorization: Bearer <token>`` and a JSON body
``{"variables": {...}}`` asks a :class:`SignalTarget` to start an execution of the
campaign. ``GET /health`` answers without a token. Every refusal is answered with a
JSON ``{"error": "..."}`` and logged as one line; the token never reaches the log.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ajo_workbench.errors import (
    ServiceError,
    SignalRefusedError,
    SignalThrottledError,
    UnknownCampaignError,
)
from ajo_workbench.service.tokens import FixedToken, TokenCheck, is_token_syntax

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 64 * 1024
BODY_KEYS = ("variables",)
_REALM = 'Bearer realm="ajo-workbench"'
_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


class SignalTarget(Protocol):
    """What the API signals: starts an execution of a campaign.

    ``trigger`` may block (it touches the workspace database); the API calls it in a
    worker thread. It raises :class:`~ajo_workbench.errors.UnknownCampaignError`,
    :class:`~ajo_workbench.errors.SignalNotAcceptedError` or
    :class:`~ajo_workbench.errors.SignalThrottledError` to refuse, and returns the id of
    the execution it started otherwise.
    """

    def trigger(self, campaign_id: str, variables: dict[str, Any]) -> str:
        """Start an execution of ``campaign_id`` with ``variables``; its id."""
        ...


class _RefusalError(Exception):
    """A request answered with an error status; ``message`` goes to the client."""

    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def create_app(
    target: SignalTarget,
    token: TokenCheck | str,
    *,
    max_body: int = DEFAULT_MAX_BODY,
) -> Starlette:
    """The signal API as an ASGI application.

    Parameters
    ----------
    target
        Receives each accepted signal; see :class:`SignalTarget`.
    token
        The expected bearer token, or a :class:`TokenCheck` that decides (e.g. a
        :class:`~ajo_workbench.service.tokens.TokenFile` that follows rotations).
    max_body
        The largest request body accepted, in bytes; larger ones get 413.

    Notes
    -----
    An empty body means no variables. Variables are an object of JSON scalars
    (strings, numbers, booleans, null); nested values are refused.
    """
    if max_body < 0:
        raise ServiceError(f"max_body must be >= 0 bytes, got {max_body}")
    check = FixedToken(token) if isinstance(token, str) else token

    async def trigger(request: Request) -> Response:
        campaign_id: str = request.path_params["campaign_id"]
        try:
            _authorize(request, check)
            variables = _parse_body(await _read_body(request, max_body))
            execution_id = await _call(target, campaign_id, variables)
        except _RefusalError as refusal:
            return _refuse(request, refusal)
        except ClientDisconnect:
            logger.warning(
                "refused %s %r from %s: client disconnected before the body ended",
                request.method,
                request.url.path,
                _client(request),
            )
            return Response(status_code=400)
        except Exception:
            logger.exception(
                "failed %s %r from %s: unexpected error",
                request.method,
                request.url.path,
                _client(request),
            )
            return JSONResponse(
                {"error": "internal error; the service log has the details"},
                status_code=500,
            )
        logger.info(
            "triggered campaign %r from %s: execution %r with %d variable(s)",
            campaign_id,
            _client(request),
            execution_id,
            len(variables),
        )
        return JSONResponse({"execution_id": execution_id, "campaign_id": campaign_id})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return _refuse(
            request,
            _RefusalError(
                error.status_code, _http_message(error), dict(error.headers or {})
            ),
        )

    async def server_error(request: Request, error: Exception) -> Response:
        logger.error(
            "failed %s %r from %s",
            request.method,
            request.url.path,
            _client(request),
            exc_info=error,
        )
        return JSONResponse(
            {"error": "internal error; the service log has the details"},
            status_code=500,
        )

    routes = [
        Route("/campaigns/{campaign_id}/trigger", trigger, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )


def _authorize(request: Request, check: TokenCheck) -> None:
    header = request.headers.get("authorization")
    if header is None:
        raise _RefusalError(
            401,
            "missing Authorization header; send 'Authorization: Bearer <token>'",
            {"WWW-Authenticate": _REALM},
        )
    scheme, _, presented = header.strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not is_token_syntax(presented):
        raise _RefusalError(
            401,
            "malformed Authorization header; expected 'Bearer <token>'",
            {"WWW-Authenticate": f'{_REALM}, error="invalid_request"'},
        )
    if not check.check(presented):
        raise _RefusalError(403, "the bearer token is not the service's token")


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise _RefusalError(
                400, f"Content-Length must be a byte count, got {declared!r}"
            )
        if int(declared) > limit:
            raise _too_large(limit, f"Content-Length is {int(declared)}")

    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, f"more than {limit} bytes arrived")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int, what: str) -> _RefusalError:
    # The rest of the body is never read, so the connection can't be reused.
    return _RefusalError(
        413,
        f"request body too large: {what}; at most {limit} bytes are accepted",
        {"Connection": "close"},
    )


def _parse_body(body: bytes) -> dict[str, Any]:
    """The variables of a trigger body, or a 400 refusal naming the problem."""
    if not body.strip():
        return {}
    try:
        document = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
        )
    except UnicodeDecodeError as error:
        raise _RefusalError(
            400, f"body is not UTF-8: byte {error.start} is invalid"
        ) from None
    except json.JSONDecodeError as error:
        raise _RefusalError(
            400,
            f"body is not valid JSON: {error.msg} "
            f"(line {error.lineno}, column {error.colno})",
        ) from None
    except (ValueError, RecursionError) as error:
        raise _RefusalError(400, f"body is not valid JSON: {error}") from None

    if not isinstance(document, dict):
        raise _RefusalError(
            400,
            f'body must be a JSON object like {{"variables": {{...}}}}, '
            f"got {_json_type(document)}",
        )
    unknown = sorted(set(document) - set(BODY_KEYS))
    if unknown:
        names = ", ".join(repr(key) for key in unknown)
        message = f"body has unknown key(s) {names}; allowed: 'variables'"
        raise _RefusalError(400, message)

    variables = document.get("variables", {})
    if not isinstance(variables, dict):
        raise _RefusalError(
            400,
            "'variables' must be an object of JSON scalars, "
            f"got {_json_type(variables)}",
        )
    for name, value in variables.items():
        if not name:
            raise _RefusalError(400, "'variables' has an empty name")
        if isinstance(value, dict | list):
            raise _RefusalError(
                400,
                f"variable {name!r} must be a string, number, boolean or null, "
                f"got {_json_type(value)}",
            )
    return variables


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"duplicate key {key!r}")
        document[key] = value
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


async def _call(
    target: SignalTarget, campaign_id: str, variables: dict[str, Any]
) -> str:
    try:
        execution_id = await run_in_threadpool(target.trigger, campaign_id, variables)
    except UnknownCampaignError as error:
        raise _RefusalError(404, str(error)) from None
    except SignalThrottledError as error:
        raise _RefusalError(
            429, str(error), {"Retry-After": str(error.retry_after_seconds)}
        ) from None
    except SignalRefusedError as error:
        raise _RefusalError(400, str(error)) from None
    if not isinstance(execution_id, str):
        raise TypeError(
            f"the signal target returned {type(execution_id).__name__}, "
            "not an execution id"
        )
    return execution_id


def _refuse(request: Request, refusal: _RefusalError) -> Response:
    logger.warning(
        "refused %s %r from %s: %d %r",
        request.method,
        request.url.path,
        _client(request),
        refusal.status,
        refusal.message,
    )
    return JSONResponse(
        {"error": refusal.message},
        status_code=refusal.status,
        headers=refusal.headers,
    )


def _http_message(error: HTTPException) -> str:
    if error.status_code == 404:
        return "no such endpoint; signals go to POST /campaigns/{id}/trigger"
    if error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        return f"method not allowed; allowed: {allowed}"
    return str(error.detail)


def _client(request: Request) -> str:
    if request.client is None:
        return "an unknown client"
    return f"{request.client.host}:{request.client.port}"
