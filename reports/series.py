"""Per-second series and percentile curves: the numbers behind the plots, kept free of drawing.

Everything is bucketed by whole seconds since the run's zero (``t0_s``), by the request's
actual start. Percentiles are nearest-rank, like :func:`gauntlet.latency.percentile`, so a
plotted p99 is a latency some request really had and agrees with the summary's figures.
pandas' grouped ``quantile`` interpolates, and runs once per quantile; one ``lexsort`` of
(second, latency) gives all three exact quantiles of every second in a single pass, which keeps
a million-sample report well inside its time budget.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILES: tuple[float, ...] = (50.0, 95.0, 99.0)
CLASS_NAMES: tuple[str, ...] = ("2xx", "3xx", "4xx", "429", "5xx", "transport", "other")
# the "nines" axis of a percentile curve: 50 … 99.99
CURVE_TICKS: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9, 99.99)


def seconds(t_start_s: np.ndarray, t0_s: float) -> np.ndarray:
    """Whole seconds since ``t0_s`` (floor; a sample before the zero lands in second 0)."""
    return np.maximum(np.floor(t_start_s - t0_s), 0).astype(np.int64)


def latency_per_second(
    sec: np.ndarray, latency_ms: np.ndarray, quantiles: tuple[float, ...] = QUANTILES
) -> pd.DataFrame:
    """Nearest-rank percentiles of each second that has samples: index ``second``, one column
    per quantile (``p50``, ``p95``, …) plus ``count``."""
    columns = [f"p{q:g}" for q in quantiles]
    if sec.size == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in [*columns, "count"]},
                            index=pd.Index([], dtype="int64", name="second"))
    order = np.lexsort((latency_ms, sec))
    sorted_sec = sec[order]
    sorted_lat = latency_ms[order]
    starts = np.flatnonzero(np.r_[True, sorted_sec[1:] != sorted_sec[:-1]])
    counts = np.diff(np.r_[starts, sorted_sec.size])
    data: dict[str, np.ndarray] = {}
    for q, column in zip(quantiles, columns, strict=True):
        # nearest rank: the ceil(q/100 * n)-th smallest value, 1-based
        rank = np.maximum(np.ceil(q / 100.0 * counts - 1e-9).astype(np.int64), 1)
        data[column] = sorted_lat[starts + rank - 1]
    data["count"] = counts
    return pd.DataFrame(data, index=pd.Index(sorted_sec[starts], name="second"))


def status_class(status: np.ndarray) -> np.ndarray:
    """Class code of each status, an index into :data:`CLASS_NAMES`: 429 kept apart from the
    other 4xx (it is the limiter working, not a client bug), status 0 = no response."""
    status = np.asarray(status)
    return np.select(
        [status == 0, status == 429, status >= 500, status >= 400, status >= 300, status >= 200],
        [5, 3, 4, 2, 1, 0],
        default=6,
    ).astype(np.int8)


def throughput_per_second(sec: np.ndarray, status: np.ndarray, n_seconds: int) -> pd.DataFrame:
    """Requests per second by status class, every second from 0 to ``n_seconds - 1`` (zeros
    included: a second without answers is the most interesting one of a fault). Columns are
    the classes that occur, 2xx always."""
    classes = pd.Categorical.from_codes(status_class(status), categories=list(CLASS_NAMES))
    frame = pd.DataFrame({"second": sec, "cls": classes})
    counts = frame.groupby(["second", "cls"], observed=False).size().unstack("cls")
    index = pd.RangeIndex(max(n_seconds, 0), name="second")
    counts.columns = pd.Index([str(c) for c in counts.columns])
    counts = counts.reindex(index=index, columns=list(CLASS_NAMES), fill_value=0)
    counts = counts.fillna(0).astype("int64")
    keep = [c for c in counts.columns if c == "2xx" or bool(counts[c].any())]
    return counts[keep]


def curve_points(max_nines: float = 4.0, n: int = 200) -> np.ndarray:
    """Percentiles from 50 to ``100 - 10**-max_nines`` spaced evenly on the nines scale."""
    nines = np.linspace(np.log10(2.0), max_nines, n)
    return 100.0 * (1.0 - 10.0 ** (-nines))


def nines(percent: np.ndarray | float) -> np.ndarray:
    """The nines transform: 90 → 1, 99 → 2, 99.9 → 3; makes the tail readable on a linear axis."""
    return np.asarray(-np.log10(1.0 - np.asarray(percent, dtype="float64") / 100.0))


def percentile_curve(latency_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-rank percentiles of ``latency_ms`` along :func:`curve_points`, stopping where the
    sample count runs out (p99.99 of 500 requests is just the maximum, drawn once)."""
    values = np.sort(np.asarray(latency_ms, dtype="float64"))
    n = values.size
    if n == 0:
        return np.empty(0), np.empty(0)
    max_nines = min(4.0, max(np.log10(n), np.log10(2.0) + 1e-6))
    points = curve_points(max_nines)
    rank = np.clip(np.ceil(points / 100.0 * n - 1e-9).astype(np.int64), 1, n)
    if max_nines < 4.0:
        rank[-1] = n  # a short run's curve ends at its maximum, where its data ends
    return points, values[rank - 1]
