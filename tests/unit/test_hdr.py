"""HDR mode: merged per-second histograms give the figures the rows would, within 0.1 %."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gauntlet.hdr import (
    HDR_FILE,
    Cell,
    cell_figures,
    cell_from_values,
    load_hdr,
    merge_raw_hdr,
    nearest_rank_index,
    percentile_us,
)
from gauntlet.latency import PERCENTILES, figures

latencies = st.lists(
    st.floats(min_value=0.0, max_value=3_000_000.0, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=300,
)
quantiles = st.sampled_from([*PERCENTILES.values(), 0.0, 1.0, 25.0, 99.99, 100.0])
T0 = 1_700_000_000.0


def close_enough(hdr_ms: float, exact_ms: float) -> bool:
    """The HDR bar: within 0.1 % of the exact value, plus 1 µs of rounding to whole µs."""
    return abs(hdr_ms - exact_ms) <= 0.001 * exact_ms + 0.001


def exact(values: list[float] | np.ndarray, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype="float64"), q, method="inverted_cdf"))


def frame(lat: list[float], lag: list[float], status: list[int], error: list[str]) -> pd.DataFrame:
    n = len(lat)
    start = T0 + np.arange(n, dtype="float64") * 0.01
    return pd.DataFrame({
        "t_intended_s": start - np.asarray(lag, dtype="float64") / 1000.0,
        "t_start_s": start,
        "latency_ms": np.asarray(lat, dtype="float64"),
        "method": "GET",
        "name": "GET /x",
        "status": np.asarray(status, dtype="int32"),
        "error": error,
        "bytes": 1,
        "worker": "w",
        "ref": "",
    })


@given(st.integers(min_value=1, max_value=5000), quantiles)
def test_rank_is_numpys_nearest_rank(n: int, q: float) -> None:
    assert nearest_rank_index(n, q) == int(np.percentile(np.arange(n), q, method="inverted_cdf"))


@settings(max_examples=150, deadline=None)
@given(latencies, quantiles)
def test_percentile_within_a_tenth_of_a_percent_of_exact(values: list[float], q: float) -> None:
    cell = cell_from_values(values)
    got_ms = percentile_us(cell.service, q) / 1000.0
    want_ms = exact(values, q)
    assert close_enough(got_ms, want_ms), (got_ms, want_ms)
    # the bucket's top is reported: never below the exact value beyond µs rounding
    assert got_ms >= want_ms - 0.0005


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 5_000.0), st.floats(0.0, 3_000.0)),
                min_size=1, max_size=300))
def test_corrected_percentiles_follow_the_rows(pairs: list[tuple[float, float]]) -> None:
    lat = [p[0] for p in pairs]
    lag = [p[1] for p in pairs]
    df = frame(lat, lag, [200] * len(lat), [""] * len(lat))
    want = figures(df, corrected=True)
    # the lag as both sides see it: the difference of two epoch timestamps
    seen_lag = ((df["t_start_s"] - df["t_intended_s"]) * 1000.0).tolist()
    got = cell_figures(cell_from_values(lat, lag_ms=seen_lag, t_start_s=df["t_start_s"].tolist()))
    for key in [*PERCENTILES, "service_p50_ms", "service_p99_ms"]:
        assert close_enough(getattr(got, key), getattr(want, key)), key
    assert got.late == want.late
    assert got.max_ms == pytest.approx(want.max_ms, rel=1e-12)
    assert got.mean_ms == pytest.approx(want.mean_ms, rel=1e-9)
    assert got.duration_s == pytest.approx(want.duration_s, rel=1e-9)


statuses = st.sampled_from([200, 201, 404, 429, 500, 503, 0, 0])
errors_lists = st.lists(st.sampled_from(["5xx", "4xx", "429", "connect", "timeout", "reset"]),
                        unique=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 1000.0), statuses,
                          st.sampled_from(["connect", "timeout", "reset", "other", ""])),
                min_size=1, max_size=200),
       errors_lists)
def test_error_figures_are_exact(rows: list[tuple[float, int, str]], classes: list[str]) -> None:
    lat = [r[0] for r in rows]
    status = [r[1] for r in rows]
    # the capture's classification: an HTTP status >= 400 is "http", 2xx carries no error
    error = [r[2] if s == 0 else ("http" if s >= 400 else "") for s, r in zip(status, rows,
                                                                              strict=True)]
    df = frame(lat, [0.0] * len(lat), status, error)
    want = figures(df, errors=classes, corrected=False)
    got = cell_figures(cell_from_values(lat, status=status, error=error,
                                        t_start_s=df["t_start_s"].tolist()),
                       errors=classes, corrected=False)
    assert (got.count, got.errors, got.count_429) == (want.count, want.errors, want.count_429)
    assert got.error_rate == pytest.approx(want.error_rate)
    assert got.rate_429 == pytest.approx(want.rate_429)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 100_000.0), statuses,
                          st.sampled_from(["connect", "timeout", "reset", "other", ""])),
                min_size=1, max_size=300),
       errors_lists)
def test_latency_of_the_successful_requests_follows_the_rows(
        rows: list[tuple[float, int, str]], classes: list[str]) -> None:
    """The histograms keep each failure group apart, so the successful requests' percentiles,
    intervals and max match the rows' for any error classes (they used to include failures)."""
    lat = [r[0] for r in rows]
    status = [r[1] for r in rows]
    error = [r[2] if s == 0 else ("http" if s >= 400 else "") for s, r in zip(status, rows,
                                                                              strict=True)]
    df = frame(lat, [0.0] * len(lat), status, error)
    want = figures(df, errors=classes, corrected=False)
    cell = cell_from_values(lat, status=status, error=error, t_start_s=df["t_start_s"].tolist())
    got = cell_figures(Cell.from_line(cell.to_line()), errors=classes, corrected=False)
    assert got.ok_count == want.ok_count
    for key in [*PERCENTILES, "max_ms"]:
        g, w = getattr(got, key), getattr(want, key)
        assert (math.isnan(g) and math.isnan(w)) or close_enough(g, w), key
    for key, (low, high) in want.bounds.items():
        g_low, g_high = got.bounds[key]
        assert (g_low is None) == (low is None) and (g_high is None) == (high is None), key
        # the histogram's interval is only ever wider: its lower limit a bucket's bottom,
        # its upper limit a bucket's top
        assert low is None or g_low is None or g_low <= low + 1e-3, key
        assert high is None or g_high is None or g_high >= high - 1e-3, key


def test_unknown_error_class_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown error class"):
        cell_figures(cell_from_values([1.0]), errors=["5xx", "teapot"])


def _same(a: Cell, b: Cell) -> None:
    assert np.array_equal(np.frombuffer(a.corrected.counts, dtype=np.int64),
                          np.frombuffer(b.corrected.counts, dtype=np.int64))
    assert np.array_equal(np.frombuffer(a.service.counts, dtype=np.int64),
                          np.frombuffer(b.service.counts, dtype=np.int64))
    fa, fb = cell_figures(a).as_dict(), cell_figures(b).as_dict()
    for key, value in fa.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(fb[key]), key
        elif isinstance(value, dict):  # the percentiles' intervals: bucket edges, exact
            assert value == fb[key], key
        else:
            assert value == pytest.approx(fb[key], rel=1e-12), key


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 100_000.0), st.floats(0.0, 5_000.0), statuses),
                min_size=1, max_size=300),
       st.data())
def test_merging_two_halves_equals_one_histogram_of_all(
    rows: list[tuple[float, float, int]], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(rows)))
    lat, lag, status = ([r[i] for r in rows] for i in range(3))
    error = ["timeout" if s == 0 else "" for s in status]
    start = [T0 + i * 0.01 for i in range(len(rows))]

    def cell(lo: int, hi: int) -> Cell:
        return cell_from_values(lat[lo:hi], lag_ms=lag[lo:hi], status=status[lo:hi],
                                error=error[lo:hi], t_start_s=start[lo:hi])

    whole = cell(0, len(rows))
    # through the wire format, as the harness reads the workers' lines
    first = Cell.from_line(json.loads(json.dumps(cell(0, cut).to_line())))
    first.add(Cell.from_line(json.loads(json.dumps(cell(cut, len(rows)).to_line()))))
    _same(first, whole)


def _write_worker(path: Path, worker: str, lines: list[tuple[int, str, Cell]]) -> None:
    with path.open("w") as fh:
        for second, name, cell in lines:
            line = cell.to_line(second=second, method="GET", name=name, worker=worker)
            fh.write(json.dumps(line) + "\n")


def test_run_dir_merge_adds_workers_and_seconds(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    raw = tmp_path / "raw"
    raw.mkdir()
    lat = rng.lognormal(2.0, 1.0, 4000).tolist()
    start = (T0 + np.sort(rng.uniform(0, 4, 4000))).tolist()
    names = ["GET /a" if i % 3 else "/b" for i in range(4000)]
    cells: dict[tuple[int, str, int], Cell] = {}
    for i, (ms, t, name) in enumerate(zip(lat, start, names, strict=True)):
        cells.setdefault((int(t), name, i % 2), Cell()).record(ms, 0.0, 200, "", t)
    for worker in (0, 1):
        lines = [(s, n, c) for (s, n, w), c in sorted(cells.items()) if w == worker]
        _write_worker(raw / f"hdr-{100 + worker}.jsonl", f"h:{100 + worker}", lines)
    # a late completion: a second line for a key already written, and a torn last line
    _write_worker(raw / "hdr-102.jsonl", "h:102", [(int(T0), "GET /a", cell_from_values(
        [7.0], t_start_s=[T0]))])
    with (raw / "hdr-102.jsonl").open("a") as fh:
        fh.write('{"second": 17000')

    before = load_hdr(tmp_path)  # raw files read directly: an unmerged run
    target = merge_raw_hdr(tmp_path)
    assert target == tmp_path / HDR_FILE and not list(raw.glob("hdr-*"))
    merged_lines = [json.loads(t) for t in target.read_text().splitlines()]
    keys = [(d["second"], d["method"], d["name"]) for d in merged_lines]
    assert keys == sorted(set(keys))  # one line per (second, endpoint), in time order
    after = load_hdr(tmp_path)
    assert after.workers == {"h:100", "h:101", "h:102"}
    assert set(after.endpoints) == {"GET /a", "GET /b"}
    df = frame([*lat, 7.0], [0.0] * 4001, [200] * 4001, [""] * 4001)
    df["t_start_s"] = [*start, T0]
    df["t_intended_s"] = df["t_start_s"]
    want = figures(df)
    for run in (before, after):
        got = run.figures()
        assert got.count == 4001 == sum(run.endpoint_counts().values())
        for key in PERCENTILES:
            assert close_enough(getattr(got, key), getattr(want, key)), key
        assert got.duration_s == pytest.approx(want.duration_s)
    assert after.by_endpoint()["GET /b"].count == names.count("/b")
    # the warm-up is left out by whole seconds: those that begin before first start + warmup_s
    cut = math.ceil(min(start) + 1.5)
    assert load_hdr(tmp_path, warmup_s=1.5).figures().count == sum(int(t) >= cut for t in start)

    # idempotent; a later raw file (a remote worker's copy) is folded into the merged file
    assert merge_raw_hdr(tmp_path) == target
    _write_worker(raw / "hdr-200.jsonl", "remote:200", [(int(T0) + 9, "GET /a",
                                                         cell_from_values([1.0, 2.0]))])
    assert load_hdr(tmp_path).figures().count == 4003  # read beside the merged file
    merge_raw_hdr(tmp_path)
    assert load_hdr(tmp_path).figures().count == 4003


def test_no_histograms_means_nothing_to_merge(tmp_path: Path) -> None:
    assert merge_raw_hdr(tmp_path) is None
    run = load_hdr(tmp_path)
    assert run.figures().count == 0 and math.isnan(run.figures().p99_ms)


def test_worker_and_harness_agree_on_lateness() -> None:
    from gauntlet.latency import LATE_MS, TRANSPORT_ERRORS
    from gauntlet.scenarios import hdrcell

    assert hdrcell.LATE_MS == LATE_MS and hdrcell.TRANSPORT_ERRORS == TRANSPORT_ERRORS
