"""Slow-dependency verdicts: latency added to PostgreSQL shows in the API's latency, no request
outlives the configured deadline, and an exhausted pool answers 503 quickly instead of queueing.

The pool verdict judges the *median* 503: a request that ran statements on one connection before
it waited for a second one answers later than the acquire timeout, legitimately; the typical
exhaustion answer must still come at the acquire timeout, and a pool that queues forever gives
no 503 at all.
"""

from __future__ import annotations

import pandas as pd

from checks.verdict import Verdict
from checks.windows import fault_windows, p95, started_in
from gauntlet.latency import percentile
from gauntlet.policy import Policy
from gauntlet.timeline import Event

CHECK = "slow-dependency"
SLACK_S = 0.5


def slowdep_verdicts(samples: pd.DataFrame, events: list[Event], policy: Policy, *,
                     latency_ms: float) -> list[Verdict]:
    windows = fault_windows(events, "postgres")
    if not windows:
        return [Verdict(CHECK, "experiment ran", False, "no fault on postgres recorded")]
    w = windows[0]
    during = started_in(samples, w.start_s, w.end_s)
    db = during[during["name"].astype("string").str.contains("/api/orders", regex=False)]
    out: list[Verdict] = []

    observed = p95(db["latency_ms"])
    out.append(Verdict(
        CHECK, "the fault shows in the API's latency", len(db) > 0 and observed >= latency_ms,
        f"p95 of {len(db)} database-backed requests {observed:.0f} ms with {latency_ms:.0f} ms "
        "added on PostgreSQL (less would mean the fault is not in the path)",
        round(observed, 1), latency_ms, "ms"))

    bound_ms = (policy.request_deadline_s + SLACK_S) * 1000.0
    slowest = float(samples["latency_ms"].max()) if len(samples) else float("nan")
    over = int((samples["latency_ms"] > bound_ms).sum())
    out.append(Verdict(
        CHECK, "no request exceeds the deadline", len(samples) > 0 and over == 0,
        f"slowest request {slowest:.0f} ms; {over} over the {policy.request_deadline_s:g} s "
        f"deadline (+{SLACK_S:g} s slack)",
        round(slowest, 1), bound_ms, "ms"))

    busy = during[during["status"] == 503]
    bound_busy_ms = (policy.db_acquire_timeout_s + SLACK_S) * 1000.0
    if busy.empty:
        waited = float(db["latency_ms"].max()) if len(db) else float("nan")
        out.append(Verdict(
            CHECK, "pool exhaustion answers 503 quickly", False,
            f"no 503 while the pool was saturated: requests queued instead "
            f"(slowest {waited:.0f} ms; statuses {sorted(set(db['status'].tolist()))})",
            None, bound_busy_ms, "ms"))
    else:
        observed = percentile(busy["latency_ms"].to_numpy(), 50.0)
        out.append(Verdict(
            CHECK, "pool exhaustion answers 503 quickly", observed <= bound_busy_ms,
            f"{len(busy)} 503 answers, median {observed:.0f} ms (acquire timeout "
            f"{policy.db_acquire_timeout_s:g} s + {SLACK_S:g} s)",
            round(observed, 1), bound_busy_ms, "ms"))
    return out
