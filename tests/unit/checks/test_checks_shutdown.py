"""Shutdown verdicts: a draining service passes; in-flight failures, no drain, a late or wrong
exit fail; a record without the evidence (no probes, nothing in flight) is inconclusive."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gauntlet.checks.shutdown import shutdown_verdicts
from gauntlet.contract import Marker, ShutdownClaim
from gauntlet.timeline import Event
from tests.unit.checks.factory import (
    GEN,
    LIST,
    ask,
    by_name,
    exited,
    frame,
    probes,
    run,
    signal,
)

CLAIM = ShutdownClaim(name="sigterm", service="api", requests=[GEN, LIST], drain_delay_s=2,
                      deadline_s=10, ready_within_s=1)
READY, INFLIGHT, DRAIN, EXIT = ("readiness unready after the signal",
                                "no failed request started before the signal",
                                "served during the drain delay", "exits 0 within the deadline")
BASE = run(0, 4.8, 0.1, ms=10, name=LIST)
INFLIGHT_OK = [ask(4.9, 400, 200, GEN)]
DRAINED = run(5.1, 6.6, 0.1, ms=10, name=LIST)


def ready_probes(flip_at: float = 5.05, step: float = 0.1, until: float = 7.0) -> list[Event]:
    return probes(0, until, step, "ready", lambda at: 503 if at >= flip_at else 200)


def events(*, ready: list[Event] | None = None, exit_: list[Event] | None = None) -> list[Event]:
    return [signal(5), *(ready_probes() if ready is None else ready),
            *([exited(8, 0, 3.0)] if exit_ is None else exit_)]


def judge(rows: list[dict[str, Any]], evs: list[Event],
          claim: ShutdownClaim = CLAIM) -> dict[str, Any]:
    return by_name(shutdown_verdicts(frame(rows), evs, claim))


def test_draining_service_passes_every_verdict() -> None:
    got = judge(BASE + INFLIGHT_OK + DRAINED, events())
    assert list(got) == [READY, INFLIGHT, DRAIN, EXIT]
    assert all(v.passed for v in got.values()), [v.reason for v in got.values()]
    assert all(v.claim == "shutdown.sigterm" for v in got.values())


@settings(max_examples=50)
@given(st.floats(min_value=0.0, max_value=0.9), st.integers(min_value=1, max_value=20))
def test_inflight_failures_fail_the_verdict(when: float, inflight: int) -> None:
    evs = events(ready=ready_probes(flip_at=5 + when))
    good = BASE + [ask(4.9, 400, 200, GEN)] * inflight + DRAINED
    bad = BASE + [ask(4.9, 400, 0, GEN)] * inflight + DRAINED
    assert all(v.passed for v in judge(good, evs).values())
    assert judge(bad, evs)[INFLIGHT].failed


def test_naive_service_without_drain_passes_nothing() -> None:
    # no handler: the process dies on the signal, killed by it, readiness never flips
    evs = [signal(5), *probes(0, 5, 0.1, "ready", 200), *probes(5, 7, 0.1, "ready", 0),
           exited(5.01, -15, 0.01)]
    got = judge([*BASE, ask(4.9, 100, 0, GEN), ask(5.5, 1, 0, GEN)], evs)
    assert not any(v.passed for v in got.values())
    assert got[READY].failed and got[INFLIGHT].failed and got[DRAIN].failed and got[EXIT].failed


def test_readiness_that_never_flips_fails_and_missing_probes_are_inconclusive() -> None:
    assert judge(BASE + INFLIGHT_OK + DRAINED,
                 events(ready=probes(0, 7, 0.1, "ready", 200)))[READY].failed
    assert judge(BASE + INFLIGHT_OK + DRAINED, events(ready=[]))[READY].inconclusive
    assert judge(BASE + INFLIGHT_OK + DRAINED,
                 events(ready=probes(0, 4.9, 0.1, "ready", 200)))[READY].inconclusive


def test_readiness_flip_seen_late_by_a_sparse_probe_is_marginal_or_fails() -> None:
    sparse = events(ready=ready_probes(flip_at=6.3, step=0.5, until=9))
    verdict = judge(BASE + INFLIGHT_OK + DRAINED, sparse)[READY]
    assert verdict.inconclusive and verdict.marginal  # seen at 1.5 s, could be 1.0 s
    late = events(ready=ready_probes(flip_at=7.0, step=0.1, until=9))
    assert judge(BASE + INFLIGHT_OK + DRAINED, late)[READY].failed


def test_nothing_in_flight_or_started_in_the_drain_is_inconclusive() -> None:
    got = judge(BASE, events())
    assert got[INFLIGHT].inconclusive and got[DRAIN].inconclusive


def test_failures_in_the_drain_delay_fail() -> None:
    assert judge(BASE + INFLIGHT_OK + [ask(5.5, 1, 503, LIST)], events())[DRAIN].failed


def test_no_drain_verdict_without_a_drain_delay_nor_readiness_without_the_claim() -> None:
    claim = CLAIM.model_copy(update={"drain_delay_s": 0, "ready_flips_first": False})
    assert list(judge(BASE + INFLIGHT_OK, events(), claim)) == [INFLIGHT, EXIT]


def test_exit_code_and_time_are_judged() -> None:
    rows = BASE + INFLIGHT_OK + DRAINED
    assert judge(rows, events(exit_=[exited(8, 1, 3.0)]))[EXIT].failed
    assert judge(rows, events(exit_=[exited(20, 0, 15.0)]))[EXIT].failed
    any_code = CLAIM.model_copy(update={"exit_code": "any"})
    assert judge(rows, events(exit_=[exited(8, 1, 3.0)]), any_code)[
        "exits any code within the deadline"].passed


def test_an_exit_without_a_visible_code_passes_when_no_code_is_claimed() -> None:
    """A PID file shows the exit, not its code: with ``exit_code = "any"`` the exit in time
    passes (the starter's claim); a late one still fails; a claimed code is not verified."""
    rows = BASE + INFLIGHT_OK + DRAINED
    pid = ShutdownClaim(name="sigterm", pid_file="/run/app.pid", exit_code="any",
                        requests=[GEN, LIST], drain_delay_s=2, deadline_s=10)
    unseen = Event(signal(5).at_s + 3, "process.exit",
                   {"handle": "pid:42", "code": None, "after_s": 3.0,
                    "unknown": "its exit code is its parent's to read"})
    evs = [signal(5, handle="pid:42"), *ready_probes(), unseen]
    got = judge(rows, evs, pid)["exits any code within the deadline"]
    assert got.passed and "not seen (none claimed)" in got.reason
    late = Event(unseen.at_s + 12, "process.exit", {**unseen.data, "after_s": 15.0})
    assert judge(rows, [*evs[:-1], late], pid)["exits any code within the deadline"].failed
    claimed = CLAIM.model_copy(update={"exit_code": 0})
    verdict = judge(rows, evs, claimed)[EXIT]
    assert verdict.inconclusive and "its parent's to read" in verdict.reason


def test_missing_exit_fails_only_when_the_timeline_outlasts_the_bound() -> None:
    rows = BASE + INFLIGHT_OK + DRAINED
    assert judge(rows, events(exit_=[]))[EXIT].inconclusive  # timeline ends at 7 s
    long = events(exit_=[Event(signal(5).at_s + 14, "phase", {"name": "end"})])
    assert judge(rows, long)[EXIT].failed


def test_no_signal_is_inconclusive() -> None:
    got = judge(BASE, ready_probes())
    assert all(v.inconclusive for v in got.values())


# the Node service's exhausted pool: 503 with "database_busy" in the body (a marker column)
POOL = {"pool.postgres": Marker(status=503, body='"error":\\s*"database_busy"')}
BUSY = {"pool.postgres": 1}


def test_an_answer_another_claims_marker_identifies_is_not_a_drain_failure() -> None:
    # a CI run: a CPU-starved host stalled the service past its pool acquire timeout in the
    # drain delay; two database_busy answers are the pool shedding load, not the drain
    rows = BASE + INFLIGHT_OK + DRAINED + [ask(5.6, 900, 503, LIST, markers=BUSY)] * 2
    got = by_name(shutdown_verdicts(frame(rows), events(), CLAIM, POOL))
    assert got[DRAIN].passed, got[DRAIN].reason
    assert "2 answered with another claim's marker (pool.postgres: 503 x2), not counted" \
        in got[DRAIN].reason
    # without the contract's markers, the same answers fail the drain, as before
    assert judge(rows, events())[DRAIN].failed


def test_a_drain_failure_without_the_marker_still_fails() -> None:
    rows = (BASE + INFLIGHT_OK + DRAINED + [ask(5.6, 900, 503, LIST, markers=BUSY)]
            + [ask(5.7, 2, 503, LIST, markers={"pool.postgres": 0})])
    got = by_name(shutdown_verdicts(frame(rows), events(), CLAIM, POOL))
    assert got[DRAIN].failed and "1 of" in got[DRAIN].reason


def test_a_bare_status_marker_sets_nothing_aside() -> None:
    # a pool that declares no exhausted_answer is told by its status alone: so is a refusal
    bare = {"pool.postgres": Marker(status=503)}
    rows = BASE + INFLIGHT_OK + DRAINED + [ask(5.6, 2, 503, LIST)]
    assert by_name(shutdown_verdicts(frame(rows), events(), CLAIM, bare))[DRAIN].failed


def test_a_drain_of_nothing_but_marked_answers_is_inconclusive() -> None:
    rows = BASE + INFLIGHT_OK + [ask(5.1 + i / 10, 900, 503, LIST, markers=BUSY)
                                 for i in range(10)]
    got = by_name(shutdown_verdicts(frame(rows), events(), CLAIM, POOL))
    assert got[DRAIN].inconclusive and "not exercised" in got[DRAIN].reason


# a starved host: answers took 500 ms before the signal (a CI run saw p95 288 ms)
SLOW_BASE = run(0, 4.8, 0.1, ms=500, name=LIST)


def test_a_quick_failure_after_the_delay_ended_may_have_come_after_the_close() -> None:
    # started 0.4 s before the delay's end (7.0), answered 503 at 7.05: by a closing server
    late = [ask(6.6, 450, 503, LIST), ask(6.65, 420, 0, LIST)]
    got = judge(SLOW_BASE + INFLIGHT_OK + DRAINED + late, events())
    assert got[DRAIN].passed, got[DRAIN].reason
    assert "2 failed after the delay ended, within 500 ms" in got[DRAIN].reason
    assert "(503 x1, 0 x1), not counted" in got[DRAIN].reason


def test_the_ci_case_on_a_starved_host_is_the_close_race_not_a_failed_drain() -> None:
    """Node on compose, CI: p99 744 ms before the SIGTERM (here at 5); requests started 0.3 to
    0.5 s before the 2 s delay's end (7) failed with no answer 0.1 to 0.6 s after it, slower
    than that p99 (old code: "0 x13" counted, the drain failed)."""
    starved = run(0, 4.8, 0.05, ms=120, name=LIST) + [ask(4.0 + i / 10, 744, name=LIST)
                                                    for i in range(8)]
    drain_ok = run(5.0, 6.3, 0.05, ms=120, name=LIST)
    cut = [ask(6.41 + i / 50, 1070 - i * 20, 0, LIST) for i in range(13)]
    got = judge(starved + INFLIGHT_OK + drain_ok + cut, events())
    assert got[DRAIN].passed, got[DRAIN].reason
    assert "13 started in the delay's last 744 ms" in got[DRAIN].reason
    # the same failures started earlier in the delay are a drain that stopped serving
    early = [ask(5.5 + i / 50, 1600, 0, LIST) for i in range(13)]
    assert judge(starved + INFLIGHT_OK + drain_ok + early, events())[DRAIN].failed


def test_failures_inside_the_delay_or_hung_past_it_still_fail() -> None:
    refused = [ask(6.6, 50, 0, LIST)]  # refused at 6.65: the listener was already gone
    assert judge(SLOW_BASE + INFLIGHT_OK + DRAINED + refused, events())[DRAIN].failed
    hung = [ask(6.0, 1500, 0, LIST)]  # accepted, then cut at 7.5: slower than any answer
    assert judge(SLOW_BASE + INFLIGHT_OK + DRAINED + hung, events())[DRAIN].failed
    # on a quick host the same late failure is beyond what answering took: counted
    assert judge(BASE + INFLIGHT_OK + DRAINED + [ask(6.6, 450, 503, LIST)],
                 events())[DRAIN].failed


def test_a_drain_of_nothing_but_late_failures_is_inconclusive() -> None:
    got = judge(SLOW_BASE + INFLIGHT_OK + [ask(6.6, 450, 503, LIST)], events())
    assert got[DRAIN].inconclusive and "not exercised" in got[DRAIN].reason
