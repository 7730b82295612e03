"""Benchmark: analysis of 1,000,000 samples — load, figures, per-endpoint figures; bar 300 MB.

Synthesises a run's ``samples.parquet`` (the samples schema of ``docs/run-dir.md``: 5 endpoints,
an open-model lag, some 5xx, 429s and timeouts, two workers, a ``ref`` on creates), then in a
fresh process — so the figure is the analysis' own plus the imports any ``gauntlet`` command
pays — runs :func:`gauntlet.samples.load_samples`, :func:`gauntlet.latency.figures` and
:func:`gauntlet.latency.by_endpoint`, and reports wall time and peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss`` of that process).

    .venv/bin/python benchmarks/bench_analysis.py [--samples 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

BAR_MB = 300.0
T0 = 1_700_000_000.0
ENDPOINTS = {  # name: (share, median ms)
    "GET /api/orders": (0.35, 12.0),
    "GET /api/orders/{id}": (0.30, 6.0),
    "POST /api/orders": (0.15, 25.0),
    "POST /auth/login": (0.05, 60.0),
    "POST /api/generate": (0.15, 40.0),
}

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from pathlib import Path
from gauntlet.latency import by_endpoint, figures
from gauntlet.samples import load_samples
t1 = time.perf_counter()
df = load_samples(Path(sys.argv[1]))
overall = figures(df)
endpoints = by_endpoint(df, duration_s=overall.duration_s)
t2 = time.perf_counter()
hwm_kb = int(next(line.split()[1] for line in open("/proc/self/status")
                  if line.startswith("VmHWM:")))
print(json.dumps({
    "count": overall.count, "p99_ms": overall.p99_ms, "endpoints": len(endpoints),
    "import_s": t1 - t0, "analysis_s": t2 - t1,
    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    "vmhwm_mb": hwm_kb / 1024.0,
}))
"""


def synthesise(n: int, path: Path, seed: int = 11) -> None:
    import numpy as np
    import pandas as pd

    from gauntlet.samples import DTYPES

    rng = np.random.default_rng(seed)
    names = list(ENDPOINTS)
    shares = np.array([ENDPOINTS[k][0] for k in names])
    which = rng.choice(len(names), size=n, p=shares / shares.sum())
    t_start = T0 + np.sort(rng.uniform(0.0, 60.0, n))
    latency = np.array([ENDPOINTS[k][1] for k in names])[which] * rng.lognormal(0.0, 0.5, n)
    draw = rng.uniform(size=n)
    status = np.where(draw < 0.003, 503, np.where(draw < 0.013, 429, 200)).astype("int32")
    timeout = (draw >= 0.013) & (draw < 0.0135)
    status[timeout] = 0
    latency[timeout] = 5000.0
    error = np.where(timeout, "timeout", np.where(status >= 400, "http", ""))
    creates = which == names.index("POST /api/orders")
    ref = np.where(creates, np.char.add("gauntlet-", np.arange(n).astype(str)), "")
    frame = pd.DataFrame({
        "t_intended_s": t_start - rng.exponential(0.0005, n),
        "t_start_s": t_start,
        "latency_ms": latency,
        "method": [k.split(" ", 1)[0] for k in np.asarray(names, dtype=object)[which]],
        "name": np.asarray(names, dtype=object)[which],
        "status": status,
        "error": error,
        "bytes": rng.integers(200, 4000, n),
        "worker": np.where(which % 2 == 0, "bench:101", "bench:102"),
        "ref": ref,
    })
    for column, dtype in DTYPES.items():
        frame[column] = frame[column].astype(dtype)
    frame.to_parquet(path / "samples.parquet", index=False)


def main() -> int:
    common.use_venv()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--synthesise", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synthesise:
        synthesise(args.samples, Path(args.synthesise))
        return 0
    with tempfile.TemporaryDirectory(prefix="gauntlet-bench-analysis-") as tmp:
        run_dir = Path(tmp)
        # Synthesised in a process of its own: Linux carries a process' peak RSS across
        # fork+exec into the child's ru_maxrss, so this process must stay small.
        subprocess.run([sys.executable, __file__, "--samples", str(args.samples),
                        "--synthesise", str(run_dir)], check=True, env=common.python_env())
        size_mb = (run_dir / "samples.parquet").stat().st_size / 1e6
        out = subprocess.run([sys.executable, "-c", CHILD, str(run_dir)], check=True,
                             capture_output=True, text=True, cwd=common.REPO,
                             env=common.python_env()).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["count"] == args.samples, result
    mb = result["maxrss_mb"]
    print(f"analysis of {args.samples} samples: {result['analysis_s']:.2f} s, peak RSS "
          f"{mb:.0f} MB (bar <= {BAR_MB:.0f} MB)")
    print(f"  load_samples + figures + by_endpoint ({result['endpoints']} endpoints); imports "
          f"{result['import_s']:.2f} s more; VmHWM {result['vmhwm_mb']:.0f} MB; samples.parquet "
          f"{size_mb:.1f} MB; {common.load_average()}")
    return 0 if mb <= BAR_MB else 1


if __name__ == "__main__":
    sys.exit(main())
