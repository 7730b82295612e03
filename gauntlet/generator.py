"""Generator health: is the load generator itself the bottleneck?

A saturated generator under-reports latency and over-reports the server's capacity. Two signs
are watched: CPU of each Locust process (one gevent loop can use one core; near 100 % it is
queueing its own work) and, for the open model, requests sent late or never sent. When either
trips, the run's verdicts are marked unreliable and the report says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

CPU_SATURATED_PERCENT = 90.0
LATE_FRACTION_LIMIT = 0.01


@dataclass
class GeneratorHealth:
    max_cpu_percent: float = 0.0
    mean_cpu_percent: float = 0.0
    processes: int = 0
    late: int = 0
    unsent: float = 0.0
    requests: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def reliable(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reliable": self.reliable}


class CpuMonitor:
    """Samples the CPU of a process tree (Locust master and its forked workers)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._procs: dict[int, psutil.Process] = {}
        self.samples: list[float] = []  # per tick: the busiest process' percent
        self.max_processes = 0

    def tick(self) -> None:
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        busiest = 0.0
        for proc in tree:
            known = self._procs.setdefault(proc.pid, proc)
            try:
                busiest = max(busiest, known.cpu_percent(interval=None))
            except psutil.Error:
                continue
        self.max_processes = max(self.max_processes, len(tree))
        self.samples.append(busiest)


def assess(cpu: list[float], processes: int, late: int, unsent: float, requests: int,
           open_model: bool, remote_cpu: Sequence[float] = ()) -> GeneratorHealth:
    """Pure judgement of generator health from what was observed.

    ``remote_cpu``: each remote worker's mean CPU % over the test, as it reported it (the
    monitor sees only this machine's processes); the busiest one counts like a local process.
    """
    steady = cpu[2:] if len(cpu) > 4 else cpu  # the first ticks include start-up work
    mean_cpu = sum(steady) / len(steady) if steady else 0.0
    health = GeneratorHealth(
        max_cpu_percent=max([*steady, *remote_cpu], default=0.0),
        mean_cpu_percent=max([mean_cpu, *remote_cpu]),
        processes=processes + len(remote_cpu),
        late=late,
        unsent=unsent,
        requests=requests,
    )
    if health.mean_cpu_percent >= CPU_SATURATED_PERCENT:
        health.reasons.append(
            f"a Locust process averaged {health.mean_cpu_percent:.0f} % CPU "
            f"(≥ {CPU_SATURATED_PERCENT:.0f} %): add workers (load.workers)"
        )
    if open_model and requests:
        if late / requests > LATE_FRACTION_LIMIT:
            health.reasons.append(
                f"{late} of {requests} requests sent > 10 ms after their slot: "
                "the generator fell behind its schedule (raise load.max_concurrency or workers)"
            )
        if unsent >= 1:
            health.reasons.append(f"{unsent:.0f} scheduled requests were never sent")
    return health
