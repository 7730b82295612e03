"""The judge stage of a run: its verdicts from the run dir alone, and the run's outcome.

One stage for a run and its rebuild (``gauntlet report``): the SLO gates from the samples, the
experiments' verdicts from the summary, the observed claims' over every part of the run
(:mod:`gauntlet.observed`), then the fail-closed tail — a judge that raises, no
verdict, or nothing to judge is exit 3 with the traceback kept, never a pass. Judging reads
only the run dir, so a rebuild re-derives exactly what the run printed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gauntlet import cleanup
from gauntlet.checks.slo import dropped_verdicts, slo_verdicts
from gauntlet.checks.verdict import Verdict, count
from gauntlet.config import Suite
from gauntlet.errors import GauntletError, JudgeError
from gauntlet.generator import GeneratorHealth
from gauntlet.hdr import has_hdr, load_hdr
from gauntlet.latency import by_endpoint, figures
from gauntlet.observed import observed_verdicts
from gauntlet.outcome import exit_code, judge_failed, no_verdict, run_status
from gauntlet.rundir import SUMMARY_FILE, RunSummary, read_summary, write_json, write_verdicts
from gauntlet.samples import load_samples
from gauntlet.scenarios.realtime_spec import connection_counts
from gauntlet.timeline import EVENTS_FILE, read_events


@dataclass
class RunOutcome:
    run_dir: Path
    verdicts: list[Verdict]
    summary: RunSummary
    error: BaseException | None = None
    exit_code: int = 0


def analyse(run_dir: Path, suite: Suite) -> tuple[list[Verdict], RunSummary]:
    """Verdicts and figures from the run dir alone (samples, events, earlier summary).

    Raises rather than judge nothing: :class:`JudgeError` when a load was configured but no
    request was recorded; whatever a verdict function raises. Callers fail closed on both
    (:func:`gauntlet.outcome.judge_failed`)."""
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
    # no health recorded (an old or cut-short run) is unknown health, never a reliable one
    distrust = GeneratorHealth.from_record(previous.get("generator")).distrust()
    thresholds = suite.slo.model_dump(exclude={"errors", "latency", "endpoints", "max_dropped",
                                               "dropped_rate"})
    endpoint_thresholds = {k: v.model_dump() for k, v in suite.slo.endpoints.items()}
    if suite.load is not None and not overall.count:
        # a gate judged on zero requests would pass vacuously (p95 of nothing is within bound)
        raise JudgeError("no request was recorded: nothing to judge")
    verdicts: list[Verdict] = []
    if suite.load is not None:
        verdicts += slo_verdicts(thresholds, overall, endpoint_thresholds, endpoints,
                                 generator=distrust)
        attempts, drops = connection_counts({k: v.count for k, v in endpoints.items()})
        verdicts += dropped_verdicts(suite.slo.max_dropped, suite.slo.dropped_rate, attempts,
                                     drops, generator=distrust)
    verdicts += previous_experiment_verdicts(previous)
    # observed claims speak of the whole run: judged by `verify` (every claim) and by a run
    # with a load, not by `gauntlet chaos NAME` (one experiment, a claim chosen)
    if suite.load is not None or suite.every_claim or previous.get("every_claim"):
        verdicts += observed_verdicts(suite.resolved_contract, run_dir)
    figures_out: RunSummary = {
        "overall": overall.as_dict(),
        "endpoints": {k: v.as_dict() for k, v in endpoints.items()},
        "latency_basis": "corrected" if corrected else "service",
        "events": len(read_events(run_dir / EVENTS_FILE)),
    }
    return verdicts, figures_out


def previous_experiment_verdicts(summary: RunSummary) -> list[Verdict]:
    return [Verdict.from_dict(v) for v in summary.get("experiment_verdicts", [])]


def close_run(run_dir: Path, suite: Suite, summary: RunSummary, error: BaseException | None,
              *, rejudge: Callable[[], None] | None = None,
              forced_kills_since: float | None = None) -> RunOutcome:
    """Judge the run dir and write the verdicts, the summary and the exit code: the one tail
    of a run and of its rebuild. ``error``: what the run itself ended with (kept: judging
    cannot undo a stack that never booted). ``rejudge``: a rebuild's re-judging of the
    experiments' sub dirs, first; a run dir this gauntlet cannot read raises from it (exit
    2) rather than be judged. ``forced_kills_since``: list the processes the harness had to
    kill since then (a run's own, not a rebuild's)."""
    verdicts: list[Verdict] = []
    try:
        if rejudge is not None:
            rejudge()
        verdicts, figures_out = analyse(run_dir, suite)
        summary.update(figures_out)
    except Exception as exc:
        if rejudge is not None and isinstance(exc, GauntletError) and \
                not isinstance(exc, JudgeError):
            raise
        verdicts = []
        judge_error = judge_failed(run_dir, exc)
        summary["analysis_error"] = str(judge_error)
        if judge_error.log_path is not None:
            summary["traceback"] = str(judge_error.log_path.relative_to(run_dir))
        if error is None:  # else an earlier error (or ^C) is what the run ended with
            error = judge_error
    if error is None and not verdicts:
        error = no_verdict()
    if isinstance(error, JudgeError):
        summary["error"] = summary["analysis_error"] = str(error)
    elif error is None:
        summary.pop("error", None)
    summary["verdicts"] = [v.as_dict() for v in verdicts]
    summary["verdict_counts"] = count(verdicts)
    summary["status"] = run_status(verdicts, error)
    if forced_kills_since is not None:
        summary["forced_kills"] = [k.as_dict() for k in
                                   cleanup.forced_kills(since_s=forced_kills_since)]
    code = exit_code(verdicts, error)
    summary["exit_code"] = int(code)
    write_verdicts(run_dir, verdicts)
    write_json(run_dir / SUMMARY_FILE, summary)
    return RunOutcome(run_dir, verdicts, summary, error, int(code))
