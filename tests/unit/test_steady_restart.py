"""A fault is only injected into a healthy stack: a steady phase whose requests failed past the
steady error bound (a host stall answering a burst of 503s) starts again after the last
failure, within a bound, and the verdict judges that phase and says what came before it."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from gauntlet.chaos.context import STEADY_BOUND_S, STEADY_RESTARTED, Context
from gauntlet.chaos.judging import restarted, steady_from
from gauntlet.chaos.watch import ADAPTED, MISSING, LiveSample
from gauntlet.timeline import Event

NAME = "GET /api/orders"


class Live:
    """LiveSamples' two members a watcher reads, over rows fixed in advance."""

    def __init__(self, rows: list[LiveSample]) -> None:
        self.rows = rows

    def poll(self) -> list[LiveSample]:
        return self.rows


class Events:
    def __init__(self) -> None:
        self.emitted: list[Event] = []

    def now_s(self) -> float:
        return time.time()

    def emit(self, kind: str, **data: Any) -> Event:
        event = Event(self.now_s(), kind, data)
        self.emitted.append(event)
        return event


def context(error_rate: float | None) -> Any:
    ctx: Any = SimpleNamespace(timeline=Events(), on_tick=None,
                               contract=SimpleNamespace(slo=SimpleNamespace(
                                   error_rate=error_rate)))
    ctx.await_successes = lambda *a, **k: Context.await_successes(ctx, *a, **k)
    return ctx


def rows(start_s: float, n: int, *, status: int = 200, step_s: float = 0.01) -> list[LiveSample]:
    return [LiveSample(start_s + i * step_s, 20.0, NAME, status, "") for i in range(n)]


RUN: Any = SimpleNamespace(alive=lambda: True)


def test_a_burst_of_failures_starts_the_steady_phase_again_after_it() -> None:
    since = time.time() - 5.0
    burst = rows(since + 0.5, 27, status=503)
    live = Live([*rows(since, 40), *burst, *rows(since + 1.0, 150)])
    ctx = context(0.05)
    start, took = Context.await_steady(ctx, RUN, live, [NAME], since_s=since)  # type: ignore[arg-type]
    last_failure_end = max(r.t_end_s for r in burst)
    assert start == last_failure_end
    assert took is not None
    kinds = [e.kind for e in ctx.timeline.emitted]
    assert kinds.count(STEADY_RESTARTED) == 1
    adapted = next(e for e in ctx.timeline.emitted if e.kind == ADAPTED)
    assert "503 x27" in adapted.data["why"]


def test_a_healthy_steady_phase_is_not_started_again() -> None:
    since = time.time() - 3.0
    ctx = context(0.05)
    start, took = Context.await_steady(ctx, RUN, Live(rows(since, 200)), [NAME],  # type: ignore[arg-type]
                                       since_s=since)
    assert start == since and took is not None
    assert not [e for e in ctx.timeline.emitted if e.kind == STEADY_RESTARTED]


class Clock:
    """A virtual clock for both the timeline (wall) and the waits (monotonic)."""

    def __init__(self, now_s: float) -> None:
        self.now = now_s

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Unfolding(Live):
    """Rows that appear as they finish, on the virtual clock."""

    def __init__(self, rows: list[LiveSample], clock: Clock) -> None:
        super().__init__([])
        self.all = rows
        self.clock = clock

    def poll(self) -> list[LiveSample]:
        self.rows = [r for r in self.all if r.t_end_s <= self.clock.now]
        return self.rows


def test_a_stack_that_keeps_failing_is_not_waited_out_past_the_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One request in ten fails, all along: the phase starts again until the bound has
    passed, then the fault may come and the last phase is the one judged (and failed)."""
    clock = Clock(1000.0)
    monkeypatch.setattr("gauntlet.chaos.context.time", clock)
    since = clock.now
    mixed = [LiveSample(since + i * 0.01, 5.0, NAME, 503 if i % 10 == 0 else 200, "")
             for i in range(int((STEADY_BOUND_S + 20.0) / 0.01))]
    ctx = context(0.01)
    ctx.timeline.now_s = clock.time
    start, took = Context.await_steady(ctx, RUN, Unfolding(mixed, clock), [NAME],  # type: ignore[arg-type]
                                       since_s=since)
    assert took is not None and STEADY_BOUND_S <= took < STEADY_BOUND_S + 2.0
    restarts = [e for e in ctx.timeline.emitted if e.kind == STEADY_RESTARTED]
    assert len(restarts) > 5
    assert start == restarts[-1].data["from_s"] < since + STEADY_BOUND_S
    assert ctx.timeline.emitted[-1].kind == MISSING  # said it gave up on a healthy phase


def test_a_claimed_zero_error_rate_restarts_on_one_failure() -> None:
    since = time.time() - 4.0
    live = Live([*rows(since, 10), *rows(since + 0.2, 1, status=0), *rows(since + 0.3, 150)])
    ctx = context(0.0)
    start, _ = Context.await_steady(ctx, RUN, live, [NAME], since_s=since)  # type: ignore[arg-type]
    assert start > since + 0.2


def test_the_verdict_judges_the_phase_after_the_last_restart_before_the_fault() -> None:
    events = [Event(1.0, STEADY_RESTARTED, {"from_s": 12.0, "why": "16.5 % errors (503 x27)"}),
              Event(2.0, STEADY_RESTARTED, {"from_s": 15.0, "why": "3 % errors (503 x3)"}),
              Event(3.0, STEADY_RESTARTED, {"from_s": 40.0, "why": "after the fault"})]
    first, restarts = steady_from(events, 10.0, fault_s=30.0)
    assert first == 15.0 and len(restarts) == 2
    assert restarted(restarts) == ("the steady phase started again 2 times after failures "
                                   "(first: 16.5 % errors (503 x27))")
    assert steady_from([], 10.0, fault_s=30.0) == (10.0, [])
