"""HDR mode of the samples record: per-second histograms instead of one row per request.

For long runs a row per request costs too much disk and memory, so ``GAUNTLET_SAMPLE_MODE=hdr``
makes every Locust worker (:mod:`gauntlet.scenarios.capture`) write ``raw/hdr-<pid>.jsonl``: one
JSON line
per (second of the intended start, method, name) with two HdrHistograms — corrected and service
latency in integer microseconds, 1 µs .. 1 h, 3 significant digits, base64 as HdrHistogram
encodes them — and the counters :func:`gauntlet.latency.figures` needs (error classes, 429s,
late sends, exact sums, maxima, first start and last end).

This module merges those lines (HdrHistogram's ``decode``/``add``) and computes the same
:class:`~gauntlet.latency.Figures` as :func:`gauntlet.latency.figures` would from the rows.
Counts, error figures, rates, ``late`` and ``duration_s`` are exact; so are ``mean_ms`` and
``max_ms`` when no request failed. Latency figures are over the successful requests, as
:func:`gauntlet.latency.figures` computes them: each cell keeps the failures of each group
(5xx, 4xx, 429, transport) in histograms of their own, and the successful ones are the total
minus the groups the suite counts as errors. The percentiles are the nearest rank of that
histogram, reported as the top of the histogram bucket that holds that rank, so each is within
0.1 % (+ 0.5 µs of rounding to whole microseconds) of the exact nearest-rank percentile of the
rows, and never below it by more than that rounding: a gate "p99 ≤ T" can only err on the
strict side. Their confidence limits are taken the same way (the upper from the top of its
bucket, the lower from the bottom of its bucket), so the interval only ever widens.

    merge_raw_hdr(run_dir)                       # raw/hdr-*.jsonl → latency-hdr.jsonl
    run = load_hdr(run_dir)
    overall = run.figures(corrected=True)
    endpoints = run.by_endpoint(duration_s=overall.duration_s or None)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from gauntlet.latency import DEFAULT_ERRORS, PERCENTILES, TRANSPORT_ERRORS, Figures, rank_bounds
from gauntlet.samples import RAW_DIR
from gauntlet.scenarios.hdrcell import COUNTERS, Cell, new_histogram, to_us

__all__ = ["COUNTERS", "HDR_FILE", "Cell", "cell_errors", "cell_figures", "cell_from_values",
           "new_histogram", "to_us"]

HDR_FILE = "latency-hdr.jsonl"
RAW_GLOB = "hdr-*.jsonl"
def endpoint_key(method: str, name: str) -> str:
    """Same rule as :func:`gauntlet.latency.endpoint_keys`, for one name."""
    return name if name.split(" ", 1)[0] == method else f"{method} {name}"


def _counts(hist: HdrHistogram) -> np.ndarray:
    """The histogram's counters as a numpy view (no copy)."""
    return np.frombuffer(hist.counts, dtype=np.int64, count=hist.counts_len)


def nearest_rank_index(n: int, q: float) -> int:
    """0-based rank of the q-th percentile among n sorted values, exactly as numpy's
    ``percentile(..., method="inverted_cdf")`` computes it (same float operations)."""
    virtual = n * np.true_divide(np.float64(q), 100) - 1
    previous = np.floor(virtual)
    index = previous if virtual - previous == 0 else previous + 1
    return int(min(max(index, 0), n - 1))


def percentile_us(hist: HdrHistogram, q: float, counts: np.ndarray | None = None) -> float:
    """Nearest-rank percentile in µs: the highest value equivalent to the bucket of that rank.

    ``counts`` replaces the histogram's own counters (same layout: the successful requests'
    counts). Within 1/1024 of the recorded value (3 significant digits); NaN when empty.
    """
    counts = _counts(hist) if counts is None else counts
    total = int(counts.sum())
    if total == 0:
        return float("nan")
    return _value_at_rank_us(hist, np.cumsum(counts), nearest_rank_index(total, q) + 1)


def _value_at_rank_us(hist: HdrHistogram, cumulative: np.ndarray, rank: int, *,
                      top: bool = True) -> float:
    """The value of the ``rank``-th (1-based) smallest recorded value: the top of its bucket
    (``top``), or its bottom."""
    index = int(np.searchsorted(cumulative, rank, side="left"))
    value = hist.get_value_from_index(index)
    edge = hist.get_highest_equivalent_value(value) if top else \
        hist.get_lowest_equivalent_value(value)
    return float(edge)


def _ok_counts(cell: Cell, hist: HdrHistogram, corrected: bool, classes: Iterable[str]
               ) -> tuple[np.ndarray, bool]:
    """The counters of ``hist`` less those of the failure groups ``classes`` count as errors,
    and whether any failure was taken out."""
    counts = _counts(hist)
    groups = _error_groups(classes)
    taken = [pair[0 if corrected else 1] for group, pair in cell.failed.items()
             if group in groups]
    taken = [h for h in taken if h.get_total_count()]
    if not taken:
        return counts, False
    ok = counts.copy()
    for failed in taken:
        ok -= _counts(failed)
    return np.maximum(ok, 0), True


def _error_groups(classes: Iterable[str]) -> set[str]:
    groups = set()
    for cls in classes:
        if cls in ("5xx", "4xx", "429"):
            groups.add(cls)
        elif cls in TRANSPORT_ERRORS:
            groups.add("transport")
    return groups


def _ok_figures(hist: HdrHistogram, counts: np.ndarray
                ) -> tuple[dict[str, float], dict[str, tuple[float | None, float | None]], float,
                           float]:
    """Percentiles (ms), their intervals, max and mean (ms) of the successful requests."""
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1]) if cumulative.size else 0
    nan = float("nan")
    pct: dict[str, float] = {}
    bounds: dict[str, tuple[float | None, float | None]] = {}
    for key, q in PERCENTILES.items():
        if total == 0:
            pct[key], bounds[key] = nan, (None, None)
            continue
        pct[key] = _value_at_rank_us(hist, cumulative, nearest_rank_index(total, q) + 1) / 1e3
        lower, upper = rank_bounds(total, q / 100.0)
        bounds[key] = (
            None if lower is None else _value_at_rank_us(hist, cumulative, lower,
                                                         top=False) / 1e3,
            None if upper is None else _value_at_rank_us(hist, cumulative, upper) / 1e3)
    if total == 0:
        return pct, bounds, nan, nan
    top = _value_at_rank_us(hist, cumulative, total) / 1e3
    used = np.flatnonzero(counts)
    mids = np.array([hist.get_value_from_index(int(i)) for i in used], dtype="float64")
    mean = float((mids * counts[used]).sum() / total) / 1e3
    return pct, bounds, top, mean


def cell_from_values(
    latency_ms: Sequence[float],
    *,
    lag_ms: Sequence[float] | None = None,
    status: Sequence[int] | None = None,
    error: Sequence[str] | None = None,
    t_start_s: Sequence[float] | None = None,
) -> Cell:
    """Record requests the way a worker does (tests and synthetic data)."""
    cell = Cell()
    for i in range(len(latency_ms)):
        cell.record(latency_ms[i], lag_ms[i] if lag_ms is not None else 0.0,
                    status[i] if status is not None else 200,
                    error[i] if error is not None else "",
                    t_start_s[i] if t_start_s is not None else 0.0)
    return cell


def cell_errors(cell: Cell, classes: Iterable[str] = DEFAULT_ERRORS) -> int:
    """Requests counted as errors, with :func:`gauntlet.latency.error_mask`'s rules."""
    classes = list(classes)
    n = 0
    for cls in classes:
        if cls == "5xx":
            n += cell.counters["errors_5xx"]
        elif cls == "4xx":
            n += cell.counters["s4xx"]
        elif cls == "429":
            n += cell.counters["s429"]
        elif cls not in TRANSPORT_ERRORS:
            raise ValueError(f"unknown error class {cls!r}")
    # any transport class counts every failure without a response (as error_mask does)
    if any(c in TRANSPORT_ERRORS for c in classes):
        n += cell.counters["transport"]
    return n


def cell_figures(
    cell: Cell,
    *,
    errors: Iterable[str] = DEFAULT_ERRORS,
    corrected: bool = True,
    duration_s: float | None = None,
) -> Figures:
    """The :class:`Figures` :func:`gauntlet.latency.figures` gives for the same requests."""
    errors = list(errors)
    count = cell.count
    hist = cell.corrected if corrected else cell.service
    if duration_s is None:
        duration_s = max(cell.t_end_s - cell.t_first_s, 1e-9) if count else 0.0
    n_err = cell_errors(cell, errors) if count else 0
    n_429 = cell.counters["s429"]
    ok_counts, some_failed = _ok_counts(cell, hist, corrected, errors)
    pct, bounds, top_ms, mean_ms = _ok_figures(hist, ok_counts)
    service_ok, _ = _ok_counts(cell, cell.service, False, errors)
    n_ok = int(ok_counts.sum())
    if not some_failed and count:  # every request succeeded: the exact counters hold
        top_ms = cell.max_ms if corrected else cell.service_max_ms
        mean_ms = (cell.sum_ms if corrected else cell.service_sum_ms) / count
    return Figures(
        count=count,
        duration_s=float(duration_s),
        rps=count / duration_s if duration_s else 0.0,
        max_ms=top_ms,
        mean_ms=mean_ms,
        errors=n_err,
        error_rate=n_err / count if count else 0.0,
        count_429=n_429,
        rate_429=n_429 / count if count else 0.0,
        service_p50_ms=percentile_us(cell.service, 50.0, service_ok) / 1000.0,
        service_p99_ms=percentile_us(cell.service, 99.0, service_ok) / 1000.0,
        late=cell.counters["late"],
        ok_count=n_ok,
        bounds=bounds,
        **pct,
    )


@dataclass
class HdrRun:
    """A run's HDR record reduced to the whole run and each endpoint (``METHOD name``)."""

    overall: Cell = field(default_factory=Cell)
    endpoints: dict[str, Cell] = field(default_factory=dict)
    seconds: int = 0
    workers: set[str] = field(default_factory=set)

    def add_line(self, line: Mapping[str, Any]) -> None:
        cell = Cell.from_line(line)
        self.overall.add(cell)
        key = endpoint_key(str(line["method"]), str(line["name"]))
        self.endpoints.setdefault(key, Cell()).add(cell)
        self.workers.update(str(w) for w in str(line.get("worker", "")).split(" ") if w)

    def figures(self, *, errors: Iterable[str] = DEFAULT_ERRORS, corrected: bool = True,
                duration_s: float | None = None) -> Figures:
        return cell_figures(self.overall, errors=errors, corrected=corrected,
                            duration_s=duration_s)

    def by_endpoint(self, *, errors: Iterable[str] = DEFAULT_ERRORS, corrected: bool = True,
                    duration_s: float | None = None) -> dict[str, Figures]:
        return {
            key: cell_figures(self.endpoints[key], errors=errors, corrected=corrected,
                                             duration_s=duration_s)
            for key in sorted(self.endpoints)
        }

    def endpoint_counts(self) -> dict[str, int]:
        """Requests per endpoint key, as the metrics cross-check wants them."""
        return {key: cell.count for key, cell in self.endpoints.items()}

    @property
    def late(self) -> int:
        return self.overall.counters["late"]


def read_lines(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """Every line of the given files; a torn last line (a killed worker) is skipped."""
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for text in fh:
                try:
                    line = json.loads(text)
                except ValueError:
                    continue
                if isinstance(line, dict) and "hist" in line:
                    yield line


def _sources(run_dir: Path) -> list[Path]:
    """The merged file and any raw file still beside it: merging removes the raw files, so one
    still there arrived later (a remote worker's copy) and counts too."""
    merged = run_dir / HDR_FILE
    raw = sorted((run_dir / RAW_DIR).glob(RAW_GLOB))
    return [merged, *raw] if merged.exists() else raw


def has_hdr(run_dir: Path) -> bool:
    """Whether the run kept HDR histograms (merged or still raw)."""
    return bool(_sources(run_dir))


def load_hdr(run_dir: Path, *, warmup_s: float = 0.0) -> HdrRun:
    """The run's histograms, merged: ``latency-hdr.jsonl`` and any raw worker files.

    Memory stays flat whatever the run's length: lines are streamed, each decoded histogram is
    added and dropped, and only one pair of histograms per endpoint (~0.4 MB) is kept.
    ``warmup_s`` leaves out the ramp-up as ``load.warmup_s`` does for rows, to the second: every
    second that begins before ``first start + warmup_s`` is left out.
    """
    sources = _sources(run_dir)
    first_second = -math.inf
    if warmup_s > 0:
        starts = [float(line["t_first_s"]) for line in read_lines(sources)]
        if starts:
            first_second = math.ceil(min(starts) + warmup_s)
    run = HdrRun()
    seconds: set[int] = set()
    for line in read_lines(sources):
        if int(line["second"]) < first_second:
            continue
        run.add_line(line)
        seconds.add(int(line["second"]))
    run.seconds = len(seconds)
    return run


def merge_raw_hdr(run_dir: Path, *, remove_raw: bool = True) -> Path | None:
    """Merge ``raw/hdr-*.jsonl`` into ``latency-hdr.jsonl``: one line per (second, method, name)
    over all workers, in time order. Idempotent, and a later merge folds newly arrived raw files
    (remote workers' copies) into the existing file. None when the run kept no histograms.

    Two passes keep memory flat: the first indexes every line's key and file offset, the second
    reads one key's lines at a time, adds them and writes the sum.
    """
    raw = sorted((run_dir / RAW_DIR).glob(RAW_GLOB))
    target = run_dir / HDR_FILE
    if not raw:
        return target if target.exists() else None
    sources = [*raw, target] if target.exists() else raw
    index: list[tuple[int, str, str, int, int, int]] = []
    for file_no, path in enumerate(sources):
        with path.open("rb") as fh:
            offset = 0
            for text in fh:
                try:
                    line = json.loads(text)
                    index.append((int(line["second"]), str(line["method"]), str(line["name"]),
                                  file_no, offset, len(text)))
                except (ValueError, KeyError, TypeError):
                    pass  # a torn last line of a killed worker
                offset += len(text)
    index.sort()
    tmp = target.with_name(HDR_FILE + ".tmp")
    with ExitStack() as files:
        handles = [files.enter_context(path.open("rb")) for path in sources]
        out = files.enter_context(tmp.open("w", encoding="utf-8"))
        for key, group in groupby(index, key=lambda row: row[:3]):
            cell = Cell()
            workers: set[str] = set()
            for *_, file_no, offset, length in group:
                handles[file_no].seek(offset)
                line = json.loads(handles[file_no].read(length))
                cell.add(Cell.from_line(line))
                workers.update(w for w in str(line.get("worker", "")).split(" ") if w)
            merged = cell.to_line(second=key[0], method=key[1], name=key[2],
                                  worker=" ".join(sorted(workers)))
            out.write(json.dumps(merged, separators=(",", ":")) + "\n")
    os.replace(tmp, target)
    if remove_raw:
        for path in raw:
            path.unlink()
    return target
