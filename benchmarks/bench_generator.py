"""Benchmark: generator rate with full sample capture vs bare Locust; the bar is a ratio >= 0.95.

Against a private nginx (1 worker process, a static 13-byte file, no access log), the same
FastHttpUser locustfile (``benchmarks/locust_static.py``, ``constant(0)`` wait) runs as bare
Locust (``python -m locust``) and through gauntlet (``python -m gauntlet.scenarios._locust_main``
with
``GAUNTLET_SAMPLES_DIR`` set: one CSV row per request). Same users, same duration, alternated
``--repeats`` times; the rates are Locust's own final Aggregated req/s and the medians are compared.
wrk (1 thread) on the same target is printed for reference: the ceiling of this box.

    .venv/bin/python benchmarks/bench_generator.py [--users 32] [--seconds 15] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

BAR = 0.95


def main() -> int:
    common.use_venv()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    bare: list[float] = []
    captured: list[float] = []
    per_cpu: dict[str, list[float]] = {"bare": [], "captured": []}
    rows_ok = True
    with tempfile.TemporaryDirectory(prefix="gauntlet-bench-gen-") as tmp, \
            common.nginx_server() as target:
        url = target.url
        for i in range(args.repeats):
            # alternate which side goes first, so a slow spell of the machine hits both
            order = ("bare", "captured") if i % 2 == 0 else ("captured", "bare")
            for side in order:
                work = Path(tmp) / f"{side}-{i}"
                if side == "bare":
                    result = common.run_locust("locust", url, users=args.users,
                                               run_time_s=args.seconds, workdir=work)
                    bare.append(result.rps)
                else:
                    raw = work / "raw"
                    raw.mkdir(parents=True)
                    result = common.run_locust(
                        "gauntlet.scenarios._locust_main", url, users=args.users,
                        run_time_s=args.seconds, workdir=work,
                        env=common.python_env(GAUNTLET_SAMPLES_DIR=str(raw)))
                    rows = sum(sum(1 for _ in p.open()) - 1 for p in raw.glob("samples-*.csv"))
                    rows_ok &= rows == result.requests > 0
                    captured.append(result.rps)
                per_cpu[side].append(result.requests_per_cpu_s)
                print(f"  run {i + 1} {side:8s} {result.rps:8.0f} req/s, "
                      f"{result.requests_per_cpu_s:8.0f} req per CPU-s", file=sys.stderr)
        wrk = common.run_wrk(url + common.STATIC_PATH, connections=args.users,
                             duration_s=args.seconds)

    c, b = common.median(captured), common.median(bare)
    ratio = c / b
    print(f"generator rate: captured {c:.0f} req/s, bare {b:.0f} req/s, ratio {ratio:.3f} "
          f"(bar >= {BAR}); wrk {wrk:.0f} req/s (captured/wrk = {c / wrk:.3f})")
    pairs = [round(c_ / b_, 3) for c_, b_ in zip(captured, bare, strict=True)]
    print(f"  runs: captured {[round(x) for x in captured]}, bare {[round(x) for x in bare]}; "
          f"ratio of each pair {pairs}, median {common.median(pairs):.3f}; "
          f"{args.users} users, {args.seconds} s each; every request captured: {rows_ok}; "
          f"{common.load_average()}")
    cpu_c, cpu_b = common.median(per_cpu["captured"]), common.median(per_cpu["bare"])
    print(f"  cross-check, requests per CPU second of Locust: captured {cpu_c:.0f}, bare "
          f"{cpu_b:.0f}, ratio {cpu_c / cpu_b:.3f} (less disturbed by other work on the box)")
    return 0 if ratio >= BAR and rows_ok else 1


if __name__ == "__main__":
    sys.exit(main())
