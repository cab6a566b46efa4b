"""What the browser tests say on a machine without Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import conftest


def test_a_missing_chromium_is_named_with_its_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", tmp_path / "no-chromium")
    reason = conftest.missing_browser()
    assert reason is not None
    assert str(tmp_path / "no-chromium") in reason
    assert "apt-get install -y chromium" in reason
