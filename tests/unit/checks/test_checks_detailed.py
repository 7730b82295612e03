"""Detailed-health verdicts: the dependency shown down in time and healthy again, the answer
time within its bound — and every one inconclusive when the endpoint is absent, or never seen
checking anything (a static "healthy" fails the first; a static "degraded" the second)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gauntlet.checks.detailed import DETAILED_PROBE, detailed_verdicts
from gauntlet.checks.health import health_verdicts
from gauntlet.contract import HealthClaim, HealthDetail
from gauntlet.timeline import Event
from tests.unit.checks.factory import T0, by_name, fault, frame, probes, run

DETAIL = HealthDetail(path="/health/detailed", max_ms=500,
                      dependency_status="checks.{link}.status")
CLAIM = HealthClaim(name="postgres", link="postgres", ready_within_s=2, recover_within_s=5,
                    detailed=DETAIL)
SHOWN, BACK, FAST = ("detailed health shows postgres down",
                     "detailed health shows postgres healthy again",
                     "detailed health answers within 500 ms")
FAULT = fault("postgres", 4, 10)


def detailed(value: Callable[[float], str | None], ms: Callable[[float], float] = lambda _: 20.0,
             status: int = 200, step: float = 0.25) -> list[Event]:
    """Detailed probes every ``step`` s over [0, 15) saying ``value(at)`` in ``ms(at)``."""
    out = []
    for i in range(round(15 / step)):
        at = round(i * step, 6)
        out.append(Event(T0 + at, "probe", {"target": DETAILED_PROBE, "status": status,
                                            "latency_ms": ms(at), "value": value(at)}))
    return out


def follows(down_from: float = 4.6, up_from: float = 10.6, shown: str = "unhealthy"
            ) -> Callable[[float], str]:
    return lambda at: shown if down_from <= at < up_from else "healthy"


def judge(events: list[Event], claim: HealthClaim = CLAIM) -> dict[str, Any]:
    return by_name(detailed_verdicts([*FAULT, *events], claim))


def test_a_detailed_health_that_follows_the_dependency_passes() -> None:
    got = judge(detailed(follows(), step=0.05))  # 120 probes during the fault
    assert list(got) == [SHOWN, BACK, FAST]
    assert all(v.passed for v in got.values()), [v.reason for v in got.values()]
    shown = got[SHOWN]
    assert shown.observed == 0.6 and shown.threshold == 2
    assert "'unhealthy'" in shown.reason


def test_too_few_probes_leave_the_answer_time_undecidable() -> None:
    """24 fast answers during the fault cannot show that 95 % of them are fast: a p95's upper
    confidence limit needs at least 72 (it used to pass on 24)."""
    got = judge(detailed(follows()))
    assert got[SHOWN].passed and got[BACK].passed
    assert got[FAST].inconclusive
    assert "undecidable: 24 probes while postgres was down, a p95 needs at least 72" in \
        got[FAST].reason


def test_degraded_counts_as_shown_and_within_s_overrides_ready_within_s() -> None:
    claim = CLAIM.model_copy(update={"detailed": DETAIL.model_copy(update={"within_s": 0.5})})
    got = judge(detailed(follows(down_from=5.0, shown="degraded")), claim)
    assert got[SHOWN].failed and got[SHOWN].threshold == 0.5
    assert judge(detailed(follows(shown="degraded")))[SHOWN].passed


def test_static_healthy_fails_shown_and_leaves_the_rest_inconclusive() -> None:
    got = judge(detailed(lambda _: "healthy"))
    assert got[SHOWN].failed
    assert "healthy x24" in got[SHOWN].reason
    assert got[BACK].inconclusive and got[FAST].inconclusive
    assert "fast for free" in got[FAST].reason


def test_static_degraded_is_not_evidence_of_the_fault() -> None:
    got = judge(detailed(lambda _: "degraded"))
    assert all(v.inconclusive for v in got.values())
    assert "before the fault" in got[SHOWN].reason


def test_a_status_that_sticks_fails_healthy_again() -> None:
    got = judge(detailed(follows(up_from=99)))
    assert got[SHOWN].passed and got[BACK].failed


def test_slow_answers_during_the_fault_fail_the_answer_time() -> None:
    """Fine on average, slow exactly while the dependency is down: the p95 of the fault."""
    got = judge(detailed(follows(), ms=lambda at: 900.0 if 4 <= at < 10 else 20.0))
    assert got[FAST].failed and got[FAST].observed == 900.0
    assert "p95 900.0 ms" in got[FAST].reason
    assert "over the 24 while postgres was down" in got[FAST].reason


SLOW_BOUND = CLAIM.model_copy(update={"detailed": DETAIL.model_copy(update={"max_ms": 2000})})
SLOW_FAST = "detailed health answers within 2000 ms"


def hanging(waited_ms: float, error: str = "timeout", start: float = 5.0,
            end: float = 10.0) -> list[Event]:
    """The endpoint follows the fault (120 probes while it lasts: enough for a decidable p95),
    but from ``start`` to ``end`` no poll gets an answer: each gives up after ``waited_ms``
    (``error``: why)."""
    out = []
    for event in detailed(follows(), step=0.05):
        at = event.at_s - T0
        if start <= at < end:
            event = Event(event.at_s, "probe", {"target": DETAILED_PROBE, "status": 0,
                                                "latency_ms": waited_ms, "value": None,
                                                "error": error})
        out.append(event)
    return out


def test_a_poll_that_timed_out_is_no_answer_in_time() -> None:
    """Old code: a poll cut off by the prober's 1 s timeout read as a 1000 ms answer, within a
    2000 ms bound — a hanging endpoint passed."""
    cut_short = judge(hanging(waited_ms=1000.0), SLOW_BOUND)[SLOW_FAST]
    assert cut_short.inconclusive, cut_short.reason
    assert "gave up after at most 1000 ms, below the bound" in cut_short.reason
    past_bound = judge(hanging(waited_ms=2500.0), SLOW_BOUND)[SLOW_FAST]
    assert past_bound.failed, past_bound.reason
    assert "no answer" in past_bound.reason and past_bound.observed is None


def test_a_refused_poll_is_no_answer_either() -> None:
    """Old code: status 0 was read as its 3 ms: a refusing endpoint was "fast"."""
    refused = judge(hanging(waited_ms=3.0, error="connect", start=4.0, end=4.75))[FAST]
    assert refused.failed and "15 got no answer within 500 ms" in refused.reason
    one_lost = judge(hanging(waited_ms=3.0, error="connect", start=12.0, end=12.05))[FAST]
    assert one_lost.passed, one_lost.reason  # the p95 holds through one lost poll


def test_the_detailed_endpoint_is_polled_past_its_bound() -> None:
    from gauntlet.checks.detailed import probe_timeout_s

    assert probe_timeout_s(DETAIL) == 1.0  # the prober's own, above 500 ms
    assert probe_timeout_s(SLOW_BOUND.detailed) > 2.0  # type: ignore[arg-type]


def test_no_field_or_no_endpoint_is_inconclusive() -> None:
    for events in (detailed(lambda _: None, status=404), []):
        got = judge(events)
        assert all(v.inconclusive for v in got.values()), got
    assert "404 x60" in judge(detailed(lambda _: None, status=404))[SHOWN].reason


def test_no_fault_is_inconclusive() -> None:
    got = by_name(detailed_verdicts(detailed(follows()), CLAIM))
    assert all(v.inconclusive for v in got.values())


def test_the_health_verdicts_carry_the_detailed_ones_only_when_claimed() -> None:
    rows = frame(run(0, 15, 0.5, ms=3))
    events = [*FAULT, *probes(0, 15, 0.5, "ready",
                              lambda at: 503 if 4.5 <= at < 10.5 else 200),
              *probes(0, 15, 0.5, "live", 200), *detailed(follows())]
    with_detail = by_name(health_verdicts(rows, events, CLAIM))
    assert {SHOWN, BACK, FAST} <= set(with_detail)
    plain = CLAIM.model_copy(update={"detailed": None})
    assert not {SHOWN, BACK, FAST} & set(by_name(health_verdicts(rows, events, plain)))


def test_the_status_path_names_the_link() -> None:
    assert DETAIL.status_field("redis") == "checks.redis.status"
    fixed = HealthDetail(path="/h", max_ms=1, dependency_status="deps.db.state")
    assert fixed.status_field("postgres") == "deps.db.state"
