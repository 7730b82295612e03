"""Percentiles, corrected latency, error classes and SLO gates on synthetic samples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from gauntlet.checks.slo import gate, slo_verdicts
from gauntlet.latency import corrected_latency_ms, error_mask, figures, percentile

latencies = st.lists(
    st.floats(min_value=0.001, max_value=60_000, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=400,
)


def frame(lat: list[float], *, status: list[int] | None = None, lag_ms: list[float] | None = None,
          errors: list[str] | None = None) -> pd.DataFrame:
    n = len(lat)
    start = np.arange(n, dtype="float64") * 0.01 + 1_700_000_000.0
    intended = start - np.asarray(lag_ms if lag_ms is not None else [0.0] * n) / 1000.0
    return pd.DataFrame({
        "t_intended_s": intended,
        "t_start_s": start,
        "latency_ms": np.asarray(lat, dtype="float64"),
        "method": "GET",
        "name": "GET /x",
        "status": np.asarray(status if status is not None else [200] * n, dtype="int32"),
        "error": errors if errors is not None else [""] * n,
        "bytes": 10,
        "worker": "w",
        "ref": "",
    })


@given(latencies, st.sampled_from([50.0, 90.0, 95.0, 99.0, 99.9]))
def test_percentile_equals_numpy_nearest_rank(values: list[float], q: float) -> None:
    assert percentile(values, q) == float(np.percentile(values, q, method="inverted_cdf"))
    # nearest rank: the reported value is a latency some request actually had
    assert percentile(values, q) in values


@given(latencies)
def test_correction_is_identity_without_stalls(values: list[float]) -> None:
    df = frame(values)
    assert np.array_equal(corrected_latency_ms(df), df["latency_ms"].to_numpy())


@given(latencies, st.floats(min_value=0.0, max_value=5000.0))
def test_correction_adds_the_send_lag(values: list[float], lag: float) -> None:
    df = frame(values, lag_ms=[lag] * len(values))
    expected = df["latency_ms"].to_numpy() + (df["t_start_s"] - df["t_intended_s"]).to_numpy() * 1e3
    assert np.allclose(corrected_latency_ms(df), expected)


@settings(max_examples=200)
@given(latencies, st.sampled_from(["p50_ms", "p95_ms", "p99_ms", "max_ms"]))
def test_gate_flips_exactly_when_one_sample_crosses(values: list[float], key: str) -> None:
    """Set the threshold at the observed percentile: passes; nudge the deciding sample just
    above the threshold: the gate fails."""
    q = {"p50_ms": 50.0, "p95_ms": 95.0, "p99_ms": 99.0, "max_ms": 100.0}[key]
    ordered = sorted(values)
    threshold = percentile(ordered, q)
    assert gate("overall", key, threshold, figures(frame(ordered), corrected=False)).passed
    # the nearest-rank index that decides the percentile
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    crossed = ordered[: rank - 1] + [threshold * 1.000001 + 1e-6] * (len(ordered) - rank + 1)
    assert not gate("overall", key, threshold, figures(frame(crossed), corrected=False)).passed


def test_error_classes_are_explicit() -> None:
    df = frame([1.0] * 6, status=[200, 500, 429, 404, 0, 0],
               errors=["", "http", "http", "http", "connect", "reset"])
    assert error_mask(df).tolist() == [False, True, False, False, True, True]
    assert error_mask(df, ["429"]).tolist() == [False, False, True, False, False, False]
    assert error_mask(df, ["4xx"]).tolist() == [False, False, False, True, False, False]
    fig = figures(df, corrected=False)
    assert fig.errors == 3 and fig.count_429 == 1
    assert math.isclose(fig.error_rate, 0.5)


def test_missing_endpoint_gate_fails() -> None:
    overall = figures(frame([1.0, 2.0]), corrected=False)
    verdicts = slo_verdicts({"p95_ms": 10.0}, overall, {"GET /absent": {"p95_ms": 5.0}}, {})
    assert [v.passed for v in verdicts] == [True, False]
    assert "no requests" in verdicts[1].reason


def test_min_rps_is_a_lower_bound() -> None:
    fig = figures(frame([1.0] * 100), corrected=False)  # 100 requests in ~1 s
    assert gate("overall", "min_rps", 50.0, fig).passed
    assert not gate("overall", "min_rps", 500.0, fig).passed
