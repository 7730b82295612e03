"""Retry verdicts: a transient fault is absorbed — success stays high, retries are visible in
the server's metrics, and the latency they add stays within the backoff budget."""

from __future__ import annotations

import pandas as pd

from checks.verdict import Verdict
from checks.windows import backoff_budget_s, failed, fault_windows, ok_fraction, overlapping
from gauntlet.policy import Policy
from gauntlet.timeline import Event

CHECK = "retries"


def retry_verdicts(samples: pd.DataFrame, events: list[Event], policy: Policy, *,
                   target: str, retries_delta: float | None, min_success: float,
                   endpoints: tuple[str, ...]) -> list[Verdict]:
    df = samples[samples["name"].astype("string").isin(endpoints)]
    windows = fault_windows(events, target)
    if not windows or df.empty:
        return [Verdict(CHECK, f"experiment ran [{target}]", False,
                        f"no fault on {target} or no requests to {', '.join(endpoints)}")]
    budget_s = backoff_budget_s(policy.retry_attempts, policy.retry_initial_s, policy.retry_max_s)
    affected = pd.concat([overlapping(df, w.start_s, w.end_s + budget_s) for w in windows])
    affected = affected[~affected.index.duplicated()]
    out: list[Verdict] = []

    ok = ok_fraction(affected)
    n_failed = int(failed(affected).sum())
    out.append(Verdict(
        CHECK, f"transient fault absorbed [{target}]", ok >= min_success,
        f"{ok * 100:.2f} % of {len(affected)} requests around {len(windows)} "
        f"{target} fault(s) succeeded ({n_failed} failed; need ≥ {min_success * 100:.1f} %)",
        round(ok, 5), min_success, "ratio"))

    if retries_delta is None:
        out.append(Verdict(CHECK, f"retries visible in /metrics [{target}]", False,
                           "retries_total not readable from /metrics", None, "> 0"))
    else:
        out.append(Verdict(
            CHECK, f"retries visible in /metrics [{target}]", retries_delta > 0,
            f"retries_total{{target={target}}} rose by {retries_delta:.0f} over the run",
            retries_delta, "> 0"))

    fault_s = max(w.duration_s for w in windows)
    timeout_s = policy.db_connect_timeout_s if target == "postgres" else policy.upstream_timeout_s
    before = df[df["t_start_s"] < windows[0].start_s]
    base_p99 = float(before["latency_ms"].quantile(0.99)) / 1000.0 if len(before) else 0.0
    bound_s = fault_s + budget_s + base_p99 + min(timeout_s, fault_s) + 0.25
    worst_s = float(affected["latency_ms"].max()) / 1000.0
    out.append(Verdict(
        CHECK, f"added latency within the backoff budget [{target}]", worst_s <= bound_s,
        f"slowest request around the fault took {worst_s:.2f} s; bound {bound_s:.2f} s "
        f"(fault {fault_s:.2f} s + backoff {budget_s:.2f} s + steady p99 {base_p99:.2f} s "
        f"+ one attempt)",
        round(worst_s, 3), round(bound_s, 3), "s"))
    return out
