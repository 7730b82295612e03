"""The steady state before a fault, and demotion of every claim verdict when it is missing."""

from __future__ import annotations

from gauntlet.checks.slo import gate
from gauntlet.checks.steady import demote, steady_state
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import fault_windows, first_seen
from gauntlet.contract import Marker
from gauntlet.timeline import Event
from tests.unit.checks.factory import T0, ask, fault, frame, run


def steady(rows: list[dict[str, object]], p95_ms: float | None = None) -> Verdict:
    return steady_state(frame(rows), start_s=T0, end_s=T0 + 4, max_error_rate=0.01,
                        p95_ms=p95_ms)


def test_healthy_steady_state_passes() -> None:
    verdict = steady(run(0, 4, 0.05), p95_ms=100)  # 80 requests
    assert verdict.passed and verdict.check == "steady-state" and verdict.claim == ""


def test_a_steady_phase_too_short_for_its_p95_is_undecidable() -> None:
    """40 fast requests cannot show a p95 within its limit (the 95 % upper confidence limit of
    a p95 needs at least 72): inconclusive, naming both counts. It used to pass."""
    verdict = steady(run(0, 4, 0.1), p95_ms=100)
    assert verdict.inconclusive
    assert "undecidable: 40 successful requests, a p95 needs at least 72" in verdict.reason
    # too short to pass, long enough to fail: slow in every request is slow
    assert steady(run(0, 4, 0.1, ms=800), p95_ms=100).failed
    # and with no latency limit, only the error rate is judged
    assert steady(run(0, 4, 0.1)).passed


def test_steady_p95_straddling_its_limit_is_marginal() -> None:
    """A p95 whose interval holds the limit cannot tell slow from fast: marginal."""
    rows = [ask(i * 0.01, 90.0 + (i % 20)) for i in range(300)]  # 90..109 ms
    verdict = steady(rows, p95_ms=108)
    assert verdict.inconclusive and verdict.marginal
    assert steady(rows, p95_ms=200).passed and steady(rows, p95_ms=50).failed


def test_failing_stack_before_the_fault_fails_with_a_reason() -> None:
    rows = run(0, 4, 0.1) + [ask(0.05 + i * 0.5, 5, 500) for i in range(5)]
    verdict = steady(rows)
    assert verdict.failed
    assert verdict.reason.startswith("the stack was already failing before the fault: 11.1 % "
                                     "errors (500 x5) in the steady phase (limit 1.0 %")


def test_slow_stack_before_the_fault_fails() -> None:
    assert steady(run(0, 4, 0.1, ms=800), p95_ms=500).failed
    assert steady(run(0, 4, 0.1, ms=800)).passed  # no latency limit given


def test_no_sample_in_the_window_is_inconclusive() -> None:
    assert steady(run(5, 8, 0.1)).inconclusive
    # still in flight when the fault began: does not speak for the steady state
    assert steady([ask(3.9, 500, 0)]).inconclusive


def test_demote_turns_claim_verdicts_inconclusive_unless_steady_passed() -> None:
    claims = [Verdict.judge("breaker", "opens [x]", True, "ok"),
              Verdict.judge("breaker", "fails fast [x]", False, "slow"),
              Verdict.missing("breaker", "probes [x]", "never opened")]
    good = steady(run(0, 4, 0.1))
    assert demote(claims, good) == claims
    bad = steady(run(0, 4, 0.1, status=500))
    demoted = demote(claims, bad)
    assert all(v.inconclusive for v in demoted)
    assert "no steady state" in demoted[0].reason and "measured: ok" in demoted[0].reason
    assert demoted[2] == claims[2]
    assert demote([bad, *claims], bad)[0] is bad
    assert all(v.inconclusive for v in demote(claims, steady([])))


def test_slo_gate_without_requests_is_inconclusive() -> None:
    verdict = gate("GET /x", "p95_ms", 100.0, None)
    assert verdict.inconclusive and "no requests" in verdict.reason


def test_fault_windows_pair_and_leave_unmatched_open() -> None:
    events = [
        *fault("a", 1, 2),
        Event(T0 + 3, "fault.applied", {"proxy": "b", "description": "b down"}),
        Event(T0 + 9, "probe", {}),
    ]
    windows = fault_windows(events)
    assert [(w.start_s - T0, w.end_s - T0) for w in windows] == [(1, 2), (3, 9)]
    assert [w.start_s - T0 for w in fault_windows(events, "b")] == [3]


def test_first_seen_allows_one_observation_interval() -> None:
    assert first_seen(0.9, 1.0, 0.5) == ("pass", False)
    assert first_seen(1.4, 1.0, 0.5) == ("inconclusive", True)
    assert first_seen(1.6, 1.0, 0.5) == ("fail", False)


def test_a_failing_steady_phase_names_the_claims_whose_answers_failed() -> None:
    """A 503 is a pool shedding load, an open breaker or a database that is down: the reason
    says which claim's marker each failure carried (a CI log outlives its run dir). The
    verdict is the same: a marked failure is a failure before the fault all the same."""
    busy = Marker(status=503, body="database busy")
    rows = run(0, 4, 0.1) + [ask(0.05 + i * 0.5, 5, 503, markers={"pool.postgres": 1})
                             for i in range(4)] + [ask(0.3, 5, 503)]
    marked = steady_state(frame(rows), start_s=T0, end_s=T0 + 4, max_error_rate=0.01,
                          p95_ms=None, markers={"pool.postgres": busy})
    assert marked.failed
    assert "errors (503 x5: pool.postgres x4) in the steady phase" in marked.reason
    assert "(503 x5) in the steady phase" in steady(rows).reason  # no markers given
    # a bare status identifies nothing: a failing dependency answers 503 too
    bare = steady_state(frame(rows), start_s=T0, end_s=T0 + 4, max_error_rate=0.01,
                        p95_ms=None, markers={"pool.postgres": Marker(status=503)})
    assert "(503 x5) in the steady phase" in bare.reason
