"""Generator health: is the load generator itself the bottleneck?

A saturated generator under-reports latency and over-reports the server's capacity. Two signs
are watched: CPU of each Locust process (one gevent loop can use one core; near 100 % it is
queueing its own work) and, for the open model, requests sent late or never sent. When either
trips, the generator is *saturated*; when a sign could not be observed at all (no CPU sample was
taken, a worker's ``generator-*.json`` is missing or unreadable, so its unsent slots are not
known) its health is *unknown* — never reliable by default, since "no sign seen" is not "no
saturation". Either way the run's verdicts are marked unreliable, their passes become
inconclusive (:mod:`gauntlet.checks.slo`) and the report says why.

Remote workers add a third way to distrust a load: samples *lost* on the way to the master (a
batch with a bad MAC, a gap in a worker's numbered batches, a worker whose last chunk never
came). The verdicts are then judged on what arrived, and say what did not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import psutil

CPU_SATURATED_PERCENT = 90.0
LATE_FRACTION_LIMIT = 0.01
# a scheduler hiccup sends a request or two late on any shared machine: a generator is behind
# its schedule only when more than this many are (and more than the share above)
LATE_MIN_COUNT = 3


HealthState = Literal["reliable", "saturated", "unknown"]


@dataclass
class GeneratorHealth:
    """``reasons``: signs of saturation seen; ``unknown``: signs that could not be observed."""

    max_cpu_percent: float = 0.0
    mean_cpu_percent: float = 0.0
    processes: int = 0
    late: int = 0
    unsent: float | None = 0.0
    requests: int = 0
    reasons: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    # remote workers' samples that never reached the record intact (the run judges the rest)
    lost: list[str] = field(default_factory=list)

    @property
    def state(self) -> HealthState:
        if self.reasons:
            return "saturated"
        return "unknown" if self.unknown or self.lost else "reliable"

    @property
    def reliable(self) -> bool:
        return self.state == "reliable"

    def distrust(self) -> str | None:
        """Why the generator cannot be trusted, in words; None when it can."""
        if self.lost:  # first: it says what the verdicts lack, whatever else is wrong
            return "remote workers' samples were lost on the way: " + "; ".join(self.lost)
        if self.reasons:
            return "it was saturated: " + "; ".join(self.reasons)
        if self.unknown:
            return "its health is unknown: " + "; ".join(self.unknown)
        return None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reliable": self.reliable, "state": self.state}

    @classmethod
    def from_record(cls, data: Mapping[str, Any] | None) -> GeneratorHealth:
        """The health a run dir's summary recorded; none recorded is unknown, not reliable.

        A summary written before ``unknown`` existed says only ``reliable``/``reasons``."""
        if not data:
            return cls(unknown=["no generator health was recorded for the load"])
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        health = cls(**known)
        if not data.get("reliable", False) and not health.reasons and not health.unknown:
            health.unknown.append("the run recorded its generator as not reliable")
        return health


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


@dataclass(frozen=True)
class WorkerReports:
    """What the Locust workers' ``generator-*.json`` reports say, summed, and what they lack."""

    unsent: float | None  # scheduled requests never sent; None when not every worker said
    remote_cpu: list[float | None]  # each remote worker's mean CPU %, None where it said none
    unreported: list[str]  # missing or unreadable reports, in words


def generator_reports(reports: Sequence[Mapping[str, Any]], unreadable: Sequence[str], *,
                      expected: int) -> WorkerReports:
    """Sum the workers' reports; ``expected`` is how many workers should have written one
    (each local process of ``--processes`` or each remote worker; never the master).

    A report missing or unreadable is not a worker that sent every slot: it makes ``unsent``
    unknown (None) and is named in ``unreported``."""
    unreported = list(unreadable)
    seen = len(reports) + len(unreadable)
    if seen < expected:
        unreported.append(f"{expected - seen} of {expected} Locust worker(s) wrote no "
                          "generator report (generator-*.json)")
    unsent: float | None = 0.0
    for report in reports:
        if report.get("model") == "closed":
            continue
        value = report.get("slots_unsent")
        if unsent is None or not isinstance(value, int | float):
            unsent = None
            continue
        unsent += float(value)
    if unreported:
        unsent = None
    remote_cpu: list[float | None] = [
        float(r["cpu_percent"]) if isinstance(r.get("cpu_percent"), int | float) else None
        for r in reports if r.get("remote")]
    return WorkerReports(unsent, remote_cpu, unreported)


def assess(cpu: list[float], processes: int, late: int, unsent: float | None, requests: int,
           open_model: bool, remote_cpu: Sequence[float | None] = (), *,
           unreported: Sequence[str] = (), lost: Sequence[str] = ()) -> GeneratorHealth:
    """Pure judgement of generator health from what was observed.

    ``remote_cpu``: each remote worker's mean CPU % over the test, as it reported it (the
    monitor sees only this machine's processes); the busiest one counts like a local process.
    None where it reported none. ``unsent``: scheduled requests never sent, None when not
    known. ``unreported``: the workers' reports (``generator-*.json``) that were missing or
    unreadable, in words. Whatever was not observed makes the health unknown. ``lost``: the
    remote workers' samples that never arrived intact, in words.
    """
    steady = cpu[2:] if len(cpu) > 4 else cpu  # the first ticks include start-up work
    mean_cpu = sum(steady) / len(steady) if steady else 0.0
    remote = [c for c in remote_cpu if c is not None]
    health = GeneratorHealth(
        max_cpu_percent=max([*steady, *remote], default=0.0),
        mean_cpu_percent=max([mean_cpu, *remote]),
        processes=processes + len(remote_cpu),
        late=late,
        unsent=unsent,
        requests=requests,
        lost=list(lost),
    )
    if not steady:
        health.unknown.append("no CPU sample of the Locust processes was taken")
    silent = len(remote_cpu) - len(remote)
    if silent:
        health.unknown.append(f"{silent} remote worker(s) reported no CPU figure")
    health.unknown.extend(unreported)
    if open_model and unsent is None:
        health.unknown.append("how many scheduled requests were never sent is not known")
    if health.mean_cpu_percent >= CPU_SATURATED_PERCENT:
        health.reasons.append(
            f"a Locust process averaged {health.mean_cpu_percent:.0f} % CPU "
            f"(≥ {CPU_SATURATED_PERCENT:.0f} %): add workers (load.workers)"
        )
    if open_model and requests:
        if late / requests > LATE_FRACTION_LIMIT and late > LATE_MIN_COUNT:
            health.reasons.append(
                f"{late} of {requests} requests sent > 10 ms after their slot: "
                "the generator fell behind its schedule (raise load.max_concurrency or workers)"
            )
        if unsent is not None and unsent >= 1:
            health.reasons.append(f"{unsent:.0f} scheduled requests were never sent")
    return health
