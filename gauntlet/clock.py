"""The run clock: one wall-clock anchor, monotonic time after it — re-anchored when the wall
clock leaps ahead of it.

Samples (written by Locust workers in other processes, stamped with ``time.time()``) and
timeline events (written here) must land on one axis. This process reads ``time.time()`` once as
an anchor and adds monotonic deltas, so a small wall-clock step during a run (NTP) cannot
reorder its events.

But a pause of the whole machine that the monotonic clock does not count — a virtual machine
snapshotted and resumed, a laptop's lid closed — leaves the wall clock ahead by the pause once
the guest's clock is set right, and every sample after it would sit that far from the faults
and probes of the timeline (seen on this project's VMs: 8.6 s, after a snapshot). So each reading
compares the two: when the wall clock is :data:`LEAP_S` or more ahead of the anchored time, the
clock takes a new anchor (time never runs backwards here, so a wall clock set back is not
followed). The heartbeat (:mod:`gauntlet.chaos.heartbeat`) sees the leap between two of its
wakes, and calls it a stall of the host.
"""

from __future__ import annotations

import threading
import time

# a leap of the wall clock past the monotonic one that is a pause, not NTP's slewing (at most
# 0.5 ms a second) nor the two clocks being read a few microseconds apart
LEAP_S = 0.25


class RunClock:
    """Wall-clock seconds derived from an anchor plus ``time.monotonic()``.

    >>> clock = RunClock()
    >>> t = clock.now_s()   # UTC epoch seconds, float
    """

    def __init__(self) -> None:
        self._started_at_s = time.time()
        self._anchor = (self._started_at_s, time.monotonic())  # one tuple: swapped atomically
        self._lock = threading.Lock()

    @property
    def started_at_s(self) -> float:
        return self._started_at_s

    def now_s(self) -> float:
        """UTC epoch seconds, monotonic since the anchor; a new anchor when the wall clock leapt
        ahead of it (a pause of the machine that the monotonic clock did not count)."""
        wall_anchor, mono_anchor = self._anchor
        mono = time.monotonic()
        derived = wall_anchor + (mono - mono_anchor)
        wall = time.time()
        if wall - derived < LEAP_S:
            return derived
        with self._lock:
            if self._anchor == (wall_anchor, mono_anchor):  # not already taken by another thread
                self._anchor = (wall, mono)
        return self._anchor[0] + (mono - self._anchor[1])

    def elapsed_s(self) -> float:
        """Seconds since the clock was made, as the run's axis counts them (pauses included)."""
        return self.now_s() - self._started_at_s
