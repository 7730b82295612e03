"""The README's first command, the main job, run as a newcomer runs it: `bash scripts/demo.sh`
from another directory. It sets up what is missing (nothing, here: the test command already
did) and verifies the reference stack's breaker, retries and rate limits under faults; every
verdict passes and the report is where it says."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.e2e.conftest import ROOT


def test_the_main_job_verifies_breaker_retries_and_rate_limits(tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh"), "--output",
                           str(tmp_path / "runs")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    counts = re.search(r"(\d+) passed, 0 failed, 0 inconclusive of (\d+) verdicts",
                       done.stdout)
    assert counts and counts.group(1) == counts.group(2), done.stdout[-2000:]
    for claim in ("breaker.upstream", "retries.upstream", "rate_limit.api"):
        assert f"[{claim}]" in done.stdout, claim
    report = re.search(r"^report: (.+)$", done.stdout, flags=re.MULTILINE)
    assert report and Path(report.group(1).strip()).is_file()
