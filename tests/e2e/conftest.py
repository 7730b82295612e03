"""End-to-end tests boot the real stack (PostgreSQL, Redis, Toxiproxy, upstream, API)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from gauntlet.procs import pid_alive

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


def still_running(pids: Iterable[int]) -> list[int]:
    """The pids of ``pids`` still running (not gone, not a zombie). A process may exit between
    an existence check and reading its status (a CI run failed on psutil.NoSuchProcess there):
    :func:`gauntlet.procs.pid_alive` reads it once."""
    return [pid for pid in pids if pid_alive(pid)]
