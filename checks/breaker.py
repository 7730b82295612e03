"""Circuit-breaker verdicts: did it open, fail fast, probe, close, and did errors recover?

Input: samples of ``POST /api/generate`` whose ``ref`` is ``<X-Fallback>|<X-Circuit-State>``
(see ``scenarios/generate.py``), the fault window on the upstream, ``breaker.state`` events
polled from ``/metrics``, and the policy the stack declares.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from checks.verdict import Verdict
from checks.windows import Window, failed, fault_windows, ok_fraction, p95, started_in
from gauntlet.policy import Policy
from gauntlet.timeline import Event

CHECK = "breaker"


@dataclass(frozen=True)
class BreakerBounds:
    open_within_s: float
    fail_fast_ms: float
    close_within_s: float
    recovery_margin: float = 0.01


def default_bounds(policy: Policy) -> BreakerBounds:
    """Bounds that follow from the declared policy. A failure-*rate* breaker opens once the
    successes from before the fault have aged out of its window and failed calls fill it, and a
    failed call may wait the call timeout on every attempt: window + one call, plus a second."""
    call_s = policy.upstream_timeout_s * policy.retry_attempts + policy.retry_max_s
    return BreakerBounds(
        open_within_s=policy.breaker_window_s + call_s + 1.0,
        # "far below the call timeout": a quarter of it, and never more than 250 ms
        fail_fast_ms=min(250.0, policy.upstream_timeout_s * 250.0),
        close_within_s=policy.breaker_open_s + policy.upstream_timeout_s + 2.0,
    )


def _split_ref(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    parts = df["ref"].astype("string").fillna("|").str.split("|", n=1, expand=True)
    if parts.shape[1] == 1:
        parts[1] = ""
    return parts[0].fillna(""), parts[1].fillna("")


def breaker_verdicts(samples: pd.DataFrame, events: list[Event], policy: Policy,
                     bounds: BreakerBounds, proxy: str = "upstream") -> list[Verdict]:
    df = samples[samples["name"].astype("string") == "POST /api/generate"]
    windows = fault_windows(events, proxy)
    if not windows or df.empty:
        return [Verdict(CHECK, "experiment ran", False,
                        "no fault window on the upstream or no generate requests recorded")]
    fault: Window = windows[0]
    fallback, _state = _split_ref(df)
    is_open_fallback = fallback == "circuit-open"
    out: list[Verdict] = []

    # 1. opens within a bound after the fault starts
    opened = df[is_open_fallback & (df["t_start_s"] >= fault.start_s)]
    t_open = float(opened["t_start_s"].min()) if len(opened) else None
    if t_open is None:
        during = started_in(df, fault.start_s, fault.end_s)
        out.append(Verdict(
            CHECK, "opens after the fault starts", False,
            f"never opened: {len(during)} requests during the {fault.duration_s:.0f} s upstream "
            f"fault, none answered by an open breaker (p95 {p95(during['latency_ms']):.0f} ms; "
            f"call timeout {policy.upstream_timeout_s:g} s)",
            None, bounds.open_within_s, "s"))
    else:
        took = t_open - fault.start_s
        out.append(Verdict(
            CHECK, "opens after the fault starts", took <= bounds.open_within_s,
            f"first open-breaker answer {took:.2f} s after the fault started "
            f"({'≤' if took <= bounds.open_within_s else '>'} {bounds.open_within_s:.1f} s)",
            round(took, 3), bounds.open_within_s, "s"))

    # 2. fails fast while open, with the marked fallback
    if t_open is None:
        out.append(Verdict(CHECK, "fails fast while open", False,
                           "no open period: every call during the fault waited on the upstream",
                           None, bounds.fail_fast_ms, "ms"))
    else:
        while_open = df[is_open_fallback & (df["t_start_s"] >= t_open)
                        & (df["t_start_s"] < fault.end_s)]
        unmarked = int((while_open["status"] != 503).sum())
        observed = p95(while_open["latency_ms"])
        passed = observed <= bounds.fail_fast_ms and unmarked == 0
        out.append(Verdict(
            CHECK, "fails fast while open", passed,
            f"{len(while_open)} fallback answers while open: p95 {observed:.1f} ms "
            f"({'≤' if observed <= bounds.fail_fast_ms else '>'} {bounds.fail_fast_ms:.0f} ms), "
            f"{unmarked} not 503",
            round(observed, 2), bounds.fail_fast_ms, "ms"))

    # 3. a half-open probe after the open duration
    if t_open is None:
        out.append(Verdict(CHECK, "probes after the open duration", False,
                           "never opened, so never probed", None, policy.breaker_open_s, "s"))
    else:
        earliest = t_open + 0.9 * policy.breaker_open_s
        latest = t_open + policy.breaker_open_s + policy.upstream_timeout_s + 2.0
        half_open = [e for e in events if e.kind == "breaker.state"
                     and e.data.get("name") == proxy and e.data.get("state") == "half-open"
                     and e.at_s >= earliest]
        after = df[(df["t_start_s"] >= earliest) & ~is_open_fallback]
        candidates = [float(after["t_start_s"].min())] if len(after) else []
        candidates += [e.at_s for e in half_open]
        t_probe = min(candidates) if candidates else None
        if t_probe is None:
            out.append(Verdict(CHECK, "probes after the open duration", False,
                               f"no request reached the upstream after the breaker opened "
                               f"(open duration {policy.breaker_open_s:g} s)",
                               None, policy.breaker_open_s, "s"))
        else:
            gap = t_probe - t_open
            passed = gap <= latest - t_open
            out.append(Verdict(
                CHECK, "probes after the open duration", passed,
                f"first probe {gap:.2f} s after opening (open duration "
                f"{policy.breaker_open_s:g} s; bound {latest - t_open:.1f} s)",
                round(gap, 3), round(latest - t_open, 3), "s"))

    # 4. closes after the fault is removed
    after_fault = df[df["t_start_s"] >= fault.end_s]
    served = after_fault[(after_fault["status"] == 200)]
    if served.empty:
        out.append(Verdict(CHECK, "closes after the fault", False,
                           "no successful generate after the fault was removed",
                           None, bounds.close_within_s, "s"))
    else:
        took = float(served["t_start_s"].min()) - fault.end_s
        out.append(Verdict(
            CHECK, "closes after the fault", took <= bounds.close_within_s,
            f"first success {took:.2f} s after the fault was removed "
            f"(bound {bounds.close_within_s:.1f} s)",
            round(took, 3), bounds.close_within_s, "s"))

    # 5. error rate back to the steady state's
    ended = df["t_start_s"] + df["latency_ms"] / 1000.0
    baseline = df[ended < fault.start_s]  # finished before the fault could touch them
    tail_start = max(fault.end_s + bounds.close_within_s, float(df["t_start_s"].max()) - 3.0)
    tail = started_in(df, tail_start, float("inf"))
    base_err = float(failed(baseline).mean()) if len(baseline) else 0.0
    tail_err = 1.0 - ok_fraction(tail) if len(tail) else float("nan")
    limit = base_err + bounds.recovery_margin
    passed = len(tail) > 0 and tail_err <= limit
    out.append(Verdict(
        CHECK, "error rate recovers", passed,
        f"error rate {tail_err * 100:.2f} % over the last {len(tail)} requests vs "
        f"{base_err * 100:.2f} % before the fault (limit {limit * 100:.2f} %)"
        if len(tail) else "no requests after recovery to judge",
        None if not len(tail) else round(tail_err, 5), round(limit, 5), "ratio"))
    return out
