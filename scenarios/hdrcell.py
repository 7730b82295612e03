"""One HDR cell: the latencies and counters of one population, recorded, encoded and merged.

Shared by the Locust side (:mod:`gauntlet.scenarios.capture`, which records and writes cells and
must not
import pandas) and the harness side (:mod:`gauntlet.hdr`, which reads, merges and judges them),
so a worker and the harness can never disagree on how a request is counted. Imports nothing
heavier than hdrhistogram.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # 1 h
DIGITS = 3
LATE_MS = 10.0  # = gauntlet.latency.LATE_MS (a unit test keeps them equal)
TRANSPORT_ERRORS = ("connect", "timeout", "reset")
COUNTERS = ("errors_5xx", "s4xx", "s429", "transport", "connect", "timeout", "reset", "late")
# the failure groups kept apart in histograms of their own, so the harness can take the latency
# of the successful requests (total minus the groups a suite counts as errors) whatever error
# classes the suite names; a group's histograms exist only once one of its requests was seen
FAILURE_GROUPS = ("5xx", "4xx", "429", "transport")


def new_histogram() -> HdrHistogram:
    """An empty histogram with the range and precision the workers record with."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def to_us(latency_ms: float) -> int:
    """Float ms → the integer µs a histogram records: rounded, clamped into the range."""
    return int(min(max(round(latency_ms * 1000.0), 0), HIGHEST_US))


@dataclass
class Cell:
    """Latencies and counters of one population: one line, one endpoint, or the whole run."""

    corrected: HdrHistogram = field(default_factory=new_histogram)
    service: HdrHistogram = field(default_factory=new_histogram)
    count: int = 0
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    sum_ms: float = 0.0
    service_sum_ms: float = 0.0
    max_ms: float = float("-inf")
    service_max_ms: float = float("-inf")
    t_first_s: float = float("inf")
    t_end_s: float = float("-inf")
    # failure group → (corrected, service) histograms of the requests of that group
    failed: dict[str, tuple[HdrHistogram, HdrHistogram]] = field(default_factory=dict)

    def _failed(self, group: str) -> tuple[HdrHistogram, HdrHistogram]:
        if group not in self.failed:
            self.failed[group] = (new_histogram(), new_histogram())
        return self.failed[group]

    def record(self, latency_ms: float, lag_ms: float, status: int, error: str,
               t_start_s: float) -> None:
        """One request: ``lag_ms`` is how late it was sent after its intended start."""
        corrected_ms = latency_ms + max(lag_ms, 0.0)
        self.corrected.record_value(to_us(corrected_ms))
        self.service.record_value(to_us(latency_ms))
        self.count += 1
        self.sum_ms += corrected_ms
        self.service_sum_ms += latency_ms
        self.max_ms = max(self.max_ms, corrected_ms)
        self.service_max_ms = max(self.service_max_ms, latency_ms)
        self.t_first_s = min(self.t_first_s, t_start_s)
        self.t_end_s = max(self.t_end_s, t_start_s + latency_ms / 1000.0)
        c = self.counters
        if lag_ms > LATE_MS:
            c["late"] += 1
        group = None
        if status >= 500:
            c["errors_5xx"] += 1
            group = "5xx"
        elif status == 429:
            c["s429"] += 1
            group = "429"
        elif status >= 400:
            c["s4xx"] += 1
            group = "4xx"
        elif status == 0 and error:
            c["transport"] += 1
            group = "transport"
            if error in TRANSPORT_ERRORS:
                c[error] += 1
        if group is not None:
            corrected, service = self._failed(group)
            corrected.record_value(to_us(corrected_ms))
            service.record_value(to_us(latency_ms))

    @classmethod
    def from_line(cls, line: Mapping[str, Any]) -> Cell:
        return cls(
            corrected=HdrHistogram.decode(line["hist"]),
            service=HdrHistogram.decode(line["service_hist"]),
            count=int(line["count"]),
            counters={k: int(line.get(k, 0)) for k in COUNTERS},
            sum_ms=float(line["sum_ms"]),
            service_sum_ms=float(line["service_sum_ms"]),
            max_ms=float(line["max_ms"]),
            service_max_ms=float(line["service_max_ms"]),
            t_first_s=float(line["t_first_s"]),
            t_end_s=float(line["t_end_s"]),
            failed={group: (HdrHistogram.decode(pair[0]), HdrHistogram.decode(pair[1]))
                    for group, pair in dict(line.get("failed") or {}).items()},
        )

    def to_line(self, **key: Any) -> dict[str, Any]:
        return {
            **key,
            "hist": self.corrected.encode().decode("ascii"),
            "service_hist": self.service.encode().decode("ascii"),
            "count": self.count,
            **self.counters,
            "sum_ms": self.sum_ms,
            "service_sum_ms": self.service_sum_ms,
            "max_ms": self.max_ms,
            "service_max_ms": self.service_max_ms,
            "t_first_s": self.t_first_s,
            "t_end_s": self.t_end_s,
            "failed": {group: [corrected.encode().decode("ascii"),
                               service.encode().decode("ascii")]
                       for group, (corrected, service) in sorted(self.failed.items())},
        }

    def add(self, other: Cell) -> None:
        """Merge ``other`` into this cell (histograms with HdrHistogram's ``add``)."""
        if other.count == 0:
            return
        self.corrected.add(other.corrected)
        self.service.add(other.service)
        self.count += other.count
        for key, value in other.counters.items():
            self.counters[key] = self.counters.get(key, 0) + value
        self.sum_ms += other.sum_ms
        self.service_sum_ms += other.service_sum_ms
        self.max_ms = max(self.max_ms, other.max_ms)
        self.service_max_ms = max(self.service_max_ms, other.service_max_ms)
        self.t_first_s = min(self.t_first_s, other.t_first_s)
        self.t_end_s = max(self.t_end_s, other.t_end_s)
        for group, (corrected, service) in other.failed.items():
            mine = self._failed(group)
            mine[0].add(corrected)
            mine[1].add(service)
