"""Health verdicts while a link is down: readiness flips and recovers, liveness stays up, the
claimed degradations hold; each withheld piece of evidence makes its verdict inconclusive."""

from __future__ import annotations

from typing import Any

from gauntlet.checks.health import health_verdicts
from gauntlet.contract import Degradation, HealthClaim
from gauntlet.timeline import Event
from tests.unit.checks.factory import CREATE, LIST, by_name, fault, frame, probes, run

CLAIM = HealthClaim(
    name="postgres", link="postgres", requests=[LIST, CREATE], ready_within_s=2,
    recover_within_s=5,
    degraded=[Degradation(requests=[LIST], min_success=0.99),
              Degradation(requests=[CREATE], status=503)])
UNREADY, LIVE, BACK = ("unready while postgres is down", "live stays up while unready",
                       "ready again after recovery")
SERVE, FAST = f"{LIST} keep serving", f"{CREATE} fail fast with 503"
FAULT = fault("postgres", 4, 10)


def ready(unready_from: float = 4.5, ready_from: float = 10.5, status: int = 503) -> list[Event]:
    return probes(0, 15, 0.5, "ready",
                  lambda at: status if unready_from <= at < ready_from else 200)


def events(*, ready_: list[Event] | None = None, live: int = 200,
           fault_: list[Event] | None = None) -> list[Event]:
    return [*(FAULT if fault_ is None else fault_), *(ready() if ready_ is None else ready_),
            *probes(0, 15, 0.5, "live", live)]


def samples(list_status: int = 200, create_status: int = 503, create_ms: float = 50.0,
            create_step: float = 0.05) -> list[dict[str, Any]]:
    """80 writes during the fault by default: enough for a p95's upper confidence limit."""
    return (run(0, 15, 0.5, ms=3, name=LIST, status=200)
            + run(5, 9, 0.5, ms=3, name=LIST, status=list_status)
            + run(5, 9, create_step, ms=create_ms, name=CREATE, status=create_status))


def judge(rows: list[dict[str, Any]], evs: list[Event],
          claim: HealthClaim = CLAIM) -> dict[str, Any]:
    return by_name(health_verdicts(frame(rows), evs, claim))


def test_healthy_degradation_passes_every_verdict() -> None:
    got = judge(samples(), events())
    assert list(got) == [UNREADY, LIVE, BACK, SERVE, FAST]
    assert all(v.passed for v in got.values()), [v.reason for v in got.values()]
    assert all(v.claim == "health.postgres" for v in got.values())


def test_naive_service_passes_nothing() -> None:
    # readiness never checks the link, reads and writes hang and fail
    got = judge(samples(list_status=500, create_status=500, create_ms=9000),
                events(ready_=probes(0, 15, 0.5, "ready", 200)))
    assert got[UNREADY].failed and got[SERVE].failed and got[FAST].failed
    assert got[LIVE].inconclusive and got[BACK].inconclusive
    assert not any(v.passed for v in got.values())


def test_readiness_slow_to_flip_fails_and_no_probe_is_inconclusive() -> None:
    assert judge(samples(), events(ready_=ready(unready_from=7.0)))[UNREADY].failed
    assert judge(samples(), events(ready_=[]))[UNREADY].inconclusive


def test_readiness_flipping_to_another_status_is_not_the_claimed_unready() -> None:
    got = judge(samples(), events(ready_=ready(status=500)))
    assert got[UNREADY].failed
    assert got[LIVE].inconclusive and got[BACK].inconclusive


def test_liveness_failing_while_unready_fails() -> None:
    assert judge(samples(), events(live=0))[LIVE].failed


def test_liveness_without_live_probes_is_inconclusive() -> None:
    evs = [*FAULT, *ready()]
    assert judge(samples(), evs)[LIVE].inconclusive


def test_readiness_stuck_unready_fails_recovery() -> None:
    assert judge(samples(), events(ready_=ready(ready_from=99)))[BACK].failed


def test_recovery_without_probes_after_the_fault_is_inconclusive() -> None:
    early = [e for e in ready() if e.at_s < FAULT[1].at_s]
    assert judge(samples(), events(ready_=early))[BACK].inconclusive


def test_failing_reads_fail_keep_serving() -> None:
    assert judge(samples(list_status=500), events())[SERVE].failed


def test_hanging_or_wrong_writes_fail_fail_fast() -> None:
    assert judge(samples(create_status=504), events())[FAST].failed
    assert judge(samples(create_ms=9000), events())[FAST].failed


def test_fail_fast_bound_is_within_s_when_claimed() -> None:
    claim = CLAIM.model_copy(update={"degraded": [
        Degradation(requests=[CREATE], status=503, within_s=0.01)]})
    assert judge(samples(), events(), claim)[FAST].failed
    # derived without within_s: ready_within_s + 1 s
    assert judge(samples(create_ms=2900), events())[FAST].passed
    assert judge(samples(create_ms=3100), events())[FAST].failed


def test_too_few_requests_cannot_show_failing_fast() -> None:
    """8 fast 503s cannot show that 95 % of the writes fail fast (it used to pass)."""
    got = judge(samples(create_step=0.5), events())[FAST]
    assert got.inconclusive
    assert "undecidable: 8 requests, a p95 needs at least 72" in got.reason
    # slow enough to fail whatever the population's size: still a fail
    assert judge(samples(create_step=0.5, create_ms=9000), events())[FAST].failed


def test_degradations_need_requests_and_a_noticed_fault() -> None:
    no_requests = judge(run(0, 4, 0.5, name=LIST), events())
    assert no_requests[SERVE].inconclusive and no_requests[FAST].inconclusive
    # readiness never flipped and every request succeeded: the link may not be in the path
    untouched = judge(samples(create_status=201), events(ready_=probes(0, 15, 0.5, "ready", 200)))
    assert untouched[SERVE].inconclusive and untouched[FAST].inconclusive
    # readiness flipped, but every write succeeded: nothing needed to fail
    assert judge(samples(create_status=201), events())[FAST].inconclusive


def test_no_fault_is_inconclusive() -> None:
    got = judge(samples(), events(fault_=[]))
    assert all(v.inconclusive for v in got.values())
