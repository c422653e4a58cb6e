"""`require_tool`: a missing browser or Java skips on a workstation and fails in CI."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.browser


def test_missing_tool_skips_outside_ci(
    require_tool: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[require_tool.__module__], "_find_tool", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        require_tool("chromium")


def test_missing_tool_fails_in_ci(
    require_tool: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[require_tool.__module__], "_find_tool", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        require_tool("java")


def test_present_tool_is_found(require_tool: Callable[[str], str]) -> None:
    assert require_tool("sh")
