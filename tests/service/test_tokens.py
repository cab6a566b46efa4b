"""Where the signal token comes from, how it is kept, and how it rotates."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import httpx
import pytest
from fake_target import LIVE, FakeTarget

from ajo_workbench.errors import ServiceError
from ajo_workbench.service import (
    TOKEN_ENV,
    TOKEN_FILE,
    FixedToken,
    TokenCheck,
    TokenFile,
    rotate_token,
    start_in_thread,
    workspace_token,
)

TRIGGER = f"/campaigns/{LIVE}/trigger"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_missing_token_file_is_generated_private(tmp_path: Path) -> None:
    token = workspace_token(tmp_path, environ={})
    assert isinstance(token, TokenFile) and token.created
    path = tmp_path / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.endswith("\n") and len(text.strip()) >= 43
    assert token.current() == text.strip()
    assert token.check(text.strip())


def test_the_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        workspace_token(tmp_path, environ={})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / TOKEN_FILE).stat().st_mode) == 0o600


def test_an_existing_token_file_is_read_not_replaced(tmp_path: Path) -> None:
    (tmp_path / TOKEN_FILE).write_text("kept-token_123\n")
    (tmp_path / TOKEN_FILE).chmod(0o600)
    token = workspace_token(tmp_path, environ={})
    assert isinstance(token, TokenFile) and not token.created
    assert token.current() == "kept-token_123"
    assert token.check("kept-token_123")
    assert not token.check("kept-token_12")


def test_two_opens_share_one_generated_token(tmp_path: Path) -> None:
    first = workspace_token(tmp_path, environ={})
    second = workspace_token(tmp_path, environ={})
    assert isinstance(first, TokenFile) and isinstance(second, TokenFile)
    assert first.current() == second.current()


def test_the_environment_token_wins_over_the_file(tmp_path: Path) -> None:
    (tmp_path / TOKEN_FILE).write_text("file-token\n")
    token = workspace_token(tmp_path, environ={TOKEN_ENV: "env-token"})
    assert isinstance(token, FixedToken)
    assert token.check("env-token")
    assert not token.check("file-token")


def test_the_environment_token_needs_no_file(tmp_path: Path) -> None:
    workspace_token(tmp_path, environ={TOKEN_ENV: "env-token"})
    assert not (tmp_path / TOKEN_FILE).exists()


def test_os_environ_is_read_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "from-the-env")
    assert workspace_token(tmp_path).check("from-the-env")
    monkeypatch.setenv(TOKEN_ENV, "  ")
    assert isinstance(workspace_token(tmp_path), TokenFile)


def test_the_environment_token_wins_on_a_real_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_token = workspace_token(tmp_path, environ={})
    assert isinstance(file_token, TokenFile)
    monkeypatch.setenv(TOKEN_ENV, "env-token-9")
    target = FakeTarget()
    with (
        start_in_thread(target, workspace_token(tmp_path)) as service,
        httpx.Client(base_url=service.url) as http,
    ):
        assert http.post(TRIGGER, headers=bearer("env-token-9")).status_code == 200
        refused = http.post(TRIGGER, headers=bearer(file_token.current()))
        assert refused.status_code == 403
    assert len(target.calls) == 1


def test_rotation_refuses_the_old_token_on_a_running_server(tmp_path: Path) -> None:
    token = workspace_token(tmp_path, environ={})
    assert isinstance(token, TokenFile)
    old = token.current()
    target = FakeTarget()
    with (
        start_in_thread(target, token) as service,
        httpx.Client(base_url=service.url) as http,
    ):
        assert http.post(TRIGGER, headers=bearer(old)).status_code == 200
        new = rotate_token(tmp_path)
        assert new != old
        assert http.post(TRIGGER, headers=bearer(old)).status_code == 403
        assert http.post(TRIGGER, headers=bearer(new)).status_code == 200
        newer = rotate_token(tmp_path)
        assert http.post(TRIGGER, headers=bearer(new)).status_code == 403
        assert http.post(TRIGGER, headers=bearer(newer)).status_code == 200
    assert len(target.calls) == 3
    assert stat.S_IMODE((tmp_path / TOKEN_FILE).stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [TOKEN_FILE]


def test_a_hand_edited_token_file_is_followed(tmp_path: Path) -> None:
    token = TokenFile(tmp_path / TOKEN_FILE)
    old = token.current()
    (tmp_path / TOKEN_FILE).write_text("edited-by-hand\n")
    assert token.check("edited-by-hand")
    assert not token.check(old)


def test_a_vanished_token_file_refuses_everything(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = TokenFile(tmp_path / TOKEN_FILE)
    old = token.current()
    (tmp_path / TOKEN_FILE).unlink()
    with caplog.at_level(logging.ERROR):
        assert not token.check(old)
    assert "can't be read" in caplog.text
    assert old not in caplog.text


@pytest.mark.parametrize(
    "content", ["", "\n", "two words\n", "tok\u00e9n\n", "a\nb\n"], ids=repr
)
def test_a_token_file_without_a_usable_token_is_refused(
    tmp_path: Path, content: str
) -> None:
    (tmp_path / TOKEN_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(ServiceError, match="service-token"):
        workspace_token(tmp_path, environ={})


def test_a_token_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / TOKEN_FILE).write_text("shared-token\n")
    (tmp_path / TOKEN_FILE).chmod(0o644)
    with caplog.at_level(logging.WARNING):
        workspace_token(tmp_path, environ={})
    assert "can be read by others (mode 644)" in caplog.text
    assert "shared-token" not in caplog.text


def test_an_unusable_environment_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match=r"\$AJO_WORKBENCH_TOKEN is not a usable"):
        workspace_token(tmp_path, environ={TOKEN_ENV: "has spaces inside"})


def test_a_missing_workspace_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="does not exist"):
        workspace_token(tmp_path / "nowhere", environ={})
    with pytest.raises(ServiceError, match="does not exist"):
        rotate_token(tmp_path / "nowhere")


def test_both_kinds_satisfy_the_token_check_protocol(tmp_path: Path) -> None:
    assert isinstance(FixedToken("abc"), TokenCheck)
    assert isinstance(TokenFile(tmp_path / TOKEN_FILE), TokenCheck)
    assert "abc" not in repr(FixedToken("abc"))


def test_tokens_are_compared_with_compare_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hmac

    seen: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert FixedToken("abc").check("abc")
    assert not FixedToken("abc").check("abd")
    assert seen == [(b"abc", b"abc"), (b"abc", b"abd")]
