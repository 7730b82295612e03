"""junit.xml for any verdict list: well-formed, counts right, text survives."""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rundir_factory import verdict, write_run_dir

from gauntlet.reports.junit import write_junit
from gauntlet.reports.rundata import load_run

text = st.text(max_size=40)
outcomes = st.sampled_from([True, False, "inconclusive"])
verdicts = st.lists(st.tuples(text, text, outcomes, text, st.booleans()), max_size=12)


@settings(max_examples=60, deadline=None)
@given(verdicts, st.sampled_from(["pass", "fail", "inconclusive", "error", "interrupted",
                                  "running"]))
def test_counts_and_text_round_trip(
    rows: list[tuple[str, str, bool | str, str, bool]], status: str,
) -> None:
    items = [verdict(check, name, passed, reason=reason or "r", unreliable=unreliable)
             for check, name, passed, reason, unreliable in rows]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = write_run_dir(Path(tmp), verdicts=items,
                                summary={"suite": "s", "status": status})
        root = ET.parse(write_junit(load_run(run_dir))).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    errors = 1 if status in ("error", "interrupted", "running") else 0
    failures = sum(passed is not True for _, _, passed, _, _ in rows)  # inconclusive fails
    inconclusive = sum(passed == "inconclusive" for _, _, passed, _, _ in rows)
    assert int(suite.get("tests", -1)) == len(rows) + errors == len(suite.findall("testcase"))
    assert int(suite.get("failures", -1)) == failures == len(suite.findall("testcase/failure"))
    assert int(suite.get("errors", -1)) == errors == len(suite.findall("testcase/error"))
    assert int(suite.get("skipped", -1)) == 0 == len(suite.findall("testcase/skipped"))
    assert len(suite.findall("testcase/failure[@type='inconclusive']")) == inconclusive
    if rows and "\x00" not in rows[0][1] and all(ord(c) >= 32 for c in rows[0][1]):
        assert suite.findall("testcase")[0].get("name") == rows[0][1]


def test_verdicts_of_old_run_dirs_read_by_passed_and_new_ones_by_status(tmp_path: Path) -> None:
    old = [{"check": "slo", "name": "a", "passed": True, "reason": "r"},
           {"check": "slo", "name": "b", "passed": False, "reason": "r"}]
    new = [{"check": "ratelimit", "name": "c", "passed": False, "status": "inconclusive",
            "reason": "no 429 was ever answered", "marginal": False}]
    junk = [{"check": "slo", "name": "d", "reason": "neither status nor passed"}]
    run = load_run(write_run_dir(tmp_path, verdicts=old + new + junk,
                                 summary={"suite": "s", "status": "fail"}))
    assert [v.status for v in run.verdicts] == ["pass", "fail", "inconclusive"]
    assert "1 malformed verdict(s) in verdicts.json" in run.missing
