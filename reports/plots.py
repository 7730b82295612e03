"""The report's plots, drawn with matplotlib's object API on the Agg canvas.

No ``pyplot``: it keeps global figure state and picks a GUI backend when a display exists; a
report builder must behave the same on a laptop and on a headless CI box, and must not leak
figures across a million-sample run. Every time plot shares one x axis (seconds since the run's
first sample or event) and carries the fault windows and events of :mod:`gauntlet.reports.marks`,
so a
spike can be read against what was done to the system at that moment.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from gauntlet.latency import corrected_latency_ms
from gauntlet.reports.marks import FaultWindow, Mark, event_marks, fault_windows
from gauntlet.reports.rundata import RunData
from gauntlet.reports.series import (
    CURVE_TICKS,
    latency_per_second,
    nines,
    percentile_curve,
    seconds,
    throughput_per_second,
)

DPI = 100
QUANTILE_COLOURS = {"p50": "#1f77b4", "p95": "#ff7f0e", "p99": "#d62728"}
CLASS_COLOURS = {
    "2xx": "#2ca02c", "3xx": "#17becf", "4xx": "#ff7f0e", "429": "#9467bd",
    "5xx": "#d62728", "transport": "#222222", "other": "#7f7f7f",
}
MARK_COLOURS = {
    "signal": "#9467bd", "exit": "#8c564b", "phase": "#555555", "stall": "#7f7f7f",
    "breaker-open": "#d62728", "breaker-half-open": "#ff7f0e", "breaker-closed": "#2ca02c",
}
FAULT_COLOUR = "#d62728"
MAX_LABELS = 24  # a flapping breaker could print hundreds: lines for all, labels for the first


@dataclass(frozen=True)
class PlotFile:
    """A PNG written into the run dir, with what the page says about it."""

    path: Path
    title: str
    caption: str


@dataclass
class TimeAxis:
    """The shared x axis: zero, extent, and what to draw on every time plot."""

    t0_s: float
    end_s: float
    windows: list[FaultWindow]
    marks: list[Mark]

    @property
    def n_seconds(self) -> int:
        return max(math.ceil(self.end_s), 1)


def time_axis(run: RunData) -> TimeAxis | None:
    t0 = run.t0_s
    if t0 is None:
        return None
    end = 0.0
    df = run.samples
    if not df.empty:
        end = float((df["t_start_s"] + df["latency_ms"] / 1000.0).max()) - t0
    if run.events:
        end = max(end, max(e.at_s for e in run.events) - t0)
    return TimeAxis(t0, max(end, 1.0), fault_windows(run.events), event_marks(run.events))


def write_plots(run: RunData, *, out_dir: Path | None = None, prefix: str = "",
                detail: bool = True) -> tuple[list[PlotFile], list[str]]:
    """Draw every plot the run's data allows into ``out_dir`` (default: the run dir) as
    ``<prefix><plot>.png``; ``detail`` adds the percentile curve. A plot that cannot be drawn
    becomes a note on the page, never an exception (a broken plot must not cost the verdict
    table)."""
    axis = time_axis(run)
    notes: list[str] = []
    if axis is None:
        if run.experiments:  # a chaos run: the data lives in the experiments' dirs
            return [], []
        return [], ["no plots: the run has neither samples nor events"]
    if run.samples.empty and not (axis.windows or axis.marks):
        return [], [] if run.experiments else ["no plots: the run recorded no requests"]
    jobs: list[tuple[str, Callable[[RunData, TimeAxis], Figure | None], str, str]] = [
        ("latency.png", latency_figure, "Latency over time",
         "Per-second nearest-rank p50/p95/p99; shaded: fault windows; lines: events."),
        ("throughput.png", throughput_figure, "Throughput and errors",
         "Requests per second by status class (429 apart from other 4xx; transport = no "
         "response)."),
    ]
    if detail:
        jobs.append(("percentiles.png", percentile_figure, "Latency percentile curve",
                     "Every percentile from p50 to p99.99 on a 'nines' scale; y logarithmic."))
    if run.open_model:
        jobs.append(("corrected.png", corrected_figure, "Corrected vs service latency",
                     "Open model: latency from the intended start (coordinated omission "
                     "corrected) next to the service time measured from the actual send."))
    out: list[PlotFile] = []
    for filename, draw, title, caption in jobs:
        try:
            fig = draw(run, axis)
            if fig is None:
                continue
            path = (out_dir or run.run_dir) / f"{prefix}{filename}"
            save(fig, path)
            out.append(PlotFile(path, title, caption))
        except Exception as exc:
            notes.append(f"plot {filename} not drawn: {type(exc).__name__}: {exc}")
    return out, notes


def save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    with warnings.catch_warnings():
        # a label in a script DejaVu lacks is drawn as boxes; not worth failing a report for
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        fig.savefig(path, format="png", dpi=DPI)


def _latency(run: RunData) -> np.ndarray:
    df = run.samples
    return corrected_latency_ms(df) if run.corrected else df["latency_ms"].to_numpy("float64")


def _per_second(run: RunData, axis: TimeAxis, latency_ms: np.ndarray) -> pd.DataFrame:
    sec = seconds(run.samples["t_start_s"].to_numpy("float64"), axis.t0_s)
    per = latency_per_second(sec, latency_ms)
    # seconds without samples become gaps in the lines, not straight segments across them
    return per.reindex(pd.RangeIndex(axis.n_seconds, name="second"))


def latency_figure(run: RunData, axis: TimeAxis) -> Figure:
    fig = Figure(figsize=(12, 3.9), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    basis = "corrected" if run.corrected else "service time"
    shaded = " — shaded: fault windows" if axis.windows else " — no fault was injected"
    ax.set_title(f"Latency per second ({basis}){shaded}", loc="left", fontsize=11)
    if run.samples.empty:
        _no_data(ax, "no samples")
    else:
        per = _per_second(run, axis, _latency(run))
        _draw_quantiles(ax, per)
        _legend_above(ax)
    ax.set_ylabel("ms")
    _decorate_time(ax, axis, labels=True)
    return fig


def _draw_quantiles(ax: Axes, per: pd.DataFrame) -> None:
    x = per.index.to_numpy() + 0.5
    for column in ("p99", "p95", "p50"):
        ax.plot(x, per[column].to_numpy(), color=QUANTILE_COLOURS[column], linewidth=1.4,
                label=column, marker="." if per[column].notna().sum() < 30 else None)
    _y_scale(ax, per[["p50", "p99"]].to_numpy())


def _y_scale(ax: Axes, values: np.ndarray) -> None:
    """Log when the range spans more than a decade and a bit: a fault's seconds-long tail and a
    healthy millisecond median are then both readable; linear otherwise. The top quarter is
    left free for the event labels, so they never sit on the data."""
    finite = values[np.isfinite(values) & (values > 0)]
    if not finite.size:
        ax.set_ylim(0, 1)
        return
    low, high = float(finite.min()), float(finite.max())
    if high / low > 20:
        _log_ms(ax)
        ax.set_ylim(low / 1.3, high * (high / low) ** 0.4)
    else:
        ax.set_ylim(0, high * 1.4)


def _log_ms(ax: Axes) -> None:
    """Log scale labelled 1, 2, 5, 10, 20, 50 … in plain ms: ``10^2`` makes a person compute."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _legend_above(ax: Axes) -> None:
    """Legend above the axes, right-aligned opposite the title: inside it would hide data or
    the labels of the events at the start of the run."""
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, ncols=8,
              frameon=False, borderaxespad=0.1)


def throughput_figure(run: RunData, axis: TimeAxis) -> Figure | None:
    if run.samples.empty:
        return None
    sec = seconds(run.samples["t_start_s"].to_numpy("float64"), axis.t0_s)
    counts = throughput_per_second(sec, run.samples["status"].to_numpy(), axis.n_seconds)
    fig = Figure(figsize=(12, 4.6), dpi=DPI, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    x = counts.index.to_numpy() + 0.5
    top.stackplot(x, *(counts[c].to_numpy() for c in counts.columns),
                  labels=list(counts.columns),
                  colors=[CLASS_COLOURS[c] for c in counts.columns], step="mid", alpha=0.85)
    top.set_title("Requests per second by status class", loc="left", fontsize=11)
    top.set_ylabel("req/s")
    _legend_above(top)
    top.set_ylim(0, max(float(counts.sum(axis=1).max()), 1.0) * 1.35)
    errors = [c for c in counts.columns if c != "2xx"]
    for column in errors:
        bottom.plot(x, counts[column].to_numpy(), color=CLASS_COLOURS[column], label=column,
                    linewidth=1.4, drawstyle="steps-mid")
    if errors:
        _legend_above(bottom)
        bottom.set_ylim(0, max(float(counts[errors].to_numpy().max()), 1.0) * 1.15)
    else:
        _no_data(bottom, "no non-2xx responses")
        bottom.set_ylim(0, 1)
    bottom.set_title("Non-2xx responses per second", loc="left", fontsize=10)
    bottom.set_ylabel("req/s")
    _decorate_time(top, axis, labels=True, xlabel=False)
    _decorate_time(bottom, axis, labels=False)
    return fig


def percentile_figure(run: RunData, axis: TimeAxis) -> Figure | None:
    if run.samples.empty:
        return None
    fig = Figure(figsize=(6, 3.8), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    series = [("corrected" if run.corrected else "service time", _latency(run), "-")]
    if run.corrected:
        series.append(("service time", run.samples["latency_ms"].to_numpy("float64"), "--"))
    for label, values, style in series:
        points, curve = percentile_curve(values)
        ax.plot(nines(points), np.maximum(curve, 1e-3), style, label=label, linewidth=1.6)
    _log_ms(ax)
    ax.set_xticks(nines(np.array(CURVE_TICKS)), [f"{t:g}" for t in CURVE_TICKS])
    ax.set_xlim(float(nines(CURVE_TICKS[0])), float(nines(CURVE_TICKS[-1])))
    ax.set_xlabel("percentile")
    ax.set_ylabel("ms")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title("Latency by percentile", loc="left", fontsize=11)
    ax.legend(loc="upper left", fontsize=8)
    return fig


def corrected_figure(run: RunData, axis: TimeAxis) -> Figure | None:
    if run.samples.empty:
        return None
    fig = Figure(figsize=(12, 3.6), dpi=DPI, layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    panels = [(left, "service time (from the actual send)",
               run.samples["latency_ms"].to_numpy("float64")),
              (right, "corrected (from the intended start)", corrected_latency_ms(run.samples))]
    for ax, title, values in panels:
        per = _per_second(run, axis, values)
        _draw_quantiles(ax, per)
        ax.set_title(title, loc="left", fontsize=10)
        _decorate_time(ax, axis, labels=False)
    left.set_ylabel("ms")
    _legend_above(right)
    return fig


def _decorate_time(ax: Axes, axis: TimeAxis, *, labels: bool, xlabel: bool = True) -> None:
    """Fault windows shaded, events as vertical lines; labels (on one panel of a figure) sit
    just under the top edge, staggered on three rows so neighbours do not overprint."""
    ax.set_xlim(0, axis.end_s)
    for window in axis.windows:
        start = window.start_s - axis.t0_s
        end = (window.end_s - axis.t0_s) if window.end_s is not None else axis.end_s
        ax.axvspan(start, end, color=FAULT_COLOUR, alpha=0.13, linewidth=0)
        ax.axvline(start, color=FAULT_COLOUR, linewidth=0.8, alpha=0.6)
        if labels:
            suffix = "" if window.end_s is not None else " (never removed)"
            # inside the shaded window: from its start, or (right third) back from its end
            text, ha = _anchor(ax, start, axis, "FAULT " + _plain(window.label) + suffix)
            ax.text(start if ha == "left" else min(end, axis.end_s), 0.985, text,
                    transform=ax.get_xaxis_transform(), va="top", ha=ha, fontsize=8.5,
                    color="#8b0000", fontweight="bold", clip_on=True)
    i = -1  # the labelled marks so far: an unlabelled one (a host stall) takes no slot
    for mark in axis.marks:
        x = mark.at_s - axis.t0_s
        colour = MARK_COLOURS.get(mark.kind, "#555555")
        ax.axvline(x, color=colour, linestyle="--", linewidth=1.0, alpha=0.9)
        if mark.label:
            i += 1
        if labels and mark.label and i < MAX_LABELS:
            text, ha = _anchor(ax, x, axis, _plain(mark.label))
            ax.text(x, 0.915 - 0.075 * (i % 3), text, transform=ax.get_xaxis_transform(),
                    va="top", ha=ha, fontsize=8, color=colour, clip_on=True,
                    bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0, "pad": 0.5})
    if xlabel:
        ax.set_xlabel("seconds since the run's first sample or event")
    ax.grid(True, alpha=0.25)


def _anchor(ax: Axes, x: float, axis: TimeAxis, text: str) -> tuple[str, str]:
    """A label reads rightwards from its line unless it would run off the plot's right edge;
    then it reads leftwards. Width is estimated (about 6 px a character at 8 pt), which is
    enough to decide a side without a renderer pass."""
    fig = ax.get_figure()
    fig_width_in = fig.get_figwidth() if isinstance(fig, Figure) else 12.0
    width_px = fig_width_in * DPI * 0.88 * ax.get_position().width
    text_units = (len(text) + 1) * 6.0 * axis.end_s / max(width_px, 1.0)
    if x + text_units > axis.end_s:
        return text + " ", "right"
    return " " + text, "left"


def _plain(text: str) -> str:
    """Text for matplotlib with mathtext disabled: a ``$`` in a description is a dollar."""
    return text.replace("$", r"\$")


def _no_data(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#777777")
