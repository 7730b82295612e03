"""scripts/flake.py, the flake-rate script docs/flake.md shows: its tallies, its FLIP mark and
its exit code, on canned ``gauntlet verify`` run dirs (the real runs take ~9 min each; their
figures are in docs/flake.md)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _flake() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flake", ROOT / "scripts" / "flake.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def _verdict(name: str, status: str, reason: str = "seen") -> dict[str, Any]:
    return {"check": "breaker", "name": name, "status": status, "reason": reason,
            "claim": "breaker.upstream"}


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outcomes: list[str],
         extra: tuple[str, ...] = (), commands: list[list[str]] | None = None
         ) -> tuple[int, str]:
    """flake.py over ``len(outcomes)`` gauntlet calls on one contract; call i's 'opens'
    verdict has outcome i, its 'closes' verdict always passes; each call's gauntlet arguments
    go into ``commands``."""
    flake = _flake()
    calls: list[str] = []

    def fake_run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        if argv[0] == "git":  # the batch's commit, and a clean work tree
            head = "abc1234\n" if "rev-parse" in argv else ""
            return subprocess.CompletedProcess(argv, 0, head, "")
        out = Path(argv[argv.index("--output") + 1])
        if commands is not None:
            commands.append(argv[3:argv.index("--output")])  # after python -m gauntlet.cli
        status = outcomes[len(calls)]
        calls.append(status)
        verdicts = [_verdict("opens", status, "the fault never opened it"),
                    _verdict("closes", "pass")]
        run_dir = out / "20261205-000000-verify"
        run_dir.mkdir(parents=True)
        (run_dir / "summary.json").write_text(json.dumps({
            "experiments": [{"name": "breaker", "claim": "upstream", "verdicts": verdicts}],
            "verdicts": verdicts}))
        return subprocess.CompletedProcess(argv, 1 if status == "fail" else 0, "", "")

    monkeypatch.setattr(flake.subprocess, "run", fake_run)
    runs = len(outcomes) // max(1, extra.count("--chaos"))
    monkeypatch.setattr(sys, "argv", ["flake.py", "--runs", str(runs), "--out",
                                      str(tmp_path), *extra, "stack/contract.toml"])
    code = flake.main()
    [written] = tmp_path.glob("*/flake.md")
    [batch] = tmp_path.glob("*/batch.json")
    assert json.loads(batch.read_text())["commit"] == "abc1234"
    return code, written.read_text()


def test_a_verdict_that_passed_and_failed_is_a_flip(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    code, table = _run(tmp_path, monkeypatch, ["pass", "fail", "inconclusive"])
    assert code == 1
    assert "| breaker[upstream] opens | 1 | 1 | 1 | **FLIP** |" in table
    assert "| breaker[upstream] closes | 3 | 0 | 0 |  |" in table
    assert "breaker[upstream] opens (1 times): the fault never opened it" in table


def test_steady_verdicts_exit_0_and_an_inconclusive_one_only_differs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, table = _run(tmp_path, monkeypatch, ["pass", "inconclusive"])
    assert code == 0
    assert "| breaker[upstream] opens | 1 | 0 | 1 | differs |" in table
    assert "exit codes: {0: 2}" in table


def test_chaos_runs_only_the_named_experiments_of_each_contract(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change to one experiment gets its ten runs without ten whole verifies."""
    commands: list[list[str]] = []
    code, table = _run(tmp_path, monkeypatch, ["pass", "pass", "inconclusive", "pass"],
                       ("--chaos", "retries", "--chaos", "slow_dependency"), commands)
    assert commands == [["chaos", "retries", "--contract", "stack/contract.toml"],
                        ["chaos", "slow_dependency", "--contract", "stack/contract.toml"]] * 2
    assert code == 0
    assert ("### `stack/contract.toml`, one chaos run each of retries, slow_dependency, "
            "2 runs") in table
    assert "wall time per experiment run" in table
    [batch] = tmp_path.glob("*/batch.json")
    assert json.loads(batch.read_text())["experiments"] == ["retries", "slow_dependency"]


def test_tally_adds_up_finished_runs_of_earlier_batches(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    flake = _flake()
    for batch, statuses in (("b1", ["pass", "pass", "running"]), ("b2", ["pass", "fail"])):
        for i, status in enumerate(statuses, 1):
            verdicts = [_verdict("opens", status if status != "running" else "pass")]
            run_dir = tmp_path / batch / "20261205-000000" / f"run-{i:02d}" / "0-contract" / "r"
            run_dir.mkdir(parents=True)
            summary: dict[str, Any] = {
                "contract": "reference-stack", "status": status, "started_at_s": 100.0,
                "finished_at_s": 360.0,
                "experiments": [{"name": "breaker", "claim": "upstream", "verdicts": verdicts}],
                "verdicts": verdicts}
            if status != "running":  # a run cut short by the session's end: no exit code
                summary["exit_code"] = 1 if status == "fail" else 0
            (run_dir / "summary.json").write_text(json.dumps(summary))
    monkeypatch.setattr(sys, "argv", ["flake.py", "--tally", str(tmp_path / "b1"),
                                      str(tmp_path / "b2")])
    assert flake.main() == 1  # a flip across the two batches is a flip
    out = capsys.readouterr().out
    assert "## Flake rate: 4 runs, tallied from b1, b2" in out
    assert "### `gauntlet verify reference-stack`, 4 runs" in out
    assert "exit codes: {0: 3, 1: 1}; wall time per run 260 to 260 s" in out
    assert "| breaker[upstream] opens | 3 | 1 | 0 | **FLIP** |" in out


def test_tally_refuses_batches_of_two_commits_or_two_conditions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> None:
    """Old code added up any batches it was given: ten runs of two commits made one table."""
    flake = _flake()
    metas = {"b1": {"commit": "1f60811", "condition": "quiet"},
             "b2": {"commit": "ac76a36", "condition": "quiet"},
             "b3": {"commit": "1f60811", "condition": "beside stress-ng --cpu 2"},
             "b4": {"commit": "1f60811", "condition": "quiet"}, "b5": None}
    for batch, meta in metas.items():
        run_dir = tmp_path / batch / "stamp" / "run-01" / "0-contract" / "r"
        run_dir.mkdir(parents=True)
        verdicts = [_verdict("opens", "pass")]
        (run_dir / "summary.json").write_text(json.dumps({
            "contract": "reference-stack", "status": "pass", "exit_code": 0,
            "started_at_s": 0.0, "finished_at_s": 250.0,
            "experiments": [{"name": "breaker", "claim": "upstream", "verdicts": verdicts}],
            "verdicts": verdicts}))
        if meta is not None:
            (tmp_path / batch / "stamp" / "batch.json").write_text(json.dumps(meta))
    for pair, word in ((["b1", "b2"], "commits: 1f60811, ac76a36"), (["b1", "b3"], "conditions")):
        monkeypatch.setattr(sys, "argv", ["flake.py", "--tally",
                                          *(str(tmp_path / b) for b in pair)])
        with pytest.raises(SystemExit) as stopped:
            flake.main()
        assert stopped.value.code == 2 and word in capsys.readouterr().err
    # one commit, one condition, and a batch from before batch.json: added up, and said
    monkeypatch.setattr(sys, "argv", ["flake.py", "--tally", str(tmp_path / "b1"),
                                      str(tmp_path / "b4"), str(tmp_path / "b5")])
    assert flake.main() == 0
    assert ("tallied from b1, b4, b5 (1f60811, quiet; 1 batch(es) not saying their commit)"
            in capsys.readouterr().out)


def test_each_progress_line_says_the_exit_of_its_own_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Old code: the line printed the last element of the exit-code Counter, grouped by code,
    so a run that exited 0 after one that failed read "exit 1" (and LangSense's
    dependency_down "exit 4" after a slow_dependency run with a contract finding)."""
    _run(tmp_path, monkeypatch, ["pass", "fail", "pass"])
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("[flake] run")]
    assert [x.split(": exit ")[1].split()[0] for x in lines] == ["0", "1", "0"]


def test_a_tally_of_chaos_batches_counts_runs_not_experiment_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Old code titled a tally of two --chaos runs of two experiments "4 runs": it counted
    the contract's experiment runs."""
    flake = _flake()
    for i in (1, 2):
        for experiment in ("retries", "slow_dependency"):
            run_dir = (tmp_path / "b1" / "stamp" / f"run-{i:02d}" / f"0-contract-{experiment}"
                       / "r")
            run_dir.mkdir(parents=True)
            verdicts = [_verdict(experiment, "pass")]
            (run_dir / "summary.json").write_text(json.dumps({
                "contract": "reference-stack", "status": "pass", "exit_code": 0,
                "started_at_s": 0.0, "finished_at_s": 50.0,
                "experiments": [{"name": experiment, "claim": "x", "verdicts": verdicts}],
                "verdicts": verdicts}))
    (tmp_path / "b1" / "stamp" / "batch.json").write_text(json.dumps(
        {"commit": "abc1234", "condition": "quiet",
         "experiments": ["retries", "slow_dependency"]}))
    monkeypatch.setattr(sys, "argv", ["flake.py", "--tally", str(tmp_path / "b1")])
    assert flake.main() == 0
    out = capsys.readouterr().out
    assert "## Flake rate: 2 runs" in out
    assert ("### `reference-stack`, one chaos run each of retries, slow_dependency, 2 runs"
            in out)
