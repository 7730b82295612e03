"""A failed instance left alone: judged from the clients' side, where a request that met the
hung instance took the balancer's ``timeout_s`` (and then succeeded on another instance).

Windows on the fault, from its start ``t0``:

- the *first failures*, ``[t0, t0 + 2·timeout_s)``: requests sent to the hung instance before
  the balancer counted ``max_fails`` failures — they must exist, or the hung instance got no
  request at all (evidence);
- the *quiet*, ``[t0 + 2·timeout_s, t0 + fail_timeout_s - timeout_s)``: the instance is down in
  the balancer's eyes, so (almost) no request waits on it — at most ``max_fails`` slow ones;
- the *retry*, around ``t0 + fail_timeout_s``: once the time is up the balancer tries it again,
  so a slow request starts there (when the fault lasts that long).

"Slow" is at least :data:`SLOW_SHARE` of ``timeout_s``. The quiet's bound is absolute, not a
rate: a balancer without ``max_fails`` sends every other request to the hung instance, so the
quiet holds dozens of slow requests, not a handful.
"""

from __future__ import annotations

import pandas as pd

from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope, of_requests
from gauntlet.contract import FailoverClaim

SLOW_SHARE = 0.8
RETRY_SLACK_S = 2.0


def _slow_started(df: pd.DataFrame, start_s: float, end_s: float, slow_ms: float) -> int:
    t = df["t_start_s"].to_numpy()
    slow = df["latency_ms"].to_numpy() >= slow_ms
    return int((slow & (t >= start_s) & (t < end_s)).sum())


def failover_verdicts(samples: pd.DataFrame, claim: FailoverClaim, fault_start_s: float | None,
                      fault_end_s: float | None) -> list[Verdict]:
    scope = Scope("failover", "failover", claim.name)
    df = of_requests(samples, claim.requests)
    slow_ms = SLOW_SHARE * claim.timeout_s * 1000.0
    evidence = (f"requests of {', '.join(claim.requests)} while the instance behind "
                f"{claim.link} hung, timed by the clients (one that met it takes "
                f"{claim.timeout_s:g} s)")
    left = f"left alone after {claim.max_fails} failures"
    again = f"tried again after {claim.fail_timeout_s:g} s"
    if fault_start_s is None or fault_end_s is None or df.empty:
        lacked = "no fault was recorded on the instance's link" if fault_start_s is None else \
            "no request was recorded"
        return [scope.verdict(left, "inconclusive", lacked, evidence=evidence),
                scope.verdict(again, "inconclusive", lacked, evidence=evidence)]
    t0, timeout = fault_start_s, claim.timeout_s
    first = _slow_started(df, t0, t0 + 2 * timeout, slow_ms)
    quiet_end = min(t0 + claim.fail_timeout_s - timeout, fault_end_s)
    quiet = _slow_started(df, t0 + 2 * timeout, quiet_end, slow_ms)
    in_quiet = int(((df["t_start_s"] >= t0 + 2 * timeout)
                    & (df["t_start_s"] < quiet_end)).sum())
    out: list[Verdict] = []
    if first == 0:
        out.append(scope.verdict(left, "inconclusive", f"no request took {slow_ms / 1000:g} s "
                                 f"in the first {2 * timeout:g} s of the hang: the hung instance "
                                 f"got none (is {claim.link} the balancer's link to it?)",
                                 evidence=evidence))
    elif in_quiet == 0:
        out.append(scope.verdict(left, "inconclusive", "no request was sent in the "
                                 "quiet after the first failures", evidence=evidence))
    else:
        text = (f"{first} requests met the hung instance in its first {2 * timeout:g} s; "
                f"then {quiet} of {in_quiet} in the next "
                f"{quiet_end - t0 - 2 * timeout:.0f} s took {slow_ms / 1000:g} s or more")
        out.append(scope.judge(left, quiet <= claim.max_fails,
                               text + ("" if quiet <= claim.max_fails else
                                       ": the balancer kept sending it requests"),
                               quiet, claim.max_fails, "requests", evidence=evidence))
    retry_at = t0 + claim.fail_timeout_s
    if fault_end_s < retry_at + timeout + RETRY_SLACK_S:
        out.append(scope.verdict(again, "inconclusive", f"the hang ended "
                                 f"{fault_end_s - t0:.0f} s in, before the {claim.fail_timeout_s:g}"
                                 " s were up", evidence=evidence))
    elif not out[0].passed:
        out.append(scope.verdict(again, "inconclusive", "the instance was not shown left alone "
                                 "first", evidence=evidence))
    else:
        retried = _slow_started(df, retry_at - timeout - RETRY_SLACK_S,
                                retry_at + timeout + RETRY_SLACK_S, slow_ms)
        out.append(scope.judge(again, retried > 0,
                               f"{retried} requests took {slow_ms / 1000:g} s or more around "
                               f"{claim.fail_timeout_s:g} s into the hang"
                               + ("" if retried else ": the instance was never tried again"),
                               retried, 1, "requests", evidence=evidence))
    return out
