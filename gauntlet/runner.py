"""One suite run, end to end: boot → load (and experiments) → verdicts → run dir → outcome.

The runner measures and records; it never judges inline. Judging (:func:`analyse`) reads only
the run dir, so ``gauntlet report RUN_DIR`` re-derives exactly what the run printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.slo import slo_verdicts
from checks.verdict import Verdict
from gauntlet import cleanup
from gauntlet.boot import Stack, boot
from gauntlet.clock import RunClock
from gauntlet.config import Suite
from gauntlet.errors import Interrupted
from gauntlet.generator import CpuMonitor, GeneratorHealth, assess
from gauntlet.hdr import has_hdr, load_hdr
from gauntlet.latency import LATE_MS, by_endpoint, endpoint_keys, figures
from gauntlet.metrics import crosscheck, scrape_requests
from gauntlet.outcome import exit_code
from gauntlet.rundir import (
    SUMMARY_FILE,
    SUMMARY_SCHEMA_VERSION,
    new_run_dir,
    read_summary,
    write_json,
    write_verdicts,
)
from gauntlet.samples import load_samples
from gauntlet.timeline import EVENTS_FILE, Timeline, read_events
from scenarios.runner import LoadRun


@dataclass
class RunOutcome:
    run_dir: Path
    verdicts: list[Verdict]
    summary: dict[str, Any]
    error: BaseException | None = None
    exit_code: int = 0


@dataclass
class Hooks:
    """How a run talks to whoever watches it (the CLI's rich console, or nothing in tests)."""

    on_boot: Callable[[Stack], None] = lambda stack: None
    on_load_tick: Callable[[LoadRun], None] = lambda load: None
    on_phase: Callable[[str], None] = lambda name: None
    extra: dict[str, Any] = field(default_factory=dict)


def analyse(run_dir: Path, suite: Suite) -> tuple[list[Verdict], dict[str, Any]]:
    """Verdicts and figures from the run dir alone (samples, events, earlier summary)."""
    previous = read_summary(run_dir)
    warmup_s = suite.load.warmup_s if suite.load is not None else 0.0
    corrected = suite.load is not None and suite.load.model == "open" and \
        suite.slo.latency == "corrected"
    errors = list(suite.slo.errors)
    if has_hdr(run_dir):  # HDR mode (load.samples = "hdr"): per-second histograms, no rows
        hdr = load_hdr(run_dir, warmup_s=warmup_s)
        overall = hdr.figures(errors=errors, corrected=corrected)
        endpoints = hdr.by_endpoint(errors=errors, corrected=corrected,
                                    duration_s=overall.duration_s or None)
    else:
        df = load_samples(run_dir)
        if warmup_s and not df.empty:
            # the ramp-up is not what the SLO speaks of: gates judge what follows it
            df = df[df["t_start_s"] >= df["t_start_s"].min() + warmup_s]
        overall = figures(df, errors=errors, corrected=corrected)
        endpoints = by_endpoint(df, errors=errors, corrected=corrected,
                                duration_s=overall.duration_s or None)
    gen = previous.get("generator", {})
    unreliable = bool(gen) and not gen.get("reliable", True)
    thresholds = suite.slo.model_dump(exclude={"errors", "latency", "endpoints"})
    endpoint_thresholds = {k: v.model_dump() for k, v in suite.slo.endpoints.items()}
    verdicts: list[Verdict] = []
    if suite.load is not None:
        verdicts += slo_verdicts(thresholds, overall, endpoint_thresholds, endpoints,
                                 unreliable=unreliable)
    verdicts += previous_experiment_verdicts(previous)
    figures_out = {
        "overall": overall.as_dict(),
        "endpoints": {k: v.as_dict() for k, v in endpoints.items()},
        "latency_basis": "corrected" if corrected else "service",
        "events": len(read_events(run_dir / EVENTS_FILE)),
    }
    return verdicts, figures_out


def previous_experiment_verdicts(summary: dict[str, Any]) -> list[Verdict]:
    return [Verdict.from_dict(v) for v in summary.get("experiment_verdicts", [])]


def _client_counts(run_dir: Path) -> dict[str, int]:
    if has_hdr(run_dir):
        return load_hdr(run_dir).endpoint_counts()
    df = load_samples(run_dir, columns=["method", "name"])
    if df.empty:
        return {}
    counts = endpoint_keys(df).value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def run_suite(suite: Suite, suite_text: str | None = None, hooks: Hooks | None = None,
              output_dir: Path | None = None) -> RunOutcome:
    """Run a suite; never raises for a failed verdict, an infrastructure error or ^C."""
    hooks = hooks or Hooks()
    run_dir = new_run_dir(output_dir or Path(suite.output_dir), suite.name)
    if suite_text is not None:
        (run_dir / "suite.toml").write_text(suite_text)
    clock = RunClock()
    summary: dict[str, Any] = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run_id": run_dir.name,
        "suite": suite.name,
        "description": suite.description,
        "started_at_s": clock.started_at_s,
        "backend": suite.stack.backend,
        "profile": suite.stack.profile,
        "policy": suite.resolved_policy.model_dump(),
        "broken": list(suite.stack.broken),
        "load": suite.load.model_dump() if suite.load else None,
        "status": "running",
    }
    write_json(run_dir / SUMMARY_FILE, summary)
    error: BaseException | None = None
    timeline = Timeline(run_dir / EVENTS_FILE, clock)
    try:
        with cleanup.signal_handlers():
            if suite.load is not None:
                timeline.emit("phase", name="boot")
                hooks.on_phase("boot")
                with boot(suite, logs_dir=run_dir / "logs") as stack:
                    timeline.emit("stack.ready", boot_time_s=stack.boot_time_s,
                                  backend=stack.backend)
                    summary.update(boot_time_s=stack.boot_time_s, versions=dict(stack.versions),
                                   base_url=stack.base_url)
                    hooks.on_boot(stack)
                    _drive_load(suite, stack, run_dir, timeline, summary, hooks)
                    timeline.emit("phase", name="teardown")
                    hooks.on_phase("teardown")
            if suite.experiments:
                _run_experiments(suite, run_dir, timeline, summary, hooks)
    except (Interrupted, KeyboardInterrupt) as exc:
        error = exc
        summary["status"] = "interrupted"
    except Exception as exc:
        error = exc
        summary["status"] = "error"
        summary["error"] = str(exc)
    finally:
        timeline.emit("phase", name="done")
        timeline.close()

    summary["finished_at_s"] = time.time()
    write_json(run_dir / SUMMARY_FILE, summary)
    verdicts: list[Verdict] = []
    try:
        verdicts, figures_out = analyse(run_dir, suite)
        summary.update(figures_out)
    except Exception as exc:  # a crashed run may have nothing to analyse
        summary.setdefault("analysis_error", str(exc))
    summary["verdicts"] = [v.as_dict() for v in verdicts]
    if error is None:
        summary["status"] = "pass" if all(v.passed for v in verdicts) else "fail"
    code = exit_code(verdicts, error)
    summary["exit_code"] = int(code)
    write_verdicts(run_dir, verdicts)
    write_json(run_dir / SUMMARY_FILE, summary)
    return RunOutcome(run_dir, verdicts, summary, error, int(code))


def _run_experiments(suite: Suite, run_dir: Path, timeline: Timeline, summary: dict[str, Any],
                     hooks: Hooks) -> None:
    """Each experiment in a run dir of its own under ``experiments/``, with its own stack."""
    from chaos.experiments.base import run_experiment

    summary["experiment_verdicts"] = []
    summary["experiments"] = []
    for index, config in enumerate(suite.experiments, 1):
        sub = run_dir / "experiments" / f"{index:02d}-{config.name}"
        timeline.emit("experiment.started", name=config.name, dir=str(sub.relative_to(run_dir)))
        hooks.on_phase(f"experiment {config.name}")
        verdicts, exp_summary = run_experiment(suite, config, sub, on_tick=hooks.on_load_tick,
                                               on_boot=hooks.on_boot)
        timeline.emit("experiment.finished", name=config.name,
                      passed=all(v.passed for v in verdicts))
        summary["experiment_verdicts"] += [v.as_dict() for v in verdicts]
        summary["experiments"].append({"name": config.name, "dir": str(sub.relative_to(run_dir)),
                                       **exp_summary})
        write_json(run_dir / SUMMARY_FILE, summary)


def _drive_load(suite: Suite, stack: Stack, run_dir: Path, timeline: Timeline,
                summary: dict[str, Any], hooks: Hooks) -> None:
    assert suite.load is not None
    timeline.emit("phase", name="load")
    hooks.on_phase("load")
    before = scrape_requests(stack.probe_url)
    load = LoadRun(suite.load, stack.base_url, run_dir, timeline)
    monitor: CpuMonitor | None = None

    def tick(run: LoadRun) -> None:
        nonlocal monitor
        if monitor is None and run.pid:
            monitor = CpuMonitor(run.pid)
        if monitor is not None:
            monitor.tick()
        hooks.on_load_tick(run)

    try:
        with load:
            result = load.wait(on_tick=tick)
    finally:
        if (run_dir / "raw").exists() and not (run_dir / "samples.parquet").exists():
            load.finish()
    after = scrape_requests(stack.probe_url)
    client = _client_counts(run_dir)
    summary["metrics_crosscheck"] = crosscheck(client, before, after)
    late = 0
    requests = sum(client.values())
    unsent = sum(float(g.get("slots_unsent", 0.0)) for g in result.generator)
    if has_hdr(run_dir):
        late = load_hdr(run_dir).late
    else:
        df = load_samples(run_dir, columns=["t_intended_s", "t_start_s"])
        if not df.empty:
            late = int(((df["t_start_s"] - df["t_intended_s"]) * 1000.0 > LATE_MS).sum())
    health: GeneratorHealth = assess(
        monitor.samples if monitor else [], monitor.max_processes if monitor else 0,
        late, unsent, requests, suite.load.model == "open")
    summary["generator"] = health.as_dict()
    summary["load_duration_s"] = result.duration_s
