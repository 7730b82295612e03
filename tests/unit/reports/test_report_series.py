"""Per-second series and percentile curves: exact nearest-rank, counts that add up."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gauntlet.latency import percentile
from gauntlet.reports.series import (
    CLASS_NAMES,
    latency_per_second,
    nines,
    percentile_curve,
    seconds,
    status_class,
    throughput_per_second,
)

samples = st.lists(
    st.tuples(st.integers(0, 6), st.floats(0.001, 60_000, allow_nan=False)),
    min_size=1, max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(samples)
def test_per_second_percentiles_equal_gauntlet_percentile(rows: list[tuple[int, float]]) -> None:
    sec = np.array([r[0] for r in rows], dtype=np.int64)
    lat = np.array([r[1] for r in rows], dtype="float64")
    per = latency_per_second(sec, lat)
    assert per["count"].sum() == len(rows)
    for second, row in per.iterrows():
        group = lat[sec == second]
        assert row["count"] == group.size
        for q in (50, 95, 99):
            assert row[f"p{q}"] == percentile(group, q)


def test_empty_input_gives_an_empty_frame() -> None:
    per = latency_per_second(np.array([], dtype=np.int64), np.array([]))
    assert per.empty and list(per.columns) == ["p50", "p95", "p99", "count"]


def test_seconds_floor_relative_to_zero() -> None:
    t0 = 1_700_000_000.0
    got = seconds(np.array([t0 - 0.5, t0, t0 + 0.999, t0 + 1.0, t0 + 59.2]), t0)
    assert got.tolist() == [0, 0, 0, 1, 59]


def test_status_classes_keep_429_and_transport_apart() -> None:
    status = np.array([200, 204, 301, 404, 429, 500, 503, 0, 101])
    names = [CLASS_NAMES[c] for c in status_class(status)]
    assert names == ["2xx", "2xx", "3xx", "4xx", "429", "5xx", "5xx", "transport", "other"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.sampled_from([0, 200, 201, 404, 429, 503])),
                max_size=200))
def test_throughput_counts_every_request_once(rows: list[tuple[int, int]]) -> None:
    sec = np.array([r[0] for r in rows], dtype=np.int64)
    status = np.array([r[1] for r in rows], dtype=np.int32)
    counts = throughput_per_second(sec, status, 10)
    assert list(counts.index) == list(range(10))  # empty seconds kept, as zeros
    assert int(counts.to_numpy().sum()) == len(rows)
    assert "2xx" in counts.columns
    if len(rows):
        assert int(counts.get("429", 0).sum() if "429" in counts else 0) == \
            int((status == 429).sum())


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.001, 10_000, allow_nan=False), min_size=1, max_size=2000))
def test_percentile_curve_is_monotone_and_ends_in_the_data(values: list[float]) -> None:
    points, curve = percentile_curve(np.array(values))
    assert np.all(np.diff(points) > 0) and np.all(np.diff(curve) >= 0)
    assert points[0] >= 50.0 - 1e-9 and points[-1] <= 99.99 + 1e-9
    assert curve[-1] <= max(values) and curve[0] >= min(values)
    assert curve[0] == percentile(values, points[0])


def test_nines_scale() -> None:
    assert np.allclose(nines(np.array([90.0, 99.0, 99.9])), [1.0, 2.0, 3.0])
