"""The docs' runnable examples that are not the README's own-service path (that one is
tests/e2e/test_first_verdict.py): each runs as a reader would run it.

The pytest example (docs/pytest.md, docs/examples/pytest/) runs in a pytest of its own, from the
repository's root as its rootdir, with the plugin the installed gauntlet registers: it boots the
reference stack, slows its database link and loads it.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.e2e.conftest import ROOT

PYTEST_EXAMPLE = ROOT / "docs" / "examples" / "pytest" / "test_slow_database.py"


def test_the_pytest_example_passes() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(PYTEST_EXAMPLE.relative_to(ROOT))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout, done.stdout[-2000:]
