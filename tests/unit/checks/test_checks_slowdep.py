"""Slow-dependency verdicts: the precondition (the fault shows in latency), the deadline and the
pool; a fault not in the path demotes both to inconclusive."""

from __future__ import annotations

from typing import Any

import numpy as np

from gauntlet.checks.slowdep import deadline_verdicts, fault_in_path, max_in_flight, pool_verdicts
from gauntlet.checks.steady import demote
from gauntlet.checks.windows import Window
from gauntlet.contract import DeadlineClaim, Marker, PoolClaim
from tests.unit.checks.factory import CREATE, ITEM, T0, ask, fault, frame, run

DEADLINE = DeadlineClaim(name="request", requests=[ITEM, CREATE], deadline_s=3, link="postgres",
                         status=504)
POOL = PoolClaim(name="postgres", link="postgres", requests=[ITEM, CREATE], size=5,
                 acquire_timeout_s=0.5, status=503)
FAULT = fault("postgres", 2, 10, "latency")
STEADY = run(0, 2, 0.1, name=ITEM)
Rows = list[dict[str, Any]]


def deadline(rows: Rows, added_ms: float = 5000, events: list[Any] | None = None) -> Any:
    [verdict] = deadline_verdicts(frame(rows), FAULT if events is None else events, DEADLINE,
                                  added_ms=added_ms)
    return verdict


def pool(rows: Rows, events: list[Any] | None = None) -> Any:
    [verdict] = pool_verdicts(frame(rows), FAULT if events is None else events, POOL,
                              added_ms=500)
    return verdict


def cut(ms: float = 3050, status: int = 504) -> Rows:
    return run(3, 8, 0.5, ms=ms, status=status, name=CREATE)


def exhausted(busy_ms: float = 520, busy_status: int = 503, held_ms: float = 1000) -> Rows:
    """Ten requests at once against a pool of five: five hold a connection, five are refused."""
    return ([ask(3 + i * 0.001, held_ms, 201, CREATE) for i in range(5)]
            + [ask(3.01 + i * 0.001, busy_ms, busy_status, ITEM) for i in range(5)])


def test_fault_in_path_precondition() -> None:
    shown = fault_in_path(frame(STEADY + cut()), FAULT, "postgres", [ITEM, CREATE], 5000)
    assert shown.passed and shown.check == "precondition" and shown.claim == ""
    hidden = fault_in_path(frame(STEADY + run(3, 8, 0.5, name=CREATE)), FAULT, "postgres",
                           [ITEM, CREATE], 5000)
    assert hidden.failed and "not in their path" in hidden.reason
    assert fault_in_path(frame(STEADY), FAULT, "postgres", [ITEM], 5000).inconclusive
    assert fault_in_path(frame(STEADY + cut()), [], "postgres", [ITEM], 5000).inconclusive


def test_a_deadline_cutting_early_still_shows_the_fault() -> None:
    early = STEADY + run(3, 8, 0.5, ms=1000, status=504, name=CREATE)
    assert fault_in_path(frame(early), FAULT, "postgres", [CREATE], 5000).passed


def test_deadline_cutting_requests_passes() -> None:
    verdict = deadline(STEADY + cut())
    assert verdict.passed, verdict.reason
    assert verdict.name == "no request exceeds the 3 s deadline [request]"
    assert verdict.claim == "deadline.request"


def test_request_outliving_the_deadline_fails() -> None:
    assert deadline(STEADY + cut(ms=6000, status=200)).failed


def test_slowest_within_resolution_of_the_bound_is_marginal() -> None:
    verdict = deadline(STEADY + cut(ms=3600))
    assert verdict.inconclusive and verdict.marginal


def test_a_long_deadline_firing_on_time_is_not_marginal() -> None:
    # lazy-foundry's 30 s deadline answered 504 at 30.013 s: with a fixed 0.5 s slack the
    # bound (30.5 s) was within the 2 % resolution (660 ms) of any on-time answer
    long = DEADLINE.model_copy(update={"deadline_s": 30.0})
    verdict = deadline_verdicts(frame(STEADY + cut(ms=30013)), FAULT, long, added_ms=31000)[0]
    assert verdict.passed and not verdict.marginal


def test_latency_never_near_the_deadline_is_inconclusive() -> None:
    verdict = deadline(STEADY + cut(ms=520, status=200), added_ms=500)
    assert verdict.inconclusive and "never pushed" in verdict.reason
    assert deadline(STEADY + cut(), events=[]).inconclusive


def test_fault_not_in_path_demotes_the_deadline_verdict() -> None:
    rows = STEADY + run(3, 8, 0.25, name=CREATE) + [ask(5, 6000, 200, CREATE)]
    assert deadline(rows).failed  # one request did outlive it
    precondition = fault_in_path(frame(rows), FAULT, "postgres", [ITEM, CREATE], 5000)
    [demoted] = demote([deadline(rows)], precondition)
    assert demoted.inconclusive and "precondition not met" in demoted.reason


def test_naive_service_without_deadline_or_pool_timeout_passes_nothing() -> None:
    assert deadline(STEADY + cut(ms=5100, status=200)).failed
    queued = [ask(3 + i * 0.001, 3500, 200, CREATE) for i in range(10)]
    assert pool(STEADY + queued).failed


def test_pool_answering_quickly_passes() -> None:
    verdict = pool(STEADY + exhausted())
    assert verdict.passed, verdict.reason
    assert verdict.name == "pool exhaustion answers 503 quickly [postgres]"


def test_pool_answering_slowly_fails() -> None:
    assert pool(STEADY + exhausted(busy_ms=2000, held_ms=2500)).failed


def test_pool_never_exhausted_is_inconclusive() -> None:
    few = [ask(3 + i * 0.001, 600, 201, CREATE) for i in range(3)]
    verdict = pool(STEADY + few)
    assert verdict.inconclusive and "never exhausted" in verdict.reason
    busy_but_quick = [ask(3 + i * 0.001, 600, 201, CREATE) for i in range(10)]
    assert pool(STEADY + busy_but_quick).inconclusive
    assert pool(STEADY + exhausted(), events=[]).inconclusive


def test_max_in_flight_counts_overlaps_and_ends_before_starts() -> None:
    df = frame(ask(0, 1000), ask(0.5, 1000), ask(1.0, 1000), ask(1.0, 100))
    assert max_in_flight(df, Window(T0, T0 + 10)) == 3


# --- the pool's evidence: a marked answer, or a bare status where the pool could be full -----

BREAKER = {"breaker.database": Marker(status=503, header="X-Circuit-Open", value="database")}
BUSY_BODY = r'"error":\s*"database busy"'
MARKED_POOL = POOL.model_copy(update={"exhausted_answer": Marker(body=BUSY_BODY)})


def test_a_breakers_open_answer_is_never_pool_evidence() -> None:
    """Old code: every quick 503 counted, so a breaker on the same link answering 503 passed
    the pool claim."""
    opened = ([ask(3 + i * 0.001, 1000, 201, CREATE) for i in range(5)]
              + [ask(3.01 + i * 0.001, 5, 503, ITEM, headers={"X-Circuit-Open": "database"})
                 for i in range(5)])
    [verdict] = pool_verdicts(frame(STEADY + opened), FAULT, POOL, added_ms=500,
                              others=BREAKER)
    assert verdict.inconclusive, verdict.reason
    assert "breaker.database" in verdict.reason and "not counted" in verdict.reason
    # the same answers without the breaker's header are the pool's (bare status, pool full)
    assert pool(STEADY + exhausted(busy_ms=5)).passed


def test_a_bare_status_counts_only_while_the_pool_could_be_full() -> None:
    """Old code: a quick 503 with one request in flight passed "pool exhaustion answers 503
    quickly" although the pool of five was never exhausted."""
    lone = [ask(3 + i * 0.5, 20, 503, ITEM) for i in range(6)]
    verdict = pool(STEADY + lone)
    assert verdict.inconclusive, verdict.reason
    assert "fewer than 5 requests in flight" in verdict.reason
    assert "exhausted_answer" in verdict.reason


def test_a_declared_marker_identifies_the_pool_answer() -> None:
    marked = [ask(3 + i * 0.5, 20, 503, ITEM, markers={"pool.postgres": 1}) for i in range(6)]
    [verdict] = pool_verdicts(frame(STEADY + marked), FAULT, MARKED_POOL, added_ms=500,
                              others={"pool.postgres": MARKED_POOL.answer, **BREAKER})
    assert verdict.passed, verdict.reason
    assert "body" in verdict.evidence
    # 503s without the pool's body are some other refusal, however full the pool was
    unmarked = exhausted(busy_ms=5)
    [other] = pool_verdicts(frame(STEADY + unmarked), FAULT, MARKED_POOL, added_ms=500)
    assert other.inconclusive, other.reason


def test_a_marked_answer_that_is_also_a_breakers_is_not_counted() -> None:
    both = Marker(status=503, header="Retry-After")
    claim = POOL.model_copy(update={"exhausted_answer": both})
    opened = [ask(3 + i * 0.5, 5, 503, ITEM,
                  headers={"Retry-After": "1", "X-Circuit-Open": "database"})
              for i in range(6)]
    [verdict] = pool_verdicts(frame(STEADY + opened), FAULT, claim, added_ms=500,
                              others=BREAKER)
    assert verdict.inconclusive and "breaker.database" in verdict.reason


def test_in_flight_at_counts_what_started_before_and_is_not_over() -> None:
    from gauntlet.checks.slowdep import in_flight_at

    df = frame(ask(0, 1000), ask(0.5, 1000), ask(1.0, 1000))
    times = np.array([T0 + 0.0, T0 + 0.6, T0 + 1.0, T0 + 1.6])
    assert list(in_flight_at(df, times)) == [0, 2, 1, 1]
