"""The judge fails closed: a verdict that raises, no verdict at all, or a gate judged on zero
requests is never a pass — exit 3, status "error", the one-line cause in the summary, the
traceback in ``logs/judge.log``. And the exit code keeps inconclusive apart from pass and fail.

No stack: the run dir is written by hand (``gauntlet report`` path) or the boot and load of
``run_suite`` are swapped for fakes that leave samples behind (``gauntlet run`` path).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import gauntlet.judge as judge
import gauntlet.runner as runner
from gauntlet.checks.verdict import Verdict
from gauntlet.config import load_suite
from gauntlet.errors import ConfigError, Interrupted, JudgeError
from gauntlet.generator import assess
from gauntlet.judge import RunOutcome
from gauntlet.outcome import ExitCode, exit_code, run_status
from gauntlet.rebuild import rebuild
from gauntlet.samples import empty
from tests.unit.reports.rundir_factory import samples_frame, summary_for, write_run_dir

API_MIX = str(Path(__file__).resolve().parents[2] / "stack" / "locustfiles" / "api_mix.py")


SUITE = f"""name = "judge"
[stack]
backend = "external"
base_url = "http://127.0.0.1:9"
[load]
scenario = "{API_MIX}"
users = 1
duration_s = 1
[slo]
p95_ms = 5000
error_rate = 0.5
"""


def _boom(*args: Any, **kwargs: Any) -> list[Verdict]:
    raise ZeroDivisionError("float division by zero\nsecond line")


def _assert_failed_closed(outcome: RunOutcome, run_dir: Path, cause: str) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    assert outcome.exit_code == 3 == summary["exit_code"]
    assert summary["status"] == "error"
    assert isinstance(outcome.error, JudgeError)
    assert cause in summary["error"] and "\n" not in summary["error"]
    # nothing reported as passed: no verdict anywhere says pass
    assert outcome.verdicts == [] and summary["verdicts"] == []
    assert json.loads((run_dir / "verdicts.json").read_text()) == []
    assert summary["verdict_counts"] == {"pass": 0, "fail": 0, "inconclusive": 0}


# -- gauntlet report RUN_DIR ------------------------------------------------------------------
def _run_dir(tmp_path: Path, samples: Any = None) -> Path:
    samples = samples_frame(400) if samples is None else samples
    summary = summary_for(samples, status="pass", exit_code=0, suite="judge")
    return write_run_dir(tmp_path / "run", samples=samples, summary=summary, suite_toml=SUITE)


def test_a_verdict_that_raises_fails_the_rebuild_closed(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = _run_dir(tmp_path)
    monkeypatch.setattr(judge, "slo_verdicts", _boom)
    outcome = rebuild(run_dir)
    _assert_failed_closed(outcome, run_dir, "the judge failed: ZeroDivisionError: float division")
    log = (run_dir / "logs" / "judge.log").read_text()
    assert "Traceback" in log and "_boom" in log and "second line" in log
    assert json.loads((run_dir / "summary.json").read_text())["traceback"] == "logs/judge.log"


def test_a_rebuild_with_a_fixed_judge_judges_afresh(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = _run_dir(tmp_path)
    with monkeypatch.context() as m:
        m.setattr(judge, "slo_verdicts", _boom)
        assert rebuild(run_dir).exit_code == 3
    outcome = rebuild(run_dir)  # the verdict function is fixed: the judge's error is not sticky
    summary = json.loads((run_dir / "summary.json").read_text())
    assert outcome.exit_code == 0 and summary["status"] == "pass"
    assert "error" not in summary and "analysis_error" not in summary
    assert summary["verdict_counts"]["pass"] == len(outcome.verdicts) > 0


def test_zero_requests_are_nothing_to_judge(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path, samples=empty())
    outcome = rebuild(run_dir)
    _assert_failed_closed(outcome, run_dir, "no request was recorded: nothing to judge")


def test_a_run_error_survives_a_rebuild(tmp_path: Path) -> None:
    """An infrastructure failure is not washed away by re-judging whatever samples it left."""
    run_dir = _run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary.update(status="error", exit_code=3, error="api did not become ready in 30 s")
    (run_dir / "summary.json").write_text(json.dumps(summary))
    outcome = rebuild(run_dir)
    assert outcome.exit_code == 3
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "error"


def test_not_a_run_dir_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a run dir"):
        rebuild(tmp_path)


# -- gauntlet run SUITE: the analysis part of run_suite ---------------------------------------
@contextmanager
def _fake_boot(suite: Any, logs_dir: Path | None = None) -> Iterator[Any]:
    yield SimpleNamespace(boot_time_s=0.01, backend="external", versions={},
                          base_url="http://127.0.0.1:9", probe_url="http://127.0.0.1:9",
                          check_alive=lambda during: None)


def _fake_load(n: int, *, health: bool = True) -> Any:
    """A load that leaves ``n`` samples and, with ``health``, a generator seen healthy."""
    def drive(suite: Any, stack: Any, run_dir: Path, timeline: Any, summary: dict[str, Any],
              *args: Any) -> None:
        (samples_frame(n) if n else empty()).to_parquet(run_dir / "samples.parquet",
                                                         index=False)
        if health:
            summary["generator"] = assess([20.0] * 10, 1, 0, 0.0, n, False).as_dict()
    return drive


@pytest.fixture
def suite(tmp_path: Path) -> Any:
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    return load_suite(path)


def test_a_verdict_that_raises_fails_the_run_closed(suite: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "boot", _fake_boot)
    monkeypatch.setattr(runner, "_drive_load", _fake_load(300))
    monkeypatch.setattr(judge, "slo_verdicts", _boom)
    outcome = runner.run_suite(suite, SUITE, output_dir=tmp_path / "runs")
    _assert_failed_closed(outcome, outcome.run_dir, "the judge failed: ZeroDivisionError")
    assert "ZeroDivisionError" in (outcome.run_dir / "logs" / "judge.log").read_text()
    assert outcome.summary["forced_kills"] == []


def test_a_run_that_recorded_no_request_fails_closed(suite: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "boot", _fake_boot)
    monkeypatch.setattr(runner, "_drive_load", _fake_load(0))
    outcome = runner.run_suite(suite, SUITE, output_dir=tmp_path / "runs")
    _assert_failed_closed(outcome, outcome.run_dir, "no request was recorded: nothing to judge")


def test_a_load_with_no_generator_health_cannot_pass(suite: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Generator health never recorded (no CPU sample, no report): unknown, not reliable. The
    gates that would pass are inconclusive, and the run exits 4 (it used to exit 0)."""
    monkeypatch.setattr(runner, "boot", _fake_boot)
    monkeypatch.setattr(runner, "_drive_load", _fake_load(300, health=False))
    outcome = runner.run_suite(suite, SUITE, output_dir=tmp_path / "runs")
    assert outcome.exit_code == 4 and outcome.summary["status"] == "inconclusive"
    assert all(v.inconclusive and v.unreliable for v in outcome.verdicts)
    assert "its health is unknown: no generator health was recorded" in \
        outcome.verdicts[0].reason


def test_a_run_that_passes_counts_its_verdicts(suite: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "boot", _fake_boot)
    monkeypatch.setattr(runner, "_drive_load", _fake_load(300))
    outcome = runner.run_suite(suite, SUITE, output_dir=tmp_path / "runs")
    assert outcome.exit_code == 0 and outcome.summary["status"] == "pass"
    counts = outcome.summary["verdict_counts"]
    assert counts == {"pass": len(outcome.verdicts), "fail": 0, "inconclusive": 0}


# -- the exit code ----------------------------------------------------------------------------
def _v(status: str) -> Verdict:
    return Verdict("c", status, status, "r")  # type: ignore[arg-type]


@pytest.mark.parametrize(("statuses", "error", "code", "status"), [
    (["pass", "pass"], None, ExitCode.PASSED, "pass"),
    (["pass", "fail", "inconclusive"], None, ExitCode.VERDICT_FAILED, "fail"),
    (["pass", "inconclusive"], None, ExitCode.INCONCLUSIVE, "inconclusive"),
    ([], None, ExitCode.INFRASTRUCTURE, "error"),  # nothing judged is not a pass
    (["pass"], JudgeError("boom"), ExitCode.INFRASTRUCTURE, "error"),
    (["pass"], RuntimeError("bug"), ExitCode.INFRASTRUCTURE, "error"),
    (["pass"], ConfigError("bad key"), ExitCode.USAGE, "error"),
    (["fail"], Interrupted("^C"), ExitCode.INTERRUPTED, "interrupted"),
    ([], KeyboardInterrupt(), ExitCode.INTERRUPTED, "interrupted"),
])
def test_exit_code_and_status(statuses: list[str], error: BaseException | None, code: ExitCode,
                              status: str) -> None:
    verdicts = [_v(s) for s in statuses]
    assert exit_code(verdicts, error) == code
    assert run_status(verdicts, error) == status
    assert int(ExitCode.INCONCLUSIVE) == 4
