"""A heartbeat: the harness notices when it stopped running, and says so on the timeline.

A verdict reads what the service did around a fault. When the whole host stalls — a burst of
I/O, another job's containers scheduled ahead of everything — the service's requests time out
for reasons that are neither the fault nor its mechanism: a service that retries exactly as
claimed loses requests at its own call timeout. The load's samples alone cannot tell that from
failed retries. The prober cannot either: its loop waits on the service (a slow ``/live`` is a
gap in its polls whether the host or the service stalled).

So a thread of its own, waiting on nothing but the clock, wakes every :data:`INTERVAL_S`. When
it wakes :data:`STALL_S` or more late, the harness process was not running for that long — a
stall of the host as this process saw it — and it writes a ``host.stall`` event (``at_s`` where
the missed wake was due, ``until_s`` when it woke, ``lag_s``). Checks that must not blame a
mechanism for the host's stalls read them (:func:`gauntlet.checks.windows.stall_windows`).

A pause of the whole machine that the monotonic clock does not count (a virtual machine
snapshotted and resumed) is a leap of the run clock's wall time instead (:mod:`gauntlet.clock`);
the heartbeat counts it the same way, from the wake before the leap to the one after.

What it cannot see: a stall of the service's processes alone, while this one kept running. That
is the service's own time, and a verdict rightly counts it. What it also counts: a pause of this
process alone (a long garbage collection). A stall only ever sets evidence aside, never makes
it, so the cost of that is a fault owed again, not a verdict passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gauntlet.checks.windows import HOST_STALL, Window, longest_overlapping
from gauntlet.scenarios import stallwatch
from gauntlet.timeline import Timeline

# one wake interval and one stall bound for the harness and its generators (stallwatch, which
# Locust loads, imports nothing of gauntlet, so they are its): a wake-up 50 ms late is a busy
# host, a quarter second is a stop — the slack the checks already give scheduling on a shared
# machine (retry.SLACK_S)
INTERVAL_S = stallwatch.INTERVAL_S
STALL_S = stallwatch.STALL_S
# the generators' stall files are read every half second: a steady phase that waits on its
# samples sees a generator's stall about as soon as the samples after it
READ_EVERY = 10


class Heartbeat:
    def __init__(self, timeline: Timeline, *, interval_s: float = INTERVAL_S,
                 stall_s: float = STALL_S) -> None:
        self.timeline = timeline
        self.interval_s = interval_s
        self.stall_s = stall_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stalls: list[Window] = []
        self._generators: Path | None = None
        self._read: dict[Path, int] = {}

    def stalls(self) -> list[Window]:
        """The stalls seen so far (wall clock, as the timeline's)."""
        with self._lock:
            return list(self._stalls)

    def stalled_in(self, start_s: float, end_s: float) -> Window | None:
        """The longest stall seen so far that overlaps [start, end), if any."""
        return longest_overlapping(self.stalls(), start_s, end_s)

    def watch_generators(self, samples_dir: Path) -> None:
        """Also record the stalls the load's generator processes saw of themselves
        (:mod:`gauntlet.scenarios.stallwatch`, in ``samples_dir``), read every
        :data:`READ_EVERY` wakes and once more at the stop."""
        self._generators = samples_dir

    def beat(self, due_wall_s: float, woke_wall_s: float, lag_s: float,
             source: str = "harness") -> None:
        """Record one wake-up that came ``lag_s`` late (a stall when ``lag_s`` ≥ the bound),
        from ``due_wall_s`` (the wake before it) to ``woke_wall_s``; ``source``: whose."""
        if lag_s < self.stall_s:
            return
        window = Window(due_wall_s, woke_wall_s)
        with self._lock:
            self._stalls.append(window)
        extra = {} if source == "harness" else {"source": source}
        self.timeline.emit(HOST_STALL, at_s=due_wall_s, until_s=woke_wall_s,
                           lag_s=round(lag_s, 4), **extra)

    def _read_generators(self) -> None:
        if self._generators is not None:
            for start_s, end_s, lag_s in stallwatch.read_new(self._generators, self._read):
                self.beat(start_s, end_s, lag_s, source="generator")

    def _run(self) -> None:
        last = time.monotonic()
        last_wall = self.timeline.now_s()
        wakes = 0
        while not self._stop.wait(self.interval_s):
            wakes += 1
            if wakes % READ_EVERY == 0:
                self._read_generators()
            now = time.monotonic()
            now_wall = self.timeline.now_s()
            # the stop could have begun any time after the last wake: from there. A pause the
            # monotonic clock did not count shows as the run clock's leap (RunClock.now_s)
            self.beat(last_wall, now_wall, max(now - last, now_wall - last_wall) - self.interval_s)
            last, last_wall = now, now_wall

    def start(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self._read_generators()  # a stall at the load's very end

    @contextmanager
    def running(self) -> Iterator[Heartbeat]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
