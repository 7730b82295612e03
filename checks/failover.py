"""A failed instance left alone: judged from the clients' side, where a request that met the
hung instance took the balancer's ``timeout_s`` (and then succeeded on another instance).

Windows on the fault, from its start ``t0``:

- the *first failures*, ``[t0, t0 + 2·timeout_s)``: requests sent to the hung instance before
  the balancer counted ``max_fails`` failures — they must exist, or the hung instance got no
  request at all (evidence);
- the *quiet*, ``[t0 + 2·timeout_s, t0 + fail_timeout_s - timeout_s)``: the instance is down in
  the balancer's eyes, so (almost) no request waits on it — at most ``max_fails`` slow ones;
- the *retry*, ``fail_timeout_s`` after the *last* of the first failures ended (the balancer
  counts ``fail_timeout`` from its last failure, not from the first): once the time is up it
  tries the instance again, so a slow request starts there (when the fault lasts that long).
  nginx keeps that time in whole seconds, so the retry may come up to a second later:
  ``[last + fail_timeout_s - RETRY_SLACK_S, last + fail_timeout_s + CLOCK_S + RETRY_SLACK_S)``.
  A CI run's nginx counted its last failure at +2.04 s and tried again at +13.62 s: a window
  around ``t0 + fail_timeout_s`` (+7 to +13 s) missed it.

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
CLOCK_S = 1.0  # nginx times fail_timeout in whole seconds of its cached clock


def retry_window(last_failure_s: float, claim: FailoverClaim) -> tuple[float, float]:
    """When a request that meets the instance again starts: ``fail_timeout_s`` after the last
    of the first failures ended, within the slack and the balancer's clock granularity."""
    at_s = last_failure_s + claim.fail_timeout_s
    return at_s - RETRY_SLACK_S, at_s + CLOCK_S + RETRY_SLACK_S


def last_hang_s(claim: FailoverClaim) -> float:
    """How long into the hang a retry's slow request may still start: the first failures end
    by ``2·timeout_s`` after the start (a request sent just before the balancer counted the
    third ends one timeout later), and the retry window runs past that."""
    return retry_window(2 * claim.timeout_s, claim)[1]


def _slow_in(df: pd.DataFrame, start_s: float, end_s: float, slow_ms: float) -> pd.Series:
    """Which requests took ``slow_ms`` or more, started in ``[start_s, end_s)``."""
    t = df["t_start_s"]
    return (df["latency_ms"] >= slow_ms) & (t >= start_s) & (t < end_s)


def _slow_started(df: pd.DataFrame, start_s: float, end_s: float, slow_ms: float) -> int:
    return int(_slow_in(df, start_s, end_s, slow_ms).sum())


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
    if not out[0].passed:
        out.append(scope.verdict(again, "inconclusive", "the instance was not shown left alone "
                                 "first", evidence=evidence))
        return out
    last_s = _last_failure_s(df, t0, t0 + 2 * timeout, slow_ms)
    from_s, to_s = retry_window(last_s, claim)
    if fault_end_s < to_s + timeout:
        out.append(scope.verdict(again, "inconclusive", f"the hang ended "
                                 f"{fault_end_s - t0:.1f} s in, before a retry "
                                 f"{claim.fail_timeout_s:g} s after the last failure "
                                 f"(+{last_s - t0:.1f} s) could show", evidence=evidence))
    else:
        retried = _slow_started(df, from_s, to_s, slow_ms)
        out.append(scope.judge(again, retried > 0,
                               f"{retried} requests took {slow_ms / 1000:g} s or more from "
                               f"+{from_s - t0:.1f} to +{to_s - t0:.1f} s into the hang "
                               f"({claim.fail_timeout_s:g} s after the last of the first "
                               f"failures, at +{last_s - t0:.1f} s)"
                               + ("" if retried else ": the instance was never tried again"),
                               retried, 1, "requests", evidence=evidence))
    return out


def _last_failure_s(df: pd.DataFrame, start_s: float, end_s: float, slow_ms: float) -> float:
    """When the last slow request started in ``[start_s, end_s)`` ended: the balancer's last
    counted failure of the first ones."""
    hit = df[_slow_in(df, start_s, end_s, slow_ms)]
    return float((hit["t_start_s"] + hit["latency_ms"] / 1000.0).max())
