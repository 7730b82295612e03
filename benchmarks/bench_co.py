"""Benchmark: coordinated omission — a 2 s server freeze must show in the corrected p99.

Open model at a fixed rate R (200 req/s) for T = 30 s against ``GET /health/live`` of the local
stack, through the ``api`` proxy. In the middle the API process is frozen for D = 2 s with
SIGSTOP/SIGCONT (``stack.services["api"].send_signal``): the classic stop-the-world pause.

Why a signal and not a Toxiproxy toxic: ``latency`` delays every byte by the *same* amount
(a slow link, not a stall), ``timeout`` and ``down`` drop or refuse in-flight requests instead of
delaying them, and ``bandwidth``/``slicer`` slow the transfer rather than hold it. Only a frozen
process makes every request that arrives during D wait until D ends, which is the pattern the
analytic expectation below describes.

Analytic expectation: a request scheduled at offset u into the stall completes about D - u later,
so the R·D stalled requests have corrected latencies spread evenly over (0, D]. When they are
more than 1 % of the run's R·T requests, the top 1 % of all requests are the stalled ones with
u < 0.01·T, hence p99 ≈ D - 0.01·T (+ the base latency, taken as the run's service p50).
The server still has to work off its backlog after SIGCONT, so the measurement may exceed it.

Two runs: with a user pool large enough that no slot waits for a free user (max_concurrency
= max(600, 3·R·D), 1200 here: the stalled requests hold R·D users), the requests are sent on
time and sit in the frozen server, so service time sees the stall too; and with a small pool
(20 users), where the generator itself stalls — the textbook coordinated omission: the service
time forgets the stall, the corrected latency (from each slot's intended start) does not.

    .venv/bin/python benchmarks/bench_co.py [--rate 200] [--seconds 30] [--stall 2]
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

BAR = 0.9
LOCUSTFILE = Path(__file__).resolve().with_name("locust_live.py")


def stalled_run(stack: Any, run_dir: Path, *, rate: float, seconds: float, stall_s: float,
                pool: int) -> tuple[Any, float, dict[str, Any]]:
    """One open-model run with a SIGSTOP of the API in its middle; (figures, stall, generator)."""
    from gauntlet.config import LoadConfig
    from gauntlet.latency import figures
    from gauntlet.samples import load_samples
    from gauntlet.scenarios.runner import LoadRun

    load = LoadConfig(scenario=str(LOCUSTFILE), model="open", rate=rate, duration_s=seconds,
                      max_concurrency=pool)
    api = stack.services["api"]
    run = LoadRun(load, stack.base_url, run_dir).start()
    stalled = 0.0
    try:
        # Locust needs ~1-2 s to start; the stall lands near the middle of the schedule
        time.sleep(seconds / 2 - stall_s / 2 + 1.5)
        api.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        try:
            time.sleep(stall_s)
        finally:
            api.send_signal(signal.SIGCONT)
            stalled = time.monotonic() - t0
        result = run.wait()
    finally:
        api.send_signal(signal.SIGCONT)  # never leave the API frozen
        run.stop()
    unsent = sum(float(g.get("slots_unsent", 0.0)) for g in result.generator)
    df = load_samples(run_dir)
    return figures(df, corrected=True), stalled, {"unsent": unsent}


def main() -> int:
    common.use_venv()
    from gauntlet.boot import boot
    from gauntlet.config import parse_suite

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--stall", type=float, default=2.0)
    args = parser.parse_args()
    rate, total, stall = args.rate, args.seconds, args.stall
    big_pool = max(600, int(3 * rate * stall))

    suite = parse_suite({"name": "bench-co", "contract": str(common.CONTRACT)},
                        needs_work=False)
    with tempfile.TemporaryDirectory(prefix="gauntlet-bench-co-") as tmp, \
            boot(suite, logs_dir=Path(tmp) / "logs") as stack:
        big, d_big, gen_big = stalled_run(stack, Path(tmp) / "big", rate=rate, seconds=total,
                                          stall_s=stall, pool=big_pool)
        small, d_small, gen_small = stalled_run(stack, Path(tmp) / "small", rate=rate,
                                                seconds=total, stall_s=stall, pool=20)

    def analytic_ms(d_s: float, base_ms: float) -> float:
        assert rate * d_s >= 0.01 * rate * total, "stall too short for p99 to fall inside it"
        return (d_s - 0.01 * total) * 1000.0 + base_ms

    y = analytic_ms(d_big, big.service_p50_ms)
    ratio = big.p99_ms / y
    print(f"corrected p99 {big.p99_ms:.0f} ms, analytic {y:.0f} ms, ratio {ratio:.3f} "
          f"(bar >= {BAR}); uncorrected p99 {big.service_p99_ms:.0f} ms")
    print(f"  pool {big_pool} users: {big.count} requests, {big.rps:.0f} req/s, stall "
          f"{d_big * 1000:.0f} ms, late {big.late}, unsent {gen_big['unsent']:.0f}: the requests "
          "were sent on time, so the server's stall is in their service time as well")
    y_small = analytic_ms(d_small, small.service_p50_ms)
    print(f"  pool 20 users (generator blocked too): corrected p99 {small.p99_ms:.0f} ms, "
          f"analytic {y_small:.0f} ms, ratio {small.p99_ms / y_small:.3f}; uncorrected p99 "
          f"{small.service_p99_ms:.0f} ms; late {small.late} of {small.count}, unsent "
          f"{gen_small['unsent']:.0f}")
    print(f"  R {rate:g} req/s, T {total:g} s, D {stall:g} s (SIGSTOP/SIGCONT of the API); "
          f"{common.load_average()}")
    return 0 if ratio >= BAR else 1


if __name__ == "__main__":
    sys.exit(main())
