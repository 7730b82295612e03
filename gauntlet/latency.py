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
    corrected: np.ndarray = df["latency_ms"].to_numpy() + np.maximum(lag_ms, 0.0)
    return corrected


def error_mask(df: pd.DataFrame, classes: Iterable[str] = DEFAULT_ERRORS) -> np.ndarray:
    """Which requests count as errors, by the explicit list of error classes."""
    status = df["status"].to_numpy()
    error = df["error"]
    mask = np.zeros(len(df), dtype=bool)
    for cls in classes:
        if cls == "5xx":
            mask |= status >= 500
        elif cls == "4xx":
            mask |= (status >= 400) & (status < 500) & (status != 429)
        elif cls == "429":
            mask |= status == 429
        elif cls in TRANSPORT_ERRORS:
            mask |= _equals(error, cls) & (status == 0)
        else:
            raise ValueError(f"unknown error class {cls!r}")
    # a transport failure we could not classify is still a failure
    if any(c in TRANSPORT_ERRORS for c in classes):
        mask |= (status == 0) & ~_equals(error, "") & error.notna().to_numpy()
    return mask


def _equals(column: pd.Series, value: str) -> np.ndarray:
    """``column == value`` as a bool array, missing values False. Compared in the column's own
    dtype (a categorical compares its codes): no Python string per row is made."""
    return np.asarray((column == value).fillna(False), dtype=bool)


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
    late = int((lag_ms > LATE_MS).sum())
    del lag_ms
    # one partial sort for all five (the same values as percentile(latency, q) one by one)
    values = (
        np.percentile(latency, list(PERCENTILES.values()), method="inverted_cdf")
        if count else [float("nan")] * len(PERCENTILES)
    )
    pct = {key: float(v) for key, v in zip(PERCENTILES, values, strict=True)}
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
        late=late,
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
    codes, keys = _endpoint_codes(df)
    # rows of each endpoint in their original order; only the columns figures() reads are copied
    columns = [c for c in FIGURE_COLUMNS if c in df.columns]
    sub = df[columns]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1), side="left")
    for index, key in enumerate(keys):
        rows = order[bounds[index]:bounds[index + 1]]
        if rows.size:
            group = sub.take(rows)
            out[key] = figures(group, errors=errors, corrected=corrected, duration_s=duration_s)
    return out


def endpoint_keys(df: pd.DataFrame) -> pd.Series:
    """``name`` when it already starts with the method (our scenarios), else ``METHOD name``."""
    codes, keys = _endpoint_codes(df)
    table = np.asarray([*keys, None], dtype=object)  # code -1 (a missing name) -> NA
    return pd.Series(table[codes], index=df.index, dtype="string")


FIGURE_COLUMNS = ("t_intended_s", "t_start_s", "latency_ms", "status", "error")


def _endpoint_codes(df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Per row, the index of its endpoint key in the sorted list of keys (-1: name missing).

    The key is decided once per distinct (method, name) pair, not once per row: a run has a
    handful of endpoints and a million rows, and string work per row costs hundreds of MB.
    """
    method_codes, methods = pd.factorize(df["method"])
    name_codes, names = pd.factorize(df["name"])
    width = len(names) + 1
    pair_codes, pairs = pd.factorize(method_codes.astype(np.int64) * width + name_codes)
    pair_keys: list[str | None] = []
    for pair in pairs:
        m, n = divmod(int(pair), width)
        if m < 0 or n < 0 or n >= len(names):
            pair_keys.append(None)
            continue
        method, name = str(methods[m]), str(names[n])
        pair_keys.append(name if name.split(" ", 1)[0] == method else f"{method} {name}")
    keys = sorted({k for k in pair_keys if k is not None})
    position = {k: i for i, k in enumerate(keys)}
    lookup = np.asarray([position[k] if k is not None else -1 for k in pair_keys], dtype=np.int64)
    return lookup[pair_codes], keys
