"""Verdict functions on synthetic samples and timelines: healthy behaviour passes, each broken
behaviour fails with a reason. Pure: no stack, no clock."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.breaker import breaker_verdicts, default_bounds
from checks.health import health_verdicts
from checks.integrity import integrity_verdict
from checks.ratelimit import ratelimit_verdicts
from checks.retry import retry_verdicts
from checks.shutdown import shutdown_verdicts
from checks.slowdep import slowdep_verdicts
from checks.windows import backoff_budget_s, fault_windows
from gauntlet.policy import Policy
from gauntlet.timeline import Event

T0 = 1_700_000_000.0


def rows(items: list[tuple[float, float, int, str, str]]) -> pd.DataFrame:
    """(offset_s, latency_ms, status, name, ref) → a samples frame."""
    t = np.array([T0 + i[0] for i in items], dtype="float64")
    return pd.DataFrame(
        {
            "t_intended_s": t,
            "t_start_s": t,
            "latency_ms": np.array([i[1] for i in items], dtype="float64"),
            "method": [i[3].split(" ")[0] for i in items],
            "name": [i[3] for i in items],
            "status": np.array([i[2] for i in items], dtype="int32"),
            "error": ["" if i[2] else "reset" for i in items],
            "bytes": 10,
            "worker": "w",
            "ref": [i[4] for i in items],
        }
    )


def fault(proxy: str, start: float, end: float, kind: str = "down") -> list[Event]:
    data = {"proxy": proxy, "fault": kind, "description": f"{proxy} {kind}"}
    return [Event(T0 + start, "fault.applied", data), Event(T0 + end, "fault.removed", data)]


def probe(at: float, target: str, status: int) -> Event:
    return Event(T0 + at, "probe", {"target": target, "status": status, "latency_ms": 2.0})


GEN = "POST /api/generate"
POLICY = Policy(
    upstream_timeout_s=1,
    breaker_window_s=5,
    breaker_open_s=3,
    retry_attempts=2,
    retry_initial_s=0.1,
    retry_max_s=0.5,
)


def breaker_run(*, opens: bool) -> pd.DataFrame:
    items = [(t / 10, 20.0, 200, GEN, "|closed") for t in range(0, 40)]  # steady 0-4 s
    if opens:
        items += [(4 + t / 10, 1000.0, 503, GEN, "upstream-error|closed") for t in range(20)]
        items += [(6.5 + t / 10, 5.0, 503, GEN, "circuit-open|open") for t in range(30)]
        items += [(9.6, 1000.0, 503, GEN, "upstream-error|half-open")]  # a probe
        items += [(9.8 + t / 10, 5.0, 503, GEN, "circuit-open|open") for t in range(40)]
        items += [(16.5 + t / 10, 20.0, 200, GEN, "|closed") for t in range(60)]
    else:
        items += [(4 + t / 10, 1000.0, 504, GEN, "") for t in range(120)]
        items += [(16.5 + t / 10, 20.0, 200, GEN, "") for t in range(60)]
    return rows(items)


def test_breaker_passes_when_it_opens_probes_and_closes() -> None:
    verdicts = breaker_verdicts(
        breaker_run(opens=True), fault("upstream", 4, 16, "timeout"), POLICY, default_bounds(POLICY)
    )
    assert all(v.passed for v in verdicts), [v.reason for v in verdicts if not v.passed]


def test_breaker_fails_when_calls_keep_waiting_on_the_upstream() -> None:
    verdicts = {
        v.name: v
        for v in breaker_verdicts(
            breaker_run(opens=False),
            fault("upstream", 4, 16, "timeout"),
            POLICY,
            default_bounds(POLICY),
        )
    }
    assert not verdicts["opens after the fault starts"].passed
    assert "never opened" in verdicts["opens after the fault starts"].reason
    assert not verdicts["fails fast while open"].passed


@given(
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=1, max_value=10),
)
def test_first_429_verdict_flips_exactly_off_the_limit(
    limit: int, tolerance: int, keys: int
) -> None:
    def burst(first_429: int) -> pd.DataFrame:
        items = []
        for k in range(keys):
            for seq in range(1, limit + 6):
                status = 429 if seq >= first_429 else 200
                items.append(
                    (
                        seq * 0.01,
                        2.0,
                        status,
                        "GET /api/orders",
                        f"phase=burst;key=k{k};seq={seq};retry_after=5",
                    )
                )
        items.append((1.0, 2.0, 200, "GET /api/orders", "phase=bystander;key=b;seq=1"))
        items.append((1.0, 2.0, 200, "GET /health/live", "phase=exempt;key=k0;seq=1"))
        items += [
            (7.0, 2.0, 200, "GET /api/orders", f"phase=after;key=k{k};seq=1") for k in range(keys)
        ]
        return rows(items)

    def first(df: pd.DataFrame) -> bool:
        return ratelimit_verdicts(df, limit=limit, window_s=5, tolerance=tolerance)[0].passed

    assert first(burst(limit + 1))
    assert first(burst(limit + 1 + tolerance))
    assert not first(burst(limit + 2 + tolerance))
    if limit - tolerance >= 1:
        assert not first(burst(limit - tolerance))


def test_ratelimit_fails_open_verdict() -> None:
    ok = rows([(0, 2.0, 200, "GET /api/orders", "phase=store_down;key=d;seq=1")])
    closed = rows([(0, 2.0, 503, "GET /api/orders", "phase=store_down;key=d;seq=1")])
    assert ratelimit_verdicts(ok, limit=5, window_s=5, tolerance=0)[-1].passed
    verdict = ratelimit_verdicts(closed, limit=5, window_s=5, tolerance=0)[-1]
    assert verdict.name == "fails open when the store is down" and not verdict.passed


def test_retry_verdicts_absorbed_vs_not() -> None:
    names = ("POST /api/generate",)
    steady = [(t / 20, 20.0, 200, GEN, "") for t in range(200)]
    absorbed = rows([*steady, (3.0, 450.0, 200, GEN, "")])
    lost = rows(steady + [(3.0 + i / 100, 5.0, 0, GEN, "") for i in range(5)])
    events = fault("upstream", 3.0, 3.3)
    ok = retry_verdicts(
        absorbed,
        events,
        POLICY,
        target="upstream",
        retries_delta=3,
        min_success=0.995,
        endpoints=names,
    )
    assert all(v.passed for v in ok), [v.reason for v in ok]
    bad = retry_verdicts(
        lost, events, POLICY, target="upstream", retries_delta=0, min_success=0.995, endpoints=names
    )
    assert not bad[0].passed and not bad[1].passed


def test_backoff_budget_is_the_capped_sum_of_floors_plus_jitter() -> None:
    assert backoff_budget_s(3, 0.2, 1.0) == (0.2 + 0.2) + (0.4 + 0.2)
    assert backoff_budget_s(1, 1.0, 8.0) == 0.0
    assert backoff_budget_s(5, 1.0, 3.0) == 2 + 3 + 3 + 3


@settings(max_examples=50)
@given(st.floats(min_value=0.0, max_value=0.9), st.integers(min_value=1, max_value=20))
def test_shutdown_inflight_failures_fail_the_verdict(when: float, inflight: int) -> None:
    policy = Policy(drain_delay_s=2, shutdown_deadline_s=10)
    events = [
        Event(T0 + 5, "signal.sent", {"service": "api", "signal": "SIGTERM"}),
        probe(5 + when, "ready", 503),
        Event(T0 + 8, "process.exit", {"service": "api", "code": 0, "after_s": 3.0}),
    ]
    base = [(t / 10, 10.0, 200, "GET /api/orders", "") for t in range(48)]
    drain = [(5.1 + t / 10, 10.0, 200, "GET /api/orders", "") for t in range(15)]
    good = rows(base + [(4.9, 400.0, 200, GEN, "")] * inflight + drain)
    bad = rows(base + [(4.9, 400.0, 0, GEN, "")] * inflight + drain)
    assert all(v.passed for v in shutdown_verdicts(good, events, policy))
    verdicts = {v.name: v for v in shutdown_verdicts(bad, events, policy)}
    assert not verdicts["no failed request started before SIGTERM"].passed


def test_shutdown_without_drain_fails_every_verdict() -> None:
    policy = Policy(drain_delay_s=2, shutdown_deadline_s=10)
    events = [
        Event(T0 + 5, "signal.sent", {"service": "api", "signal": "SIGTERM"}),
        probe(5.05, "ready", 0),
        Event(T0 + 5.01, "process.exit", {"service": "api", "code": -15, "after_s": 0.01}),
    ]
    df = rows([(4.9, 400.0, 0, GEN, ""), (5.5, 1.0, 0, GEN, "")])
    assert not any(v.passed for v in shutdown_verdicts(df, events, policy))


def test_health_postgres_down() -> None:
    policy = Policy(
        db_connect_timeout_s=1,
        db_acquire_timeout_s=1,
        retry_attempts=2,
        retry_initial_s=0.1,
        retry_max_s=0.5,
    )
    events = [
        *fault("postgres", 4, 10),
        probe(4.1, "ready", 503),
        probe(6, "live", 200),
        probe(10.2, "ready", 200),
    ]
    good = rows([(5, 50.0, 503, "POST /api/orders", ""), (5, 3.0, 200, "GET /api/orders", "")])
    assert all(
        v.passed
        for v in health_verdicts(
            good,
            events,
            policy,
            dependency="postgres",
            ready_within_s=2,
            recover_within_s=5,
            max_error_rate=0.01,
        )
    )
    hangs = rows([(5, 9000.0, 504, "POST /api/orders", ""), (5, 3.0, 503, "GET /api/orders", "")])
    verdicts = {
        v.name: v
        for v in health_verdicts(
            hangs,
            events,
            policy,
            dependency="postgres",
            ready_within_s=2,
            recover_within_s=5,
            max_error_rate=0.01,
        )
    }
    assert not verdicts["writes fail fast with 503 [postgres down]"].passed
    assert not verdicts["cached reads still served [postgres down]"].passed


def test_slow_dependency_queueing_pool_fails() -> None:
    policy = Policy(request_deadline_s=1.5, db_acquire_timeout_s=0.5)
    events = fault("postgres", 2, 10, "latency")
    good = rows([(3, 1400.0, 201, "POST /api/orders", ""), (3, 510.0, 503, "GET /api/orders", "")])
    assert all(v.passed for v in slowdep_verdicts(good, events, policy, latency_ms=500))
    queued = rows(
        [(3, 1400.0, 201, "POST /api/orders", ""), (3, 3500.0, 200, "GET /api/orders", "")]
    )
    verdicts = {v.name: v for v in slowdep_verdicts(queued, events, policy, latency_ms=500)}
    assert not verdicts["no request exceeds the deadline"].passed
    assert not verdicts["pool exhaustion answers 503 quickly"].passed


def test_integrity_lost_and_duplicated_writes_fail() -> None:
    assert integrity_verdict({"checked": True, "acknowledged": 10, "rows": {}}, "x").passed
    lost = integrity_verdict({"checked": True, "acknowledged": 10, "rows": {"a": 0}}, "x")
    dup = integrity_verdict({"checked": True, "acknowledged": 10, "rows": {"b": 2}}, "x")
    assert not lost.passed and "LOST" in lost.reason
    assert not dup.passed and "DUPLICATED" in dup.reason
    assert not integrity_verdict({"checked": False}, "x").passed
    assert not integrity_verdict({"checked": True, "acknowledged": 0, "rows": {}}, "x").passed


def test_fault_windows_pair_and_leave_unmatched_open() -> None:
    events = [
        *fault("a", 1, 2),
        Event(T0 + 3, "fault.applied", {"proxy": "b", "description": "b down"}),
        Event(T0 + 9, "probe", {}),
    ]
    windows = fault_windows(events)
    assert [(w.start_s - T0, w.end_s - T0) for w in windows] == [(1, 2), (3, 9)]
