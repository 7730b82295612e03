"""A run stopped early lists every claim it planned and never got to as ``not run: <the
error>`` — in the console, the summary and the claims table, and again after a rebuild —
instead of "20 passed, 0 failed" and "no experiment for it was planned". No stack: the
experiment runs are swapped for fakes, the fourth of which fails as an infrastructure error."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import gauntlet.chaos.execute as execute
import gauntlet.chaos.judging as judging
import gauntlet.chaos.planning as planning
import gauntlet.runner as runner
from gauntlet.chaos.execute import ExperimentResult
from gauntlet.chaos.experiments.base import Planned
from gauntlet.checks.verdict import Verdict
from gauntlet.config import load_suite
from gauntlet.errors import InfrastructureError
from gauntlet.judge import RunOutcome
from gauntlet.printout import print_outcome
from gauntlet.rebuild import rebuild
from gauntlet.reports.claims import write_claims_table

ROOT = Path(__file__).resolve().parents[2]
STOPPED = "Locust exited with code 1"


def _passed(planned: Planned) -> list[Verdict]:
    kind = planned.experiment.kinds[0]
    return [Verdict(planned.experiment.name, f"holds [{planned.claim}]", "pass", "fine",
                    claim=f"{kind}.{planned.claim}")]


@pytest.fixture
def stopped_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunOutcome:
    text = (f'name = "verify"\ncontract = "{ROOT / "stack" / "contract.toml"}"\n'
            'every_claim = true\n[stack]\nbackend = "external"\n'
            'base_url = "http://127.0.0.1:9"\n')
    (tmp_path / "suite.toml").write_text(text)
    suite = load_suite(tmp_path / "suite.toml")
    calls: list[str] = []

    def fake_run(suite: Any, planned: Planned, run_dir: Path,
                 **kw: Any) -> ExperimentResult:
        calls.append(planned.label)
        if len(calls) == 4:
            raise InfrastructureError(STOPPED)
        return ExperimentResult(planned.experiment.name, planned.claim, "", {}, [], 0.0,
                                verdicts=_passed(planned))

    monkeypatch.setattr(execute, "run_experiment", fake_run)
    monkeypatch.setattr(judging, "judge_dir", lambda planned, *a: _passed(planned))
    return runner.run_suite(suite, text, output_dir=tmp_path / "runs", every_claim=True)


def test_a_stopped_run_lists_its_unrun_claims(stopped_run: RunOutcome) -> None:
    """Old code: the claims the run never got to had no verdict at all; the console said "3
    passed, 0 failed" and the claims table "no experiment for it was planned"."""
    outcome = stopped_run
    assert outcome.exit_code == 3
    plan = planning.plan_experiments(load_suite(outcome.run_dir / "suite.toml"))
    assert len(plan) > 4
    unrun = [v for v in outcome.verdicts if v.reason == f"not run: {STOPPED}"]
    owed = {f"{p.experiment.kinds[0]}.{p.claim}" for p in plan[3:]
            if p.experiment.name != "slow_dependency"}
    assert owed <= {v.claim for v in unrun}
    assert all(v.inconclusive for v in unrun)
    assert not {v.claim for v in unrun} & {v.claim for v in outcome.verdicts if v.passed}
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert summary["not_run"] == [p.label for p in plan[3:]]
    assert sum(v["reason"].startswith("not run:") for v in summary["verdicts"]) == len(unrun)

    printed = io.StringIO()
    print_outcome(outcome, out=Console(file=printed, width=200),
                  console=Console(file=io.StringIO()))
    printed = printed.getvalue()
    assert "NOT RUN" in printed and f"{len(unrun)} not run of" in printed

    table = write_claims_table(outcome.run_dir)
    assert table is not None and f"| not run | not run: {STOPPED} |" in table.read_text()
    rows = json.loads((outcome.run_dir / "claims.json").read_text())["rows"]
    for claim in owed:
        assert [r["outcome"] for r in rows if r["claim"] == claim] == ["not run"], claim


def test_a_rebuild_keeps_them_not_run(stopped_run: RunOutcome) -> None:
    before = {v.claim for v in stopped_run.verdicts if v.reason.startswith("not run:")}
    assert before
    rebuilt = rebuild(stopped_run.run_dir)
    assert rebuilt.exit_code == 3
    assert {v.claim for v in rebuilt.verdicts if v.reason == f"not run: {STOPPED}"} == before
