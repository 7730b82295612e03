"""Nightly trend: the key figures of many runs of one suite, in run order, on one PNG.

A single comparison catches a step; a trend catches the slow creep that stays inside the noise
band night after night. Runs are ordered by ``started_at_s`` (not by dir name: a re-run or a
renamed dir must not reorder history). A run with no figures (crashed before any request) keeps
its place on the x axis as a gap, so a nightly that failed is visible, not silently dropped.

    build_trend(sorted(Path("reports/runs").glob("*-nightly")), Path("trend.png"))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gauntlet.reports import fmt
from gauntlet.reports.plots import DPI, QUANTILE_COLOURS, save
from gauntlet.reports.rundata import RunData, load_run

STATUS_MARKERS = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#b35900",
                  "error": "#9a3412", "interrupted": "#7c3aed"}


def build_trend(run_dirs: list[Path], out_png: Path) -> Path:
    """Plot overall p50/p95/p99, error rate and req/s of ``run_dirs`` into ``out_png``."""
    runs = ordered_runs(run_dirs)
    figures = [r.figures()[0] for r in runs]

    def series(key: str) -> np.ndarray:
        values = [fmt.number(f.get(key)) if f else None for f in figures]
        return np.array([np.nan if v is None else v for v in values], dtype="float64")

    fig = Figure(figsize=(12, 7), dpi=DPI, layout="constrained")
    lat, err, rps = fig.subplots(3, 1, sharex=True, height_ratios=[3, 2, 2])
    x = np.arange(len(runs))
    title = f"Trend of {runs[0].name}" if runs else "Trend"
    lat.set_title(f"{title}: {len(runs)} run(s), ordered by start time", loc="left",
                  fontsize=11)
    if not runs:
        lat.text(0.5, 0.5, "no runs", transform=lat.transAxes, ha="center", color="#777777")
    for key, label in (("p99_ms", "p99"), ("p95_ms", "p95"), ("p50_ms", "p50")):
        lat.plot(x, series(key), marker="o", label=label, color=QUANTILE_COLOURS[label])
    lat.set_ylabel("ms")
    lat.set_ylim(bottom=0)
    lat.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, fontsize=8,
               frameon=False)
    err.plot(x, series("error_rate") * 100.0, marker="o", color="#d62728")
    err.set_ylabel("errors %")
    err.set_ylim(bottom=0)
    rps.plot(x, series("rps"), marker="o", color="#2ca02c")
    rps.set_ylabel("req/s")
    rps.set_ylim(bottom=0)
    for ax in (lat, err, rps):
        ax.grid(True, alpha=0.3)
        _status_dots(ax, runs)
    rps.set_xticks(x, [_label(r) for r in runs], rotation=30, ha="right", fontsize=8)
    rps.set_xlabel("run (tick colour = status: green pass, red fail, amber inconclusive, "
                   "brown error, purple interrupted or unfinished)", fontsize=9)
    rps.set_xlim(-0.5, max(len(runs) - 0.5, 0.5))
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    save(fig, out_png)
    return out_png


def ordered_runs(run_dirs: list[Path]) -> list[RunData]:
    """The runs in start order; a run without a known start goes last, by dir name."""
    runs = [load_run(Path(d)) for d in run_dirs]
    runs.sort(key=lambda r: (r.started_at_s is None, r.started_at_s or 0.0, r.run_dir.name))
    return runs


def _status_dots(ax: Axes, runs: list[RunData]) -> None:
    """A coloured tick under each run: a failed or crashed nightly stands out even when its
    figures look normal."""
    for i, run in enumerate(runs):
        ax.plot(i, 0, marker="|", markersize=10, color=STATUS_MARKERS[run.status],
                transform=ax.get_xaxis_transform(), clip_on=False)


def _label(run: RunData) -> str:
    return run.run_dir.name if len(run.run_dir.name) <= 32 else run.run_dir.name[:31] + "…"
