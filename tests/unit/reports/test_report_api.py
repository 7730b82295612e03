"""The package's public surface: every name in ``gauntlet.reports.__all__`` resolves (lazily)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gauntlet import reports


def test_public_names_resolve() -> None:
    for name in reports.__all__:
        assert getattr(reports, name) is not None
    with pytest.raises(AttributeError):
        _ = reports.nope  # type: ignore[attr-defined]


def test_compare_and_screenshot_do_not_import_matplotlib() -> None:
    code = ("import sys, gauntlet.reports.compare, gauntlet.reports.screenshot; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
