"""Health semantics and degradation while a dependency is down.

Liveness answers "restart me?" and must stay 200 while only a dependency is gone; readiness
answers "send me traffic?" and must turn 503 quickly, then 200 again once the dependency is
back. Meanwhile the API must degrade, not collapse: with PostgreSQL down, writes fail fast with
503 and cached reads are still served; with Redis down, the API keeps serving.
"""

from __future__ import annotations

import pandas as pd

from checks.verdict import Verdict
from checks.windows import (
    Window,
    backoff_budget_s,
    failed,
    fault_windows,
    first_probe_after,
    ok_fraction,
    probes,
    started_in,
)
from gauntlet.policy import Policy
from gauntlet.timeline import Event

CHECK = "health"


def health_verdicts(samples: pd.DataFrame, events: list[Event], policy: Policy, *,
                    dependency: str, ready_within_s: float, recover_within_s: float,
                    max_error_rate: float) -> list[Verdict]:
    windows = fault_windows(events, dependency)
    if not windows:
        return [Verdict(CHECK, "experiment ran", False, f"no fault on {dependency} recorded")]
    w: Window = windows[0]
    tag = f"[{dependency} down]"
    out: list[Verdict] = []

    first_503 = first_probe_after(events, "ready", w.start_s, 503)
    took = (first_503.at_s - w.start_s) if first_503 and first_503.at_s < w.end_s else None
    out.append(Verdict(
        CHECK, f"ready 503 {tag}", took is not None and took <= ready_within_s,
        f"/health/ready answered 503 {took:.2f} s after {dependency} went down"
        if took is not None else f"/health/ready never answered 503 while {dependency} was down",
        None if took is None else round(took, 3), ready_within_s, "s"))

    live = [e for e in probes(events, "live") if w.start_s <= e.at_s < w.end_s]
    bad_live = [e for e in live if e.data.get("status") != 200]
    out.append(Verdict(
        CHECK, f"live stays 200 {tag}", len(live) > 0 and not bad_live,
        f"{len(live) - len(bad_live)} of {len(live)} liveness probes answered 200",
        len(bad_live), 0))

    back = first_probe_after(events, "ready", w.end_s, 200)
    took_back = back.at_s - w.end_s if back else None
    out.append(Verdict(
        CHECK, f"ready again after recovery {tag}",
        took_back is not None and took_back <= recover_within_s,
        f"/health/ready 200 again {took_back:.2f} s after {dependency} came back"
        if took_back is not None else "/health/ready never answered 200 after recovery",
        None if took_back is None else round(took_back, 3), recover_within_s, "s"))

    during = started_in(samples, w.start_s, w.end_s)
    names = during["name"].astype("string")
    if dependency == "postgres":
        writes = during[names == "POST /api/orders"]
        attempts = policy.retry_attempts
        bound_s = (attempts * (policy.db_connect_timeout_s + policy.db_acquire_timeout_s)
                   + backoff_budget_s(attempts, policy.retry_initial_s, policy.retry_max_s) + 0.5)
        # a create may still succeed once its retry lands after the outage; what must never
        # happen is another failure (500, 504, a dropped connection) or a hang
        status = writes["status"]
        n_503 = int((status == 503).sum())
        wrong = int(((status >= 500) & (status != 503)).sum() + (status == 0).sum())
        slowest = float(writes["latency_ms"].max()) / 1000.0 if len(writes) else float("nan")
        passed = n_503 > 0 and wrong == 0 and slowest <= bound_s
        out.append(Verdict(
            CHECK, f"writes fail fast with 503 {tag}", passed,
            f"{len(writes)} creates while down: {n_503} answered 503, {wrong} failed otherwise, "
            f"slowest {slowest:.2f} s (bound {bound_s:.2f} s from the pool and connect timeouts)"
            if len(writes) else "no create was attempted while PostgreSQL was down",
            None if not len(writes) else round(slowest, 3), round(bound_s, 3), "s"))
        reads = during[names == "GET /api/orders"]
        ok = ok_fraction(reads)
        out.append(Verdict(
            CHECK, f"cached reads still served {tag}", len(reads) > 0 and ok >= 0.99,
            f"{ok * 100:.1f} % of {len(reads)} list requests served while PostgreSQL was down"
            if len(reads) else "no list request while PostgreSQL was down",
            None if not len(reads) else round(ok, 4), 0.99, "ratio"))
    else:
        rate = float(failed(during).mean()) if len(during) else float("nan")
        out.append(Verdict(
            CHECK, f"keeps serving {tag}", len(during) > 0 and rate < max_error_rate,
            f"error rate {rate * 100:.2f} % over {len(during)} requests while {dependency} was "
            f"down (limit {max_error_rate * 100:.1f} %)",
            None if not len(during) else round(rate, 5), max_error_rate, "ratio"))
    return out
