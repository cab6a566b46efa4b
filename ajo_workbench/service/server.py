"""Running the signal API with uvicorn, in the foreground or in a thread.

Both bind to 127.0.0.1 unless another host is asked for, and can call a function
periodically while serving (the scheduler's due occurrences and waits).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import uvicorn

from ajo_workbench.errors import ServiceError
from ajo_workbench.service.api import DEFAULT_MAX_BODY, SignalTarget, create_app
from ajo_workbench.service.tokens import TokenCheck

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
# How long a stopping server waits for requests in flight before cancelling them.
SHUTDOWN_GRACE_SECONDS = 10
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_BACKLOG = 2048


def serve(
    target: SignalTarget,
    token: TokenCheck | str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    on_tick: Callable[[], None] | None = None,
    tick_seconds: float = 1.0,
    *,
    max_body: int = DEFAULT_MAX_BODY,
) -> None:
    """Serve the signal API until SIGINT or SIGTERM, then return.

    Parameters
    ----------
    target, token, max_body
        As for :func:`~ajo_workbench.service.api.create_app`.
    host, port
        Where to listen; port 0 picks a free port (logged at start).
    on_tick
        Called in a thread once at start and then ``tick_seconds`` after each call
        ends, while serving. An exception it raises is logged and ticking goes on.

    Notes
    -----
    On a signal the server stops accepting connections, lets requests in flight
    finish (for up to ``SHUTDOWN_GRACE_SECONDS``), waits for a tick in progress to
    end, and returns. Signals are only caught when called in the main thread.
    """
    ticker = _Ticker(on_tick, tick_seconds) if on_tick is not None else None
    server, sockets = _prepare(target, token, host, port, max_body)
    if ticker is not None:
        ticker.start()
    try:
        server.run(sockets=sockets)
    finally:
        if ticker is not None:
            ticker.stop()
    logger.info("signal service stopped")


class ServiceHandle:
    """A signal API served in a background thread; see :func:`start_in_thread`."""

    def __init__(
        self,
        server: uvicorn.Server,
        thread: threading.Thread,
        ticker: _Ticker | None,
        host: str,
        port: int,
    ) -> None:
        self._server = server
        self._thread = thread
        self._ticker = ticker
        self.host = host
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"

    @property
    def running(self) -> bool:
        """Whether the server thread is still serving."""
        return self._thread.is_alive()

    def stop(self, timeout: float = SHUTDOWN_GRACE_SECONDS + 5) -> None:
        """Stop serving and ticking; returns once the server thread has ended."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        if self._ticker is not None:
            self._ticker.stop()
        if self._thread.is_alive():
            raise ServiceError(
                f"the signal service at {self.url} did not stop within {timeout} s"
            )

    def __enter__(self) -> ServiceHandle:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ServiceHandle {self.url} {state}>"


def start_in_thread(
    target: SignalTarget,
    token: TokenCheck | str,
    host: str = DEFAULT_HOST,
    port: int = 0,
    on_tick: Callable[[], None] | None = None,
    tick_seconds: float = 1.0,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    startup_timeout: float = 10.0,
) -> ServiceHandle:
    """Serve the signal API in a background thread; returns once it accepts requests.

    Takes the arguments of :func:`serve`; port 0 (the default here) picks a free
    port, and the handle's ``url`` and ``port`` name the real one.

    Examples
    --------
    >>> class Target:
    ...     def trigger(self, campaign_id, variables):
    ...         return "execution-1"
    >>> with start_in_thread(Target(), "secret") as service:
    ...     service.url.startswith("http://127.0.0.1:")
    True
    """
    ticker = _Ticker(on_tick, tick_seconds) if on_tick is not None else None
    server, sockets = _prepare(target, token, host, port, max_body)
    bound_host, bound_port = sockets[0].getsockname()[:2]
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=sockets)
        except BaseException as error:  # SystemExit too: uvicorn exits on failure
            failure.append(error)
            logger.error("the signal service thread failed", exc_info=error)

    thread = threading.Thread(target=run, name="ajo-workbench-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            sockets[0].close()
            cause = failure[0] if failure else None
            raise ServiceError(
                f"the signal service on {host}:{port} failed to start: {cause!r}"
            ) from cause
        if time.monotonic() > deadline:
            server.should_exit = True
            raise ServiceError(
                f"the signal service on {host}:{port} did not start within "
                f"{startup_timeout} s"
            )
        time.sleep(0.005)

    if ticker is not None:
        ticker.start()
    return ServiceHandle(server, thread, ticker, bound_host, bound_port)


class _Server(uvicorn.Server):
    """A uvicorn server that stops on SIGINT/SIGTERM without re-raising them after."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._stop_on) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop_on(self, sig: int, frame: Any) -> None:
        name = signal.Signals(sig).name
        if self.should_exit:
            logger.warning("%s again: stopping without waiting for requests", name)
            self.force_exit = True
        else:
            logger.info("%s: stopping the signal service", name)
            self.should_exit = True


class _Ticker:
    """Calls a function in a thread: once at start, then every ``seconds`` after."""

    def __init__(self, on_tick: Callable[[], None], seconds: float) -> None:
        if not seconds > 0:
            raise ServiceError(f"tick_seconds must be > 0, got {seconds}")
        self._on_tick = on_tick
        self._seconds = seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="ajo-workbench-tick", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop ticking; waits for a tick in progress to end."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._on_tick()
            except Exception:
                logger.exception("the periodic tick failed; ticking goes on")
            self._stopping.wait(self._seconds)


def _prepare(
    target: SignalTarget,
    token: TokenCheck | str,
    host: str,
    port: int,
    max_body: int,
) -> tuple[_Server, list[socket.socket]]:
    app = create_app(target, token, max_body=max_body)
    sock = _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=bound_host,
        port=bound_port,
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        backlog=_BACKLOG,
    )
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    logger.info("signal service listening on http://%s:%d", shown, bound_port)
    return _Server(config), [sock]


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port``, or a ServiceError saying why not."""
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ServiceError(f"port must be a number from 0 to 65535, got {port!r}")
    try:
        found = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise ServiceError(f"can't resolve host {host!r}: {error.strerror}") from None
    family, kind, protocol, _, address = found[0]

    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        # Listening now lets connections queue until uvicorn accepts them, so
        # "listening on" is true as soon as it is logged.
        sock.listen(_BACKLOG)
    except OSError as error:
        sock.close()
        raise ServiceError(
            f"can't listen on {host}:{port}: {error.strerror or error}"
        ) from None

    bound = str(sock.getsockname()[0])
    if not ipaddress.ip_address(bound.split("%")[0]).is_loopback:
        logger.warning(
            "the signal service listens on %s, reachable beyond this machine", bound
        )
    return sock
