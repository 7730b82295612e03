"""Benchmark: what gauntlet's sample capture costs Locust, per Locust CPU-second; bar >= 0.95.

The same locustfile runs as bare Locust (``python -m locust``) and through gauntlet
(``python -m gauntlet.scenarios._locust_main`` with ``GAUNTLET_SAMPLES_DIR`` set: one CSV row
per request, or with ``--sample-mode hdr`` HdrHistogram cells), ``--repeats`` times. The two
sides of a repeat run *at the same time*, as a pair: a machine shared with other work slows
both alike, where one side after the other lets a neighbour's burst land on one side only.

The headline is requests per CPU-second of each Locust process during its load phase
(``benchmarks/_probe.py``: user + system time and request count from ``test_start`` to
``test_stop``): the generator's cost per request, which is what the capture adds to and what a
busy machine disturbs least. Its bar is the median over pairs of captured/bare >= 0.95. Why
not the whole process: start-up is ~1 CPU-s of fixed cost per Locust, a large and noisy share
of a short run on a busy machine; the whole-process figure (reaped with ``os.wait4``, the
capture's imports included) and requests per second are printed as cross-checks, wrk (1
thread, HTTP only) on the same target for scale. ``--aa`` runs bare against bare: the noise
floor of a pair.

* ``--protocol http``: a private nginx (1 worker process, a static 13-byte file, no access
  log) and ``FastHttpUser`` (``benchmarks/locust_static.py``, ``constant(0)`` wait).
* ``--protocol ws``: a ``websockets`` echo server (``benchmarks/ws_echo.py``) and a
  ``websocket-client`` user that connects once and then sends and awaits messages in a loop,
  one ``events.request`` per round trip (``benchmarks/locust_ws.py``).

    .venv/bin/python benchmarks/bench_generator.py [--protocol http|ws] [--users 32]
        [--seconds 15] [--repeats 7] [--sample-mode rows|hdr] [--aa]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

BAR = 0.95
LOCUSTFILES = {"http": common.STATIC_LOCUSTFILE,
               "ws": common.REPO / "benchmarks" / "locust_ws.py"}
UNIT = {"http": "req", "ws": "msg"}


def captured_count(raw: Path, mode: str) -> int:
    """Requests the capture wrote: CSV rows, or the counts of the hdr cells."""
    if mode == "hdr":
        return sum(json.loads(line)["count"] for p in raw.glob("hdr-*.jsonl")
                   for line in p.open() if line.strip())
    return sum(sum(1 for _ in p.open()) - 1 for p in raw.glob("samples-*.csv"))


def target_for(protocol: str) -> contextlib.AbstractContextManager[common.Target]:
    return common.nginx_server() if protocol == "http" else common.ws_echo_server()


def main() -> int:
    common.use_venv()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=("http", "ws"), default="http")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=15)
    # a pair's ratio moves by a few per cent on a busy box: the median of 7 by well under that
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sample-mode", choices=("rows", "hdr"), default="rows")
    parser.add_argument("--aa", action="store_true",
                        help="both sides bare Locust: the noise floor of a pair")
    args = parser.parse_args()
    unit = UNIT[args.protocol]

    per_cpu: dict[str, list[float]] = {"bare": [], "captured": []}  # load phase
    whole: dict[str, list[float]] = {"bare": [], "captured": []}  # whole process
    rate: dict[str, list[float]] = {"bare": [], "captured": []}
    every_request_captured = True
    wrk = float("nan")
    with tempfile.TemporaryDirectory(prefix="gauntlet-bench-gen-") as tmp, \
            target_for(args.protocol) as target:
        for i in range(args.repeats):
            # both sides at once; which one starts first alternates
            order = ("bare", "captured") if i % 2 == 0 else ("captured", "bare")
            started: dict[str, common.LocustProcess] = {}
            raw = Path(tmp) / f"captured-{i}" / "raw"
            raw.mkdir(parents=True)
            with contextlib.ExitStack() as pair:  # a failed pair leaves no Locust running
                for side in order:
                    captured = side == "captured" and not args.aa
                    env = (common.python_env(GAUNTLET_SAMPLES_DIR=str(raw),
                                             GAUNTLET_SAMPLE_MODE=args.sample_mode)
                           if captured else common.python_env())
                    started[side] = pair.enter_context(common.LocustProcess(
                        "gauntlet.scenarios._locust_main" if captured else "locust",
                        target.url, users=args.users, run_time_s=args.seconds,
                        workdir=Path(tmp) / f"{side}-{i}", locustfile=LOCUSTFILES[args.protocol],
                        env=env))
                results = {side: process.wait() for side, process in started.items()}
            for side, result in results.items():
                per_cpu[side].append(result.load_requests_per_cpu_s)
                whole[side].append(result.requests_per_cpu_s)
                rate[side].append(result.rps)
                if side == "captured" and not args.aa:
                    every_request_captured &= (
                        captured_count(raw, args.sample_mode) == result.requests > 0)
                print(f"  pair {i + 1} {side:8s} {result.load_requests_per_cpu_s:6.0f} {unit} "
                      f"per CPU-s ({result.load_requests} in {result.load_cpu_s:.2f} CPU-s of "
                      f"load; whole process {result.requests_per_cpu_s:.0f}), "
                      f"{result.rps:.0f} {unit}/s", file=sys.stderr)
        if args.protocol == "http":
            wrk = common.run_wrk(target.url + common.STATIC_PATH, connections=args.users,
                                 duration_s=args.seconds)

    def pair_ratios(figure: dict[str, list[float]]) -> list[float]:
        return [round(c / b, 3) for c, b in zip(figure["captured"], figure["bare"], strict=True)]

    pairs = pair_ratios(per_cpu)
    ratio = common.median(pairs)
    cpu_c, cpu_b = common.median(per_cpu["captured"]), common.median(per_cpu["bare"])
    what = "bare (A/A)" if args.aa else f"captured ({args.sample_mode})"
    ok = ratio >= BAR and every_request_captured
    print(f"generator cost ({args.protocol}): {what} {cpu_c:.0f}, bare {cpu_b:.0f} {unit} per "
          f"Locust CPU-s of load; captured/bare {ratio:.3f}, median of {len(pairs)} same-time "
          f"pairs {pairs} (bar >= {BAR}): {'PASS' if ok else 'FAIL'}")
    whole_pairs, rate_pairs = pair_ratios(whole), pair_ratios(rate)
    print(f"  cross-checks: whole process (start-up included) {common.median(whole_pairs):.3f} "
          f"{whole_pairs}; {unit}/s captured {common.median(rate['captured']):.0f}, bare "
          f"{common.median(rate['bare']):.0f}, {common.median(rate_pairs):.3f} {rate_pairs}; "
          f"every request captured: {'n/a (A/A)' if args.aa else every_request_captured}")
    scale = f"; wrk {wrk:.0f} req/s" if args.protocol == "http" else ""
    print(f"  {args.users} users per side, {args.seconds} s, both sides at once; "
          f"{common.load_average()}{scale}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
