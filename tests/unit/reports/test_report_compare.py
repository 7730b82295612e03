"""Baseline comparison: a doubled p95 is a regression, a 3 % wiggle is not."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rundir_factory import RunDirs

from gauntlet.cli import main
from gauntlet.outcome import ExitCode, exit_code
from gauntlet.reports.compare import OVERALL, Comparison, compare_runs, is_regression, render_text


def _pair(rundirs: RunDirs, run: pd.DataFrame, base: pd.DataFrame,
          summaries: bool = True) -> tuple[Path, Path]:
    run_dir = rundirs.write("run", samples=run,
                            summary=rundirs.summary(run) if summaries else None)
    base_dir = rundirs.write("base", samples=base,
                             summary=rundirs.summary(base) if summaries else None)
    return run_dir, base_dir


def _row(comparison: Comparison, metric: str, endpoint: str = OVERALL) -> object:
    return next(r for r in comparison.rows if r.endpoint == endpoint and r.metric == metric)


def test_doubled_p95_is_flagged(rundirs: RunDirs) -> None:
    base = rundirs.samples(4000, seed=1)
    run = base.assign(latency_ms=base["latency_ms"] * 2.0)
    comparison = compare_runs(*_pair(rundirs, run, base))
    assert comparison.regressed
    p95 = _row(comparison, "p95_ms")
    assert p95.regression and p95.relative is not None  # type: ignore[attr-defined]
    assert abs(p95.relative - 1.0) < 1e-9  # type: ignore[attr-defined]
    assert not _row(comparison, "error_rate").regression  # type: ignore[attr-defined]


def test_three_percent_wiggle_is_not_flagged(rundirs: RunDirs) -> None:
    base = rundirs.samples(4000, seed=1)
    run = base.assign(latency_ms=base["latency_ms"] * 1.03)
    comparison = compare_runs(*_pair(rundirs, run, base))
    assert not comparison.regressed
    assert "no regression" in render_text(comparison)


def test_independent_runs_of_the_same_load_do_not_regress(rundirs: RunDirs) -> None:
    comparison = compare_runs(*_pair(rundirs, rundirs.samples(6000, seed=2),
                                     rundirs.samples(6000, seed=3)))
    assert not comparison.regressed, render_text(comparison)


def test_thin_tails_are_shown_but_not_judged(rundirs: RunDirs) -> None:
    base = rundirs.samples(1000, seed=9)
    run = base.assign(latency_ms=base["latency_ms"] * 3.0)
    comparison = compare_runs(*_pair(rundirs, run, base))
    p99 = _row(comparison, "p99_ms")
    assert not p99.regression and "tail too thin" in p99.note  # type: ignore[attr-defined]
    assert _row(comparison, "p95_ms").regression  # type: ignore[attr-defined]


def test_figures_are_recomputed_when_summaries_are_missing(rundirs: RunDirs) -> None:
    base = rundirs.samples(3000, seed=4)
    run = base.assign(latency_ms=base["latency_ms"] * 2.0)
    comparison = compare_runs(*_pair(rundirs, run, base, summaries=False))
    assert comparison.regressed
    assert any("recomputed from samples" in n for n in comparison.notes)


def test_error_rate_band_is_absolute(rundirs: RunDirs) -> None:
    base = rundirs.samples(5000, seed=5, p5xx=0.001)
    worse = rundirs.samples(5000, seed=5, p5xx=0.03)
    comparison = compare_runs(*_pair(rundirs, worse, base))
    assert _row(comparison, "error_rate").regression  # type: ignore[attr-defined]


def test_sub_millisecond_jitter_is_below_the_floor(rundirs: RunDirs) -> None:
    base = rundirs.samples(3000, seed=6, base_ms=0.3)
    run = base.assign(latency_ms=base["latency_ms"] * 1.8)  # +80 %, but < 1 ms
    assert not compare_runs(*_pair(rundirs, run, base)).regressed


def test_compare_json_is_written_and_strict(rundirs: RunDirs) -> None:
    base = rundirs.samples(2000, seed=7, endpoints=["GET /a", "GET /b"])
    run = rundirs.samples(2000, seed=7, endpoints=["GET /a", "GET /c"])
    run_dir, base_dir = _pair(rundirs, run, base)
    comparison = compare_runs(run_dir, base_dir)
    data = json.loads((run_dir / "compare.json").read_text(),
                      parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert data["regressed"] == comparison.regressed
    notes = {r["endpoint"]: r["note"] for r in data["rows"]}
    assert notes["GET /b"] == "vanished: only in the baseline"
    assert notes["GET /c"] == "only in the run"
    assert data["vanished"] == ["GET /b"]
    text = render_text(comparison)
    assert "GET /c" in text and "only in the run" in text


def test_an_endpoint_that_vanished_is_a_regression(rundirs: RunDirs) -> None:
    """The baseline sent GET /b and the run did not: that used to be a note and exit 0."""
    base = rundirs.samples(2000, seed=7, endpoints=["GET /a", "GET /b"])
    run = rundirs.samples(2000, seed=7, endpoints=["GET /a"])
    comparison = compare_runs(*_pair(rundirs, run, base))
    assert comparison.regressed and comparison.vanished == ["GET /b"]
    failed = [v for v in comparison.verdicts() if v.failed]
    assert [v.name for v in failed] == ["vanished [GET /b]"]
    assert "1 endpoint(s) vanished" in render_text(comparison)
    assert exit_code(comparison.verdicts()) == ExitCode.VERDICT_FAILED


def test_thin_populations_judge_nothing_and_that_is_no_pass(rundirs: RunDirs) -> None:
    """15 requests a side: every row too thin. It used to exit 0 having judged nothing."""
    base = rundirs.samples(15, seed=1)
    run = base.assign(latency_ms=base["latency_ms"] * 5.0)
    comparison = compare_runs(*_pair(rundirs, run, base))
    assert comparison.comparable and not comparison.regressed
    assert comparison.verdicts() == []
    assert exit_code(comparison.verdicts()) == ExitCode.INFRASTRUCTURE
    assert "NOTHING JUDGED" in render_text(comparison)


def test_judged_rows_are_verdicts(rundirs: RunDirs) -> None:
    base = rundirs.samples(4000, seed=1)
    comparison = compare_runs(*_pair(rundirs, base.assign(latency_ms=base["latency_ms"] * 1.03),
                                     base))
    verdicts = comparison.verdicts()
    assert verdicts and all(v.passed for v in verdicts)
    assert exit_code(verdicts) == ExitCode.PASSED
    doubled = compare_runs(*_pair(rundirs, base.assign(latency_ms=base["latency_ms"] * 2.0),
                                  base))
    assert exit_code(doubled.verdicts()) == ExitCode.VERDICT_FAILED


def test_the_compare_command_exits_by_the_outcome(rundirs: RunDirs) -> None:
    base = rundirs.samples(15, seed=1)
    run_dir, base_dir = _pair(rundirs, base, base)
    result = CliRunner().invoke(main, ["compare", str(run_dir), str(base_dir)])
    assert result.exit_code == 3, result.output
    assert "nothing was judged" in result.output


def test_empty_run_is_not_comparable_rather_than_fine(rundirs: RunDirs) -> None:
    base = rundirs.samples(1000, seed=8)
    run_dir = rundirs.write("empty", suite_toml=None)
    base_dir = rundirs.write("base", samples=base, summary=rundirs.summary(base))
    comparison = compare_runs(run_dir, base_dir)
    assert not comparison.regressed and not comparison.comparable
    assert "NOT COMPARABLE" in render_text(comparison)


latency = st.floats(0.01, 100_000, allow_nan=False)


@settings(max_examples=300)
@given(latency, st.floats(0.0, 1.10))
def test_within_noise_is_never_a_regression(baseline: float, factor: float) -> None:
    assert not is_regression("p95_ms", baseline, baseline * min(factor, 1.0999))


@settings(max_examples=300)
@given(st.floats(3.0, 100_000, allow_nan=False), st.floats(1.5, 10.0))
def test_well_beyond_noise_and_floor_is_a_regression(baseline: float, factor: float) -> None:
    assert is_regression("p99_ms", baseline, baseline * factor)


@settings(max_examples=300)
@given(st.floats(0, 1), st.floats(0, 1))
def test_error_rate_flag_is_the_absolute_band(baseline: float, run: float) -> None:
    assert is_regression("error_rate", baseline, run) == (run - baseline > 0.005)
