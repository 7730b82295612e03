"""Time windows on the run clock: where faults and signals fall among the samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gauntlet.timeline import Event

TRANSPORT_FAILURE = 0


@dataclass(frozen=True)
class Window:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def fault_windows(events: Sequence[Event], proxy: str | None = None) -> list[Window]:
    """Applied→removed pairs, in order; a fault never removed lasts to the last event."""
    open_: dict[str, float] = {}
    windows: list[Window] = []
    last = max((e.at_s for e in events), default=0.0)
    for event in events:
        if proxy is not None and event.data.get("proxy") != proxy:
            continue
        key = f"{event.data.get('proxy')}|{event.data.get('description')}"
        if event.kind == "fault.applied":
            open_[key] = event.at_s
        elif event.kind == "fault.removed" and key in open_:
            windows.append(Window(open_.pop(key), event.at_s))
    windows.extend(Window(start, last) for start in open_.values())
    return sorted(windows, key=lambda w: w.start_s)


def started_in(df: pd.DataFrame, start_s: float, end_s: float) -> pd.DataFrame:
    t = df["t_start_s"]
    return df[(t >= start_s) & (t < end_s)]


def overlapping(df: pd.DataFrame, start_s: float, end_s: float) -> pd.DataFrame:
    """Requests in flight at any moment of [start, end)."""
    t0 = df["t_start_s"]
    t1 = t0 + df["latency_ms"] / 1000.0
    return df[(t0 < end_s) & (t1 > start_s)]


def failed(df: pd.DataFrame) -> np.ndarray:
    """5xx or no answer at all (connect, timeout, reset): what a user would call a failure."""
    status = df["status"].to_numpy()
    mask: np.ndarray = (status >= 500) | (status == TRANSPORT_FAILURE)
    return mask


def ok_fraction(df: pd.DataFrame) -> float:
    return 1.0 - float(failed(df).mean()) if len(df) else float("nan")


def probes(events: Sequence[Event], target: str) -> list[Event]:
    return [e for e in events if e.kind == "probe" and e.data.get("target") == target]


def first_probe_after(events: Sequence[Event], target: str, after_s: float,
                      status: int | tuple[int, ...]) -> Event | None:
    wanted = (status,) if isinstance(status, int) else status
    for event in probes(events, target):
        if event.at_s >= after_s and int(event.data.get("status", -1)) in wanted:
            return event
    return None


def p95(values: Sequence[float] | np.ndarray) -> float:
    arr = np.asarray(values, dtype="float64")
    return float(np.percentile(arr, 95, method="inverted_cdf")) if arr.size else float("nan")


def backoff_budget_s(attempts: int, initial_s: float, max_s: float) -> float:
    """The most that retry sleeps can add: each sleep is at most ``initial·2^n`` plus a jitter
    of up to ``initial``, capped at ``max`` (exponential backoff with jitter)."""
    return float(sum(min(max_s, initial_s * 2**i + initial_s)
                     for i in range(max(0, attempts - 1))))
