"""The signal service (SPEC §11.3): an HTTP API that triggers campaigns by signal.

:func:`create_app` builds the Starlette application around a :class:`SignalTarget`;
:func:`serve` and :func:`start_in_thread` run it with uvicorn; the token comes from
:func:`workspace_token` and changes with :func:`rotate_token`.
"""

from ajo_workbench.service.api import DEFAULT_MAX_BODY, SignalTarget, create_app
from ajo_workbench.service.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ServiceHandle,
    serve,
    start_in_thread,
)
from ajo_workbench.service.tokens import (
    TOKEN_ENV,
    TOKEN_FILE,
    FixedToken,
    TokenCheck,
    TokenFile,
    rotate_token,
    workspace_token,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY",
    "DEFAULT_PORT",
    "TOKEN_ENV",
    "TOKEN_FILE",
    "FixedToken",
    "ServiceHandle",
    "SignalTarget",
    "TokenCheck",
    "TokenFile",
    "create_app",
    "rotate_token",
    "serve",
    "start_in_thread",
    "workspace_token",
]
