"""Rebuild a run's verdicts and summary from its run dir (also for a run that crashed midway).

SLO gates are recomputed from the samples; each experiment is re-judged from its own sub-dir
(samples, events, facts) with the policy and parameters the summary recorded, so a changed or
fixed verdict function gives the new answer for an old run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checks.verdict import Verdict
from gauntlet.config import load_suite
from gauntlet.errors import ConfigError
from gauntlet.outcome import exit_code
from gauntlet.policy import Policy
from gauntlet.rundir import SUMMARY_FILE, read_summary, write_json, write_verdicts
from gauntlet.runner import RunOutcome, analyse


def rejudge_experiments(run_dir: Path, summary: dict[str, Any]) -> list[Verdict] | None:
    """Fresh verdicts of every experiment sub-dir, or None when the summary lists none."""
    from chaos.experiments import get_experiment
    from chaos.experiments.base import judge_dir

    entries = summary.get("experiments")
    if not entries:
        return None
    verdicts: list[Verdict] = []
    for entry in entries:
        experiment = get_experiment(entry["name"])
        params = experiment.parse_params(entry.get("params", {}))
        policy = Policy.model_validate(entry["policy"])
        fresh = judge_dir(experiment, run_dir / entry["dir"], policy, params)
        entry["verdicts"] = [v.as_dict() for v in fresh]
        verdicts += fresh
    return verdicts


def rebuild(run_dir: Path) -> RunOutcome:
    suite_file = run_dir / "suite.toml"
    if not suite_file.exists():
        raise ConfigError(f"{run_dir}: not a run dir (no suite.toml)")
    suite = load_suite(suite_file)
    summary = read_summary(run_dir)
    experiment_verdicts = rejudge_experiments(run_dir, summary)
    if experiment_verdicts is not None:
        summary["experiment_verdicts"] = [v.as_dict() for v in experiment_verdicts]
        write_json(run_dir / SUMMARY_FILE, summary)
    verdicts, figures_out = analyse(run_dir, suite)
    summary.update(figures_out)
    summary["verdicts"] = [v.as_dict() for v in verdicts]
    if summary.get("status") in (None, "running", "pass", "fail"):
        summary["status"] = "pass" if all(v.passed for v in verdicts) else "fail"
    code = exit_code(verdicts)
    if summary.get("status") == "interrupted":
        code = exit_code(verdicts, KeyboardInterrupt())
    summary["exit_code"] = int(code)
    write_verdicts(run_dir, verdicts)
    write_json(run_dir / SUMMARY_FILE, summary)
    return RunOutcome(run_dir, verdicts, summary, None, int(code))
