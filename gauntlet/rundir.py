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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, cast

from gauntlet.checks.verdict import Outcome, Verdict
from gauntlet.samples import CaptureRecord

SUMMARY_FILE = "summary.json"
VERDICTS_FILE = "verdicts.json"
SUMMARY_SCHEMA_VERSION = 1

# A JSON object written by a record's own ``as_dict`` (Verdict, Figures, GeneratorHealth, ...),
# which its ``from_dict`` reads back; the summary nests them as they are on disk.
JsonObject = dict[str, Any]


class RunSummary(TypedDict, total=False):
    """``summary.json``: what a run (or its rebuild) records of itself, key by key.

    The one typed form of the record every stage after the run reads (the judge, the rebuild,
    the report, ``compare``, the CI step summary). ``schema_version`` says which keys a reader
    can expect; a key an older run lacks is simply absent (``total=False``)."""

    schema_version: int
    run_id: str
    suite: str
    description: str
    command: str
    report: JsonObject  # the report's files (reports/build.py), once written
    started_at_s: float
    finished_at_s: float
    backend: str
    contract: str | None
    variants: list[str]
    load: JsonObject | None
    libraries: dict[str, str]
    plan_notes: list[str]
    contract_findings: list[dict[str, str]]
    # the stack (a suite with load; each experiment records its own in ``experiments``)
    boot_time_s: float
    versions: dict[str, str]
    base_url: str
    # the load
    capture: dict[str, int]
    metrics_crosscheck: dict[str, dict[str, float | None]]
    metrics_crosscheck_unmatched: dict[str, float]
    metrics_crosscheck_warning: str
    remote_workers_refused: list[str]  # clients the Locust master would not let in
    generator: JsonObject
    load_duration_s: float
    # the experiments (ExperimentResult.as_dict) and their verdicts
    experiments: list[JsonObject]
    experiment_verdicts: list[JsonObject]
    not_run: list[str]
    every_claim: bool
    # the judge
    overall: JsonObject
    endpoints: dict[str, JsonObject]
    latency_basis: str
    events: int
    verdicts: list[JsonObject]
    verdict_counts: dict[Outcome, int]
    # how it ended
    status: str
    error: str
    analysis_error: str
    traceback: str
    forced_kills: list[JsonObject]
    exit_code: int


@dataclass
class ExperimentResult:
    """One experiment run, as the suite's summary lists it (``experiments`` of summary.json)
    and as a rebuild reads it back: the typed record between running and reporting."""

    name: str
    claim: str
    description: str
    params: dict[str, Any]
    variants: list[str]
    started_at_s: float
    dir: str = ""  # the run's sub dir, relative to the suite's run dir
    boot_time_s: float | None = None
    finished_at_s: float | None = None
    capture: CaptureRecord = field(default_factory=CaptureRecord)
    verdicts: list[Verdict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The summary.json form (its ``experiment`` key repeats ``name`` for older readers)."""
        return {"name": self.name, "claim": self.claim, "dir": self.dir,
                "experiment": self.name, "description": self.description,
                "params": self.params, "variants": self.variants,
                "started_at_s": self.started_at_s, "boot_time_s": self.boot_time_s,
                "finished_at_s": self.finished_at_s, "capture": self.capture.as_dict(),
                "verdicts": [v.as_dict() for v in self.verdicts]}

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> ExperimentResult:
        """An entry of a summary's ``experiments`` (missing keys of older runs: defaults)."""
        return cls(name=str(entry["name"]), claim=str(entry.get("claim") or ""),
                   description=str(entry.get("description") or ""),
                   params=dict(entry.get("params") or {}),
                   variants=[str(v) for v in entry.get("variants") or []],
                   started_at_s=float(entry.get("started_at_s") or 0.0),
                   dir=str(entry.get("dir") or ""),
                   boot_time_s=_float(entry.get("boot_time_s")),
                   finished_at_s=_float(entry.get("finished_at_s")),
                   capture=CaptureRecord.from_dict(dict(entry.get("capture") or {})),
                   verdicts=[Verdict.from_dict(v) for v in entry.get("verdicts") or []])


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


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


def update_summary(run_dir: Path, updates: RunSummary) -> None:
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


def read_summary(run_dir: Path) -> RunSummary:
    """The run's summary.json as written (``{}`` when there is none)."""
    path = run_dir / SUMMARY_FILE
    if not path.exists():
        return {}
    return cast(RunSummary, json.loads(path.read_text()))
