"""Health semantics and degradation while a dependency link is down.

Liveness answers "restart me?" and must stay up while only a dependency is gone; readiness
answers "send me traffic?" and must turn unready quickly, then ready again once the dependency
is back. Meanwhile the service must degrade, not collapse: each of the claim's degradations
says which requests keep serving (``min_success``) or fail fast with a status.

Evidence. Liveness and recovery are only judged once readiness was seen unready during the
fault. A degradation is only judged once something shows the service noticed the link was
down — readiness turned unready, or a request of the claim failed or answered a degradation
status during the fault; otherwise the link may not be in the requests' path, and "keeps
serving" would pass on a fault that touched nothing.

"Fail fast" without ``within_s``: the bound is ``ready_within_s + 1 s``. The claim says the
service learns the link is down within ``ready_within_s`` (its readiness check does); a request
that needs the link should learn it no slower, with a second for a retry or two on a refused
connection. Judged on the p95 of every request of the degradation started during the fault
(a request that hangs and then succeeds is not failing fast either), with its confidence
interval: too few requests for an upper limit (72 for a p95) are inconclusive, not fast.

A claimed ``detailed`` health endpoint adds the verdicts of :mod:`gauntlet.checks.detailed`
(polled as probe target ``DETAILED_PROBE``).
"""

from __future__ import annotations

import pandas as pd

from gauntlet.checks.detailed import DETAILED_PROBE, detailed_verdicts
from gauntlet.checks.verdict import Outcome, Verdict, quantile_within, undecidable
from gauntlet.checks.windows import (
    Scope,
    Window,
    failed,
    fault_windows,
    first_seen,
    of_requests,
    ok_fraction,
    probe_gap_s,
    probe_status,
    probes,
    started_in,
    statuses,
    succeeded,
)
from gauntlet.contract import Degradation, HealthClaim
from gauntlet.latency import quantile_bounds
from gauntlet.timeline import Event

__all__ = ["DETAILED_PROBE", "degradation_name", "health_verdicts"]

CHECK = "health"
LIVE = "live stays up while unready"
BACK = "ready again after recovery"


def _is_ready(status: int) -> bool:
    return 200 <= status < 300


def degradation_name(d: Degradation) -> str:
    names = ", ".join(d.requests)
    return f"{names} keep serving" if d.min_success is not None else (
        f"{names} fail fast with {d.status}")


def health_verdicts(samples: pd.DataFrame, events: list[Event],
                    claim: HealthClaim) -> list[Verdict]:
    scope = Scope(CHECK, "health", claim.name)
    unready_what = f"unready while {claim.link} is down"
    ev = {
        unready_what: f"readiness probes while {claim.link} was down",
        LIVE: "readiness seen unready during the fault, and liveness probes meanwhile",
        BACK: "readiness seen unready during the fault, and readiness probes after it",
    }
    wanted = [unready_what, *([LIVE] if claim.live_stays_up else []), BACK]
    degraded = [(degradation_name(d), d) for d in claim.degraded]
    ev.update({name: f"requests of {', '.join(d.requests)} during the fault, and a sign the "
               f"service noticed {claim.link} was down" for name, d in degraded})
    windows = fault_windows(events, claim.link)
    if not windows:
        return [scope.missing(w, f"no fault on {claim.link} was recorded: nothing was "
                              "exercised", evidence=ev[w])
                for w in [*wanted, *(name for name, _ in degraded)]
                ] + detailed_verdicts(events, claim)
    w = windows[0]
    out: list[Verdict] = []

    ready = probes(events, "ready")
    during = [e for e in ready if w.start_s <= e.at_s < w.end_s]
    first_unready = next((e for e in during if probe_status(e) == claim.unready_status), None)
    if not during:
        lacked = ("no readiness probe was recorded (does the contract give probes.ready?)"
                  if not ready else f"no readiness probe while {claim.link} was down")
        out.append(scope.missing(unready_what, lacked, claim.ready_within_s, "s",
                                 evidence=ev[unready_what]))
    elif first_unready is None:
        seen = sorted({probe_status(e) for e in during})
        out.append(scope.judge(
            unready_what, False,
            f"readiness never answered {claim.unready_status} while {claim.link} was down "
            f"({len(during)} probes answered {seen})",
            None, claim.ready_within_s, "s", evidence=ev[unready_what]))
    else:
        took = first_unready.at_s - w.start_s
        outcome, marginal = first_seen(took, claim.ready_within_s, probe_gap_s(events, "ready"))
        out.append(scope.verdict(
            unready_what, outcome,
            f"readiness answered {claim.unready_status} {took:.2f} s after {claim.link} went "
            f"down (bound {claim.ready_within_s:g} s"
            + ("; within one probe interval of it" if marginal else "") + ")",
            round(took, 3), claim.ready_within_s, "s", evidence=ev[unready_what],
            marginal=marginal))

    never = (f"readiness never left ready (never answered {claim.unready_status}) while "
             f"{claim.link} was down, so")
    if claim.live_stays_up:
        if first_unready is None:
            out.append(scope.missing(LIVE, f"{never} liveness was never tested against an "
                                     "unready service", 0, evidence=ev[LIVE]))
        else:
            live = [e for e in probes(events, "live") if first_unready.at_s <= e.at_s < w.end_s]
            bad = [e for e in live if not _is_ready(probe_status(e))]
            if not live:
                out.append(scope.missing(LIVE, "no liveness probe while the service was "
                                         "unready (does the contract give probes.live?)", 0,
                                         evidence=ev[LIVE]))
            else:
                out.append(scope.judge(
                    LIVE, not bad,
                    f"{len(live) - len(bad)} of {len(live)} liveness probes answered 2xx while "
                    "unready" + (f" (others: {sorted({probe_status(e) for e in bad})}; 0 = no "
                                 "answer)" if bad else ""),
                    len(bad), 0, evidence=ev[LIVE]))

    if first_unready is None:
        out.append(scope.missing(BACK, f"{never} there was nothing to recover from",
                                 claim.recover_within_s, "s", evidence=ev[BACK]))
    else:
        after = [e for e in ready if e.at_s >= w.end_s]
        back = next((e for e in after if _is_ready(probe_status(e))), None)
        if back is None and not after:
            out.append(scope.missing(BACK, f"no readiness probe after {claim.link} came back",
                                     claim.recover_within_s, "s", evidence=ev[BACK]))
        elif back is None:
            out.append(scope.judge(
                BACK, False,
                f"readiness never answered ready again in {len(after)} probes over "
                f"{after[-1].at_s - w.end_s:.1f} s after {claim.link} came back",
                None, claim.recover_within_s, "s", evidence=ev[BACK]))
        else:
            took = back.at_s - w.end_s
            outcome, marginal = first_seen(took, claim.recover_within_s,
                                           probe_gap_s(events, "ready"))
            out.append(scope.verdict(
                BACK, outcome,
                f"readiness ready again {took:.2f} s after {claim.link} came back (bound "
                f"{claim.recover_within_s:g} s)",
                round(took, 3), claim.recover_within_s, "s", evidence=ev[BACK],
                marginal=marginal))

    noticed = _noticed(samples, claim, w, first_unready is not None)
    for name, d in degraded:
        out.append(_degradation(scope, claim, d, name, samples, w, noticed, ev[name]))
    return out + detailed_verdicts(events, claim)


def _noticed(samples: pd.DataFrame, claim: HealthClaim, w: Window, unready: bool) -> str:
    """Why we believe the service noticed the link was down ("" when nothing shows it)."""
    if unready:
        return f"readiness answered {claim.unready_status}"
    names = set(claim.requests) | {r for d in claim.degraded for r in d.requests}
    during = started_in(of_requests(samples, names), w.start_s, w.end_s)
    degraded = {d.status for d in claim.degraded if d.status is not None}
    touched = during[failed(during) | during["status"].isin(list(degraded)).to_numpy(bool)]
    return f"{len(touched)} requests failed or degraded" if len(touched) else ""


def _degradation(scope: Scope, claim: HealthClaim, d: Degradation, name: str,
                 samples: pd.DataFrame, w: Window, noticed: str, evidence: str) -> Verdict:
    during = started_in(of_requests(samples, d.requests), w.start_s, w.end_s)
    down = f"while {claim.link} was down"
    if during.empty:
        return scope.missing(name, f"no request of {', '.join(d.requests)} started {down}",
                             evidence=evidence)
    if not noticed:
        return scope.missing(
            name, f"nothing shows the service noticed {claim.link} was down (readiness stayed "
            f"ready and all {len(during)} requests succeeded): the link may not be in their "
            "path", evidence=evidence)
    if d.min_success is not None:
        ok = ok_fraction(during)
        return scope.judge(
            name, ok >= d.min_success,
            f"{ok * 100:.1f} % of {len(during)} requests served {down} (need ≥ "
            f"{d.min_success * 100:.1f} %; {statuses(during)})",
            round(ok, 4), d.min_success, "ratio", evidence=evidence)
    bound_s = d.within_s if d.within_s is not None else claim.ready_within_s + 1.0
    source = "within_s" if d.within_s is not None else "ready_within_s + 1 s"
    status = during["status"].to_numpy()
    n_status = int((status == d.status).sum())
    n_ok = int(succeeded(during).sum())
    wrong = len(during) - n_status - n_ok
    if n_status == 0 and wrong == 0:
        return scope.missing(name, f"all {len(during)} requests succeeded {down}: nothing "
                             f"needed to fail", round(bound_s, 3), "s", evidence=evidence)
    # the p95 with its confidence interval: "fast" needs its upper limit within the bound
    estimate = quantile_bounds(during["latency_ms"], 95.0)
    timing, marginal = quantile_within(estimate, bound_s * 1000.0)
    outcome: Outcome = "fail" if wrong else timing
    thin = (f"; {undecidable(estimate)}" if outcome == "inconclusive" and estimate.undecidable
            else "")
    return scope.verdict(
        name, outcome,
        f"{len(during)} requests {down}: {n_status} answered {d.status}, {n_ok} succeeded, "
        f"{wrong} failed otherwise ({statuses(during)}); {estimate.describe()} (bound "
        f"{bound_s * 1000:.0f} ms, {source}){thin}",
        round(estimate.value_ms / 1000.0, 3), round(bound_s, 3), "s", evidence=evidence,
        marginal=marginal and not wrong)
