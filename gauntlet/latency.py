"""Latency and error figures computed from raw samples: exact, never from Locust's buckets.

Percentiles use the nearest-rank definition (numpy's ``inverted_cdf``): the reported p99 is a
latency some request actually had, and "p99 ≤ T" holds exactly when at least 99 % of requests
took ≤ T. That makes a gate flip on precisely the sample that crosses its threshold.

Two latencies exist per request: *service time* (measured from the actual send) and *corrected*
latency (measured from the intended start, wrk2's coordinated-omission correction). For a closed
model they are the same number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

PERCENTILES: dict[str, float] = {
    "p50_ms": 50.0,
    "p90_ms": 90.0,
    "p95_ms": 95.0,
    "p99_ms": 99.0,
    "p999_ms": 99.9,
}
TRANSPORT_ERRORS = ("connect", "timeout", "reset")
DEFAULT_ERRORS = ("5xx", "connect", "timeout", "reset")
LATE_MS = 10.0  # an open-model request sent later than this after its slot counts as late


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    arr = np.asarray(values, dtype="float64")
    if arr.size == 0:
        return float("nan")
    return float(np.percentile(arr, q, method="inverted_cdf"))


def corrected_latency_ms(df: pd.DataFrame) -> np.ndarray:
    """Latency from the intended start: service time plus how late the request was sent."""
    lag_ms = (df["t_start_s"].to_numpy() - df["t_intended_s"].to_numpy()) * 1000.0
    return df["latency_ms"].to_numpy() + np.maximum(lag_ms, 0.0)


def error_mask(df: pd.DataFrame, classes: Iterable[str] = DEFAULT_ERRORS) -> np.ndarray:
    """Which requests count as errors, by the explicit list of error classes."""
    status = df["status"].to_numpy()
    error = df["error"].astype("string").fillna("").to_numpy()
    mask = np.zeros(len(df), dtype=bool)
    for cls in classes:
        if cls == "5xx":
            mask |= status >= 500
        elif cls == "4xx":
            mask |= (status >= 400) & (status < 500) & (status != 429)
        elif cls == "429":
            mask |= status == 429
        elif cls in TRANSPORT_ERRORS:
            mask |= (error == cls) & (status == 0)
        else:
            raise ValueError(f"unknown error class {cls!r}")
    # a transport failure we could not classify is still a failure
    if any(c in TRANSPORT_ERRORS for c in classes):
        mask |= (status == 0) & (error != "")
    return mask


@dataclass(frozen=True)
class Figures:
    """The figures of one population of requests (the whole run, or one endpoint)."""

    count: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float
    errors: int
    error_rate: float
    count_429: int
    rate_429: float
    # service time, for comparison when the figures above are corrected
    service_p50_ms: float
    service_p99_ms: float
    late: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def figures(
    df: pd.DataFrame,
    *,
    errors: Iterable[str] = DEFAULT_ERRORS,
    corrected: bool = True,
    duration_s: float | None = None,
) -> Figures:
    """Figures for ``df``. Latency percentiles are over every request, failed ones included:
    a timeout that took 30 s is exactly what a user felt."""
    count = len(df)
    service = df["latency_ms"].to_numpy(dtype="float64")
    latency = corrected_latency_ms(df) if corrected else service
    if duration_s is None:
        if count:
            end = (df["t_start_s"] + df["latency_ms"] / 1000.0).max()
            duration_s = max(float(end - df["t_start_s"].min()), 1e-9)
        else:
            duration_s = 0.0
    n_err = int(error_mask(df, errors).sum()) if count else 0
    n_429 = int((df["status"].to_numpy() == 429).sum()) if count else 0
    lag_ms = (df["t_start_s"].to_numpy() - df["t_intended_s"].to_numpy()) * 1000.0
    pct = {key: percentile(latency, q) for key, q in PERCENTILES.items()}
    return Figures(
        count=count,
        duration_s=float(duration_s),
        rps=count / duration_s if duration_s else 0.0,
        max_ms=float(latency.max()) if count else float("nan"),
        mean_ms=float(latency.mean()) if count else float("nan"),
        errors=n_err,
        error_rate=n_err / count if count else 0.0,
        count_429=n_429,
        rate_429=n_429 / count if count else 0.0,
        service_p50_ms=percentile(service, 50.0),
        service_p99_ms=percentile(service, 99.0),
        late=int((lag_ms > LATE_MS).sum()),
        **pct,
    )


def by_endpoint(
    df: pd.DataFrame, *, errors: Iterable[str] = DEFAULT_ERRORS, corrected: bool = True,
    duration_s: float | None = None,
) -> dict[str, Figures]:
    """Figures per ``"METHOD name"``; Locust's names already carry the method in our scenarios."""
    out: dict[str, Figures] = {}
    if df.empty:
        return out
    keys = endpoint_keys(df)
    for key, group in df.groupby(keys, observed=True, sort=True):
        out[str(key)] = figures(group, errors=errors, corrected=corrected, duration_s=duration_s)
    return out


def endpoint_keys(df: pd.DataFrame) -> pd.Series:
    """``name`` when it already starts with the method (our scenarios), else ``METHOD name``."""
    name = df["name"].astype("string")
    method = df["method"].astype("string")
    has_method = name.str.split(" ", n=1).str[0] == method
    return name.where(has_method, method + " " + name)
