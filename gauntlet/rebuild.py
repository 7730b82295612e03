"""Rebuild a run's verdicts and summary from its run dir (also for a run that crashed midway).

SLO gates are recomputed from the samples; each experiment is re-judged from its own sub-dir
(samples, events, facts) with the policy and parameters the summary recorded, so a changed or
fixed verdict function gives the new answer for an old run.

The judge fails closed here as in the run: if re-judging raises, produces no verdict or finds
no request to judge, the status is ``error`` and the exit code 3, never a pass. An error the run
itself ended with (a stack that never booted, an interrupt) is kept: re-judging cannot undo it.
"""

from __future__ import annotations

import json
from pathlib import Path

from gauntlet.checks.verdict import Verdict
from gauntlet.config import Suite, load_suite, parse_suite
from gauntlet.contract import parse_contract, read_toml
from gauntlet.errors import ConfigError, GauntletError, Interrupted, JudgeError
from gauntlet.judge import RunOutcome, close_run
from gauntlet.rundir import SUMMARY_FILE, RunSummary, read_summary, write_json
from gauntlet.runner import CONTRACT_FILE, not_run


def rejudge_experiments(run_dir: Path, suite: Suite,
                        summary: RunSummary) -> list[Verdict] | None:
    """Fresh verdicts of every experiment sub-dir, or None when the summary lists none.

    Each entry is matched to its experiment run as the suite (the run dir's own copy) plans it,
    by experiment name and claim instance."""
    from gauntlet.chaos.judging import judge_dir
    from gauntlet.chaos.planning import plan_experiments, unverified

    entries = summary.get("experiments")
    if not entries:
        return None
    plan = plan_experiments(suite)
    planned = {(p.experiment.name, p.claim): p for p in plan}
    verdicts: list[Verdict] = []
    ran = []
    for entry in entries:
        # only the fresh verdicts change: the rest of the entry is what the run recorded
        name, claim, where = (str(entry.get(k) or "") for k in ("name", "claim", "dir"))
        item = planned.get((name, claim))
        if item is None or not where:
            raise JudgeError(f"experiment {name}[{claim}] of this run is not planned by its "
                             "suite.toml (or has no dir): cannot re-judge it")
        fresh = judge_dir(item, suite.the_contract, run_dir / where)
        entry["verdicts"] = [v.as_dict() for v in fresh]
        verdicts += fresh
        ran.append(item)
    if len(ran) < len(plan) and summary.get("status") in ("error", "interrupted"):
        # the run stopped before these: they stay "not run", with what stopped it
        stopped = ("the run was interrupted" if summary.get("status") == "interrupted" else
                   str(summary.get("error") or "the run stopped before it"))
        verdicts += not_run(suite.the_contract, plan, ran, stopped.splitlines()[0])
    if summary.get("every_claim"):
        # the claims no experiment verifies are inconclusive again: a rebuild that dropped
        # them would turn "proved nothing about that claim" into a pass
        verdicts += unverified(suite.the_contract, plan)
    return verdicts


class RecordedError(GauntletError):
    """The error a run ended with, as its summary recorded it: re-judging cannot undo it (a
    stack that never booted stays an infrastructure failure), so its exit code is kept."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def recorded_error(summary: RunSummary) -> GauntletError | None:
    """The run's own error (not the judge's, which a rebuild judges afresh), or None."""
    status = summary.get("status")
    if status == "interrupted":
        return Interrupted(str(summary.get("error") or "the run was interrupted"))
    message = summary.get("error")
    if status == "error" and message and message != summary.get("analysis_error"):
        code = summary.get("exit_code")
        return RecordedError(str(message), code if code in (2, 3) else 3)
    return None


def _run_suite(run_dir: Path, suite_file: Path) -> Suite:
    """The suite as it ran, with the contract it ran with (``contract.json``): the contract's
    file may have moved or changed since, and a relative path in the copied suite.toml no
    longer points at it."""
    contract_file = run_dir / CONTRACT_FILE
    if not contract_file.exists():
        return load_suite(suite_file)
    data = read_toml(suite_file, "suite")
    contract = parse_contract(json.loads(contract_file.read_text()), str(contract_file))
    return parse_suite(data, str(suite_file), run_dir, contract=contract, needs_work=False)


def rebuild(run_dir: Path) -> RunOutcome:
    """Re-judge a run dir; fails closed like the run itself (a judge that raises, no verdict,
    or nothing to judge: exit 3, traceback in ``logs/judge.log``). Raises ConfigError only
    when ``run_dir`` is not a run dir."""
    suite_file = run_dir / "suite.toml"
    if not suite_file.exists():
        raise ConfigError(f"{run_dir}: not a run dir (no suite.toml)")
    suite = _run_suite(run_dir, suite_file)
    summary = read_summary(run_dir)
    error: BaseException | None = recorded_error(summary)
    summary.pop("analysis_error", None)  # the judge's last word is judged afresh
    if error is None:
        summary.pop("traceback", None)

    def rejudge() -> None:
        experiment_verdicts = rejudge_experiments(run_dir, suite, summary)
        if experiment_verdicts is not None:
            summary["experiment_verdicts"] = [v.as_dict() for v in experiment_verdicts]
            write_json(run_dir / SUMMARY_FILE, summary)

    return close_run(run_dir, suite, summary, error, rejudge=rejudge)
