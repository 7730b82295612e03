"""Percentiles, corrected latency, error classes and SLO gates on synthetic samples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from gauntlet.checks.slo import gate, slo_verdicts
from gauntlet.latency import (
    corrected_latency_ms,
    error_mask,
    figures,
    min_samples_for,
    percentile,
    quantile_bounds,
    rank_bounds,
)

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
@given(latencies, st.sampled_from(["p50_ms", "p95_ms", "p99_ms"]))
def test_a_percentile_gate_judges_its_confidence_interval(values: list[float], key: str) -> None:
    """Pass only when the interval's upper limit is within the bound, fail only when its lower
    limit is beyond it; in between (or with too few requests for an upper limit) the gate is
    inconclusive, never a coin flip on the point estimate."""
    fig = figures(frame(values), corrected=False)
    low, high = fig.bounds[key]
    point = getattr(fig, key)
    at_point = gate("overall", key, point, fig)
    if high is None:
        assert not at_point.passed and "undecidable" in at_point.reason
    else:
        assert gate("overall", key, high, fig).passed
        if high > point:  # a bound the point estimate keeps but the interval does not
            assert at_point.inconclusive and at_point.marginal
    if low is not None and low > 0:
        below = low * 0.999999
        assert gate("overall", key, below, fig).failed


def test_the_max_gate_is_the_slowest_request() -> None:
    fig = figures(frame([1.0, 2.0, 30.0]), corrected=False)
    assert gate("overall", "max_ms", 30.0, fig).passed
    assert gate("overall", "max_ms", 29.9, fig).failed


def test_latency_gates_judge_the_successful_requests() -> None:
    """A dead service refuses every connection within a millisecond: a p95 over those
    refusals passed the gate of a crashed stack. Latency is of the successful answers; with
    none at all the gate fails (the requests were sent, none was answered in any time)."""
    refused = frame([0.4] * 500, status=[0] * 500, errors=["connect"] * 500)
    fig = figures(refused, corrected=False)
    assert fig.ok_count == 0 and math.isnan(fig.p95_ms)
    for key in ("p95_ms", "p99_ms", "max_ms"):
        verdict = gate("overall", key, 500.0, fig)
        assert verdict.failed and "none of 500 requests succeeded" in verdict.reason
    # half failed fast, half succeeded slowly: the p95 is the successes' (slow), not 0.4 ms
    mixed = frame([0.4] * 400 + [900.0] * 400, status=[0] * 400 + [200] * 400,
                  errors=["connect"] * 400 + [""] * 400)
    fig = figures(mixed, corrected=False)
    assert fig.p50_ms == 900.0 and fig.ok_count == 400
    verdict = gate("overall", "p50_ms", 500.0, fig)
    assert verdict.failed and "400 successful requests (400 failed, not counted" in verdict.reason


def test_a_p99_needs_enough_successful_requests() -> None:
    fast = figures(frame([5.0] * 367), corrected=False)
    verdict = gate("overall", "p99_ms", 500.0, fast)
    assert verdict.inconclusive
    assert "undecidable: 367 successful requests, a p99 needs at least 368" in verdict.reason
    assert gate("overall", "p99_ms", 500.0, figures(frame([5.0] * 368), corrected=False)).passed


def test_error_classes_are_explicit() -> None:
    df = frame([1.0] * 6, status=[200, 500, 429, 404, 0, 0],
               errors=["", "http", "http", "http", "connect", "reset"])
    assert error_mask(df).tolist() == [False, True, False, False, True, True]
    assert error_mask(df, ["429"]).tolist() == [False, False, True, False, False, False]
    assert error_mask(df, ["4xx"]).tolist() == [False, False, False, True, False, False]
    fig = figures(df, corrected=False)
    assert fig.errors == 3 and fig.count_429 == 1
    assert math.isclose(fig.error_rate, 0.5)


def test_missing_endpoint_gate_is_inconclusive() -> None:
    overall = figures(frame([1.0, 2.0] * 50), corrected=False)
    verdicts = slo_verdicts({"p95_ms": 10.0}, overall, {"GET /absent": {"p95_ms": 5.0}}, {})
    assert [v.status for v in verdicts] == ["pass", "inconclusive"]
    assert "no requests" in verdicts[1].reason


def test_an_untrusted_generator_turns_a_pass_inconclusive() -> None:
    """A pass measured by a saturated (or unobserved) generator is no evidence: it used to
    pass, marked unreliable, and exit 0."""
    fig = figures(frame([1.0] * 400), corrected=False)
    why = "it was saturated: a Locust process averaged 97 % CPU"
    verdicts = slo_verdicts({"p95_ms": 10.0, "error_rate": 0.01, "p50_ms": 0.5}, fig, {}, {},
                            generator=why)
    passed, error_rate, failed = verdicts
    assert passed.inconclusive and passed.unreliable
    assert "the load generator cannot be trusted: it was saturated" in passed.reason
    assert error_rate.inconclusive
    assert failed.failed and failed.unreliable and "was not trustworthy" in failed.reason
    assert all(v.passed for v in slo_verdicts({"p95_ms": 10.0}, fig, {}, {}))


def test_min_rps_is_a_lower_bound() -> None:
    fig = figures(frame([1.0] * 100), corrected=False)  # 100 requests in ~1 s
    assert gate("overall", "min_rps", 50.0, fig).passed
    assert not gate("overall", "min_rps", 500.0, fig).passed


def _exact_cdf(n: int, p: float) -> list[float]:
    out, total = [], 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        out.append(total)
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=600), st.sampled_from([0.5, 0.9, 0.95, 0.99]),
       st.sampled_from([0.9, 0.95, 0.99]))
def test_rank_bounds_are_the_binomial_ranks(n: int, q: float, confidence: float) -> None:
    """Against the binomial CDF summed exactly: the lower rank is the largest l with
    F(l-1) ≤ tail, the upper the smallest u with F(u-1) ≥ 1 - tail (None when outside 1..n)."""
    tail = (1 - confidence) / 2
    cdf = _exact_cdf(n, q)
    lows = [k + 1 for k in range(n) if cdf[k] <= tail + 1e-12]
    ups = [k + 1 for k in range(n) if cdf[k] >= 1 - tail - 1e-12]
    want_low = max(lows) if (1 - q) ** n <= tail else None
    want_up = min(ups) if q**n <= tail else None
    assert rank_bounds(n, q, confidence) == (want_low, want_up)


def test_min_samples_for_is_where_an_upper_limit_appears() -> None:
    assert min_samples_for(0.99) == 368 and min_samples_for(0.95) == 72
    assert min_samples_for(0.5) == 6 and min_samples_for(0.999) == 3688
    assert min_samples_for(0.99, 0.99) == 528
    for q in (0.5, 0.9, 0.95, 0.99, 0.999):
        m = min_samples_for(q)
        assert rank_bounds(m, q)[1] is not None and rank_bounds(m - 1, q)[1] is None


def test_rank_bounds_hold_for_a_billion_requests() -> None:
    """Only a window around the mean is summed: no array of a billion values."""
    low, high = rank_bounds(1_000_000_000, 0.99)
    assert low is not None and high is not None
    assert low < 990_000_000 < high and high - low < 20_000


def test_quantile_bounds_take_the_order_statistics() -> None:
    values = list(range(1000, 0, -1))  # 1..1000 ms, unsorted
    found = quantile_bounds(values, 50.0)
    low, high = rank_bounds(1000, 0.5)
    assert (found.low_ms, found.value_ms, found.high_ms) == (low, 500.0, high)
    assert quantile_bounds([], 99.0).count == 0
