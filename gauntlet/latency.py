"""Latency and error figures computed from raw samples: exact, never from Locust's buckets.

Percentiles use the nearest-rank definition (numpy's ``inverted_cdf``): the reported p99 is a
latency some request actually had, and "p99 ≤ T" holds for *this sample* exactly when at least
99 % of its requests took ≤ T. :func:`percentile` is the one implementation every verdict uses.

A sample's p99 is an estimate of the service's p99, and a verdict speaks of the service. So each
percentile also carries a distribution-free confidence interval (:func:`rank_bounds`: binomial
bounds on the ranks of the order statistics), and a gate judges the interval, not the point:
see :data:`CONFIDENCE` for the level, :func:`min_samples_for` for the smallest population whose
interval is bounded above at all.

Latency percentiles are over the *successful* requests (not counted as errors by the suite's
error classes): a service that crashed answers every request with a fast connection refusal,
and a p95 over those would pass the gate of a dead stack. Failed requests are what the error
rate speaks of.

Two latencies exist per request: *service time* (measured from the actual send) and *corrected*
latency (measured from the intended start, wrk2's coordinated-omission correction). For a closed
model they are the same number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
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


# Two-sided 95 %: a gate passes only when the interval's upper limit is within its bound and
# fails only when the lower limit is beyond it, so a wrong pass and a wrong fail each happen in at
# most 2.5 % of runs of a service that sits exactly at its bound (less the farther it sits).
# 95 % is the level a reader of a latency report already assumes; 99 % would raise the smallest
# population that can decide a p99 from 368 to 528 requests, a p95 from 72 to 104, and leave the
# short phases of an experiment undecidable more often than it would save a wrong verdict.
CONFIDENCE = 0.95


def percentile(values: Sequence[float] | np.ndarray | pd.Series, q: float) -> float:
    """Nearest-rank percentile (``q`` in percent); NaN for no values."""
    arr = np.asarray(values, dtype="float64")
    if arr.size == 0:
        return float("nan")
    return float(np.percentile(arr, q, method="inverted_cdf"))


def _check_level(quantile: float, confidence: float) -> float:
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), not {quantile!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), not {confidence!r}")
    return (1.0 - confidence) / 2.0


def min_samples_for(quantile: float, confidence: float = CONFIDENCE) -> int:
    """The fewest requests whose ``quantile`` (0.99 for a p99) has an upper confidence limit.

    Below it, even the slowest request is not a ``confidence`` upper bound of the quantile: with
    n requests the chance that all n fall below the true quantile is ``quantile**n``, and that
    must be at most ``tail = (1 - confidence) / 2``. So ``n ≥ ln(tail) / ln(quantile)``: 368
    for a p99 at 95 %, 72 for a p95, 36 for a p90, 6 for a median, 3,688 for a p99.9. A
    population smaller than that can fail a bound (its lower limit may exceed it) but never
    pass one.

        min_samples_for(0.99)   # 368
    """
    tail = _check_level(quantile, confidence)
    n = math.ceil(math.log(tail) / math.log(quantile))
    # guard the float rounding of the division: n is the smallest with quantile**n <= tail
    while n > 1 and quantile ** (n - 1) <= tail:
        n -= 1
    while quantile**n > tail:
        n += 1
    return n


def rank_bounds(n: int, quantile: float, confidence: float = CONFIDENCE
                ) -> tuple[int | None, int | None]:
    """1-based ranks ``(lower, upper)`` of the order statistics that bound the ``quantile`` of
    the population ``n`` requests were drawn from, at ``confidence`` (two-sided).

    Distribution-free: the number of requests below the true quantile is Binomial(n, quantile),
    whatever the latencies' distribution. The lower rank is the largest l with
    ``P(B ≤ l-1) ≤ tail``, the upper the smallest u with ``P(B ≤ u-1) ≥ 1 - tail``. None where no
    such rank exists: the lower one for tiny populations of a low quantile, the upper one below
    :func:`min_samples_for`.
    """
    tail = _check_level(quantile, confidence)
    if n <= 0:
        return None, None
    has_lower = (1.0 - quantile) ** n <= tail  # P(B = 0) = (1-q)^n: X(1) is a lower bound
    has_upper = quantile**n <= tail  # P(B = n) = q^n: X(n) is an upper bound
    cdf, first = _binomial_cdf(n, quantile)
    lower = upper = None
    if has_lower:
        # largest k with F(k) ≤ tail; every k below the window has F(k) ≈ 0
        k = first + int(np.searchsorted(cdf, tail, side="right")) - 1
        lower = min(max(k + 1, 1), n)
    if has_upper:
        # smallest k with F(k) ≥ 1 - tail
        k = first + int(np.searchsorted(cdf, 1.0 - tail, side="left"))
        upper = min(max(k + 1, 1), n)
    return lower, upper


def _binomial_cdf(n: int, p: float) -> tuple[np.ndarray, int]:
    """F(k) = P(Binomial(n, p) ≤ k) for k in a window around the mean that holds all but
    ~1e-30 of the mass (the rest is 0 or 1 to float precision), and the window's first k.

    Computed in logs from ``lgamma`` at the window's start and the pmf's ratio
    ``P(k+1)/P(k) = (n-k)/(k+1) · p/(1-p)`` after it: one ``cumsum``, no scipy, and memory
    bounded by the window (a few thousand values even for a billion requests)."""
    mean, sd = n * p, math.sqrt(n * p * (1.0 - p))
    first = max(0, math.floor(mean - 12.0 * sd - 30.0))
    last = min(n, math.ceil(mean + 12.0 * sd + 30.0))
    log_first = (math.lgamma(n + 1) - math.lgamma(first + 1) - math.lgamma(n - first + 1)
                 + first * math.log(p) + (n - first) * math.log1p(-p))
    k = np.arange(first, last, dtype="float64")
    steps = np.log(n - k) - np.log(k + 1.0) + (math.log(p) - math.log1p(-p))
    log_pmf = np.concatenate(([log_first], log_first + np.cumsum(steps)))
    cdf = np.cumsum(np.exp(log_pmf))
    return np.minimum(cdf, 1.0), first


@dataclass(frozen=True)
class QuantileBounds:
    """A percentile of a population with its confidence interval: what a verdict judges.

    ``low_ms``/``high_ms`` are None where no order statistic bounds the quantile at this
    confidence (``high_ms`` None: fewer than :attr:`needed` requests, undecidable as a pass).
    """

    percent: float  # 95.0 for a p95
    value_ms: float
    low_ms: float | None
    high_ms: float | None
    count: int
    confidence: float = CONFIDENCE

    @property
    def label(self) -> str:
        return f"p{self.percent:g}"

    @property
    def needed(self) -> int:
        """The fewest requests for which this percentile has an upper limit at all."""
        return min_samples_for(self.percent / 100.0, self.confidence)

    @property
    def undecidable(self) -> bool:
        return self.high_ms is None

    def describe(self) -> str:
        """``"p95 412.0 ms (95 % CI 380.1 to 470.3 ms)"``, or what is missing for an interval."""
        level = f"{self.confidence * 100:g} %"
        if self.count == 0:
            return f"{self.label} undefined (no request)"
        low = "?" if self.low_ms is None else f"{self.low_ms:.1f}"
        high = "?" if self.high_ms is None else f"{self.high_ms:.1f}"
        return f"{self.label} {self.value_ms:.1f} ms ({level} CI {low} to {high} ms)"


def quantile_bounds(values: Sequence[float] | np.ndarray | pd.Series, percent: float,
                    confidence: float = CONFIDENCE) -> QuantileBounds:
    """The nearest-rank percentile of ``values`` and its distribution-free interval."""
    arr = np.asarray(values, dtype="float64")
    n = int(arr.size)
    if n == 0:
        return QuantileBounds(percent, float("nan"), None, None, 0, confidence)
    lower, upper = rank_bounds(n, percent / 100.0, confidence)
    ranks = [r - 1 for r in (lower, upper) if r is not None]
    picked = np.partition(arr, ranks) if ranks else arr
    return QuantileBounds(
        percent, percentile(arr, percent),
        None if lower is None else float(picked[lower - 1]),
        None if upper is None else float(picked[upper - 1]),
        n, confidence)


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
    """The figures of one population of requests (the whole run, or one endpoint).

    ``count``, ``errors``, ``rps`` and the rates cover every request; the latency figures
    (percentiles, max, mean, service time) cover the ``ok_count`` successful ones. ``bounds``
    holds each percentile's confidence interval at :data:`CONFIDENCE` as (low, high) in ms,
    None where no order statistic bounds it (see :func:`rank_bounds`).
    """

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
    ok_count: int
    bounds: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    confidence: float = CONFIDENCE

    def quantile(self, key: str) -> QuantileBounds:
        """The percentile ``key`` (``"p99_ms"``) with its interval, as a verdict judges it."""
        low, high = self.bounds.get(key, (None, None))
        return QuantileBounds(PERCENTILES[key], float(getattr(self, key)), low, high,
                              self.ok_count, self.confidence)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def figures(
    df: pd.DataFrame,
    *,
    errors: Iterable[str] = DEFAULT_ERRORS,
    corrected: bool = True,
    duration_s: float | None = None,
) -> Figures:
    """Figures for ``df``. Latency figures are over the requests that succeeded (not an error
    by ``errors``): a dead service refuses connections in a millisecond, and a p95 over those
    refusals would pass a latency gate on a stack that answered nothing. The failures are what
    ``error_rate`` counts."""
    count = len(df)
    if duration_s is None:
        if count:
            end = (df["t_start_s"] + df["latency_ms"] / 1000.0).max()
            duration_s = max(float(end - df["t_start_s"].min()), 1e-9)
        else:
            duration_s = 0.0
    failed = error_mask(df, errors) if count else np.zeros(0, dtype=bool)
    n_err = int(failed.sum())
    n_429 = int((df["status"].to_numpy() == 429).sum()) if count else 0
    lag_ms = (df["t_start_s"].to_numpy() - df["t_intended_s"].to_numpy()) * 1000.0
    late = int((lag_ms > LATE_MS).sum())
    del lag_ms
    ok = ~failed
    service = df["latency_ms"].to_numpy(dtype="float64")[ok]
    latency = (corrected_latency_ms(df) if corrected else df["latency_ms"].to_numpy(
        dtype="float64"))[ok]
    n_ok = int(latency.size)
    # one partial sort for all five (the same values as percentile(latency, q) one by one)
    values = (
        np.percentile(latency, list(PERCENTILES.values()), method="inverted_cdf")
        if n_ok else [float("nan")] * len(PERCENTILES)
    )
    pct = {key: float(v) for key, v in zip(PERCENTILES, values, strict=True)}
    bounds: dict[str, tuple[float | None, float | None]] = {}
    for key, q in PERCENTILES.items():
        found = quantile_bounds(latency, q)
        bounds[key] = (found.low_ms, found.high_ms)
    return Figures(
        count=count,
        duration_s=float(duration_s),
        rps=count / duration_s if duration_s else 0.0,
        max_ms=float(latency.max()) if n_ok else float("nan"),
        mean_ms=float(latency.mean()) if n_ok else float("nan"),
        errors=n_err,
        error_rate=n_err / count if count else 0.0,
        count_429=n_429,
        rate_429=n_429 / count if count else 0.0,
        service_p50_ms=percentile(service, 50.0),
        service_p99_ms=percentile(service, 99.0),
        late=late,
        ok_count=n_ok,
        bounds=bounds,
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
