"""junit.xml: the verdicts in the one format every CI system already renders.

One ``<testcase>`` per verdict (classname = check, name = verdict name), so a failed gate shows up
in the CI's test tab with its reason as the failure message. A run that errored or was
interrupted, or whose runner died before writing a final status, gets one extra testcase with an
``<error>``: CI must never show a green suite for a run that did not finish judging.

An *inconclusive* verdict (the evidence it needs never occurred, or the measured value sits
within the measurement's resolution of its bound) is a ``<failure type="inconclusive">``, its
message starting with "inconclusive:". Why a failure: the claim under test was not shown to
hold, and every CI counts failures as red. Why not ``<error>``: here that element means the
*harness* broke (the judge crashed, the run errored or was interrupted: exit 3/130), and a team
triaging a red build must tell "gauntlet broke" from "the service's claim was not proven".
Never ``<skipped>``: CI treats skipped as not failed, and a claim nobody could verify must not
go green. The testsuite's ``inconclusive`` property carries the count apart.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from gauntlet.checks.verdict import Verdict, count
from gauntlet.reports import fmt
from gauntlet.reports.rundata import RunData

JUNIT_FILE = "junit.xml"
# characters XML 1.0 cannot carry at all, not even escaped (a reason quoting a binary body)
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _x(text: object) -> str:
    return _ILLEGAL_XML.sub("\ufffd", str(text))


def junit_tree(run: RunData) -> ET.ElementTree[ET.Element]:
    """The JUnit document of a run (``<testsuites>`` with one ``<testsuite>``)."""
    verdicts = run.verdicts
    run_error = _run_error(run)
    failures = sum(not v.passed for v in verdicts)  # inconclusive counts as a failure
    errors = 1 if run_error else 0
    started = fmt.number(run.started_at_s)
    finished = fmt.number(run.summary.get("finished_at_s"))
    elapsed = max(finished - started, 0.0) if started is not None and finished is not None \
        else 0.0
    counts = {"tests": str(len(verdicts) + errors), "failures": str(failures),
              "errors": str(errors), "skipped": "0", "time": f"{elapsed:.3f}"}
    root = ET.Element("testsuites", {"name": "gauntlet", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": _x(run.name), **counts})
    if started is not None:
        suite.set("timestamp",
                  dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    props = ET.SubElement(suite, "properties")
    for key in ("run_id", "backend", "contract", "latency_basis", "status"):
        value = run.status if key == "status" else run.summary.get(key)
        if value is not None:
            ET.SubElement(props, "property", {"name": key, "value": _x(value)})
    for outcome, number in count(verdicts).items():
        ET.SubElement(props, "property", {"name": outcome, "value": str(number)})
    for verdict in verdicts:
        _testcase(suite, verdict)
    if run_error:
        case = ET.SubElement(suite, "testcase",
                             {"classname": "gauntlet", "name": f"run {run.status}", "time": "0"})
        error = ET.SubElement(case, "error", {"message": _x(run_error), "type": run.status})
        error.text = _x(run_error)
    ET.indent(root)
    return ET.ElementTree(root)


def _testcase(suite: ET.Element, verdict: Verdict) -> None:
    # one claim instance per experiment run: two runs of one check must not share a name
    classname = verdict.check if not verdict.claim or verdict.claim in verdict.name \
        else f"{verdict.check}.{verdict.claim}"
    case = ET.SubElement(suite, "testcase",
                         {"classname": _x(classname), "name": _x(verdict.name), "time": "0"})
    detail = (f"observed {fmt.quantity(verdict.observed, verdict.unit)}, "
              f"threshold {fmt.quantity(verdict.threshold, verdict.unit)}")
    if verdict.marginal:
        detail += " (marginal: within the measurement's resolution of the bound)"
    if verdict.unreliable:
        detail += " (unreliable: the load generator was saturated or its health unknown)"
    if verdict.inconclusive:
        message = f"inconclusive: {verdict.reason}"
        failure = ET.SubElement(case, "failure", {"message": _x(message), "type": "inconclusive"})
        failure.text = _x(f"{message}\n{detail}")
    elif not verdict.passed:
        failure = ET.SubElement(case, "failure",
                                {"message": _x(verdict.reason), "type": "verdict"})
        failure.text = _x(f"{verdict.reason}\n{detail}")
    else:
        ET.SubElement(case, "system-out").text = _x(f"{verdict.reason}\n{detail}")


def _run_error(run: RunData) -> str | None:
    if run.status not in ("error", "interrupted"):
        return None
    message = run.summary.get("error")
    if message:
        return str(message)
    if run.summary.get("status") == "interrupted":
        return "the run was interrupted before it finished"
    return "the run did not finish (no final status in summary.json): verdicts may be missing"


def write_junit(run: RunData) -> Path:
    path = run.run_dir / JUNIT_FILE
    junit_tree(run).write(path, encoding="utf-8", xml_declaration=True)
    return path
