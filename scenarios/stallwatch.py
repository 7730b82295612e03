"""A stall watch inside each load-generator process: it notices when the generator itself
stopped running, and leaves a line the harness reads (``stalls-<pid>.jsonl`` beside the
samples).

The harness's heartbeat (:mod:`gauntlet.chaos.heartbeat`) sees the harness stop. It cannot see
the generator stop while the harness ran on: a file write of the generator held up by the
kernel (seen on this project's VMs while the host reclaimed memory, before a snapshot: 2.5 s
with no request started, while the harness's probes answered every 0.1 s). The requests in
flight then are measured 2.5 s slower than the stack answered them, and a verdict on their
latency would blame the stack for the generator's time. So a greenlet here waits on nothing but
the clock, and when it wakes :data:`STALL_S` or more late (by the monotonic clock, or by the
wall clock leaping ahead of it: a pause of the machine), it appends the span, in wall-clock
time as the samples are stamped. The harness records each as a ``host.stall``.

Loaded both inside Locust (:func:`watch`) and by the harness (:func:`read_new`), so it imports
nothing of gauntlet.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

STALLS_GLOB = "stalls-*.jsonl"
INTERVAL_S = 0.05
STALL_S = 0.25  # a wake a quarter second late is a stop (the harness's heartbeat uses these too)

_watching_pid: int | None = None


def start(directory: str) -> None:
    """Spawn this process's watch (once per process: a forked worker starts its own)."""
    global _watching_pid
    if _watching_pid == os.getpid():
        return
    import gevent

    _watching_pid = os.getpid()
    gevent.spawn(watch, directory, os.getpid())


def watch(directory: str, pid: int) -> None:
    import gevent

    path = os.path.join(directory, f"stalls-{pid}.jsonl")
    mono, wall = time.monotonic(), time.time()
    while os.getpid() == pid:  # a fork's copy of this greenlet stops: the child has its own
        gevent.sleep(INTERVAL_S)
        now_mono, now_wall = time.monotonic(), time.time()
        lag = max(now_mono - mono, now_wall - wall) - INTERVAL_S
        if lag >= STALL_S:
            line = json.dumps({"at": wall, "until": now_wall, "lag": round(lag, 4)}) + "\n"
            with contextlib.suppress(OSError):  # the run dir may be gone with the run
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                try:
                    os.write(fd, line.encode())
                finally:
                    os.close(fd)
        mono, wall = now_mono, now_wall


def read_new(directory: Path, offsets: dict[Path, int]) -> list[tuple[float, float, float]]:
    """The stalls written since the last read (``offsets``: how far each file was read, kept
    by the caller), as (start, end, lag) in wall-clock seconds; only whole lines."""
    found: list[tuple[float, float, float]] = []
    for path in sorted(directory.glob(STALLS_GLOB)):
        try:
            with path.open("rb") as fh:
                fh.seek(offsets.get(path, 0))
                data = fh.read()
        except OSError:
            continue
        whole = data[:data.rfind(b"\n") + 1]
        offsets[path] = offsets.get(path, 0) + len(whole)
        for line in whole.splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                row = json.loads(line)
                found.append((float(row["at"]), float(row["until"]), float(row["lag"])))
    return found
