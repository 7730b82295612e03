"""The failure-rate circuit breaker's state machine, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import pytest

from stack.api.breaker import CircuitBreaker, CircuitOpenError, CircuitState


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make(clock: FakeClock, *, never_closes: bool = False,
         **overrides: float) -> tuple[CircuitBreaker, list[CircuitState]]:
    seen: list[CircuitState] = []
    params: dict[str, float] = dict(
        failure_rate=0.5, window_s=10, min_calls=5, open_s=60, half_open_probes=1
    )
    params.update(overrides)
    breaker = CircuitBreaker(
        "upstream",
        failure_rate=params["failure_rate"],
        window_s=params["window_s"],
        min_calls=int(params["min_calls"]),
        open_s=params["open_s"],
        half_open_probes=int(params["half_open_probes"]),
        clock=clock,
        on_transition=lambda _old, new: seen.append(new),
        never_closes=never_closes,
    )
    return breaker, seen


def outcome(breaker: CircuitBreaker, ok: bool) -> None:
    permit = breaker.acquire()
    if ok:
        breaker.record_success(permit)
    else:
        breaker.record_failure(permit)


def test_opens_at_the_failure_rate_once_min_calls_is_reached() -> None:
    clock = FakeClock()
    breaker, seen = make(clock)
    for ok in (True, False, True, False):  # 50 % but only 4 calls
        outcome(breaker, ok)
    assert breaker.state is CircuitState.CLOSED
    outcome(breaker, False)  # 5 calls, 3 failures: 60 %
    assert breaker.state is CircuitState.OPEN
    assert seen == [CircuitState.OPEN]


def test_stays_closed_below_the_rate() -> None:
    clock = FakeClock()
    breaker, _ = make(clock)
    for _ in range(20):
        outcome(breaker, True)
        outcome(breaker, True)
        outcome(breaker, False)  # 33 %
    assert breaker.state is CircuitState.CLOSED


def test_a_steady_error_rate_opens_it_even_without_consecutive_failures() -> None:
    """The reason this breaker exists: consecutive-count breakers never open on this."""
    clock = FakeClock()
    breaker, _ = make(clock)
    for i in range(6):
        outcome(breaker, i % 2 == 0)  # alternate: never two failures in a row
        clock.advance(0.1)
    assert breaker.state is CircuitState.OPEN  # 3 failures in 6 calls = 50 %


def test_old_outcomes_leave_the_window() -> None:
    clock = FakeClock()
    breaker, _ = make(clock)
    for _ in range(4):
        outcome(breaker, False)
    clock.advance(10.5)  # those four failures are now outside the 10 s window
    for _ in range(4):
        outcome(breaker, True)
    outcome(breaker, False)  # 1 failure in 5 calls
    assert breaker.state is CircuitState.CLOSED
    assert breaker.window_counts() == (5, 1)


def test_open_refuses_then_half_opens_after_open_s() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, min_calls=1)
    outcome(breaker, False)
    with pytest.raises(CircuitOpenError) as refused:
        breaker.acquire()
    assert refused.value.retry_after_s == pytest.approx(60)
    clock.advance(59.9)
    assert breaker.state is CircuitState.OPEN
    clock.advance(0.1)
    assert breaker.state is CircuitState.HALF_OPEN
    assert seen == [CircuitState.OPEN, CircuitState.HALF_OPEN]


def test_half_open_lets_one_probe_through_and_success_closes() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, min_calls=1)
    outcome(breaker, False)
    clock.advance(60)
    probe = breaker.acquire()
    with pytest.raises(CircuitOpenError):
        breaker.acquire()  # the single probe slot is taken
    breaker.record_success(probe)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.window_counts() == (0, 0)  # a fresh window after closing
    assert seen[-1] is CircuitState.CLOSED


def test_half_open_probe_failure_reopens_for_a_full_period() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, min_calls=1)
    outcome(breaker, False)
    clock.advance(60)
    breaker.record_failure(breaker.acquire())
    assert breaker.state is CircuitState.OPEN
    clock.advance(59)
    assert breaker.state is CircuitState.OPEN
    assert seen == [CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.OPEN]


def test_several_probes_must_all_succeed() -> None:
    clock = FakeClock()
    breaker, _ = make(clock, min_calls=1, half_open_probes=2)
    outcome(breaker, False)
    clock.advance(60)
    first, second = breaker.acquire(), breaker.acquire()
    breaker.record_success(first)
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.record_success(second)
    assert breaker.state is CircuitState.CLOSED


def test_a_cancelled_probe_frees_its_slot() -> None:
    clock = FakeClock()
    breaker, _ = make(clock, min_calls=1)
    outcome(breaker, False)
    clock.advance(60)
    breaker.release(breaker.acquire())
    breaker.record_success(breaker.acquire())
    assert breaker.state is CircuitState.CLOSED


def test_late_outcomes_from_an_earlier_state_are_ignored() -> None:
    clock = FakeClock()
    breaker, _ = make(clock, min_calls=1)
    slow = breaker.acquire()  # issued while closed
    outcome(breaker, False)  # opens
    clock.advance(60)
    probe = breaker.acquire()  # half-open
    breaker.record_failure(slow)  # the slow closed-era call fails late: no effect
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.record_success(probe)
    assert breaker.state is CircuitState.CLOSED


def test_never_closes_variant_reopens_on_a_successful_probe() -> None:
    """BREAKER_NEVER_CLOSES: opens and probes as usual, but the probe's success re-opens it."""
    clock = FakeClock()
    breaker, seen = make(clock, min_calls=1, never_closes=True)
    outcome(breaker, False)
    clock.advance(59)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()  # still holds open for open_s
    clock.advance(1)
    probe = breaker.acquire()  # the probe goes through
    breaker.record_success(probe)
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as refused:
        breaker.acquire()
    assert refused.value.retry_after_s == pytest.approx(60)  # a whole new open period
    assert seen == [CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.OPEN]


@pytest.mark.parametrize(
    ("state", "value"),
    [(CircuitState.CLOSED, 0), (CircuitState.OPEN, 1), (CircuitState.HALF_OPEN, 2)],
)
def test_gauge_encoding(state: CircuitState, value: int) -> None:
    assert state.gauge_value == value


def test_rejects_nonsense_parameters() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("x", failure_rate=0, window_s=1, min_calls=1, open_s=1)
    with pytest.raises(ValueError):
        CircuitBreaker("x", failure_rate=0.5, window_s=1, min_calls=0, open_s=1)
