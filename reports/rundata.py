"""A run dir read for reporting: every file optional, every gap written down.

Reports are most needed for the runs that went wrong, and those are the runs whose dir is
incomplete: a runner killed mid-load leaves raw CSVs and half a timeline, no summary, no verdicts.
So nothing here raises for missing data. Each loader records what it could not find in
:attr:`RunData.missing`, and the page says so instead of showing a stack trace.

    run = load_run(run_dir)
    overall, endpoints, source = run.figures()
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd

from gauntlet.checks.verdict import Verdict
from gauntlet.latency import DEFAULT_ERRORS, by_endpoint, figures
from gauntlet.rundir import SUMMARY_FILE, VERDICTS_FILE, RunSummary
from gauntlet.samples import RAW_DIR, SAMPLES_FILE, empty, load_samples
from gauntlet.timeline import EVENTS_FILE, Event, read_events

# ``ref``, ``bytes`` and ``worker`` are never plotted; skipping them (``ref`` is a string per
# row) roughly halves the memory of a million-sample run.
REPORT_COLUMNS = ["t_intended_s", "t_start_s", "latency_ms", "method", "name", "status", "error"]
KNOWN_STATUSES = ("pass", "fail", "inconclusive", "error", "interrupted")
FigureSource = Literal["summary", "samples", "none"]
_VERDICT_FIELDS = {f.name for f in fields(Verdict)}


EXPERIMENTS_DIR = "experiments"


@dataclass
class Experiment:
    """One chaos experiment of a run: its own sub run dir (samples, events, verdicts) under
    ``experiments/``, because each experiment boots its own stack and load."""

    name: str
    rel_dir: str
    description: str
    run: RunData


@dataclass
class RunData:
    """Everything a report reads from one run dir, loaded once."""

    run_dir: Path
    summary: RunSummary
    verdicts: list[Verdict]
    events: list[Event]
    suite: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    experiments: list[Experiment] = field(default_factory=list)
    _samples: pd.DataFrame | None = field(default=None, repr=False)
    _figures: tuple[dict[str, Any], dict[str, dict[str, Any]], FigureSource] | None = field(
        default=None, repr=False)

    @property
    def samples(self) -> pd.DataFrame:
        """Loaded on first use: compare and trend often get by on summary figures alone."""
        if self._samples is None:
            # a chaos-only run keeps its samples in the experiments' dirs, not at the top
            chaos_only = bool(self.experiments) and not (self.summary.get("load")
                                                         or self.suite.get("load"))
            self._samples = _load_samples(self.run_dir, [] if chaos_only else self.missing)
        return self._samples

    @property
    def name(self) -> str:
        return str(self.summary.get("suite") or self.suite.get("name") or self.run_dir.name)

    @property
    def status(self) -> str:
        """``pass``/``fail``/``inconclusive``/``error``/``interrupted``. A summary still saying
        ``running`` (or none at all) means the runner died before finishing, which CI must not
        read as green."""
        status = str(self.summary.get("status") or "")
        if status in KNOWN_STATUSES:
            return status
        return "interrupted"

    @property
    def corrected(self) -> bool:
        """Whether latencies are reported from the intended start (open model)."""
        basis = self.summary.get("latency_basis")
        if basis is not None:
            return bool(basis == "corrected")
        return self.load_model == "open"

    @property
    def load_model(self) -> str | None:
        load = self.summary.get("load") or self.suite.get("load") or {}
        model = load.get("model") if isinstance(load, dict) else None
        if not model:  # an experiment's sub dir: its timeline says how it drove load
            model = next((e.data.get("model") for e in self.events
                          if e.kind == "load.started"), None)
        return str(model) if model else None

    @property
    def open_model(self) -> bool:
        return self.summary.get("latency_basis") == "corrected" or self.load_model == "open"

    @property
    def error_classes(self) -> list[str]:
        slo = self.suite.get("slo") or {}
        classes = slo.get("errors") if isinstance(slo, dict) else None
        return [str(c) for c in classes] if classes else list(DEFAULT_ERRORS)

    @property
    def started_at_s(self) -> float | None:
        """The run's start: from the summary, else its earliest event or sample."""
        value = _number(self.summary.get("started_at_s"))
        if value is not None:
            return value
        return self.t0_s

    @property
    def t0_s(self) -> float | None:
        """Zero of every time axis: the first sample or first event, whichever came first."""
        candidates = [min(e.at_s for e in self.events)] if self.events else []
        df = self.samples
        if not df.empty:
            candidates.append(float(df["t_start_s"].min()))
        return min(candidates) if candidates else None

    def figures(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]], FigureSource]:
        """Overall and per-endpoint figures: the summary's when it has them (they are what the
        run judged), else recomputed from the samples with the same functions the runner uses."""
        if self._figures is None:
            self._figures = self._compute_figures()
        return self._figures

    def _compute_figures(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]], FigureSource]:
        overall = self.summary.get("overall")
        endpoints = self.summary.get("endpoints")
        if isinstance(overall, dict) and _number(overall.get("count")) is not None:
            return overall, endpoints if isinstance(endpoints, dict) else {}, "summary"
        df = self.samples
        if df.empty:
            return {}, {}, "none"
        classes = self.error_classes
        whole = figures(df, errors=classes, corrected=self.corrected)
        per = by_endpoint(df, errors=classes, corrected=self.corrected,
                          duration_s=whole.duration_s or None)
        return whole.as_dict(), {k: v.as_dict() for k, v in per.items()}, "samples"


def load_run(run_dir: Path, *, part: bool = False) -> RunData:
    """Read a run dir; never raises for a missing or unreadable file. ``part`` reads an
    experiment's sub dir, which has no summary or suite of its own and no experiments."""
    missing: list[str] = []
    summary = {} if part else _load_summary(run_dir, missing)
    verdicts = _load_verdicts(run_dir, summary, [] if part else missing)
    events = read_events(run_dir / EVENTS_FILE)
    if not events:
        missing.append(f"{EVENTS_FILE} (no timeline: fault windows and events are not shown)")
    suite = {} if part else _load_suite(run_dir)
    run = RunData(run_dir, summary, verdicts, events, suite, missing)
    if not part:
        run.experiments = _load_experiments(run)
    return run


def _load_experiments(run: RunData) -> list[Experiment]:
    """Experiments in run order: as the summary lists them, else as the timeline started
    them (a run that died before its summary), else whatever dirs exist."""
    found: dict[str, tuple[str, str]] = {}
    listed = run.summary.get("experiments")
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, dict) and item.get("dir"):
            found.setdefault(str(item["dir"]), (str(item.get("name") or item["dir"]),
                                                str(item.get("description") or "")))
    for event in run.events:
        if event.kind == "experiment.started" and event.data.get("dir"):
            rel = str(event.data["dir"])
            found.setdefault(rel, (str(event.data.get("name") or rel), ""))
    base = run.run_dir / EXPERIMENTS_DIR
    if base.is_dir():
        for path in sorted(p for p in base.iterdir() if p.is_dir()):
            found.setdefault(f"{EXPERIMENTS_DIR}/{path.name}", (path.name, ""))
    out = []
    for rel, (name, description) in found.items():
        path = run.run_dir / rel
        if path.is_dir() and path.resolve().is_relative_to(run.run_dir.resolve()):
            out.append(Experiment(name, rel, description, load_run(path, part=True)))
        else:
            run.missing.append(f"experiment dir {rel} ({name})")
    return out


def _load_summary(run_dir: Path, missing: list[str]) -> RunSummary:
    path = run_dir / SUMMARY_FILE
    if not path.exists():
        missing.append(f"{SUMMARY_FILE} (the runner never wrote it)")
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        missing.append(f"{SUMMARY_FILE} (unreadable: {exc})")
        return {}
    if not isinstance(data, dict):
        missing.append(f"{SUMMARY_FILE} (not a JSON object)")
        return {}
    if data.get("status") in (None, "running"):
        missing.append("final status (the summary still says 'running': the run did not finish)")
    return cast(RunSummary, data)


def _load_verdicts(run_dir: Path, summary: RunSummary, missing: list[str]) -> list[Verdict]:
    """verdicts.json, else the summary's copy; malformed entries are skipped and noted."""
    raw: Any = None
    path = run_dir / VERDICTS_FILE
    if path.exists():
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            missing.append(f"{VERDICTS_FILE} (unreadable: {exc})")
    if raw is None:
        raw = summary.get("verdicts") or summary.get("experiment_verdicts")
        if raw is None:
            missing.append(f"{VERDICTS_FILE} (no verdicts were recorded)")
            return []
    if not isinstance(raw, list):
        missing.append(f"{VERDICTS_FILE} (not a list)")
        return []
    out: list[Verdict] = []
    skipped = 0
    for item in raw:
        try:
            out.append(_verdict(item))
        except (TypeError, ValueError, KeyError):
            skipped += 1
    if skipped:
        missing.append(f"{skipped} malformed verdict(s) in {VERDICTS_FILE}")
    return out


def _verdict(item: Any) -> Verdict:
    if not isinstance(item, dict):
        raise TypeError("verdict is not an object")
    data = {k: v for k, v in item.items() if k in _VERDICT_FIELDS}
    if "status" not in data:  # a run dir written before 'inconclusive': only ``passed``
        if not isinstance(item.get("passed"), bool):
            raise KeyError("verdict has neither status nor passed")
        data["status"] = "pass" if item["passed"] else "fail"
    data.setdefault("check", "?")
    data.setdefault("name", "?")
    data.setdefault("reason", "")
    return Verdict.from_dict(data)


def _load_suite(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "suite.toml"
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _load_samples(run_dir: Path, missing: list[str]) -> pd.DataFrame:
    has_parquet = (run_dir / SAMPLES_FILE).exists()
    has_raw = any((run_dir / RAW_DIR).glob("samples-*.csv"))
    if not has_parquet and not has_raw:
        missing.append("samples (neither samples.parquet nor raw/samples-*.csv)")
        return empty()[REPORT_COLUMNS]
    try:
        df = load_samples(run_dir, columns=REPORT_COLUMNS)
    except Exception as exc:  # a torn parquet from a crash: the page says so, and goes on
        missing.append(f"samples (unreadable: {type(exc).__name__}: {exc})")
        return empty()[REPORT_COLUMNS]
    if not has_parquet:
        missing.append("samples.parquet (read from the raw CSVs: the run never merged them)")
    if df.empty:
        missing.append("samples (the run recorded no requests)")
    return df


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
