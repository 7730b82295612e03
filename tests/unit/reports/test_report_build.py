"""build_report on synthetic run dirs: complete, failed, open-model, crashed and empty."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rundir_factory import T0, Fault, RunDirs

from gauntlet.reports.build import build_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def breaker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One failed-breaker report, built once and only read by the tests that share it."""
    run_dir = RunDirs(tmp_path_factory.mktemp("shared")).breaker()
    build_report(run_dir)
    return run_dir


def _html(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _junit(run_dir: Path) -> ET.Element:
    return ET.parse(run_dir / "junit.xml").getroot()


def test_failed_breaker_run_builds_a_self_contained_page(breaker_dir: Path) -> None:
    run_dir = breaker_dir
    page = _html(run_dir / "index.html")
    assert 'src="http' not in page and "href=\"http" not in page
    assert "<script" not in page and "<link" not in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    for name in ("latency.png", "throughput.png", "percentiles.png"):
        assert (run_dir / name).read_bytes().startswith(PNG_MAGIC)
    assert not (run_dir / "corrected.png").exists()  # closed model


def test_verdict_table_comes_first_and_failures_lead_it(breaker_dir: Path) -> None:
    page = _html(breaker_dir / "index.html")
    table = page.index('<table class="verdicts">')
    assert table < page.index("<img")
    rows = re.findall(r'<tr class="(pass|fail|inconclusive)">', page[table:])
    # triage order: failures, then inconclusive, then passes
    assert rows == ["fail", "inconclusive", "inconclusive", "pass", "pass", "pass"]
    assert "breaker opened within 2 s" in page
    assert "opened 5.8 s after the fault" in page
    assert "unreliable</span>" in page
    assert ">FAIL</span>" in page  # the status badge


def test_inconclusive_is_its_own_state_on_the_page(breaker_dir: Path) -> None:
    page = _html(breaker_dir / "index.html")
    header = page[page.index("<header>"):page.index("</header>")]
    # the counts beside the badge, each in its own colour class
    assert '<b class="c-fail">1</b> failed' in header
    assert '<b class="c-inconclusive">2</b> inconclusive' in header
    assert '<b class="c-pass">3</b> passed' in header
    assert "of 6 verdicts" in header
    assert "Verdicts: 1 failed, 2 inconclusive, 3 passed" in page
    assert "tr.inconclusive td:first-child{border-left:5px solid #b35900" in page
    assert "? INCONCLUSIVE" in page and "✓ pass" in page and "✗ FAIL" in page
    assert "the retry budget was not exercised" in page
    assert page.count('<span class="marg"') == 1  # the marginal deadline verdict


def test_an_inconclusive_run_has_an_amber_badge(rundirs: RunDirs) -> None:
    samples = rundirs.samples(300)
    items = [rundirs.verdict("slo", "p95_ms [overall]", True),
             rundirs.verdict("ratelimit", "other keys unaffected", "inconclusive",
                             "no request was ever answered 429")]
    run_dir = rundirs.write("inc", samples=samples, verdicts=items,
                            summary=rundirs.summary(samples, status="inconclusive",
                                                    exit_code=4, verdicts=items))
    build_report(run_dir)
    page = _html(run_dir / "index.html")
    assert ":root{--status:#b35900}" in page
    assert ">INCONCLUSIVE</span>" in page
    case = next(c for c in _junit(run_dir).iter("testcase")
                if c.get("name") == "other keys unaffected")
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "inconclusive"
    assert failure.get("message", "").startswith("inconclusive: no request")


def test_headline_and_endpoint_table_show_the_summary_figures(breaker_dir: Path) -> None:
    summary = json.loads((breaker_dir / "summary.json").read_text())
    page = _html(breaker_dir / "index.html")
    assert f"<b>{summary['overall']['count']:,}</b> requests" in page
    for endpoint in summary["endpoints"]:
        assert f"<td>{html.escape(endpoint)}</td>" in page
    assert "figures from summary.json" in page


def test_junit_counts_verdicts_and_failures(breaker_dir: Path) -> None:
    root = _junit(breaker_dir)
    suite = root.find("testsuite")
    assert suite is not None
    # an inconclusive verdict is a failure (never skipped: CI would show it green)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("6", "3", "0", "0")
    assert float(suite.get("time", "0")) == pytest.approx(37.5)
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    kinds = [c.find("failure").get("type") for c in failed]  # type: ignore[union-attr]
    assert kinds == ["verdict", "inconclusive", "inconclusive"]
    assert failed[0].get("classname") == "breaker"
    assert failed[0].get("name") == "breaker opened within 2 s"
    failure = failed[0].find("failure")
    assert failure is not None and "opened 5.8 s" in failure.get("message", "")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (props["pass"], props["fail"], props["inconclusive"]) == ("3", "1", "2")


def test_junit_parses_with_junitparser(breaker_dir: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    xml = junitparser.JUnitXml.fromfile(str(breaker_dir / "junit.xml"))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (6, 3, 0, 0)
    results = {case.name: [type(r).__name__ for r in case.result] for case in suite}
    assert results["breaker opened within 2 s"] == ["Failure"]
    assert results["retries absorbed the transient fault"] == ["Failure"]
    assert results["breaker closed after recovery"] == []


def test_errored_run_gets_an_error_testcase(rundirs: RunDirs) -> None:
    samples = rundirs.samples(500)
    summary = rundirs.summary(samples, status="error", exit_code=3,
                              error="api did not become ready within 30 s")
    run_dir = rundirs.write("err", samples=samples, summary=summary,
                            verdicts=[rundirs.verdict("slo", "p95_ms [overall]", True)])
    page = _html(build_report(run_dir))
    assert ">ERROR</span>" in page and "api did not become ready" in page
    suite = _junit(run_dir).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "0", "1")
    errors = [c for c in suite.iter("testcase") if c.find("error") is not None]
    assert errors[0].get("classname") == "gauntlet"
    error = errors[0].find("error")
    assert error is not None and "did not become ready" in error.get("message", "")


def test_crashed_run_with_events_and_raw_csv_only_still_builds(rundirs: RunDirs) -> None:
    fault = Fault(5.0, 12.0)
    samples = rundirs.samples(800, duration_s=20, fault=fault, p5xx=0.05, ptransport=0.02)
    events = [{"at_s": T0 - 1.0, "kind": "phase", "name": "boot"},
              rundirs.fault_events(fault)[0]]  # applied, never removed: the run died
    run_dir = rundirs.write("crash", samples=samples, raw_csv=True, events=events,
                            suite_toml=None)
    page = _html(build_report(run_dir))
    assert ">INTERRUPTED</span>" in page
    assert "summary.json (the runner never wrote it)" in page
    assert "read from the raw CSVs" in page
    assert "recomputed from the samples" in page
    assert (run_dir / "latency.png").read_bytes().startswith(PNG_MAGIC)
    assert not (run_dir / "summary.json").exists()  # not invented
    suite = _junit(run_dir).find("testsuite")
    assert suite is not None and suite.get("errors") == "1"


def test_empty_run_dir_builds_and_says_what_is_missing(rundirs: RunDirs) -> None:
    run_dir = rundirs.write("empty", suite_toml=None)
    page = _html(build_report(run_dir))
    for gap in ("summary.json", "verdicts.json", "events.jsonl", "samples"):
        assert gap in page
    assert "No verdicts were recorded" in page
    assert "<img" not in page


def test_running_summary_without_samples_or_verdicts(rundirs: RunDirs) -> None:
    summary = {"schema_version": 1, "suite": "s", "status": "running", "started_at_s": T0}
    run_dir = rundirs.write("running", summary=summary,
                            events=[{"at_s": T0, "kind": "phase", "name": "boot"}])
    page = _html(build_report(run_dir))
    assert ">INTERRUPTED</span>" in page and "did not finish" in page
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "running"


def test_open_model_run_gets_the_corrected_plot(rundirs: RunDirs) -> None:
    samples = rundirs.samples(3000, lag_ms=40.0)
    summary = rundirs.summary(samples, latency_basis="corrected",
                              load={"model": "open", "rate": 100, "duration_s": 30})
    run_dir = rundirs.write("open", samples=samples, summary=summary, verdicts=[])
    page = _html(build_report(run_dir))
    assert (run_dir / "corrected.png").read_bytes().startswith(PNG_MAGIC)
    assert "Corrected vs service latency" in page
    assert "corrected latency" in page


def test_summary_records_the_report_files_and_keeps_its_schema(rundirs: RunDirs) -> None:
    run_dir = rundirs.breaker()
    before = json.loads((run_dir / "summary.json").read_text())
    build_report(run_dir)
    after = json.loads((run_dir / "summary.json").read_text())
    report = after.pop("report")
    assert after == before
    assert report["index"] == "index.html" and report["junit"] == "junit.xml"
    assert set(report["plots"]) == {"latency.png", "throughput.png", "percentiles.png"}


def test_run_text_is_escaped(rundirs: RunDirs) -> None:
    nasty = '<script>alert("x")</script> & <img src="http://evil/">'
    samples = rundirs.samples(200)
    run_dir = rundirs.write(
        "nasty", samples=samples,
        summary=rundirs.summary(samples, suite=nasty, description=nasty, error=nasty,
                                status="error"),
        verdicts=[rundirs.verdict(nasty, nasty, False, reason=nasty, observed=nasty)],
        events=[{"at_s": T0, "kind": "phase", "name": nasty}])
    page = _html(build_report(run_dir))
    assert "<script" not in page and 'src="http' not in page
    assert "&lt;script&gt;" in page
    ET.parse(run_dir / "junit.xml")  # still well-formed


def test_broken_samples_file_is_reported_not_raised(rundirs: RunDirs) -> None:
    run_dir = rundirs.write("torn", events=[{"at_s": T0, "kind": "phase", "name": "boot"}])
    (run_dir / "samples.parquet").write_bytes(b"PAR1 torn by a crash")
    page = _html(build_report(run_dir))
    assert "samples (unreadable" in page


def _chaos_run(rundirs: RunDirs, with_summary: bool = True) -> Path:
    """A chaos-only run as the runner writes it: no top-level load, one sub dir per
    experiment with its own samples, timeline and verdicts."""
    fault = Fault(8.0, 16.0)
    failing = rundirs.verdict("breaker", "closes after the fault", False,
                              reason="no successful generate after the fault was removed")
    rundirs.write("chaos/experiments/01-breaker",
                  samples=rundirs.samples(1500, duration_s=24, fault=fault, p5xx=0.1),
                  events=[{"at_s": T0, "kind": "experiment.started", "name": "breaker"},
                          {"at_s": T0, "kind": "load.started", "model": "closed",
                           "duration_s": 24, "workers": 1},
                          *rundirs.fault_events(fault)],
                  verdicts=[failing], suite_toml=None)
    summary = {"schema_version": 1, "run_id": "chaos", "suite": "chaos-breaker",
               "started_at_s": T0, "finished_at_s": T0 + 25, "status": "fail", "exit_code": 1,
               "load": None, "overall": {"count": 0, "error_rate": 0.0}, "endpoints": {},
               "experiments": [{"name": "breaker", "dir": "experiments/01-breaker",
                                "description": "upstream hangs under load"}],
               "verdicts": [failing]}
    return rundirs.write(
        "chaos", summary=summary if with_summary else None,
        suite_toml='name = "chaos-breaker"\n[[experiments]]\nname = "breaker"\n',
        verdicts=[failing] if with_summary else None,
        events=[{"at_s": T0, "kind": "experiment.started", "name": "breaker",
                 "dir": "experiments/01-breaker"}])


def test_chaos_run_plots_each_experiment_from_its_own_dir(rundirs: RunDirs) -> None:
    run_dir = _chaos_run(rundirs)
    page = _html(build_report(run_dir))
    assert "Experiment 1: breaker" in page and "upstream hangs under load" in page
    assert "Incomplete run dir" not in page  # no top-level samples is normal here
    assert page.index('<table class="verdicts">') < page.index("<img")
    for name in ("exp-01-breaker-latency.png", "exp-01-breaker-throughput.png"):
        assert (run_dir / name).read_bytes().startswith(PNG_MAGIC)
    assert "POST /api/generate" in page  # the experiment's endpoint table
    assert "<b>1,500</b> requests in them" in page
    report = json.loads((run_dir / "summary.json").read_text())["report"]
    assert "exp-01-breaker-latency.png" in report["plots"]


def test_crashed_chaos_run_finds_experiments_from_the_timeline(rundirs: RunDirs) -> None:
    run_dir = _chaos_run(rundirs, with_summary=False)
    page = _html(build_report(run_dir))
    assert "Experiment 1: breaker" in page
    assert (run_dir / "exp-01-breaker-latency.png").exists()
