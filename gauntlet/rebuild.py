"""Rebuild a run's verdicts and summary from its run dir (also for a run that crashed midway)."""

from __future__ import annotations

from pathlib import Path

from gauntlet.config import load_suite
from gauntlet.errors import ConfigError
from gauntlet.outcome import exit_code
from gauntlet.rundir import SUMMARY_FILE, read_summary, write_json, write_verdicts
from gauntlet.runner import RunOutcome, analyse


def rebuild(run_dir: Path) -> RunOutcome:
    suite_file = run_dir / "suite.toml"
    if not suite_file.exists():
        raise ConfigError(f"{run_dir}: not a run dir (no suite.toml)")
    suite = load_suite(suite_file)
    summary = read_summary(run_dir)
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
