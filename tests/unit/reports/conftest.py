"""The ``rundirs`` fixture: synthetic run dirs under the test's tmp_path (see rundir_factory)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).parent)
if HERE not in sys.path:  # the helpers live beside this file, whatever pytest's import mode
    sys.path.insert(0, HERE)

from rundir_factory import RunDirs  # noqa: E402


@pytest.fixture
def rundirs(tmp_path: Path) -> RunDirs:
    return RunDirs(tmp_path)
