"""Local servers of the delivery tests: SMTP (aiosmtpd) and HTTP, on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    """A port nobody listens on (for now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    content: bytes


@dataclass
class MailServer:
    """An SMTP server whose answers depend on the recipient's local part.

    ``unknown…`` is refused with 550, ``full…`` always with 451, ``grey…`` with 451
    on the first try only; a message to ``vanish…`` is taken, then the connection
    closes before the answer; everyone else is accepted.
    """

    port: int = 0
    received: list[Mail] = field(default_factory=list)
    tries: Counter[str] = field(default_factory=Counter)

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.tries[address] += 1
        local = address.split("@")[0]
        if local.startswith("unknown"):
            return "550 5.1.1 no such user"
        if local.startswith("full"):
            return "451 4.2.2 mailbox full, try later"
        if local.startswith("grey") and self.tries[address] == 1:
            return "451 4.7.1 greylisted, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        mail = Mail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        self.received.append(mail)
        if any(r.split("@")[0].startswith("vanish") for r in envelope.rcpt_tos):
            server.transport.close()  # took the message, then lost the line
        return "250 message accepted"


@contextmanager
def mail_server(login: tuple[str, str] | None = None) -> Iterator[MailServer]:
    """A running :class:`MailServer`, stopped on exit; asks for ``login`` if given."""
    handler = MailServer(port=free_port())
    options: dict[str, Any] = {}
    if login is not None:

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, given: Any
        ) -> AuthResult:
            wanted = (login[0].encode(), login[1].encode())
            ok = (given.login, given.password) == wanted
            # handled=False makes aiosmtpd answer a refusal with 535 itself.
            return AuthResult(success=ok, handled=False)

        options = {
            "authenticator": authenticate,
            "auth_required": True,
            "auth_require_tls": False,
        }
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port, **options)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@dataclass
class Endpoint:
    """A webhook endpoint whose answer depends on the message's address.

    ``bad`` gets 400, ``down`` always 503, ``flaky`` 503 on the first request only,
    ``slow`` an answer after 0.5 s (``lagging``: on the first request only), ``busy``
    429; every other address 200.
    """

    url: str = ""
    requests: list[tuple[dict[str, Any], dict[str, str]]] = field(default_factory=list)
    tries: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, body: dict[str, Any], headers: dict[str, str]) -> int:
        address = body["address"]
        with self.lock:
            self.requests.append((body, headers))
            self.tries[address] += 1
            tries = self.tries[address]
        if address == "bad":
            return 400
        if address == "down" or (address == "flaky" and tries == 1):
            return 503
        if address == "busy":
            return 429
        if address == "slow" or (address == "lagging" and tries == 1):
            threading.Event().wait(0.5)  # taken, but answered after the timeout
        return 200


@contextmanager
def http_endpoint() -> Iterator[Endpoint]:
    """A running :class:`Endpoint`, stopped on exit."""
    state = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            code = state.answer(body, dict(self.headers))
            reply = b"ok" if code == 200 else f"refused with {code}".encode()
            try:
                self.send_response(code)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # a client that timed out has gone; nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
