"""A circuit breaker that opens on a failure *rate* over a rolling time window.

Why our own: the claim under test (lazy-foundry, Quemiai) is "opens at 50 % errors over a 10 s
rolling window". The maintained Python breakers we checked — aiobreaker, pybreaker,
purgatory, circuitbreaker/aiocircuitbreaker — all count *consecutive* failures, so a steady
40 % error rate never opens them and a burst of 5 errors among 1,000 successes does. Wrapping
aiobreaker would mean overriding its state storage and transition logic, i.e. writing this
anyway behind an interface that does not fit; so this is a small, dependency-free module.

Semantics (the ones a black-box check can observe):

- CLOSED: every call is admitted and its outcome recorded with a timestamp. After each failure,
  outcomes older than ``window_s`` are dropped; if at least ``min_calls`` remain and
  ``failures / calls >= failure_rate`` the circuit opens.
- OPEN: calls are refused at once (:class:`CircuitOpenError`) for ``open_s``.
- HALF_OPEN: up to ``half_open_probes`` calls are let through; others are refused. When that many
  probes have succeeded the circuit closes (with an empty window); any probe failure re-opens it.
- An outcome that arrives after the state changed (a slow call started while CLOSED finishing
  after the circuit opened) is ignored: each permit carries the generation it was issued in.
- ``never_closes=True`` (broken variant ``BREAKER_NEVER_CLOSES``): the probes that would close
  the circuit re-open it instead, so it never leaves OPEN/HALF_OPEN once it has opened.

Time comes from an injectable monotonic clock so the state machine is unit-tested without
sleeping. Single event loop, no awaits inside: no locks needed.

Usage::

    breaker = CircuitBreaker("upstream", failure_rate=0.5, window_s=10, min_calls=5, open_s=60)
    permit = breaker.acquire()          # raises CircuitOpenError when refused
    try:
        result = await call()
    except Exception:
        breaker.record_failure(permit)
        raise
    breaker.record_success(permit)
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class CircuitState(StrEnum):
    """Breaker states; the value is what ``X-Circuit-State`` shows."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"

    @property
    def gauge_value(self) -> int:
        """The ``breaker_state`` gauge encoding: 0 closed, 1 open, 2 half-open."""
        return {"closed": 0, "open": 1, "half-open": 2}[self.value]


class CircuitOpenError(Exception):
    """The breaker refused the call; ``retry_after_s`` says when a probe may pass."""

    def __init__(self, name: str, state: CircuitState, retry_after_s: float) -> None:
        super().__init__(f"circuit {name!r} is {state.value}")
        self.name = name
        self.state = state
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Permit:
    """Proof that a call was admitted, to be handed back with its outcome."""

    generation: int
    probe: bool


TransitionHook = Callable[[CircuitState, CircuitState], None]


class CircuitBreaker:
    """Failure-rate circuit breaker; see the module docstring for the state machine."""

    def __init__(
        self,
        name: str,
        *,
        failure_rate: float,
        window_s: float,
        min_calls: int,
        open_s: float,
        half_open_probes: int = 1,
        clock: Callable[[], float] = time.monotonic,
        on_transition: TransitionHook | None = None,
        never_closes: bool = False,
    ) -> None:
        if not 0 < failure_rate <= 1:
            raise ValueError("failure_rate must be in (0, 1]")
        if min_calls < 1 or half_open_probes < 1:
            raise ValueError("min_calls and half_open_probes must be >= 1")
        self.name = name
        self.failure_rate = failure_rate
        self.window_s = window_s
        self.min_calls = min_calls
        self.open_s = open_s
        self.half_open_probes = half_open_probes
        self.never_closes = never_closes
        self._clock = clock
        self._on_transition = on_transition
        self._state = CircuitState.CLOSED
        self._generation = 0
        self._outcomes: deque[tuple[float, bool]] = deque()  # (at, failed)
        self._failures = 0
        self._opened_at = 0.0
        self._probes_inflight = 0
        self._probes_succeeded = 0

    @property
    def state(self) -> CircuitState:
        """The current state; an OPEN circuit whose time is up becomes HALF_OPEN here."""
        if self._state is CircuitState.OPEN and self._clock() - self._opened_at >= self.open_s:
            self._transition(CircuitState.HALF_OPEN)
        return self._state

    def window_counts(self) -> tuple[int, int]:
        """``(calls, failures)`` currently in the rolling window (for tests and logs)."""
        self._prune(self._clock())
        return len(self._outcomes), self._failures

    def acquire(self) -> Permit:
        """Admit a call or raise :class:`CircuitOpenError`."""
        state = self.state
        if state is CircuitState.CLOSED:
            return Permit(self._generation, probe=False)
        if state is CircuitState.OPEN:
            retry_after = self._opened_at + self.open_s - self._clock()
            raise CircuitOpenError(self.name, state, max(0.0, retry_after))
        if self._probes_inflight + self._probes_succeeded >= self.half_open_probes:
            raise CircuitOpenError(self.name, state, 0.0)
        self._probes_inflight += 1
        return Permit(self._generation, probe=True)

    def record_success(self, permit: Permit) -> None:
        """The admitted call worked."""
        if permit.generation != self._generation:
            return
        if self._state is CircuitState.HALF_OPEN and permit.probe:
            self._probes_inflight -= 1
            self._probes_succeeded += 1
            if self._probes_succeeded >= self.half_open_probes:
                self._transition(CircuitState.OPEN if self.never_closes else CircuitState.CLOSED)
        elif self._state is CircuitState.CLOSED:
            self._record(failed=False)

    def record_failure(self, permit: Permit) -> None:
        """The admitted call failed in a way that says the dependency is unhealthy."""
        if permit.generation != self._generation:
            return
        if self._state is CircuitState.HALF_OPEN and permit.probe:
            self._transition(CircuitState.OPEN)
        elif self._state is CircuitState.CLOSED:
            self._record(failed=True)
            calls = len(self._outcomes)
            if calls >= self.min_calls and self._failures / calls >= self.failure_rate:
                self._transition(CircuitState.OPEN)

    def release(self, permit: Permit) -> None:
        """The call ended without a verdict (cancelled): free its probe slot, record nothing."""
        if permit.generation == self._generation and permit.probe:
            self._probes_inflight -= 1

    def _record(self, *, failed: bool) -> None:
        now = self._clock()
        self._outcomes.append((now, failed))
        self._failures += failed
        self._prune(now)

    def _prune(self, now: float) -> None:
        horizon = now - self.window_s
        while self._outcomes and self._outcomes[0][0] <= horizon:
            _, failed = self._outcomes.popleft()
            self._failures -= failed

    def _transition(self, new: CircuitState) -> None:
        old = self._state
        self._state = new
        self._generation += 1
        self._outcomes.clear()
        self._failures = 0
        self._probes_inflight = 0
        self._probes_succeeded = 0
        if new is CircuitState.OPEN:
            self._opened_at = self._clock()
        if self._on_transition is not None:
            self._on_transition(old, new)
