"""The SMTP provider: e-mail through a real mail server, one recipient per message.

The server's answer for each recipient becomes the outcome: 2xx is ``sent``, 5xx a
hard ``bounce``, 4xx and lost connections a soft, transient ``error``. One connection
is kept open across messages and opened again after a failure.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.header import Header
from email.mime.text import MIMEText
from email.utils import make_msgid

from ajo_workbench.delivery.outcome import (
    SENT,
    Outcome,
    bounce,
    hard_error,
    soft_error,
)
from ajo_workbench.delivery.templates import RenderedMessage

logger = logging.getLogger(__name__)

MESSAGE_DOMAIN = "ajo-workbench.invalid"
"""The domain part of Message-ID headers."""


class SmtpProvider:
    """Sends e-mail through an SMTP server.

    Parameters
    ----------
    host, port
        The server.
    starttls
        Upgrade the connection with STARTTLS before sending.
    username, password
        Log in with these when both are given.
    sender
        The From address of messages whose activity sets no ``sender``.
    timeout
        Seconds to wait for the server on each command.

    Notes
    -----
    A connection lost while the message is handed over (after ``DATA``) is an error
    that is not retried: the server may have taken the message, and SMTP gives no
    way to tell, so the outcome is recorded as unknown rather than risking a second
    copy. A connection lost before that is retried.
    """

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        sender: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.starttls = starttls
        self.username = username
        self.password = password
        self.sender = sender
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"SmtpProvider({self.host!r}, {self.port})"

    def __enter__(self) -> SmtpProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, message: RenderedMessage) -> Outcome:
        """Send one message and turn the server's answer into an outcome."""
        sender = message.sender or self.sender
        if not sender:
            return hard_error("smtp: the message has no sender and none is configured")
        if not message.address:
            return bounce("smtp: the message has no recipient address")
        email = _email(message, sender)

        try:
            connection = self._connect()
            code, text = connection.mail(sender)
            if code != 250:
                connection.rset()
                return _answer(code, text, "sender refused", recipient=False)
            code, text = connection.rcpt(message.address)
            if code not in (250, 251):
                connection.rset()
                return _answer(code, text, "recipient refused", recipient=True)
        except smtplib.SMTPResponseException as error:
            self._drop()
            return _answer(error.smtp_code, error.smtp_error, "server answered", False)
        except (smtplib.SMTPException, OSError) as error:
            self._drop()  # nothing was handed over yet: safe to try again
            return soft_error(f"smtp: {self.host}:{self.port}: {error or type(error)}")

        try:
            code, text = connection.data(email)
        except smtplib.SMTPResponseException as error:
            self._drop()
            return _answer(error.smtp_code, error.smtp_error, "refused", True)
        except (smtplib.SMTPException, OSError) as error:
            # The server may have taken the message before the connection was
            # lost: sending it again could deliver it twice, so it is not retried.
            self._drop()
            reason = (
                f"smtp: {self.host}:{self.port}: connection lost while handing over "
                f"the message ({error or type(error)}): delivery outcome unknown"
            )
            return Outcome("error", "soft", reason, transient=False)
        if code != 250:
            return _answer(code, text, "refused", recipient=True)
        return SENT

    def close(self) -> None:
        """Say goodbye to the server, if connected."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            connection.ehlo()
            if self.starttls:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if self.username and self.password:
                connection.login(self.username, self.password)
        except BaseException:
            connection.close()
            raise
        logger.debug("connected to smtp server %s:%s", self.host, self.port)
        self._connection = connection
        return connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def _email(message: RenderedMessage, sender: str) -> bytes:
    # The compat32 classes build a message several times faster than EmailMessage,
    # which matters at thousands of messages per send.
    email = MIMEText(message.body, "html" if message.html else "plain", "utf-8")
    email["From"] = sender
    email["To"] = message.address
    subject = message.subject or ""
    email["Subject"] = (
        subject if subject.isascii() else Header(subject, "utf-8").encode()
    )
    email["Message-ID"] = make_msgid(idstring=message.message_id, domain=MESSAGE_DOMAIN)
    email["X-Ajo-Message-Id"] = message.message_id
    return email.as_bytes()


def _answer(code: int, text: bytes | str, what: str, recipient: bool) -> Outcome:
    said = text.decode(errors="replace") if isinstance(text, bytes) else text
    reason = f"smtp {code}: {what}: {said}".strip()
    if 200 <= code < 400:
        return SENT
    if 500 <= code < 600:
        return bounce(reason) if recipient else hard_error(reason)
    return soft_error(reason)
