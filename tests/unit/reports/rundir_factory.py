"""Synthetic run dirs in the exact schema of docs/run-dir.md, for the report tests.

A plain module (not conftest.py) so tests can import it by a name no other test dir uses.

Every file is optional, as in a real run dir: a test writes only what the situation it models
would have left behind (a crashed run: events and raw CSVs only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gauntlet.latency import by_endpoint, figures
from gauntlet.samples import DTYPES

T0 = 1_700_000_000.0
ENDPOINTS = ("GET /api/orders", "GET /api/orders/{id}", "POST /api/orders", "POST /api/login",
             "POST /api/generate")
SUITE_TOML = """name = "synthetic"
description = "synthetic run dir for report tests"

[stack]
backend = "local"

[load]
scenario = "api_mix"
users = 10
duration_s = 30
"""


@dataclass(frozen=True)
class Fault:
    """Requests starting in [start_s, end_s) (run seconds) are ``factor`` times slower."""

    start_s: float
    end_s: float
    factor: float = 10.0
    proxy: str = "upstream"


def samples_frame(
    n: int = 3000, *, duration_s: float = 30.0, seed: int = 0,
    endpoints: Sequence[str] = ENDPOINTS, base_ms: float = 20.0, scale: float = 1.0,
    fault: Fault | None = None, p5xx: float = 0.0, p429: float = 0.0, ptransport: float = 0.0,
    lag_ms: float = 0.0, start_s: float = T0,
) -> pd.DataFrame:
    """``n`` requests spread evenly over ``duration_s``, lognormal latencies around ``base_ms``
    times ``scale``, with the given fault and error mix. Dtypes are gauntlet.samples.DTYPES."""
    rng = np.random.default_rng(seed)
    t_start = start_s + np.sort(rng.uniform(0, duration_s, n))
    latency = base_ms * scale * rng.lognormal(0.0, 0.35, n)
    if fault is not None:
        rel = t_start - start_s
        latency[(rel >= fault.start_s) & (rel < fault.end_s)] *= fault.factor
    status = np.full(n, 200, dtype="int32")
    error = np.full(n, "", dtype=object)
    draw = rng.uniform(size=n)
    status[draw < p5xx] = 503
    status[(draw >= p5xx) & (draw < p5xx + p429)] = 429
    transport = (draw >= p5xx + p429) & (draw < p5xx + p429 + ptransport)
    status[transport] = 0
    error[transport] = "timeout"
    error[(status >= 400)] = "http"
    names = np.asarray(endpoints)[rng.integers(0, len(endpoints), n)]
    frame = pd.DataFrame({
        "t_intended_s": t_start - lag_ms / 1000.0,
        "t_start_s": t_start,
        "latency_ms": latency,
        "method": [name.split(" ", 1)[0] for name in names],
        "name": names,
        "status": status,
        "error": error,
        "bytes": np.full(n, 512),
        "worker": "host:1",
    })
    for column, dtype in DTYPES.items():  # the rest of the schema, whatever it holds today
        if column not in frame:
            frame[column] = "" if dtype in ("string", "category", "object") else 0
    return frame[list(DTYPES)].astype(DTYPES)


def summary_for(samples: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    """A finished run's summary.json with figures computed the way the runner does."""
    overall = figures(samples, corrected=False)
    endpoints = by_endpoint(samples, corrected=False, duration_s=overall.duration_s or None)
    start = float(samples["t_start_s"].min()) if len(samples) else T0
    data: dict[str, Any] = {
        "schema_version": 1, "run_id": "20231114-221320-synthetic", "suite": "synthetic",
        "description": "synthetic", "started_at_s": start - 2.0,
        "finished_at_s": start + overall.duration_s + 1.0, "status": "pass", "exit_code": 0,
        "backend": "local", "contract": "reference-stack",
        "variants": [], "boot_time_s": 1.8, "versions": {"python": "3.11", "locust": "2.47.0"},
        "load": {"scenario": "api_mix", "model": "closed", "users": 10, "duration_s": 30},
        "overall": overall.as_dict(),
        "endpoints": {k: v.as_dict() for k, v in endpoints.items()},
        "latency_basis": "service",
        "generator": {"reliable": True, "reasons": [], "max_cpu_percent": 40.0},
        "metrics_crosscheck": {"GET /api/orders": {"client": 100.0, "server": 100.0,
                                                   "diff": 0.0}},
        "verdicts": [],
    }
    data.update(extra)
    return data


def verdict(check: str, name: str, passed: bool | str, reason: str = "", observed: Any = 1.0,
            threshold: Any = 2.0, unit: str = "ms", unreliable: bool = False,
            marginal: bool = False, claim: str = "") -> dict[str, Any]:
    """A verdicts.json entry; ``passed`` is a bool (pass/fail) or a status string
    (``"inconclusive"``)."""
    status = passed if isinstance(passed, str) else ("pass" if passed else "fail")
    return {"check": check, "name": name, "passed": status == "pass",
            "status": status, "reason": reason or f"{name} reason",
            "observed": observed, "threshold": threshold, "unit": unit,
            "unreliable": unreliable, "marginal": marginal, "claim": claim}


def fault_events(fault: Fault, start_s: float = T0) -> list[dict[str, Any]]:
    common = {"proxy": fault.proxy, "fault": "latency", "attributes": {"latency": 500},
              "stream": "downstream", "toxicity": 1.0, "description": "latency 500 ms"}
    return [{"at_s": start_s + fault.start_s, "kind": "fault.applied", **common},
            {"at_s": start_s + fault.end_s, "kind": "fault.removed", **common}]


def write_run_dir(
    path: Path, *, samples: pd.DataFrame | None = None, raw_csv: bool = False,
    events: list[dict[str, Any]] | None = None, summary: dict[str, Any] | None = None,
    verdicts: list[dict[str, Any]] | None = None, suite_toml: str | None = SUITE_TOML,
) -> Path:
    """Write the given parts of a run dir; ``raw_csv`` writes the samples as a worker's raw
    CSV instead of the merged parquet (a run that never merged)."""
    path.mkdir(parents=True, exist_ok=True)
    if suite_toml is not None:
        (path / "suite.toml").write_text(suite_toml)
    if samples is not None:
        if raw_csv:
            (path / "raw").mkdir(exist_ok=True)
            samples.to_csv(path / "raw" / "samples-4242.csv", index=False)
        else:
            samples.to_parquet(path / "samples.parquet", index=False)
    if events is not None:
        with (path / "events.jsonl").open("w") as fh:
            for event in events:
                fh.write(json.dumps(event) + "\n")
    if summary is not None:
        (path / "summary.json").write_text(json.dumps(summary, indent=2))
    if verdicts is not None:
        (path / "verdicts.json").write_text(json.dumps(verdicts, indent=2))
    return path


def breaker_run(path: Path) -> Path:
    """The failed-breaker run the screenshot check looks at: upstream slowed from 10 s to 25 s,
    the breaker opened too late, one failing verdict with a reason; and all three outcomes on
    one page: two passes, two inconclusive (one for lack of evidence, one marginal)."""
    fault = Fault(8.0, 23.0, factor=25.0)  # sample time: load starts 2 s after boot
    samples = samples_frame(12_000, duration_s=35.0, fault=fault, p5xx=0.02, p429=0.01,
                            start_s=T0 + 2.0)
    events = [
        {"at_s": T0, "kind": "phase", "name": "boot"},
        {"at_s": T0 + 1.5, "kind": "stack.ready", "boot_time_s": 1.5, "backend": "local"},
        {"at_s": T0 + 2.0, "kind": "phase", "name": "load"},
        {"at_s": T0 + 2.0, "kind": "phase", "name": "steady"},
        *fault_events(Fault(10.0, 25.0), T0),
        {"at_s": T0 + 10.0, "kind": "phase", "name": "fault"},
        {"at_s": T0 + 11.0, "kind": "breaker.state", "name": "upstream", "state": "closed"},
        {"at_s": T0 + 15.8, "kind": "breaker.state", "name": "upstream", "state": "open"},
        {"at_s": T0 + 20.8, "kind": "breaker.state", "name": "upstream", "state": "half-open"},
        {"at_s": T0 + 25.0, "kind": "phase", "name": "recovery"},
        {"at_s": T0 + 26.0, "kind": "breaker.state", "name": "upstream", "state": "closed"},
        {"at_s": T0 + 37.5, "kind": "phase", "name": "done"},
    ]
    verdicts = [
        verdict("breaker", "breaker opened within 2 s", False,
                "breaker 'upstream' opened 5.8 s after the fault (limit 2.0 s): 1,912 requests "
                "waited on the slow upstream meanwhile", observed=5.8, threshold=2.0, unit="s"),
        verdict("breaker", "breaker closed after recovery", True,
                "closed 1.0 s after the fault was removed", observed=1.0, threshold=10.0,
                unit="s"),
        verdict("slo", "error_rate [overall]", True, "overall: error_rate 2.00 % ≤ 5.00 %",
                observed=0.02, threshold=0.05, unit="ratio"),
        verdict("slo", "p99_ms [overall]", True, "overall: p99_ms 900 ms ≤ 2000 ms",
                observed=900.0, threshold=2000.0, unit="ms", unreliable=True),
        verdict("retry", "retries absorbed the transient fault", "inconclusive",
                "no request was retried (the retries metric never moved), so the retry "
                "budget was not exercised", observed=None, threshold=3.0, unit=""),
        verdict("slowdep", "no request exceeds the deadline", "inconclusive",
                "max 1997 ms is within the 10 ms resolution of the 2000 ms deadline",
                observed=1997.0, threshold=2000.0, unit="ms", marginal=True),
    ]
    summary = summary_for(samples, suite="breaker-upstream", status="fail", exit_code=1,
                          started_at_s=T0, finished_at_s=T0 + 37.5, verdicts=verdicts,
                          variants=["breaker"], run_id="20231114-221320-breaker-upstream")
    return write_run_dir(path, samples=samples, events=events, summary=summary,
                         verdicts=verdicts)


class RunDirs:
    """Factory fixture: ``rundirs.write("name", samples=…)`` under the test's tmp_path."""

    samples = staticmethod(samples_frame)
    summary = staticmethod(summary_for)
    verdict = staticmethod(verdict)
    fault_events = staticmethod(fault_events)

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, **parts: Any) -> Path:
        return write_run_dir(self.root / name, **parts)

    def breaker(self, name: str = "breaker") -> Path:
        return breaker_run(self.root / name)
