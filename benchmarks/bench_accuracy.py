"""Benchmark: latency accuracy — a 100 ms Toxiproxy latency toxic must show as +100 ms (±2 %).

Boots the local stack, drives ``GET /health/live`` through the ``api`` proxy on the open model
(``benchmarks/locust_live.py``, fixed rate) twice — without and with a ``latency`` toxic of
100 ms on the ``api`` proxy's downstream — and compares the service-time p50 of the two runs,
computed by gauntlet from the raw samples. The error is |(p50 with - p50 without) - 100 ms|
relative to 100 ms.

    .venv/bin/python benchmarks/bench_accuracy.py [--rate 50] [--seconds 15]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

BAR_PERCENT = 2.0
TOXIC_MS = 100.0
LOCUSTFILE = Path(__file__).resolve().with_name("locust_live.py")


def main() -> int:
    common.use_venv()
    import gauntlet  # noqa: F401  (first: chaos.faults imported alone is a circular import)
    from gauntlet.boot import boot
    from gauntlet.chaos.faults import Fault
    from gauntlet.config import LoadConfig, parse_suite
    from gauntlet.latency import figures
    from gauntlet.samples import load_samples
    from gauntlet.scenarios.runner import LoadRun

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()

    load = LoadConfig(scenario=str(LOCUSTFILE), model="open", rate=args.rate,
                      duration_s=args.seconds, max_concurrency=100)
    suite = parse_suite({"name": "bench-accuracy", "contract": str(common.CONTRACT)},
                        needs_work=False)
    p50: dict[str, float] = {}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="gauntlet-bench-acc-") as tmp, \
            boot(suite, logs_dir=Path(tmp) / "logs") as stack:
        for phase in ("without", "with"):
            run_dir = Path(tmp) / phase
            run_dir.mkdir()
            if phase == "with":
                with stack.faults().inject(Fault("api", "latency", {"latency": TOXIC_MS})):
                    LoadRun(load, stack.base_url, run_dir).start().wait()
            else:
                LoadRun(load, stack.base_url, run_dir).start().wait()
            fig = figures(load_samples(run_dir), corrected=False)
            p50[phase] = fig.p50_ms
            counts[phase] = fig.count
            print(f"  {phase:7s} toxic: {fig.count} requests, {fig.rps:.1f} req/s, "
                  f"p50 {fig.p50_ms:.2f} ms, p99 {fig.p99_ms:.2f} ms, errors {fig.errors}",
                  file=sys.stderr)

    diff = p50["with"] - p50["without"]
    error = abs(diff - TOXIC_MS) / TOXIC_MS * 100.0
    print(f"p50 without {p50['without']:.2f} ms, p50 with {p50['with']:.2f} ms, difference "
          f"{diff:.2f} ms; error vs {TOXIC_MS:.0f} ms: {error:.2f} % (bar <= {BAR_PERCENT:g} %)")
    print(f"  {counts['without']} + {counts['with']} requests at {args.rate:g} req/s, "
          f"{args.seconds:g} s each, open model through the api proxy; {common.load_average()}")
    return 0 if error <= BAR_PERCENT else 1


if __name__ == "__main__":
    sys.exit(main())
