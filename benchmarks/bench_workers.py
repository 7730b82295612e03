"""Benchmark: two Locust worker processes vs one; the bar is 2 workers / 1 worker >= 1.6.

Against the private nginx of ``bench_generator`` (1 worker process, static file), the same
closed-model load (``benchmarks/locust_static.py``, ``constant(0)``) runs through gauntlet's own
:class:`gauntlet.scenarios.runner.LoadRun` with ``LoadConfig(workers=1)`` and ``workers=2``
(Locust's
``--processes 2``), alternated ``--repeats`` times; rates are Locust's final Aggregated req/s,
medians compared. The 2-worker runs must leave samples from two distinct ``worker`` values in
the merged ``samples.parquet``.

On a 2-core box the two Locust workers, Locust's master and nginx share two cores, so the
ceiling is below 2.0 by construction; the figure is printed as measured.

    .venv/bin/python benchmarks/bench_workers.py [--users 32] [--seconds 15] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

BAR = 1.6


@dataclass
class Run:
    rps: float  # Locust's Aggregated req/s
    samples: int  # rows in the merged samples.parquet
    workers_seen: int  # distinct ``worker`` values among them
    locust_cpu_s: float  # Locust master + workers
    nginx_cpu_s: float


def one_run(target: common.Target, run_dir: Path, *, workers: int, users: int,
            seconds: int) -> Run:
    """One LoadRun against nginx, with the CPU time each side spent."""
    from gauntlet.config import LoadConfig
    from gauntlet.samples import load_samples
    from gauntlet.scenarios.runner import LoadRun

    load = LoadConfig(scenario=str(common.STATIC_LOCUSTFILE), model="closed", users=users,
                      duration_s=seconds, workers=workers)
    run_dir.mkdir(parents=True)
    nginx_before = target.cpu_s()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # Locust's tree, once it is reaped
    LoadRun(load, target.url, run_dir).start().wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    nginx_cpu = target.cpu_s() - nginx_before
    _, rps = common.locust_rate(run_dir / "logs" / "locust.log")
    df = load_samples(run_dir, columns=["worker"])
    locust_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(rps, len(df), int(df["worker"].nunique()), locust_cpu, nginx_cpu)


def main() -> int:
    common.use_venv()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rates: dict[int, list[float]] = {1: [], 2: []}
    distinct: list[int] = []
    nginx_share: list[float] = []  # nginx CPU per request / Locust CPU per request
    cpu_us: dict[int, list[float]] = {1: [], 2: []}  # Locust CPU per request
    with tempfile.TemporaryDirectory(prefix="gauntlet-bench-workers-") as tmp, \
            common.nginx_server() as target:
        for i in range(args.repeats):
            for workers in ((1, 2) if i % 2 == 0 else (2, 1)):
                run = one_run(target, Path(tmp) / f"w{workers}-{i}", workers=workers,
                              users=args.users, seconds=args.seconds)
                rates[workers].append(run.rps)
                cpu_us[workers].append(run.locust_cpu_s / max(run.samples, 1) * 1e6)
                if workers == 2:
                    distinct.append(run.workers_seen)
                else:
                    nginx_share.append(run.nginx_cpu_s / run.locust_cpu_s)
                print(f"  run {i + 1} workers={workers}: {run.rps:8.0f} req/s, {run.samples} "
                      f"samples from {run.workers_seen} worker(s); CPU s: Locust "
                      f"{run.locust_cpu_s:.1f}, nginx {run.nginx_cpu_s:.1f}", file=sys.stderr)

    one, two = common.median(rates[1]), common.median(rates[2])
    ratio = two / one
    merged = all(n == 2 for n in distinct)
    print(f"2 workers / 1 worker = {ratio:.2f} (bar >= {BAR}): {two:.0f} vs {one:.0f} req/s; "
          f"samples of both workers merged: {merged} (distinct worker values {distinct})")
    print(f"  runs: 1 worker {[round(x) for x in rates[1]]}, 2 workers "
          f"{[round(x) for x in rates[2]]}; {args.users} users, {args.seconds} s each; "
          f"{common.load_average()}")
    share = common.median(nginx_share)
    print(f"  CPU: nginx spends {share:.2f} s for every Locust CPU-second; with two busy Locust "
          f"workers on {os.cpu_count()} cores the ceiling is 2 / (1 + {share:.2f}) = "
          f"{2 / (1 + share):.2f} before Locust's master and anything else on the box; Locust "
          f"CPU per request {common.median(cpu_us[1]):.0f} µs with 1 worker, "
          f"{common.median(cpu_us[2]):.0f} µs with 2 (both vCPUs busy)")
    return 0 if ratio >= BAR and merged else 1


if __name__ == "__main__":
    sys.exit(main())
