"""The first fault comes once the steady phase is both its planned length and decidable, not
after their sum: the wait for the steady phase's successes counts toward the plan's lead."""

from __future__ import annotations

import time
from contextlib import nullcontext
from types import SimpleNamespace
from typing import Any

import pytest

from gauntlet.chaos.context import Context, recovery_bound_s
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.plan import FaultPlan, TimedFault


def zero(spent_s: float, lead_s: float) -> float:
    """How far before now the plan's t0 is put when ``spent_s`` passed since the steady
    phase began."""
    now = time.time()
    ctx: Any = SimpleNamespace(timeline=SimpleNamespace(now_s=lambda: now))
    before = time.monotonic()
    t0 = Context.plan_zero(ctx, now - spent_s, lead_s)
    return before - t0


@pytest.mark.parametrize(("spent_s", "lead_s", "back_s"), [
    (10.0, 4.0, 4.0),   # the wait outlasted the lead: the fault comes at once
    (2.5, 4.0, 2.5),    # the lead is longer: what is left of it still runs
    (-1.0, 4.0, 0.0),   # still in the warm-up: nothing is credited
    (10.0, 0.0, 0.0),   # no lead declared: t0 is now
])
def test_the_steady_wait_counts_toward_the_lead(spent_s: float, lead_s: float,
                                                back_s: float) -> None:
    assert zero(spent_s, lead_s) == pytest.approx(back_s, abs=0.05)


class Recorder:
    def __init__(self) -> None:
        self.at: list[float] = []

    def inject(self, fault: Fault) -> Any:
        self.at.append(time.monotonic())
        return nullcontext()


def test_a_plan_started_with_a_past_t0_brings_its_steps_forward() -> None:
    injector = Recorder()
    plan = FaultPlan([TimedFault(4.0, 0.1, Fault("db", "down"))])
    start = time.monotonic()
    plan.start(injector, t0=start - 3.9)  # type: ignore[arg-type]
    plan.wait()
    assert injector.at and injector.at[0] - start < 1.0


@pytest.mark.parametrize(("steady_took_s", "bound_s"), [
    (2.0, 10.0),    # a fast steady phase: the floor
    (6.0, 18.0),    # three times as long as the steady phase took
    (20.0, 30.0),   # capped
    (None, 30.0),   # the steady phase never held them: the longest bound
])
def test_the_recovery_wait_follows_the_steady_phase(steady_took_s: float | None,
                                                    bound_s: float) -> None:
    assert recovery_bound_s(steady_took_s) == bound_s
