"""A run's claims table on its GitHub Actions job page.

GitHub renders the markdown a step appends to the file ``$GITHUB_STEP_SUMMARY`` names on the
job's summary page. A run there (``gauntlet run``, ``verify``, ``chaos``) appends the claims
table it already wrote as ``claims.md``, so a reviewer sees which claims held, at which
numbers, without opening an artifact. A run that produced no table (it failed before any
verdict) appends its status and error instead: an empty summary would look like nothing ran.

    append_step_summary(run_dir)   # no-op unless GITHUB_STEP_SUMMARY is set
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from gauntlet.reports.claims import CLAIMS_MD
from gauntlet.rundir import read_summary

ENV = "GITHUB_STEP_SUMMARY"


def step_summary_text(run_dir: Path) -> str:
    """The markdown for the job summary: the run's claims table, else its status line."""
    claims = run_dir / CLAIMS_MD
    if claims.is_file():
        return claims.read_text(encoding="utf-8").rstrip("\n") + "\n"
    summary = read_summary(run_dir)
    name = summary.get("contract") or summary.get("suite") or run_dir.name
    status = summary.get("status") or "unknown"
    lines = [f"### gauntlet: {name}", "", f"**{status}**: no claims table (no verdict)."]
    if summary.get("error"):
        lines.append(f"error: `{str(summary['error']).splitlines()[0]}`")
    lines.append(f"run dir: `{run_dir}`")
    return "\n".join(lines) + "\n"


def append_step_summary(run_dir: Path, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append the run's table to ``$GITHUB_STEP_SUMMARY``; returns that file, or None when the
    variable is unset. An OSError is the caller's to report (the run's outcome stands)."""
    target = (os.environ if environ is None else environ).get(ENV)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(step_summary_text(run_dir) + "\n")
    return path
