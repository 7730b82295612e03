"""Timed fault plans: "at 10 s add X to ``upstream`` for 20 s", on the run clock.

A plan runs in one background thread so the main thread stays free to drive load and watch
probes. Each step goes through :meth:`FaultInjector.inject`, so its undo is registered before
it is applied; stopping the plan (normal end, exception or Ctrl-C in the main thread) wakes the
thread, which leaves the active ``with`` block and so removes the fault before :meth:`stop`
returns.

    plan = FaultPlan([TimedFault(at_s=5, duration_s=10, fault=Fault("upstream", "timeout",
                                                                     {"timeout": 0}))])
    with plan.running(injector):
        load.wait()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gauntlet import cleanup
from gauntlet.chaos.faults import Fault, FaultInjector


@dataclass(frozen=True)
class TimedFault:
    at_s: float
    duration_s: float
    fault: Fault

    @property
    def end_s(self) -> float:
        return self.at_s + self.duration_s


class FaultPlan:
    def __init__(self, steps: list[TimedFault]) -> None:
        for step in steps:
            step.fault.validate()
        self.steps = sorted(steps, key=lambda s: s.at_s)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    @property
    def duration_s(self) -> float:
        return max((s.end_s for s in self.steps), default=0.0)

    def _run_step(self, injector: FaultInjector, step: TimedFault, t0: float) -> None:
        try:
            if self._stop.wait(max(0.0, t0 + step.at_s - time.monotonic())):
                return
            with injector.inject(step.fault):
                self._stop.wait(max(0.0, t0 + step.end_s - time.monotonic()))
        except BaseException as exc:  # surfaced by stop(); a thread must not die silently
            self.errors.append(exc)

    def start(self, injector: FaultInjector, t0: float | None = None) -> None:
        """Run every step on its own thread, its offsets counted from ``t0`` (monotonic; now
        when not given, and a ``t0`` in the past brings every step forward alike)."""
        t0 = time.monotonic() if t0 is None else t0
        for step in self.steps:  # overlapping steps each get a thread of their own
            thread = threading.Thread(target=self._run_step, args=(injector, step, t0),
                                      name=f"fault:{step.fault.describe()}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 15.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)

    def wait(self) -> None:
        """Block until every step has run its course."""
        for thread in self._threads:
            while thread.is_alive():
                cleanup.check()  # the main flow notices a signal between short joins
                thread.join(0.2)

    @contextmanager
    def running(self, injector: FaultInjector) -> Iterator[FaultPlan]:
        self.start(injector)
        try:
            yield self
        finally:
            self.stop()
        if self.errors:
            raise self.errors[0]
