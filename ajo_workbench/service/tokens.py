"""The bearer token that guards the signal API.

The token comes from the ``AJO_WORKBENCH_TOKEN`` environment variable when it is set
(and not blank); otherwise from the file ``service-token`` in the workspace folder,
which is generated on first use (``secrets.token_urlsafe(32)``, mode 0600).

A :class:`TokenFile` re-reads the file when it changes on disk, so a running server
refuses the old token as soon as :func:`rotate_token` has written a new one.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from ajo_workbench.errors import ServiceError

logger = logging.getLogger(__name__)

TOKEN_ENV = "AJO_WORKBENCH_TOKEN"
TOKEN_FILE = "service-token"

# RFC 6750 b64token: the characters a bearer credential may carry.
_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@runtime_checkable
class TokenCheck(Protocol):
    """Decides whether a presented bearer token is the expected one."""

    def check(self, presented: str) -> bool:
        """Whether ``presented`` is the expected token (compared in constant time)."""
        ...


def is_token_syntax(value: str) -> bool:
    """Whether ``value`` has the syntax of a bearer token (RFC 6750 b64token)."""
    return _TOKEN_PATTERN.fullmatch(value) is not None


def _same(expected: str, presented: str) -> bool:
    return hmac.compare_digest(expected.encode(), presented.encode())


class FixedToken:
    """A token given once, e.g. from the environment; never changes."""

    def __init__(self, token: str, source: str = "the given token") -> None:
        token = token.strip()
        if not is_token_syntax(token):
            raise ServiceError(
                f"{source} is not a usable bearer token: it must be non-empty and "
                "use only letters, digits and - . _ ~ + / (then optional '=')"
            )
        self._token = token
        self.source = source

    def check(self, presented: str) -> bool:
        return _same(self._token, presented)

    def __repr__(self) -> str:
        return f"FixedToken(source={self.source!r})"


class TokenFile:
    """The token kept in a file; created if missing, re-read when the file changes.

    Parameters
    ----------
    path
        The token file. A missing file is created with a fresh token and mode 0600.

    Notes
    -----
    A change is noticed by the file's inode, size and modification time, so a token
    written in place within the file system's time resolution, to the same size, is
    only noticed after a later change. :func:`rotate_token` replaces the file (a new
    inode), which is always noticed.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.created = _create_if_missing(self.path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._token: str | None = None
        self.current()

    def current(self) -> str:
        """The token the file holds now."""
        with self._lock:
            try:
                status = self.path.stat()
            except OSError as error:
                raise ServiceError(
                    f"the token file {str(self.path)!r} can't be read: {error.strerror}"
                ) from error
            stamp = (status.st_ino, status.st_size, status.st_mtime_ns)
            if stamp != self._stamp or self._token is None:
                self._token = _read_token(self.path, status)
                self._stamp = stamp
            return self._token

    def check(self, presented: str) -> bool:
        try:
            expected = self.current()
        except ServiceError as error:
            # Refuse everything while the file is unusable, rather than fail open.
            logger.error("refusing the token: %s", error)
            return False
        return _same(expected, presented)

    def __repr__(self) -> str:
        return f"TokenFile({str(self.path)!r})"


def workspace_token(
    folder: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> FixedToken | TokenFile:
    """The token check for a workspace: the environment's token, else the file's.

    Parameters
    ----------
    folder
        The workspace folder; its ``service-token`` file is created when needed.
    environ
        Where to look for ``AJO_WORKBENCH_TOKEN``; ``os.environ`` by default.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> token = workspace_token(folder, environ={})
    >>> token.check(token.current())
    True
    """
    environ = os.environ if environ is None else environ
    given = environ.get(TOKEN_ENV, "")
    if given.strip():
        return FixedToken(given, source=f"${TOKEN_ENV}")
    return TokenFile(_token_path(folder))


def rotate_token(folder: str | os.PathLike[str]) -> str:
    """Write a new token into the workspace's token file and return it.

    The old token is refused from then on, also by a server already running on the
    file. A token set in ``AJO_WORKBENCH_TOKEN`` is not affected: it takes precedence
    over the file.
    """
    path = _token_path(folder)
    token = secrets.token_urlsafe(32)
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        _write_private(staging, token)
        os.replace(staging, path)
    except OSError as error:
        staging.unlink(missing_ok=True)
        raise ServiceError(
            f"can't write the token file {str(path)!r}: {error.strerror}"
        ) from error
    logger.info("rotated the signal token in %s", path)
    return token


def _token_path(folder: str | os.PathLike[str]) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise ServiceError(f"the workspace folder {str(folder)!r} does not exist")
    return folder / TOKEN_FILE


def _create_if_missing(path: Path) -> bool:
    try:
        _write_private(path, secrets.token_urlsafe(32))
    except FileExistsError:
        return False
    except OSError as error:
        raise ServiceError(
            f"can't create the token file {str(path)!r}: {error.strerror}"
        ) from error
    logger.info("generated a signal token in %s", path)
    return True


def _write_private(path: Path, token: str) -> None:
    """Create ``path`` (it must not exist) readable and writable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, f"{token}\n".encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_token(path: Path, status: os.stat_result) -> str:
    if status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning(
            "the token file %s can be read by others (mode %o); chmod 600 it",
            path,
            stat.S_IMODE(status.st_mode),
        )
    try:
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ServiceError(
            f"the token file {str(path)!r} can't be read: {error}"
        ) from error
    if not is_token_syntax(token):
        raise ServiceError(
            f"the token file {str(path)!r} holds no usable token: it must hold one "
            "line of letters, digits and - . _ ~ + / (then optional '=')"
        )
    return token
