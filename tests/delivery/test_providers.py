"""Choosing providers from the workspace's delivery config, and its errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ajo_workbench.delivery import (
    OutboxProvider,
    SmtpProvider,
    WebhookProvider,
    provider_for,
)
from ajo_workbench.errors import WorkspaceError


def test_the_outbox_is_the_default(tmp_path: Path) -> None:
    for config in (None, {}, {"sms": {"provider": "outbox"}}):
        provider = provider_for("sms", config, tmp_path)
        assert isinstance(provider, OutboxProvider)
        assert provider.folder == tmp_path / "outbox"


def test_smtp_reads_its_credentials_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SMTP_USER", "robot")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    config = {
        "email": {
            "provider": "smtp",
            "host": "mail.example.org",
            "starttls": True,
            "username_env": "TEST_SMTP_USER",
            "password_env": "TEST_SMTP_PASSWORD",
            "sender": "news@example.org",
        }
    }
    provider = provider_for("email", config, tmp_path)
    assert isinstance(provider, SmtpProvider)
    assert (provider.host, provider.port, provider.starttls) == (
        "mail.example.org",
        587,
        True,
    )
    assert (provider.username, provider.password) == ("robot", "s3cret")
    assert provider.sender == "news@example.org"
    plain = provider_for("email", {"email": {"provider": "smtp", "host": "h"}}, "ws")
    assert isinstance(plain, SmtpProvider)
    assert (plain.port, plain.username) == (25, None)


def test_webhook_with_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_PUSH_TOKEN", "t0k")
    config = {
        "push": {
            "provider": "webhook",
            "url": "https://push.example.org/send",
            "timeout": 2.5,
            "token_env": "TEST_PUSH_TOKEN",
        }
    }
    provider = provider_for("push", config, tmp_path)
    assert isinstance(provider, WebhookProvider)
    assert (provider.url, provider.timeout) == ("https://push.example.org/send", 2.5)
    assert provider._client.headers["Authorization"] == "Bearer t0k"
    provider.close()


@pytest.mark.parametrize(
    ("channel", "entry", "message"),
    [
        (
            "sms",
            {"provider": "smtp", "host": "h"},
            "delivery config sms.provider: 'smtp' can't send sms "
            "(allowed: 'outbox', 'webhook')",
        ),
        (
            "email",
            {"provider": "smpt"},
            "delivery config email.provider: 'smpt' can't send email "
            "(allowed: 'outbox', 'smtp')",
        ),
        (
            "email",
            {"provider": "smtp"},
            "delivery config email.host: missing: the smtp provider needs it",
        ),
        (
            "email",
            {"provider": "smtp", "host": "h", "user": "x"},
            "delivery config email.user: unknown key for smtp (keys: provider, host,",
        ),
        (
            "email",
            {"provider": "smtp", "host": "h", "port": "25"},
            "delivery config email.port: expected a positive integer, got '25'",
        ),
        (
            "email",
            {"provider": "smtp", "host": "h", "starttls": "yes"},
            "delivery config email.starttls: expected true or false, got 'yes'",
        ),
        (
            "email",
            {"provider": "smtp", "host": "h", "password_env": "TEST_UNSET_VARIABLE"},
            "delivery config email.password_env: the environment variable "
            "'TEST_UNSET_VARIABLE' is not set",
        ),
        (
            "push",
            {"provider": "webhook", "url": "push.example.org"},
            "delivery config push.url: expected an http:// or https:// address, "
            "got 'push.example.org'",
        ),
        (
            "push",
            {"provider": "webhook", "url": "http://x", "timeout": 0},
            "delivery config push.timeout: expected a positive number, got 0",
        ),
        ("push", "webhook", "delivery config push: expected a mapping, got 'webhook'"),
    ],
)
def test_bad_config_names_key_value_and_what_is_allowed(
    tmp_path: Path, channel: str, entry: Any, message: str
) -> None:
    with pytest.raises(WorkspaceError) as caught:
        provider_for(channel, {channel: entry}, tmp_path)
    assert str(caught.value).startswith(message)


def test_unknown_channels_and_configs(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"'fax' is not a channel"):
        provider_for("fax", None, tmp_path)
    with pytest.raises(WorkspaceError, match="delivery config: expected a mapping"):
        provider_for("sms", ["outbox"], tmp_path)  # type: ignore[arg-type]
