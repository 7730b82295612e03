"""The page as a person sees it: a 1280x800 screenshot of a failed-breaker report."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from rundir_factory import RunDirs

from gauntlet.reports.build import build_report
from gauntlet.reports.screenshot import ChromiumNotFound, find_chromium, screenshot


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_screenshot_of_the_first_screen(rundirs: RunDirs, tmp_path: Path) -> None:
    try:
        find_chromium()
    except ChromiumNotFound:
        pytest.skip("no Chromium on this machine (apt-get install -y chromium)")
    png = screenshot(build_report(rundirs.breaker()), tmp_path / "report.png")
    assert _png_size(png) == (1280, 800)
    assert png.stat().st_size > 20_000  # a page with a plot, not a blank screen


def test_missing_chromium_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAUNTLET_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(ChromiumNotFound, match="GAUNTLET_CHROMIUM"):
        find_chromium()
    monkeypatch.delenv("GAUNTLET_CHROMIUM")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ChromiumNotFound, match="apt-get install -y chromium"):
        find_chromium()
