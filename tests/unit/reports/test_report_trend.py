"""Nightly trend: one PNG over many runs, ordered by start time."""

from __future__ import annotations

from rundir_factory import T0, RunDirs

from gauntlet.reports.trend import build_trend, ordered_runs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_trend_writes_a_png_over_runs_in_start_order(rundirs: RunDirs) -> None:
    dirs = []
    for night, scale in ((2, 1.4), (0, 1.0), (1, 1.1)):
        samples = rundirs.samples(1500, seed=night, scale=scale, start_s=T0 + night * 86_400)
        dirs.append(rundirs.write(f"night-{night}", samples=samples,
                                  summary=rundirs.summary(samples)))
    crashed = rundirs.write("crashed", suite_toml=None)  # no figures: kept as a gap
    out = build_trend([*dirs, crashed], rundirs.root / "trend" / "trend.png")
    assert out.read_bytes().startswith(PNG_MAGIC)
    order = [r.run_dir.name for r in ordered_runs([*dirs, crashed])]
    assert order == ["night-0", "night-1", "night-2", "crashed"]


def test_trend_of_no_runs_still_writes_a_png(rundirs: RunDirs) -> None:
    out = build_trend([], rundirs.root / "empty.png")
    assert out.read_bytes().startswith(PNG_MAGIC)
