"""Compare a run with a baseline run: did p95, p99 or the error rate get worse beyond noise?

Two runs of the same suite never give identical numbers, so "worse" needs a noise band, and it
differs by metric. Latency is judged relatively (``noise``, default 10 %) *and* against an
absolute floor (default 1 ms), because a 0.4 ms → 0.6 ms p95 is +50 % of jitter, not a
regression. Error rates are judged in absolute percentage points (default +0.5 pp): going from
0.01 % to 0.02 % doubles a rate nobody would act on. Only "worse" is flagged; better is reported.

A percentile is only as steady as the number of requests beyond it. Two runs of the same
lognormal load (sigma 0.5) differ by more than 10 % at p99 in 13 % of comparisons when 10
requests lie beyond the p99 (1,000 requests), in under 1 % with 50 beyond it (5,000 requests).
So a latency row is judged only when both runs have ``min_tail`` requests beyond its
percentile; thinner rows are shown, with a note, never flagged. Heavier tails than that need a
wider ``noise``.

An endpoint the baseline sent and the run did not is a regression (it vanished: the run no
longer exercises it, or it no longer answers under its name); one only in the run is new,
shown and not judged. Each judged row is a verdict (:meth:`Comparison.verdicts`), and the exit
code comes from :func:`gauntlet.outcome.exit_code` like a run's: a comparison that judged
nothing (every population too thin) is the judge's failure, exit 3, never a pass.

    comparison = compare_runs(run_dir, baseline_dir)
    print(render_text(comparison))
    code = exit_code(comparison.verdicts())
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from gauntlet.checks.verdict import Verdict
from gauntlet.reports import fmt
from gauntlet.reports.rundata import RunData, load_run

COMPARE_FILE = "compare.json"
Metric = Literal["p95_ms", "p99_ms", "error_rate"]
METRICS: tuple[Metric, ...] = ("p95_ms", "p99_ms", "error_rate")
QUANTILE: dict[Metric, float] = {"p95_ms": 0.95, "p99_ms": 0.99}
OVERALL = "overall"
VANISHED = "vanished: only in the baseline"
CHECK = "compare"


@dataclass(frozen=True)
class Row:
    """One metric of one endpoint (or ``overall``), run against baseline."""

    endpoint: str
    metric: Metric
    baseline: float | None
    run: float | None
    delta: float | None  # run - baseline, in the metric's unit (ms, or a fraction)
    relative: float | None  # delta / baseline; None when the baseline is 0 or missing
    regression: bool
    note: str = ""
    judged: bool = False  # compared against the noise band (or vanished), not just shown


@dataclass(frozen=True)
class Comparison:
    run_dir: Path
    baseline_dir: Path
    noise: float
    latency_floor_ms: float
    error_band: float
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return any(row.regression for row in self.rows)

    @property
    def comparable(self) -> bool:
        """Both sides have overall figures; otherwise no row can be judged."""
        overall = [r for r in self.rows if r.endpoint == OVERALL]
        return bool(overall) and all(r.run is not None and r.baseline is not None
                                     for r in overall if r.metric != "error_rate")

    @property
    def regressions(self) -> list[Row]:
        return [row for row in self.rows if row.regression]

    @property
    def vanished(self) -> list[str]:
        """Endpoints of the baseline the run has no request of."""
        return sorted({row.endpoint for row in self.rows if row.note == VANISHED})

    def verdicts(self) -> list[Verdict]:
        """One verdict per judged row (fail: worse beyond the noise band), one failed verdict
        per vanished endpoint; rows only shown (too thin, new, no value) are none. An empty
        list means nothing was judged: not a pass."""
        out: list[Verdict] = [
            Verdict.judge(CHECK, f"vanished [{endpoint}]", False,
                          f"{endpoint}: requests in the baseline, none in the run")
            for endpoint in self.vanished]
        for row in self.rows:
            if not row.judged or row.note == VANISHED:
                continue
            shown = f"{_value(row.metric, row.baseline)} → {_value(row.metric, row.run)}"
            reason = (f"{row.endpoint}: {row.metric} {shown} ({_delta(row)}), "
                      + ("worse beyond the noise band" if row.regression
                         else "within the noise band"))
            out.append(Verdict.judge(CHECK, f"{row.metric} [{row.endpoint}]",
                                     not row.regression, reason, row.run, row.baseline,
                                     "ratio" if row.metric == "error_rate" else "ms"))
        return out

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(run_dir=str(self.run_dir), baseline_dir=str(self.baseline_dir),
                    regressed=self.regressed, comparable=self.comparable,
                    judged=sum(row.judged for row in self.rows), vanished=self.vanished)
        clean: dict[str, Any] = _finite(data)
        return clean


def compare_runs(
    run_dir: Path, baseline_dir: Path, noise: float = 0.10, *, latency_floor_ms: float = 1.0,
    error_band: float = 0.005, min_count: int = 20, min_tail: int = 50,
) -> Comparison:
    """Compare ``run_dir`` with ``baseline_dir`` and write ``compare.json`` into ``run_dir``.

    Figures come from each summary.json when present, else are recomputed from the samples.
    A population with fewer than ``min_count`` requests on either side, or a percentile with
    fewer than ``min_tail`` requests beyond it, is shown but never flagged (see module doc).
    """
    run, base = load_run(Path(run_dir)), load_run(Path(baseline_dir))
    run_all, run_endpoints, run_src = run.figures()
    base_all, base_endpoints, base_src = base.figures()
    notes = _notes(run, base, run_src, base_src)
    populations: list[tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]] = [
        (OVERALL, run_all or None, base_all or None)]
    for name in sorted(set(run_endpoints) | set(base_endpoints)):
        populations.append((name, run_endpoints.get(name), base_endpoints.get(name)))
    rows: list[Row] = []
    # an endpoint vanished only from a run that has figures at all (else: not comparable)
    ran = bool(run_all) and (fmt.number(run_all.get("count")) or 0.0) > 0
    for name, now, before in populations:
        for metric in METRICS:
            rows.append(_row(name, metric, now, before, noise=noise,
                             latency_floor_ms=latency_floor_ms, error_band=error_band,
                             min_count=min_count, min_tail=min_tail, ran=ran))
    comparison = Comparison(Path(run_dir), Path(baseline_dir), noise, latency_floor_ms,
                            error_band, rows, notes)
    (Path(run_dir) / COMPARE_FILE).write_text(json.dumps(comparison.as_dict(), indent=2) + "\n")
    return comparison


def is_regression(metric: Metric, baseline: float, run: float, *, noise: float = 0.10,
                  latency_floor_ms: float = 1.0, error_band: float = 0.005) -> bool:
    """The noise band: latency must be worse by more than ``noise`` relative *and* by more
    than the floor in ms; an error rate by more than ``error_band`` absolute."""
    delta = run - baseline
    if metric == "error_rate":
        return delta > error_band
    return delta > latency_floor_ms and delta > noise * baseline


def _row(name: str, metric: Metric, now: Mapping[str, Any] | None,
         before: Mapping[str, Any] | None, *, noise: float, latency_floor_ms: float,
         error_band: float, min_count: int, min_tail: int, ran: bool = True) -> Row:
    run = fmt.number(now.get(metric)) if now else None
    base = fmt.number(before.get(metric)) if before else None
    if now is None and before is not None and name != OVERALL and ran:
        # the baseline sent it and the run did not: it vanished, which is worse, not noise
        return Row(name, metric, base, None, None, None, True, VANISHED, judged=True)
    if now is None or before is None:
        side = "baseline" if now is None else "run"
        return Row(name, metric, base, run, None, None, False, f"only in the {side}")
    if run is None or base is None:
        return Row(name, metric, base, run, None, None, False, "no value")
    delta = run - base
    relative = delta / base if base else None
    fewest = min(fmt.number(now.get("count")) or 0.0, fmt.number(before.get("count")) or 0.0)
    if fewest < min_count:
        return Row(name, metric, base, run, delta, relative, False,
                   f"too few requests to judge (< {min_count})")
    if metric in QUANTILE and fewest * (1.0 - QUANTILE[metric]) < min_tail:
        return Row(name, metric, base, run, delta, relative, False,
                   f"tail too thin to judge (< {min_tail} requests beyond it)")
    flagged = is_regression(metric, base, run, noise=noise, latency_floor_ms=latency_floor_ms,
                            error_band=error_band)
    return Row(name, metric, base, run, delta, relative, flagged, judged=True)


def _notes(run: RunData, base: RunData, run_src: str, base_src: str) -> list[str]:
    notes = []
    if run.corrected != base.corrected:
        notes.append("latency bases differ (one run corrected for coordinated omission, the "
                     "other service time): latency deltas compare different things")
    for label, data, source in (("run", run, run_src), ("baseline", base, base_src)):
        if source == "samples":
            notes.append(f"{label}: figures recomputed from samples (summary has none)")
        elif source == "none":
            notes.append(f"{label}: no figures and no samples")
        if data.status in ("error", "interrupted"):
            notes.append(f"{label}: status {data.status}, its figures may cover a partial run")
    if run.name != base.name:
        notes.append(f"different suites: {run.name!r} vs baseline {base.name!r}")
    return notes


def render_text(comparison: Comparison) -> str:
    """A fixed-width table for the terminal; regressions marked in the last column."""
    c = comparison
    header = (f"{c.run_dir.name} vs baseline {c.baseline_dir.name} "
              f"(noise {c.noise * 100:g} %, latency floor {c.latency_floor_ms:g} ms, "
              f"error band {c.error_band * 100:g} pp)")
    table = [("endpoint", "metric", "baseline", "run", "delta", "rel", "")]
    for row in c.rows:
        table.append((row.endpoint, row.metric, _value(row.metric, row.baseline),
                      _value(row.metric, row.run), _delta(row), _relative(row.relative),
                      ("REGRESSION" + (f" ({row.note})" if row.note else ""))
                      if row.regression else row.note))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    lines = [header, ""]
    for i, r in enumerate(table):
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1]),
                 *(r[k].rjust(widths[k]) for k in range(2, len(widths)))]
        lines.append("  ".join(cells) + ("  " + r[-1] if r[-1] else ""))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += [""] + [f"note: {n}" for n in c.notes]
    worse = sum(r.regression and r.note != VANISHED for r in c.rows)
    if worse or c.vanished:
        gone = f"; {len(c.vanished)} endpoint(s) vanished" if c.vanished else ""
        lines.append(f"REGRESSED: {worse} metric(s) worse beyond the noise band{gone}")
    elif not c.comparable:
        lines.append("NOT COMPARABLE: one side has no figures (see notes)")
    elif not any(r.judged for r in c.rows):
        lines.append("NOTHING JUDGED: every population too thin to compare (see the rows); "
                     "not a pass")
    else:
        lines.append("no regression beyond the noise band")
    return "\n".join(lines)


def _value(metric: Metric, value: float | None) -> str:
    return fmt.pct(value) if metric == "error_rate" else fmt.ms(value)


def _delta(row: Row) -> str:
    if row.delta is None:
        return fmt.MISSING
    if row.metric == "error_rate":
        return f"{row.delta * 100:+.2f} pp"
    return f"{row.delta:+.1f} ms" if abs(row.delta) >= 10 else f"{row.delta:+.3g} ms"


def _relative(value: float | None) -> str:
    return fmt.MISSING if value is None else f"{value * 100:+.1f} %"


def _finite(value: Any) -> Any:
    """NaN/inf → None, so compare.json is strict JSON that any CI tool parses."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
