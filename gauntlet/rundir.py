"""The run dir: everything a run leaves behind, and the only input of verdicts and reports.

    reports/runs/<run id>/
        suite.toml        the suite as given            events.jsonl   the timeline
        samples.parquet   one row per request           verdicts.json  the verdicts
        summary.json      figures + verdicts (schema)   logs/          every process' log
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from gauntlet.checks.verdict import Verdict

SUMMARY_FILE = "summary.json"
VERDICTS_FILE = "verdicts.json"
SUMMARY_SCHEMA_VERSION = 1


def new_run_dir(output_dir: Path, suite_name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", suite_name).strip("-") or "suite"
    base = output_dir / f"{stamp}-{slug}"
    path = base
    n = 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}")
    (path / "logs").mkdir(parents=True)
    return path


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    tmp.replace(path)


def write_verdicts(run_dir: Path, verdicts: list[Verdict]) -> None:
    write_json(run_dir / VERDICTS_FILE, [v.as_dict() for v in verdicts])


def read_verdicts(run_dir: Path) -> list[Verdict]:
    path = run_dir / VERDICTS_FILE
    if not path.exists():
        return []
    return [Verdict.from_dict(item) for item in json.loads(path.read_text())]


def update_summary(run_dir: Path, updates: dict[str, Any]) -> None:
    """Add keys to an existing summary.json (a report's files, the command line); a run dir
    without a readable summary does not get a fake one."""
    path = run_dir / SUMMARY_FILE
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(summary, dict):
        summary.update(updates)
        write_json(path, summary)


def read_summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / SUMMARY_FILE
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data
