"""The typed records between a run's stages read back what they wrote (summary.json is the
on-disk form): an experiment's result, and the summary a rebuild and a report read."""

from __future__ import annotations

from pathlib import Path

from gauntlet.checks.verdict import Verdict
from gauntlet.rundir import ExperimentResult, RunSummary, read_summary, write_json
from gauntlet.samples import CaptureRecord


def _result() -> ExperimentResult:
    opens = Verdict.judge("breaker", "opens [upstream]", True, "opened after 5 failures",
                          claim="breaker.upstream")
    return ExperimentResult("breaker", "upstream", "does the breaker open", {"users": 10},
                            ["breaker_stuck_open"], 1764139000.25,
                            dir="experiments/01-breaker-upstream", boot_time_s=2.5,
                            finished_at_s=1764139030.5, capture=CaptureRecord(),
                            verdicts=[opens])


def test_an_experiment_result_reads_back_what_it_wrote(tmp_path: Path) -> None:
    result = _result()
    summary: RunSummary = {"schema_version": 1, "experiments": [result.as_dict()]}
    write_json(tmp_path / "summary.json", summary)
    [entry] = read_summary(tmp_path)["experiments"]
    assert ExperimentResult.from_dict(entry) == result


def test_an_older_entry_reads_with_defaults() -> None:
    """A run dir written before a key existed (no capture, no boot time) still reads."""
    old = {"name": "retries", "claim": "database", "dir": "experiments/01-retries-database",
           "verdicts": [{"check": "retries", "name": "absorbs", "status": "pass",
                         "reason": "ok"}]}
    result = ExperimentResult.from_dict(old)
    assert (result.name, result.claim, result.boot_time_s) == ("retries", "database", None)
    assert result.capture == CaptureRecord()
    assert [v.status for v in result.verdicts] == ["pass"]
