"""Breaker verdicts on synthetic runs: a healthy breaker passes every verdict, each broken
behaviour fails its verdict, withheld evidence makes a verdict inconclusive, and a service with
no breaker passes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from gauntlet.checks.breaker import bounds, breaker_verdicts
from gauntlet.checks.markers import marked
from gauntlet.contract import BreakerClaim, Marker
from tests.unit.checks.factory import GEN, ask, by_name, fault, frame, run, state

OPEN = {"X-Fallback": "circuit-open"}
CLAIM = BreakerClaim(
    name="upstream", link="upstream", requests=[GEN], failure_rate=0.5, window_s=5, min_calls=5,
    open_s=3, call_timeout_s=1, max_call_s=2,
    open_answer=Marker(status=503, header="X-Fallback", value="circuit-open"))
FAULT = fault("upstream", 4, 16, "timeout")
NAMES = ["opens after the fault starts", "fails fast while open",
         "probes after the open duration", "closes after the fault", "error rate recovers"]


def opened(start: float, end: float, ms: float = 5.0) -> list[dict[str, Any]]:
    return run(start, end, 0.1, ms=ms, status=503, headers=OPEN)


def healthy(**change: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A breaker that opens 2.5 s into the fault, probes at +3.1 s, closes after it."""
    parts = {
        "steady": run(0, 4, 0.1),
        "failing": run(4, 6.5, 0.1, ms=1000, status=504),
        "open": opened(6.5, 9.6),
        "probe": [ask(9.6, 1000, 504)],
        "reopen": opened(9.8, 16),
        "after": run(16.5, 26.5, 0.1),
    }
    parts.update(change)
    return [row for rows in parts.values() for row in rows]


def verdicts(rows: list[dict[str, Any]], events: list[Any] | None = None) -> dict[str, Any]:
    return by_name(breaker_verdicts(frame(rows), FAULT if events is None else events, CLAIM))


def test_bounds_follow_the_claim() -> None:
    b = bounds(CLAIM)
    assert (b.open_within_s, b.fail_fast_ms, b.close_within_s) == (5 + 2 + 1, 250, 3 + 2 + 2)
    consecutive = CLAIM.model_copy(update={"failure_rate": None, "window_s": None,
                                           "consecutive_failures": 4})
    assert bounds(consecutive).open_within_s == 4 * 2 + 1
    both = CLAIM.model_copy(update={"consecutive_failures": 4})
    assert bounds(both).open_within_s == 4 * 2 + 1 + 5


def test_healthy_breaker_passes_every_verdict() -> None:
    got = verdicts(healthy())
    assert list(got) == NAMES
    assert all(v.passed for v in got.values()), [v.reason for v in got.values()]
    assert all(v.claim == "breaker.upstream" and v.name.endswith("[upstream]")
               for v in got.values())
    assert got["opens after the fault starts"].observed == pytest.approx(2.5)


def test_naive_service_without_a_breaker_passes_nothing() -> None:
    got = verdicts(run(0, 4, 0.1) + run(4, 16, 0.1, ms=1000, status=504) + run(16, 30, 0.1))
    assert got["opens after the fault starts"].failed
    assert "never opened" in got["opens after the fault starts"].reason
    for name in NAMES[1:]:
        assert got[name].inconclusive and "never opened" in got[name].reason, name
    assert not any(v.passed for v in got.values())


def test_opens_too_late_fails() -> None:
    late = healthy(failing=run(4, 13, 0.1, ms=1000, status=504), open=opened(13, 16),
                   probe=[], reopen=[])
    assert verdicts(late)["opens after the fault starts"].failed


def test_no_request_during_the_fault_or_no_fault_is_inconclusive() -> None:
    quiet = run(0, 4, 0.1) + run(16.5, 26.5, 0.1)
    assert all(v.inconclusive for v in verdicts(quiet).values())
    assert all(v.inconclusive for v in verdicts(healthy(), events=[]).values())


def test_slow_open_answers_fail_fast_verdict() -> None:
    got = verdicts(healthy(open=opened(6.5, 9.6, ms=900), reopen=opened(9.8, 16, ms=900)))
    assert got["fails fast while open"].failed


def test_breaker_stuck_open_fails_probe_and_close() -> None:
    got = verdicts(healthy(probe=[], reopen=opened(9.6, 16), after=opened(16, 26.5)))
    assert got["probes after the open duration"].failed
    assert "still answering as open" in got["probes after the open duration"].reason
    assert got["closes after the fault"].failed
    assert got["error rate recovers"].failed


def test_breaker_that_does_not_hold_open_fails_the_probe_verdict() -> None:
    leaky = healthy(open=[*opened(6.5, 7.5), ask(7.5, 1000, 504), *opened(7.6, 9.6)])
    got = verdicts(leaky)
    assert got["probes after the open duration"].failed
    assert "does not hold open" in got["probes after the open duration"].reason


def test_another_instance_still_closed_is_not_a_breaker_that_does_not_hold_open() -> None:
    """My-SaaS-Chat's two API instances behind nginx: the first open answer came from one
    instance, and a call 0.17 s later met the other one's breaker, not yet open. Old code
    failed "probes after the open duration" on it: "the breaker does not hold open"."""
    rows = healthy(open=[*opened(6.5, 6.8), ask(6.8, 1000, 504), *opened(6.9, 9.6)])
    single = verdicts(rows)
    assert single["probes after the open duration"].failed
    pair = by_name(breaker_verdicts(frame(rows), FAULT, CLAIM.model_copy(update={"instances": 2})))
    assert pair["probes after the open duration"].passed, pair["probes after the open duration"]
    # one call (2 s) after the first open answer every instance must be open: still caught
    late = healthy(open=[*opened(6.5, 9.0), ask(9.0, 1000, 504), *opened(9.1, 9.6)])
    leaky = by_name(breaker_verdicts(frame(late), FAULT, CLAIM.model_copy(update={"instances": 2})))
    assert leaky["probes after the open duration"].failed


def test_probe_seen_only_in_the_state_metric_passes() -> None:
    rows = healthy(probe=[], reopen=opened(9.6, 16))
    events = [*FAULT, state(9.55, "breaker.upstream", "half_open")]
    assert verdicts(rows, events)["probes after the open duration"].passed
    # a half_open state of another claim is no evidence
    other = [*FAULT, state(9.55, "breaker.other", "half_open")]
    assert verdicts(rows, other)["probes after the open duration"].failed


def test_traffic_stopping_after_opening_leaves_probe_close_and_recovery_inconclusive() -> None:
    got = verdicts(run(0, 4, 0.1) + run(4, 6.5, 0.1, ms=1000, status=504) + opened(6.5, 8.5))
    assert got["opens after the fault starts"].passed
    assert got["probes after the open duration"].inconclusive
    assert got["closes after the fault"].inconclusive
    assert got["error rate recovers"].inconclusive


def test_recovery_is_judged_from_the_close_not_from_its_bound() -> None:
    """Old code judged the error rate only from the closing bound (7 s after the fault here),
    so a run that stopped soon after the close it saw had nothing to judge."""
    got = verdicts(healthy(after=run(16.5, 20, 0.1)))
    assert got["closes after the fault"].passed
    assert got["error rate recovers"].passed
    assert "(the close)" in got["error rate recovers"].reason


def test_recovery_inconclusive_without_a_close_or_requests_after_its_bound() -> None:
    got = verdicts(healthy(after=opened(16.5, 20)))
    assert got["closes after the fault"].failed
    assert got["error rate recovers"].inconclusive


def test_errors_after_the_close_fail_the_recovery_verdict() -> None:
    """From the close on, not from the bound: errors in the seconds after it count."""
    flaky = run(16.5, 19, 0.1) + run(16.6, 19.1, 0.5, status=500, ms=5) + run(19, 30, 0.1)
    got = verdicts(healthy(after=flaky))
    assert got["error rate recovers"].failed


def test_errors_after_recovery_fail_the_recovery_verdict() -> None:
    flaky = run(16.5, 26.5, 0.2) + run(16.6, 26.6, 0.2, status=500)
    assert verdicts(healthy(after=flaky))["error rate recovers"].failed


def test_rate_limited_answers_are_not_probes() -> None:
    rows = healthy(probe=[ask(8.0, 3, 429)], reopen=opened(9.6, 16))
    assert verdicts(rows)["probes after the open duration"].failed  # stuck open, 429 ignored


def test_open_answer_recognised_by_body_marker() -> None:
    claim = CLAIM.model_copy(update={"open_answer": Marker(status=503, body="circuit open")})
    rows = healthy(open=run(6.5, 9.6, 0.1, ms=5, status=503,
                            markers={"breaker.upstream": 1}),
                   reopen=run(9.8, 16, 0.1, ms=5, status=503, markers={"breaker.upstream": 1}))
    got = by_name(breaker_verdicts(frame(rows), FAULT, claim))
    assert all(v.passed for v in got.values()), [v.reason for v in got.values()]


def test_marker_needs_every_condition_it_gives() -> None:
    df = frame(ask(0, status=503, headers={"X-Fallback": "circuit-open"}),
               ask(1, status=503), ask(2, status=200, headers={"X-Fallback": "circuit-open"}),
               ask(3, status=503, headers={"X-Fallback": "stale"}))
    assert marked(df, CLAIM.open_answer, None).tolist() == [True, False, False, False]
    present = Marker(header="X-Fallback")
    assert marked(df, present, None).tolist() == [True, False, True, True]
    assert not marked(frame(ask(0, status=503)), present, None).any()  # no header column
    body = Marker(body="open")
    assert not marked(df, body, None).any() and not marked(df, body, "marker:nope").any()
    with_body = frame(ask(0, markers={"b": 1}), ask(1, markers={"b": 0}))
    assert marked(with_body, body, "marker:b").tolist() == [True, False]


def test_probe_let_through_then_open_again_is_not_closing() -> None:
    """A breaker that lets its half-open probe through and opens again (the stack's
    breaker_stuck_open variant) has a success after the fault, and never closed."""
    got = verdicts(healthy(after=[*run(16.5, 17, 0.1), *opened(17.2, 26.5)]))
    assert got["closes after the fault"].failed
    assert "never closed" in got["closes after the fault"].reason
    assert got["error rate recovers"].failed


# --- one breaker per component: the other components' requests while this one is open -------

DB_OPEN = {"X-Circuit-Open": "database"}
DB_CLAIM = BreakerClaim(
    name="database", link="postgres", requests=["GET /api/orders/{id}"], failure_rate=0.5,
    window_s=3, min_calls=5, open_s=2, call_timeout_s=1, max_call_s=1.5, isolated=[GEN],
    open_answer=Marker(status=503, header="X-Circuit-Open", value="database"))
ISOLATED = "other components served while open"
READ = "GET /api/orders/{id}"


def components(ai_status_while_open: int = 200) -> list[dict[str, Any]]:
    """The database hangs from 4 to 16 s and its breaker opens at 6.5 s; AI calls go on."""
    db = (run(0, 4, 0.1, name=READ) + run(4, 6.5, 0.1, ms=1000, status=503, name=READ)
          + run(6.5, 16, 0.1, ms=5, status=503, headers=DB_OPEN, name=READ)
          + run(16.5, 26.5, 0.1, name=READ))
    ai = (run(0, 6.5, 0.5, name=GEN) + run(6.5, 16, 0.5, name=GEN, status=ai_status_while_open)
          + run(16, 26, 0.5, name=GEN))
    return db + ai


def db_verdicts(rows: list[dict[str, Any]], claim: BreakerClaim = DB_CLAIM) -> dict[str, Any]:
    return by_name(breaker_verdicts(frame(rows), fault("postgres", 4, 16, "timeout"), claim))


def test_other_components_served_while_open_passes_with_a_breaker_per_component() -> None:
    got = db_verdicts(components())
    assert got[ISOLATED].passed, got[ISOLATED].reason
    assert got["opens after the fault starts"].passed  # AI answers are not the claim's requests
    assert "0.00 % of 19 requests of POST /api/generate" in got[ISOLATED].reason


def test_a_shared_breaker_refusing_other_components_fails_it() -> None:
    got = db_verdicts(components(ai_status_while_open=503))
    assert got[ISOLATED].failed
    assert "refuses other components too" in got[ISOLATED].reason
    assert got[ISOLATED].observed == 1.0


def test_other_components_are_only_judged_once_the_breaker_opened() -> None:
    never = run(0, 4, 0.1, name=READ) + run(4, 16, 0.1, ms=1000, status=504, name=READ) \
        + run(0, 26, 0.5, name=GEN)
    got = db_verdicts(never)
    assert got[ISOLATED].inconclusive and "never opened" in got[ISOLATED].reason
    no_ai = [r for r in components() if r["name"] == READ]
    assert db_verdicts(no_ai)[ISOLATED].inconclusive


def test_no_isolated_requests_claimed_no_verdict() -> None:
    plain = DB_CLAIM.model_copy(update={"isolated": []})
    assert ISOLATED not in db_verdicts(components(), plain)


def test_a_request_that_met_the_open_breaker_only_on_its_retry_is_not_failing_slow() -> None:
    # started in the fault's first seconds, hung on their first attempt, answered "open" by a
    # retry 3 s later: the breaker was not open when they started (one in ten of the open
    # answers, enough to move a p95), so their wait is not a slow fail-fast
    retried = run(4.5, 6.5, 0.2, ms=3000, status=503, headers=OPEN)
    got = verdicts(healthy(failing=run(4, 6.5, 0.1, ms=1000, status=504) + retried))
    fast = got["fails fast while open"]
    assert fast.passed, fast.reason
    # the same slow answer to a request started once the breaker was surely open still fails
    slow = verdicts(healthy(open=opened(6.5, 7.5) + opened(7.5, 9.6, ms=3000)))
    assert slow["fails fast while open"].failed


def test_requests_failing_before_the_breaker_surely_opened_are_not_early_probes() -> None:
    # the first open answer came to a request started at 5.0 s that met the breaker only on
    # its retry (back at 8.0 s); requests started meanwhile failed on the link: they passed
    # through a breaker not yet open, not one that failed to hold
    retried = [ask(5.0, 3000, 503, headers=OPEN)]
    got = verdicts(healthy(failing=run(4, 7.9, 0.1, ms=100, status=504) + retried,
                           open=opened(7.9, 11.0), probe=[ask(11.0, 1000, 504)],
                           reopen=opened(11.2, 16)))
    assert got["probes after the open duration"].passed, got["probes after the open duration"]
    # one passing through once the breaker had surely opened is still caught
    leaky = verdicts(healthy(open=[*opened(6.5, 7.5), ask(7.6, 1000, 504), *opened(7.7, 9.6)]))
    assert leaky["probes after the open duration"].failed


def test_too_few_calls_to_open_is_not_a_breaker_that_never_opens() -> None:
    # three calls during the fault for a breaker that needs five in its window: a thin load
    # (a route limited to ten an hour) cannot open it, which says nothing about the breaker
    thin = [*run(0, 4, 1.0), ask(5, 1000, 504), ask(8, 1000, 504), ask(11, 1000, 504),
            *run(16.5, 20, 1.0)]
    got = verdicts(thin)
    assert all(v.inconclusive for v in got.values())
    assert "only 3 requests" in got["opens after the fault starts"].reason
    # with enough calls and no open answer, it is a breaker that never opened
    enough = [*run(0, 4, 0.5), *run(4, 16, 0.5, ms=1000, status=504), *run(16.5, 20, 0.5)]
    assert verdicts(enough)["opens after the fault starts"].failed


def test_a_probe_on_time_after_a_late_first_open_answer_is_not_early() -> None:
    """Every client was waiting as the breaker opened (at 6.0, the last call through started
    at 5.4): the first open answer starts only at 6.5, so the probe on time at 9.0 is just
    2.5 s after it. The open duration counts from when the breaker could first have opened."""
    late_first = healthy(failing=run(4, 5.5, 0.1, ms=1000, status=504),
                         open=opened(6.5, 9.0), probe=[ask(9.0, 1000, 504)],
                         reopen=opened(9.2, 16))
    got = verdicts(late_first)["probes after the open duration"]
    assert got.passed, got.reason
    # the same stack letting one through 1.5 s after its last admitted call still fails
    leaky = healthy(failing=run(4, 5.5, 0.1, ms=1000, status=504),
                    open=[*opened(6.5, 6.9), ask(6.9, 1000, 504), *opened(7.0, 9.0)],
                    probe=[ask(9.0, 1000, 504)], reopen=opened(9.2, 16))
    got = verdicts(leaky)["probes after the open duration"]
    assert got.failed and "answered 504" in got.reason, got.reason


def test_the_probe_retried_into_the_reopened_breaker_is_not_a_slow_open_answer() -> None:
    # a CI run: the request let through half-open hung for the call timeout, then its retry
    # met the breaker the failed probe opened again: one open answer of 1231 ms among fast ones
    probe_retried = [ask(9.6, 1231, 503, GEN, headers=OPEN)]
    rows = healthy(probe=probe_retried)
    seen_half_open = [*FAULT, state(9.65, "breaker.upstream", "half_open")]
    got = verdicts(rows, events=seen_half_open)["fails fast while open"]
    assert got.passed, got.reason
    assert "1 answer(s) of requests in flight while the breaker was seen half-open (the probe, " \
        "up to 1231 ms) not counted" in got.reason
    # without a state metric nothing is set aside: the slow answer counts, as before
    assert not verdicts(rows)["fails fast while open"].passed


def test_slow_open_answers_fail_fast_even_with_half_open_moments() -> None:
    slow = healthy(open=opened(6.5, 9.6, ms=900), reopen=opened(9.8, 16, ms=900))
    got = verdicts(slow, events=[*FAULT, state(9.65, "breaker.upstream", "half_open")])
    assert got["fails fast while open"].failed
