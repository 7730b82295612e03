"""End-to-end tests boot the real stack (PostgreSQL, Redis, Toxiproxy, upstream, API)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GAUNTLET = [sys.executable, "-m", "gauntlet.cli"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath) and "/compose/" not in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def gauntlet(*args: str, timeout: float = 300, cwd: Path | None = None,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, in a subprocess; returns its exit code and output."""
    return subprocess.run(
        [*GAUNTLET, *args], capture_output=True, text=True, timeout=timeout,
        cwd=cwd or ROOT, env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
