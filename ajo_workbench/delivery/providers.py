"""Choosing a channel's delivery provider from the workspace's delivery config.

The config maps a channel to its provider and that provider's settings; a channel
the config leaves out uses the outbox::

    {
        "email": {"provider": "smtp", "host": "mail.example.com", "port": 587,
                  "starttls": true, "username_env": "SMTP_USER",
                  "password_env": "SMTP_PASSWORD", "sender": "news@example.com"},
        "sms": {"provider": "webhook", "url": "https://sms.example.com/send"},
    }

Credentials never sit in the config: it names the environment variables that hold
them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ajo_workbench.delivery.outbox import OutboxProvider
from ajo_workbench.delivery.outcome import Outcome, Provider, deliver
from ajo_workbench.delivery.smtp import SmtpProvider
from ajo_workbench.delivery.webhook import WebhookProvider
from ajo_workbench.errors import WorkspaceError
from ajo_workbench.model.catalogue import CHANNEL_CONTENT

__all__ = [
    "OutboxProvider",
    "Outcome",
    "Provider",
    "SmtpProvider",
    "WebhookProvider",
    "check_delivery_config",
    "deliver",
    "provider_for",
]

PROVIDERS = {
    "email": ("outbox", "smtp"),
    "sms": ("outbox", "webhook"),
    "push": ("outbox", "webhook"),
}
"""The providers each channel may use; the first is the default."""

KEYS = {
    "outbox": {"provider": False},
    "smtp": {
        "provider": False,
        "host": True,
        "port": False,
        "starttls": False,
        "username_env": False,
        "password_env": False,
        "sender": False,
        "timeout": False,
    },
    "webhook": {"provider": False, "url": True, "timeout": False, "token_env": False},
}
"""Each provider's config keys, and whether they are required."""


class _Entry:
    """One channel's config, read with messages that name the key at fault."""

    def __init__(
        self, channel: str, entry: Mapping[str, Any], read_secrets: bool = True
    ) -> None:
        self.channel = channel
        self.entry = entry
        self.read_secrets = read_secrets

    def fail(self, key: str, message: str) -> WorkspaceError:
        return WorkspaceError(f"delivery config {self.channel}.{key}: {message}")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.entry.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value

    def number(self, key: str, default: float, integer: bool = False) -> float:
        value = self.entry.get(key, default)
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
            kind = "a positive integer" if integer else "a positive number"
            raise self.fail(key, f"expected {kind}, got {value!r}")
        return value

    def flag(self, key: str) -> bool:
        value = self.entry.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def secret(self, key: str) -> str | None:
        name = self.text(key)
        if name is None or not self.read_secrets:
            return None
        value = os.environ.get(name)
        if value is None:
            raise self.fail(key, f"the environment variable {name!r} is not set")
        return value


def provider_for(
    channel: str,
    config: Mapping[str, Any] | None,
    workspace_folder: str | Path,
    *,
    read_secrets: bool = True,
) -> Provider:
    """The provider that delivers ``channel`` messages in a workspace.

    Parameters
    ----------
    channel
        ``"email"``, ``"sms"`` or ``"push"``.
    config
        The workspace's delivery config (see the module docstring); None or a
        missing channel means the outbox.
    workspace_folder
        The workspace; the outbox is its ``outbox`` folder.
    read_secrets
        False checks the config without reading the environment variables it
        names (the process that sends may have them when this one doesn't).

    Raises
    ------
    WorkspaceError
        When the config names an unknown provider, lacks a required key, has an
        unknown key or a value of the wrong kind, or names an unset environment
        variable.
    """
    if channel not in PROVIDERS:
        raise WorkspaceError(
            f"delivery: {channel!r} is not a channel "
            f"(channels: {', '.join(CHANNEL_CONTENT)})"
        )
    if config is not None and not isinstance(config, Mapping):
        raise WorkspaceError(f"delivery config: expected a mapping, got {config!r}")
    raw = (config or {}).get(channel) or {"provider": PROVIDERS[channel][0]}
    if not isinstance(raw, Mapping):
        raise WorkspaceError(
            f"delivery config {channel}: expected a mapping, got {raw!r}"
        )
    entry = _Entry(channel, raw, read_secrets)

    name = raw.get("provider", PROVIDERS[channel][0])
    if name not in PROVIDERS[channel]:
        allowed = ", ".join(repr(p) for p in PROVIDERS[channel])
        raise entry.fail(
            "provider", f"{name!r} can't send {channel} (allowed: {allowed})"
        )
    keys = KEYS[name]
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise entry.fail(
            unknown[0], f"unknown key for {name} (keys: {', '.join(keys)})"
        )
    for key, required in keys.items():
        if required and key not in raw:
            raise entry.fail(key, f"missing: the {name} provider needs it")

    if name == "smtp":
        return _smtp(entry)
    if name == "webhook":
        return _webhook(entry)
    return OutboxProvider(Path(workspace_folder) / "outbox")


def _smtp(entry: _Entry) -> SmtpProvider:
    starttls = entry.flag("starttls")
    return SmtpProvider(
        entry.text("host") or "",
        int(entry.number("port", 587 if starttls else 25, integer=True)),
        starttls=starttls,
        username=entry.secret("username_env"),
        password=entry.secret("password_env"),
        sender=entry.text("sender"),
        timeout=entry.number("timeout", 10.0),
    )


def _webhook(entry: _Entry) -> WebhookProvider:
    url = entry.text("url") or ""
    if not url.startswith(("http://", "https://")):
        raise entry.fail("url", f"expected an http:// or https:// address, got {url!r}")
    token = entry.secret("token_env")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return WebhookProvider(url, timeout=entry.number("timeout", 10.0), headers=headers)


def check_delivery_config(config: Any) -> dict[str, Any]:
    """Check a whole delivery config and return it as a plain dict.

    Raises
    ------
    WorkspaceError
        Naming the channel and key at fault; environment variables are not read.
    """
    if not isinstance(config, Mapping):
        raise WorkspaceError(f"delivery config: expected a mapping, got {config!r}")
    for channel in config:
        if channel not in PROVIDERS:
            raise WorkspaceError(
                f"delivery config: {channel!r} is not a channel "
                f"(channels: {', '.join(PROVIDERS)})"
            )
        provider_for(channel, config, ".", read_secrets=False).close()
    return dict(config)
