"""The generator benchmarks' probe: the CPU time and request count of Locust's load phase alone.

Imported by the benchmark locustfiles, so bare Locust and gauntlet's capture carry the same
probe. With ``$GAUNTLET_BENCH_PROBE_DIR`` set, ``test_start`` and ``test_stop`` note this
process' user + system CPU and Locust's request count, and ``probe-<pid>.json`` gets the
difference. Why not the whole process' CPU: starting Locust (imports, the web of gevent
patches) costs ~1 CPU-s of fixed cost that has nothing to do with requests, and on a busy
machine it is a large, noisy share of a short run. Nothing per request: two listeners per run.
"""

from __future__ import annotations

import gc
import json
import os
import resource
from typing import Any

from locust import events

_start: dict[str, float] = {}


def _cpu_s() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _gc_counts() -> dict[str, int]:
    """Collections of the cyclic garbage collector so far, per generation (a full collection
    walks every object of the process: a cost no line of a profile owns)."""
    return {f"gc_gen{i}": stats["collections"] for i, stats in enumerate(gc.get_stats())}


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    user_s, system_s = _cpu_s()
    _start.update(user_s=user_s, system_s=system_s,
                  requests=environment.stats.total.num_requests, **_gc_counts())


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    directory = os.environ.get("GAUNTLET_BENCH_PROBE_DIR")
    if not directory or not _start:
        return
    user_s, system_s = _cpu_s()
    figures = {"requests": environment.stats.total.num_requests - _start["requests"],
               "user_s": user_s - _start["user_s"], "system_s": system_s - _start["system_s"],
               **{k: v - _start[k] for k, v in _gc_counts().items()}}
    with open(os.path.join(directory, f"probe-{os.getpid()}.json"), "w") as fh:
        json.dump(figures, fh)
