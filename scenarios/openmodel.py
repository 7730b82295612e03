"""Open-model load inside Locust: requests start on a fixed schedule, not when a user is free.

Locust's users are a closed loop: a stalled server stalls the generator and the stall vanishes
from the numbers (coordinated omission). Here a pool of users claims *slots* of a shared arrival
schedule (:mod:`gauntlet.scenarios.schedule`); a user sleeps until its slot, sends, and stamps the
request
with the slot's intended start. When every user is busy, slots fall due unclaimed and are sent
late by the next free user with their original intended start, so latency measured from the
intended start includes the wait (wrk2's correction). Slots never sent by the end are counted.

Scenarios opt in by subclassing :class:`OpenModelUser` (imported only inside Locust).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import gevent
from locust import FastHttpUser, events

from gauntlet.scenarios.schedule import Schedule

_model: dict[str, Any] = {"schedule": None, "t0": None, "next": 0, "step": 1, "claimed": 0}


def _configure(worker_index: int) -> None:
    stages = json.loads(os.environ.get("GAUNTLET_RATE_STAGES", "[]"))
    if not stages:
        return
    workers = max(1, int(os.environ.get("GAUNTLET_WORKERS", "1")))
    _model.update(
        schedule=Schedule.from_stages([(float(d), float(r)) for d, r in stages],
                                      start_rate=float(stages[0][1])),
        t0=time.time(),
        next=worker_index % workers,
        step=workers,
        claimed=0,
    )


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    index = int(getattr(environment.runner, "worker_index", 0) or 0)
    _configure(index)


def claim() -> float | None:
    """The next slot's intended start (epoch s) for this worker, or None when none is left."""
    schedule: Schedule | None = _model["schedule"]
    if schedule is None or _model["t0"] is None:
        return None
    offset = schedule.offset_of(_model["next"])
    if offset is None:
        return None
    _model["next"] += _model["step"]
    _model["claimed"] += 1
    return float(_model["t0"]) + offset


def stats() -> dict[str, Any]:
    schedule: Schedule | None = _model["schedule"]
    if schedule is None or _model["t0"] is None:
        return {"model": "closed"}
    elapsed = min(time.time() - float(_model["t0"]), schedule.duration_s)
    expected = schedule.expected_by(elapsed) / _model["step"]
    return {
        "model": "open",
        "slots_claimed": _model["claimed"],
        "slots_expected": expected,
        "slots_unsent": max(0.0, expected - _model["claimed"]),
    }


class OpenModelUser(FastHttpUser):
    """A user that sends each task at its scheduled slot instead of when it is free."""

    abstract = True
    _intended: float = 0.0

    def wait_time(self) -> float:
        intended = claim()
        if intended is None:
            return 3600.0  # schedule exhausted: idle until the run's time limit stops us
        self._intended = intended
        return max(0.0, intended - time.time())

    def on_start(self) -> None:
        gevent.sleep(self.wait_time())

    def context(self) -> dict[str, Any]:
        return {"t_intended_s": self._intended}
