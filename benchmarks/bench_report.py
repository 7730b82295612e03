"""Benchmark: build the report of a one-million-sample run dir; the bar is 30 s.

A 60 s run at ~16,700 req/s over 5 endpoints, with the upstream slowed from 20 s to 35 s (the
endpoints behind it 15x slower, 5xx rising), a rate limiter answering some 429s, a few transport
errors, and the events of a breaker experiment. The run dir is written first (not timed); the
report is then built in a fresh process, so its peak RSS is the report's own plus the imports a
``gauntlet report`` pays, not the generator's.

    .venv/bin/python benchmarks/bench_report.py [--samples N] [--keep DIR] [--no-summary]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gauntlet.latency import by_endpoint, figures
from gauntlet.samples import DTYPES

BAR_S = 30.0
T0 = 1_700_000_000.0
DURATION_S = 60.0
FAULT = (20.0, 35.0)
ENDPOINTS = {  # name: (share, median ms, behind the upstream)
    "GET /api/orders": (0.35, 12.0, False),
    "GET /api/orders/{id}": (0.30, 6.0, False),
    "POST /api/orders": (0.15, 25.0, False),
    "POST /api/login": (0.05, 60.0, False),
    "POST /api/generate": (0.15, 40.0, True),
}


def synthetic_samples(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = list(ENDPOINTS)
    shares = np.array([ENDPOINTS[k][0] for k in names])
    which = rng.choice(len(names), size=n, p=shares / shares.sum())
    t_start = T0 + 1.0 + np.sort(rng.uniform(0.0, DURATION_S, n))
    rel = t_start - T0 - 1.0
    in_fault = (rel >= FAULT[0]) & (rel < FAULT[1])
    median = np.array([ENDPOINTS[k][1] for k in names])[which]
    upstream = np.array([ENDPOINTS[k][2] for k in names])[which]
    latency = median * rng.lognormal(0.0, 0.45, n)
    latency[in_fault & upstream] *= 15.0
    latency[in_fault & ~upstream] *= 1.3
    draw = rng.uniform(size=n)
    status = np.full(n, 200, dtype=np.int32)
    status[which == names.index("POST /api/orders")] = 201
    p5xx = np.where(in_fault & upstream, 0.08, 0.002)
    status[draw < p5xx] = 503
    status[(draw >= p5xx) & (draw < p5xx + 0.01)] = 429
    transport = (draw >= p5xx + 0.01) & (draw < p5xx + 0.0105)
    status[transport] = 0
    error = np.where(transport, "timeout", np.where(status >= 400, "http", ""))
    latency[transport] = 5000.0
    # a small open-model lag: the generator sends slightly late, mostly under the fault
    lag_s = rng.exponential(0.0005, n) + np.where(in_fault, rng.exponential(0.004, n), 0.0)
    names_arr = np.asarray(names, dtype=object)[which]
    methods = np.asarray([k.split(" ", 1)[0] for k in names], dtype=object)[which]
    frame = pd.DataFrame({
        "t_intended_s": t_start - lag_s,
        "t_start_s": t_start,
        "latency_ms": latency,
        "method": pd.Categorical(methods),
        "name": pd.Categorical(names_arr),
        "status": status,
        "error": pd.Categorical(error),
        "bytes": rng.integers(200, 4000, n),
        "worker": pd.Categorical(np.where(which % 2 == 0, "bench:101", "bench:102")),
        "ref": pd.array(np.full(n, "", dtype=object), dtype="string"),
    })
    return frame.astype(DTYPES)


def events() -> list[dict[str, object]]:
    fault = {"proxy": "upstream", "fault": "latency", "attributes": {"latency": 600},
             "stream": "downstream", "toxicity": 1.0, "description": "latency 600 ms"}
    start = T0 + 1.0
    out: list[dict[str, object]] = [
        {"at_s": T0, "kind": "phase", "name": "boot"},
        {"at_s": T0 + 0.9, "kind": "stack.ready", "boot_time_s": 0.9, "backend": "local"},
        {"at_s": start, "kind": "phase", "name": "load"},
        {"at_s": start, "kind": "load.started", "model": "open", "duration_s": DURATION_S,
         "workers": 2},
        {"at_s": start, "kind": "phase", "name": "steady"},
        {"at_s": start + FAULT[0], "kind": "phase", "name": "fault"},
        {"at_s": start + FAULT[0], "kind": "fault.applied", **fault},
        {"at_s": start + FAULT[0] + 3.2, "kind": "breaker.state", "name": "upstream",
         "state": "open"},
        {"at_s": start + FAULT[0] + 8.2, "kind": "breaker.state", "name": "upstream",
         "state": "half-open"},
        {"at_s": start + FAULT[1], "kind": "fault.removed", **fault},
        {"at_s": start + FAULT[1], "kind": "phase", "name": "recovery"},
        {"at_s": start + FAULT[1] + 1.1, "kind": "breaker.state", "name": "upstream",
         "state": "closed"},
        {"at_s": start + 50.0, "kind": "signal.sent", "service": "api", "signal": "SIGTERM"},
        {"at_s": start + 51.4, "kind": "process.exit", "service": "api", "code": 0,
         "after_s": 1.4},
        {"at_s": start + DURATION_S, "kind": "load.stopped", "model": "open",
         "duration_s": DURATION_S, "workers": 2},
        {"at_s": start + DURATION_S + 0.5, "kind": "phase", "name": "done"},
    ]
    out += [{"at_s": T0 + s, "kind": "probe", "target": "ready", "status": 200,
             "latency_ms": 2.0} for s in np.arange(1.0, 62.0, 0.5)]
    return out


def write_run_dir(run_dir: Path, n: int, with_summary: bool) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    df = synthetic_samples(n)
    df.to_parquet(run_dir / "samples.parquet", index=False)
    with (run_dir / "events.jsonl").open("w") as fh:
        fh.writelines(json.dumps(e) + "\n" for e in events())
    (run_dir / "suite.toml").write_text(
        'name = "bench-report"\n[load]\nmodel = "open"\nrate = 16700\nduration_s = 60\n')
    verdicts = [
        {"check": "breaker", "name": "breaker opened within 2 s", "passed": False,
         "status": "fail", "reason": "opened 3.2 s after the fault (limit 2.0 s)",
         "observed": 3.2, "threshold": 2.0, "unit": "s", "unreliable": False},
        {"check": "slo", "name": "p99_ms [overall]", "passed": True, "status": "pass",
         "reason": "overall p99 within 2000 ms", "observed": 900.0, "threshold": 2000.0,
         "unit": "ms", "unreliable": False},
    ]
    (run_dir / "verdicts.json").write_text(json.dumps(verdicts))
    if with_summary:
        overall = figures(df, corrected=True)
        per = by_endpoint(df, corrected=True, duration_s=overall.duration_s)
        summary = {
            "schema_version": 1, "run_id": run_dir.name, "suite": "bench-report",
            "started_at_s": T0, "finished_at_s": T0 + 62.0, "status": "fail", "exit_code": 1,
            "backend": "local", "contract": "reference-stack", "variants": [],
            "boot_time_s": 0.9, "versions": {}, "load": {"model": "open", "rate": 16700},
            "overall": overall.as_dict(), "endpoints": {k: v.as_dict() for k, v in per.items()},
            "latency_basis": "corrected", "generator": {"reliable": True, "reasons": []},
            "metrics_crosscheck": {}, "verdicts": verdicts,
        }
        (run_dir / "summary.json").write_text(json.dumps(summary))


def build_in_this_process(run_dir: Path) -> None:
    from gauntlet.reports.build import build_report

    started = time.perf_counter()
    build_report(run_dir)
    elapsed = time.perf_counter() - started
    print(json.dumps({"elapsed_s": elapsed, "peak_rss_mib": peak_rss_mib()}))


def peak_rss_mib() -> float:
    """This process' peak RSS. ``ru_maxrss`` survives ``execve`` on Linux, so a child spawned
    by a big parent would report the parent's peak; ``VmHWM`` belongs to the new image only."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="write the run dir here")
    parser.add_argument("--no-summary", action="store_true",
                        help="no summary.json: a crashed run, figures recomputed from samples")
    parser.add_argument("--build", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build is not None:
        build_in_this_process(args.build)
        return
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        run_dir = args.keep or Path(tmp) / "20240101-000000-bench-report"
        started = time.perf_counter()
        write_run_dir(run_dir, args.samples, not args.no_summary)
        print(f"run dir with {args.samples} samples written in "
              f"{time.perf_counter() - started:.1f} s (not timed)")
        child = subprocess.run([sys.executable, __file__, "--build", str(run_dir)],
                               capture_output=True, text=True, check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        label = " (no summary: figures recomputed)" if args.no_summary else ""
        print(f"report for {args.samples} samples{label}: {result['elapsed_s']:.1f} s "
              f"(bar: <= {BAR_S:.0f} s)")
        print(f"peak RSS of the report process: {result['peak_rss_mib']:.0f} MiB")
        sizes = {p.name: p.stat().st_size for p in sorted(run_dir.iterdir())
                 if p.suffix in (".html", ".png", ".xml")}
        print("files: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
