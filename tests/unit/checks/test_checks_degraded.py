"""Reported degraded above a latency threshold: the service's own reports judged poll by poll
against the claimed threshold, with the link's delay as the floor of an honest report."""

from __future__ import annotations

from collections.abc import Callable

from gauntlet.checks.degraded import LATENCY_PROBE, degraded_verdicts
from gauntlet.contract import HealthClaim
from gauntlet.timeline import Event
from tests.unit.checks.factory import T0

CLAIM = HealthClaim.model_validate({
    "name": "postgres", "link": "postgres",
    "detailed": {"path": "/health/detailed", "max_ms": 1000,
                 "dependency_status": "checks.database.status",
                 "dependency_latency": "checks.database.latency_ms",
                 "degraded_above_ms": 100}})


def delay(at: float, ms: float, kind: str = "fault.updated") -> Event:
    return Event(T0 + at, kind, {"proxy": "postgres", "fault": "latency", "toxic": "t1",
                                 "attributes": {"latency": ms}})


def polls(start: float, end: float, report: Callable[[float], tuple[str, float]]) -> list[Event]:
    """A poll every 0.1 s taking 20 ms; ``report(at)`` is its (status, reported ms)."""
    out = []
    for i in range(round((end - start) / 0.1)):
        at = round(start + i * 0.1, 6)
        status, ms = report(at)
        out.append(Event(T0 + at, "probe", {
            "target": LATENCY_PROBE, "status": 200, "latency_ms": 20.0, "value": status,
            "also": {"checks.database.latency_ms": str(ms)}}))
    return out


def honest(threshold: float = 100.0, factor: float = 2.0) -> Callable[[float], tuple[str, float]]:
    """A service reporting ``factor`` round trips of the delay in force, degraded past
    ``threshold``."""
    def report(at: float) -> tuple[str, float]:
        ms = 3.0 + factor * (0.0 if at < 10 else 40.0 if at < 20 else 90.0 if at < 30 else 0.0)
        return ("degraded" if ms > threshold else "healthy"), ms
    return report


FAULT = [delay(10, 40, "fault.applied"), delay(20, 90), delay(30, 0, "fault.removed")]


def verdicts(report: Callable[[float], tuple[str, float]]) -> dict[str, str]:
    events = sorted([*FAULT, *polls(0, 40, report)], key=lambda e: e.at_s)
    return {v.name.split(" [")[0]: v.status for v in degraded_verdicts(events, CLAIM)}


def test_an_honest_service_passes_all_three() -> None:
    assert verdicts(honest()) == {"shows postgres degraded above 100 ms": "pass",
                                  "shows postgres healthy below 100 ms": "pass",
                                  "reports postgres's latency": "pass"}


def test_a_service_whose_threshold_is_higher_than_claimed_fails_above() -> None:
    got = verdicts(honest(threshold=250.0))
    assert got["shows postgres degraded above 100 ms"] == "fail"
    assert got["shows postgres healthy below 100 ms"] == "pass"


def test_a_service_whose_threshold_is_lower_than_claimed_fails_below() -> None:
    got = verdicts(honest(threshold=60.0))
    assert got["shows postgres healthy below 100 ms"] == "fail"


def test_a_static_status_page_fails_the_latency_report() -> None:
    got = verdicts(lambda at: ("healthy", 0.0))
    assert got["reports postgres's latency"] == "fail"
    # and never reported past the threshold: no evidence, no pass
    assert got["shows postgres degraded above 100 ms"] == "inconclusive"


def test_without_polls_in_a_band_the_verdict_is_inconclusive() -> None:
    # reports never landed just under the threshold: the near band has no evidence
    got = verdicts(lambda at: ("degraded", 300.0) if 10 <= at < 30 else ("healthy", 3.0))
    assert got["shows postgres healthy below 100 ms"] == "inconclusive"
    assert got["shows postgres degraded above 100 ms"] == "pass"


def test_a_threshold_needs_its_latency_field() -> None:
    import pytest

    with pytest.raises(ValueError, match="go together"):
        HealthClaim.model_validate({"name": "p", "link": "postgres", "detailed": {
            "path": "/h", "max_ms": 100, "dependency_status": "s", "degraded_above_ms": 100}})
