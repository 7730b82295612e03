"""Graceful-shutdown verdicts: SIGTERM under load drains instead of dropping.

Readiness must turn 503 at once (so a load balancer stops sending), requests already in flight
must finish, new requests must still be served for the drain delay (the balancer needs that time
to notice), and the process must exit 0 within its deadline.
"""

from __future__ import annotations

import pandas as pd

from checks.verdict import Verdict
from checks.windows import failed, first_probe_after, started_in
from gauntlet.policy import Policy
from gauntlet.timeline import Event

CHECK = "shutdown"
READY_WITHIN_S = 1.0


def shutdown_verdicts(samples: pd.DataFrame, events: list[Event], policy: Policy) -> list[Verdict]:
    sent = next((e for e in events if e.kind == "signal.sent" and e.data.get("service") == "api"),
                None)
    if sent is None:
        return [Verdict(CHECK, "experiment ran", False, "no SIGTERM was recorded")]
    t_sig = sent.at_s
    out: list[Verdict] = []

    ready = first_probe_after(events, "ready", t_sig, 503)
    if ready is None:
        others = [e for e in events if e.kind == "probe" and e.data.get("target") == "ready"
                  and e.at_s >= t_sig][:1]
        seen = f"first answer after it: {others[0].data.get('status')}" if others else "no answer"
        out.append(Verdict(CHECK, "readiness 503 after SIGTERM", False,
                           f"/health/ready never answered 503 after SIGTERM ({seen}; "
                           "0 = connection refused)", None, READY_WITHIN_S, "s"))
    else:
        took = ready.at_s - t_sig
        out.append(Verdict(CHECK, "readiness 503 after SIGTERM", took <= READY_WITHIN_S,
                           f"/health/ready answered 503 {took * 1000:.0f} ms after SIGTERM",
                           round(took, 3), READY_WITHIN_S, "s"))

    before = samples[samples["t_start_s"] < t_sig]
    inflight = before[before["t_start_s"] + before["latency_ms"] / 1000.0 > t_sig]
    n_failed = int(failed(before).sum())
    out.append(Verdict(
        CHECK, "no failed request started before SIGTERM", len(before) > 0 and n_failed == 0,
        f"{n_failed} of {len(before)} requests started before the signal failed "
        f"({len(inflight)} were in flight at the signal)",
        n_failed, 0))

    margin = min(0.3, policy.drain_delay_s / 4)
    drain = started_in(samples, t_sig, t_sig + policy.drain_delay_s - margin)
    n_failed = int(failed(drain).sum())
    out.append(Verdict(
        CHECK, "served during the drain delay", len(drain) > 0 and n_failed == 0,
        f"{n_failed} of {len(drain)} requests started in the {policy.drain_delay_s:g} s drain "
        "delay failed (new connections must be refused only after it)",
        n_failed, 0))

    exit_event = next((e for e in events if e.kind == "process.exit"
                       and e.data.get("service") == "api"), None)
    bound = policy.drain_delay_s + policy.shutdown_deadline_s + 1.0
    if exit_event is None:
        out.append(Verdict(CHECK, "exits 0 within the deadline", False,
                           f"the API did not exit within {bound:.0f} s of SIGTERM", None, bound,
                           "s"))
    else:
        code = exit_event.data.get("code")
        after_s = float(exit_event.data.get("after_s", float("nan")))
        passed = code == 0 and after_s <= bound
        out.append(Verdict(CHECK, "exits 0 within the deadline", passed,
                           f"exit code {code} after {after_s:.2f} s (bound {bound:.1f} s; "
                           "negative = killed by that signal)", code, 0))
    return out
