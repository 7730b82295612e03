"""The run clock: one wall-clock anchor, monotonic time after it.

Samples (written by Locust workers in other processes) and timeline events (written here) must
land on one axis. Each process reads ``time.time()`` once as an anchor and adds monotonic deltas,
so a wall-clock step during a run (NTP) cannot reorder events within a process.
"""

from __future__ import annotations

import time


class RunClock:
    """Wall-clock seconds derived from a single anchor plus ``time.monotonic()``.

    >>> clock = RunClock()
    >>> t = clock.now_s()   # UTC epoch seconds, float
    """

    def __init__(self) -> None:
        self._wall_anchor_s = time.time()
        self._mono_anchor_s = time.monotonic()

    @property
    def started_at_s(self) -> float:
        return self._wall_anchor_s

    def now_s(self) -> float:
        """UTC epoch seconds, monotonic since the anchor."""
        return self._wall_anchor_s + (time.monotonic() - self._mono_anchor_s)

    def elapsed_s(self) -> float:
        """Seconds since the clock was made."""
        return time.monotonic() - self._mono_anchor_s
