"""Retry verdicts: a transient fault is absorbed — requests overlapping it still succeed, the
retries show in the service's metric, and the latency they add stays within the backoff budget.

Evidence that retries happened (what two verdicts need before they can pass):

- the claim's retry metric rose over the run (``metric_delta > 0``), when the claim names one
  and it was readable; otherwise
- *slowed successes*: requests overlapping the fault that succeeded, but took at least the
  first backoff (``initial_s``, at least 50 ms) longer than the steady p99. A request that
  failed on the link and then succeeded after a sleep looks exactly like that; a request the
  fault never touched does not. (Only used without a readable metric: a slow success alone can
  also be a slow dependency, so the metric is the better witness.)

Outages set aside (their requests not judged): one that lasted longer than the shortest wait
of the claimed retries (injected late on a busy host: no transient fault), and one that met a
stall of the host (a ``host.stall`` of the harness's heartbeat in the outage or the backoff
after it: a service that retries as claimed times out there at its own call timeout).

Requests set aside: one that failed at the claim's call timeout, when the stack came near that
timeout away from the outages too (a p99 of half the timeout, or a failure at it, among the
requests no outage touched). An outage refuses and resets connections at once, so a hang that
long is the stack's own slowness, and a starved host must not decide the verdict.

A service with no retries fails "transient fault absorbed" (its requests fail on the link, and
nothing shows a retry), fails "retries visible in metrics", and "added latency within the
backoff budget" is inconclusive: there were no retries to time.
"""

from __future__ import annotations

import pandas as pd

from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import (
    Scope,
    Window,
    backoff_budget_s,
    failed,
    fault_windows,
    finished_before,
    longest_overlapping,
    of_requests,
    ok_fraction,
    overlapping,
    quantile,
    stall_windows,
    succeeded,
)
from gauntlet.contract import Metric, RetriesClaim
from gauntlet.timeline import Event

CHECK = "retries"
ABSORBED = "transient fault absorbed"
VISIBLE = "retries visible in metrics"
BUDGET = "added latency within the backoff budget"
SLACK_S = 0.25  # scheduling and client-side timing on a shared machine
# a failure at least this share of the call timeout took the whole timeout (client-side
# clocks start a little later than the service's)
TIMEOUT_SHARE = 0.95
# the stack answers near its call timeout on its own when the untouched requests' p99 is at
# least this share of it: a CI host with CPU steal ran the ledger at 0.68 s against 1 s, and
# failed two requests at the timeout away from any outage; quiet runs stay under 0.32 s
NEAR_TIMEOUT = 0.5
# the fewest requests beside the outages whose p99 counts as the usual latency (fewer: the
# p99 is little more than the slowest of them)
MIN_BESIDE = 50


def metric_text(metric: Metric) -> str:
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.labels.items()))
    return f"{metric.name}{{{labels}}}" if labels else metric.name


def retry_verdicts(samples: pd.DataFrame, events: list[Event], claim: RetriesClaim, *,
                   metric_delta: float | None, min_success: float,
                   metric_exported: bool = True) -> list[Verdict]:
    """``metric_delta``: how much the claim's retry counter rose over the run (None: it could
    not be read; a family absent from a scrape counts as 0); ``min_success``: the share of
    requests overlapping the fault that must succeed; ``metric_exported``: the counter's
    family was in the last scrape (client libraries may export it only once it rose)."""
    scope = Scope(CHECK, "retries", claim.name)
    names = ", ".join(claim.requests)
    metric = metric_text(claim.metric) if claim.metric else ""
    ev = {
        ABSORBED: f"requests of {names} overlapping a fault on {claim.link}, and a sign they "
                  "were retried (the metric rose, or successes slowed by a backoff)",
        VISIBLE: f"requests overlapping the fault, and {metric} read before and after",
        BUDGET: "evidence that retries happened (the metric rose, or successes slowed by a "
                "backoff)",
    }
    wanted = [ABSORBED, *([VISIBLE] if claim.metric else []), BUDGET]
    df = of_requests(samples, claim.requests)
    windows = fault_windows(events, claim.link)
    if not windows:
        return [scope.missing(w, f"no fault on {claim.link} was recorded: retries were not "
                              "exercised", evidence=ev[w]) for w in wanted]
    budget_s = backoff_budget_s(claim.attempts, claim.initial_s, claim.max_s)
    # an outage that outlasted the shortest total wait of the claimed retries can fail a
    # request of a service that retries exactly as claimed: it is no transient fault. The
    # experiment sizes its outages at half that wait; on a starved host the injection itself
    # can stretch one (Toxiproxy answering late), so each is judged as it was, not as planned
    shortest_s = claim.shortest_wait_s
    too_long = [w for w in windows if w.duration_s > shortest_s]
    windows = [w for w in windows if w.duration_s <= shortest_s]
    set_aside = ""
    if too_long:
        longest = max(w.duration_s for w in too_long)
        set_aside = (f"; {len(too_long)} outage(s) lasted longer than the {shortest_s:.2f} s the "
                     f"claimed retries wait at least (the longest {longest:.2f} s, planned "
                     "shorter), and their requests are set aside")
        if not windows:
            return [scope.missing(w, f"every outage of {claim.link} lasted longer than the "
                                  f"{shortest_s:.2f} s the claimed retries wait at least (the "
                                  f"longest {longest:.2f} s): none was transient",
                                  evidence=ev[w]) for w in wanted]
    # an outage during which the harness itself stopped running (the heartbeat's host.stall,
    # in the outage or the backoff after it) was met by a stalled host: its requests could
    # time out with no retry at fault, so they are set aside too
    stalls = stall_windows(events)
    met = {w: longest_overlapping(stalls, w.start_s, w.end_s + budget_s) for w in windows}
    stalled = [w for w, stall in met.items() if stall is not None]
    if stalled:
        windows = [w for w in windows if w not in stalled]
        worst = max(stall.duration_s for stall in met.values() if stall is not None)
        set_aside += (f"; {len(stalled)} outage(s) met a stall of the host (the harness stopped "
                      f"running for up to {worst:.2f} s in the outage or its backoff), and "
                      "their requests are set aside")
        if not windows:
            return [scope.missing(w, f"every outage of {claim.link} that was transient met a "
                                  f"stall of the host (up to {worst:.2f} s){set_aside}",
                                  evidence=ev[w]) for w in wanted]
    affected = _affected(df, windows, budget_s)
    aside = [*too_long, *stalled]
    if aside:
        hit = _affected(df, aside, budget_s)
        affected = affected[~affected.index.isin(hit.index)]
    # the requests of the fault phase that no outage (nor its backoff) touched, leaving out
    # those the host stalled: how the stack answered at the time of the faults, without them
    beside = _beside(df, [*windows, *aside], budget_s, stalls)
    # a request that failed at the claim's call timeout had an attempt hang for all of it: an
    # outage refuses and resets connections at once, so the hang came from a slow stack. When
    # the stack came near that timeout away from the outages too, such failures say nothing
    # about retries (a starved host), and they are set aside; on a stack that ran well below
    # its timeout they still count
    timed_out, slow = _own_timeouts(affected, beside, claim)
    if len(timed_out):
        affected = affected[~affected.index.isin(timed_out.index)]
        set_aside += (f"; {len(timed_out)} request(s) failed at the {claim.call_timeout_s:g} s "
                      f"call timeout while the stack, away from the outages, {slow}: a slow "
                      "stack, not the outage, and they are set aside")
    if affected.empty:
        return [scope.missing(w, f"no request of {names} overlapped the {claim.link} "
                              "fault(s): retries were not exercised", evidence=ev[w])
                for w in wanted]

    # the usual latency: the p99 before the first outage of all (one set aside included: its
    # slow requests are no baseline), leaving out requests the host stalled — or, when the
    # stack answered slower beside the outages than before them, that p99: a request around
    # an outage is as slow as the stack is at that time, backoff or not (a CI run's ledger
    # went from a p99 of 0.18 s before the faults to ~1 s beside them, on the other test
    # worker's load)
    first_s = min(w.start_s for w in [*windows, *too_long, *stalled])
    baseline = finished_before(df[df["t_start_s"] < first_s], first_s)
    baseline = _without_stalls(baseline, stalls)
    before_p99_s = quantile(baseline["latency_ms"], 99) / 1000.0 if len(baseline) else 0.0
    beside_p99_s = (quantile(beside["latency_ms"], 99) / 1000.0
                    if len(beside) >= MIN_BESIDE else 0.0)
    base_p99_s = max(before_p99_s, beside_p99_s)
    usual = (f"steady p99 {base_p99_s:.2f} s" if before_p99_s >= beside_p99_s else
             f"p99 beside the outages {base_p99_s:.2f} s (before them {before_p99_s:.2f} s)")
    slow_s = base_p99_s + max(claim.initial_s, 0.05)
    ok_rows = affected[succeeded(affected)]
    slowed = ok_rows[ok_rows["latency_ms"] / 1000.0 >= slow_s]
    n_failed = int(failed(affected).sum())
    readable = claim.metric is not None and metric_delta is not None
    if readable:
        retried = (metric_delta or 0.0) > 0
        why = f"{metric} rose by {metric_delta:g}" if retried else f"{metric} did not rise"
    else:
        retried = len(slowed) > 0
        why = (f"{len(slowed)} successes took ≥ {slow_s:.2f} s ({usual} + the first backoff)"
               if retried else f"no success took ≥ {slow_s:.2f} s ({usual} + the first backoff)")
    out: list[Verdict] = []

    # 1. absorbed: requests overlapping the fault (and the backoff after it) still succeed
    ok = ok_fraction(affected)
    around = (f"{ok * 100:.2f} % of {len(affected)} requests around {len(windows)} "
              f"{claim.link} fault(s) succeeded ({n_failed} failed; need ≥ "
              f"{min_success * 100:.1f} %){set_aside}")
    if ok < min_success:
        out.append(scope.judge(ABSORBED, False, around, round(ok, 5), min_success, "ratio",
                               evidence=ev[ABSORBED]))
    elif retried:
        out.append(scope.judge(ABSORBED, True, f"{around}; {why}", round(ok, 5), min_success,
                               "ratio", evidence=ev[ABSORBED]))
    elif n_failed:
        out.append(scope.judge(
            ABSORBED, False, f"{around}, but {why}: the {n_failed} failures were not retried",
            round(ok, 5), min_success, "ratio", evidence=ev[ABSORBED]))
    else:
        out.append(scope.missing(
            ABSORBED, f"nothing shows the fault needed a retry: no request failed and {why} — "
            f"the link may not be in the path of {names}", min_success, "ratio",
            evidence=ev[ABSORBED]))

    # 2. the retry counter rose
    if claim.metric is not None:
        if metric_delta is None:
            out.append(scope.judge(VISIBLE, False, f"metric {metric} not readable", None,
                                   "> 0", evidence=ev[VISIBLE]))
        elif metric_delta > 0:
            out.append(scope.judge(VISIBLE, True, f"{metric} rose by {metric_delta:g} over "
                                   "the run", metric_delta, "> 0", evidence=ev[VISIBLE]))
        elif n_failed or len(slowed):
            never = ("" if metric_exported else
                     f"; {claim.metric.name} was never exported — a labelled counter appears "
                     "at its first increment, so if the service did retry, check the name and "
                     "labels in the contract")
            out.append(scope.judge(
                VISIBLE, False,
                f"{metric} did not rise although the fault touched requests ({n_failed} "
                f"failed, {len(slowed)} slowed successes){never}", metric_delta, "> 0",
                evidence=ev[VISIBLE]))
        else:
            out.append(scope.missing(
                VISIBLE, f"{metric} did not rise, but no request was failed or slowed by the "
                "fault either: nothing needed a retry", "> 0", evidence=ev[VISIBLE]))

    # 3. the slowest request around the fault: one attempt hung by the fault, the backoff
    #    sleeps, the steady latency — or, if the fault outlasts them, every attempt timing out
    fault_s = max(w.duration_s for w in windows)
    worst_case_s = min(claim.attempts * claim.call_timeout_s,
                       fault_s + min(claim.call_timeout_s, fault_s))
    bound_s = worst_case_s + budget_s + base_p99_s + SLACK_S
    if not readable and retried and ok < min_success:
        # without a retry counter, slow successes are retries only if the fault was absorbed:
        # a service that does not retry is slow around a fault too (connections re-made,
        # queues drained), and its failures say the slowness was not a backoff
        out.append(scope.missing(
            BUDGET, f"no metric counts the retries, and the fault was not absorbed ({n_failed} "
            f"failed): the {len(slowed)} slow successes are no evidence of a backoff",
            round(bound_s, 3), "s", evidence=ev[BUDGET]))
    elif not retried:
        out.append(scope.missing(
            BUDGET, f"no evidence that any request was retried ({why}): there was no retry "
            "latency to time", round(bound_s, 3), "s", evidence=ev[BUDGET]))
    else:
        worst_s = float(affected["latency_ms"].max()) / 1000.0
        out.append(scope.judge(
            BUDGET, worst_s <= bound_s,
            f"slowest request around the fault took {worst_s:.2f} s; bound {bound_s:.2f} s "
            f"(attempts hung by the fault {worst_case_s:.2f} s + backoff {budget_s:.2f} s + "
            f"{usual} + {SLACK_S:g} s)",
            round(worst_s, 3), round(bound_s, 3), "s", evidence=ev[BUDGET]))
    return out


def _beside(df: pd.DataFrame, windows: list[Window], budget_s: float,
            stalls: list[Window]) -> pd.DataFrame:
    """The requests from the first outage on that no outage (nor the backoff after it)
    touched, leaving out those in flight during a stall of the host."""
    if not windows:
        return df.iloc[0:0]
    first_s = min(w.start_s for w in windows)
    touched = _affected(df, windows, budget_s)
    return _without_stalls(df[(df["t_start_s"] >= first_s) & ~df.index.isin(touched.index)],
                           stalls)


def _without_stalls(df: pd.DataFrame, stalls: list[Window]) -> pd.DataFrame:
    """``df`` less the requests in flight during a stall of the host."""
    for stall in stalls:
        df = df[~df.index.isin(overlapping(df, stall.start_s, stall.end_s).index)]
    return df


def _failed_at(df: pd.DataFrame, timeout_s: float) -> pd.DataFrame:
    """The failed requests of ``df`` that took the whole of ``timeout_s``."""
    return df[failed(df) & (df["latency_ms"] / 1000.0 >= timeout_s * TIMEOUT_SHARE)]


def _own_timeouts(affected: pd.DataFrame, beside: pd.DataFrame, claim: RetriesClaim
                  ) -> tuple[pd.DataFrame, str]:
    """The failed requests around the outages that took the whole call timeout, when the
    stack came near that timeout on its own: one of the requests ``beside`` the outages failed
    at it, or they had a p99 of at least half of it (when there are ``MIN_BESIDE`` of them, as
    for the budget's usual latency). Returns those failures (none when the stack was not
    near) and what showed the stack near, for the verdict's detail."""
    timeout_s = claim.call_timeout_s
    at_timeout = _failed_at(affected, timeout_s)
    if at_timeout.empty or beside.empty:
        return at_timeout.iloc[0:0], ""
    rest_failed = _failed_at(beside, timeout_s)
    if len(rest_failed):
        return at_timeout, (f"failed {len(rest_failed)} of {len(beside)} requests at that "
                            "timeout too")
    if len(beside) < MIN_BESIDE:  # too few for a p99: one slow request would decide it
        return at_timeout.iloc[0:0], ""
    p99_s = quantile(beside["latency_ms"], 99) / 1000.0
    if p99_s >= timeout_s * NEAR_TIMEOUT:
        return at_timeout, f"answered with a p99 of {p99_s:.2f} s ({len(beside)} requests)"
    return at_timeout.iloc[0:0], ""


def _affected(df: pd.DataFrame, windows: list[Window], budget_s: float) -> pd.DataFrame:
    """Requests in flight during a fault or the backoff right after it."""
    parts = [overlapping(df, w.start_s, w.end_s + budget_s) for w in windows]
    affected = pd.concat(parts) if parts else df.iloc[0:0]
    return affected[~affected.index.duplicated()]
