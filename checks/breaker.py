"""Circuit-breaker verdicts: did it open, fail fast, probe, close, and did errors recover?

Input: the samples of the claim's requests, the fault window on the claim's link, the
``metric.state`` events of the claim (when it names a state metric) and the claim itself. An
answer is the open breaker's when it matches the claim's ``open_answer`` marker (see
:mod:`gauntlet.checks.markers`; the body marker column is ``marker:breaker.<name>``).

One breaker per component: the claim's ``isolated`` requests (another component's, sent
alongside) must keep being served while this breaker is open — a breaker shared by every
component refuses them too. Judged on their failures (5xx or no answer) started while it was
open, against their own rate before the fault plus the recovery margin.

Only the first verdict can be judged without the breaker having opened. A service with no
breaker fails "opens after the fault starts" and every other verdict is inconclusive ("never
opened, so …"): closing and recovering are not evidence of a breaker that never opened.

    for claim in contract.claims.of(BreakerClaim):
        verdicts += breaker_verdicts(record.samples, record.events, claim)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gauntlet.checks.markers import describe, marked
from gauntlet.checks.verdict import Verdict, quantile_within, undecidable
from gauntlet.checks.windows import (
    Scope,
    failed,
    fault_windows,
    finished_before,
    metric_states,
    of_requests,
    p95,
    started_in,
    statuses,
    succeeded,
)
from gauntlet.contract import BreakerClaim
from gauntlet.latency import quantile_bounds
from gauntlet.timeline import Event

CHECK = "breaker"
# Requests that start within this long after the first open answer may still pass through: the
# client's start order and the server's arrival order differ by a few milliseconds.
RACE_S = 0.1

OPENS = "opens after the fault starts"
FAST = "fails fast while open"
PROBES = "probes after the open duration"
CLOSES = "closes after the fault"
RECOVERS = "error rate recovers"
ISOLATED = "other components served while open"


@dataclass(frozen=True)
class BreakerBounds:
    open_within_s: float
    fail_fast_ms: float
    close_within_s: float
    recovery_margin: float = 0.01


def bounds(claim: BreakerClaim) -> BreakerBounds:
    """Bounds that follow from the claim.

    A failure-*rate* breaker opens once the successes from before the fault have aged out of
    its window and failed calls fill it, and a failed call may take ``call_s`` (its timeout,
    or ``max_call_s`` with its retries): window + one call, plus a second. A
    consecutive-failures breaker opens after that many calls, each up to ``call_s``; a breaker
    with both gets the sum. "Fails fast" is far below the call timeout: a quarter of it, never
    more than 250 ms. It closes after the open duration plus one probe call, plus 2 s.
    """
    rate = claim.failure_rate is not None and claim.window_s is not None
    open_within = 1.0
    if claim.consecutive_failures is not None:
        open_within += claim.consecutive_failures * claim.call_s
        if rate:
            open_within += claim.window_s or 0.0
    else:
        open_within += (claim.window_s or 0.0) + claim.call_s
    return BreakerBounds(
        open_within_s=open_within,
        fail_fast_ms=min(250.0, claim.call_timeout_s * 250.0),
        close_within_s=claim.open_s + claim.call_s + 2.0,
    )


def breaker_verdicts(samples: pd.DataFrame, events: list[Event],
                     claim: BreakerClaim) -> list[Verdict]:
    scope = Scope(CHECK, "breaker", claim.name)
    b = bounds(claim)
    ev = {
        OPENS: f"requests of {', '.join(claim.requests)} during a fault on {claim.link}",
        FAST: f"answers marked as the open breaker ({describe(claim.open_answer)})",
        PROBES: f"a request passing through, or a half_open state, ≥ 0.9 x {claim.open_s:g} s "
                "after the breaker opened",
        CLOSES: "a breaker that opened, and requests after the fault was removed",
        RECOVERS: "a breaker that opened, and requests after it should have closed",
    }
    if claim.isolated:
        ev[ISOLATED] = (f"a breaker that opened, and requests of {', '.join(claim.isolated)} "
                        "while it was open")
    df = of_requests(samples, claim.requests).sort_values("t_start_s", kind="stable")
    others = of_requests(samples, claim.isolated)
    windows = fault_windows(events, claim.link)

    def all_missing(lacked: str) -> list[Verdict]:
        return [scope.missing(what, lacked, evidence=ev[what]) for what in ev]

    if not windows:
        return all_missing(f"no fault on {claim.link} was recorded: the breaker was not "
                           "exercised")
    fault = windows[0]
    during = started_in(df, fault.start_s, fault.end_s)
    if during.empty:
        return all_missing(f"no request of {', '.join(claim.requests)} started during the "
                           f"{fault.duration_s:.1f} s {claim.link} fault: the breaker was not "
                           "exercised")
    is_open = marked(df, claim.open_answer, f"marker:breaker.{claim.name}")
    # 4xx answers are the service refusing the request itself (auth, validation, a rate
    # limit): they say nothing about the breaker, so they neither open it nor probe through it
    through = ~is_open & ~((df["status"] >= 400) & (df["status"] < 500))
    opened = df[is_open & (df["t_start_s"] >= fault.start_s)]
    t_open = float(opened["t_start_s"].min()) if len(opened) else None
    out: list[Verdict] = []

    # 1. opens within a bound after the fault starts
    needed = max(claim.min_calls, claim.consecutive_failures or 0, 1)
    if t_open is None and len(during) < needed:
        # too few calls for this breaker to open at all: not evidence it does not open
        return all_missing(
            f"only {len(during)} requests of {', '.join(claim.requests)} started during the "
            f"{fault.duration_s:.0f} s {claim.link} fault; the breaker opens only after "
            f"{needed} calls: the load was too thin to exercise it")
    if t_open is None:
        seen = metric_states(events, scope.claim, "open")
        metric = (f"; the state metric did say open {seen[0].at_s - fault.start_s:.2f} s in — "
                  "check the claim's open_answer" if seen else "")
        out.append(scope.judge(
            OPENS, False,
            f"never opened: {len(during)} requests during the {fault.duration_s:.0f} s "
            f"{claim.link} fault, none answered by an open breaker "
            f"({describe(claim.open_answer)}; p95 {p95(during['latency_ms']):.0f} ms; call "
            f"timeout {claim.call_timeout_s:g} s){metric}",
            None, b.open_within_s, "s", evidence=ev[OPENS]))
        never = "the breaker never opened, so"
        out.append(scope.missing(FAST, f"{never} there was no open period to fail fast in",
                                 b.fail_fast_ms, "ms", evidence=ev[FAST]))
        out.append(scope.missing(PROBES, f"{never} it had no open duration to probe after",
                                 claim.open_s, "s", evidence=ev[PROBES]))
        out.append(scope.missing(CLOSES, f"{never} there was nothing to close (requests "
                                 "succeeding after the fault are not a breaker closing)",
                                 b.close_within_s, "s", evidence=ev[CLOSES]))
        out.append(scope.missing(RECOVERS, f"{never} recovery says nothing about it",
                                 b.recovery_margin, "ratio", evidence=ev[RECOVERS]))
        if claim.isolated:
            out.append(scope.missing(ISOLATED, f"{never} there was no open breaker to keep "
                                     "them apart from", b.recovery_margin, "ratio",
                                     evidence=ev[ISOLATED]))
        return out

    took = t_open - fault.start_s
    out.append(scope.judge(
        OPENS, took <= b.open_within_s,
        f"first open-breaker answer {took:.2f} s after the fault started "
        f"({'≤' if took <= b.open_within_s else '>'} {b.open_within_s:.1f} s)",
        round(took, 3), b.open_within_s, "s", evidence=ev[OPENS]))

    # 2. fails fast while open: the open answers come well before the call timeout. Only
    # requests started once the breaker was certainly open count: by the time the first open
    # answer came back. One started before may have hung on the link and met the open breaker
    # only on a retry; its wait says nothing about failing fast.
    answered = opened["t_start_s"] + opened["latency_ms"] / 1000.0
    t_surely_open = float(answered.min())
    while_open = df[is_open & (df["t_start_s"] >= t_surely_open)
                    & (df["t_start_s"] < fault.end_s)]
    while_open, probed = _not_probes(while_open, metric_states(events, scope.claim, "half_open"))
    # the p95 with its confidence interval: a handful of open answers cannot show that 95 %
    # of them are fast (a fail needs only that the interval's lower limit is slow)
    estimate = quantile_bounds(while_open["latency_ms"], 95.0)
    outcome, marginal = quantile_within(estimate, b.fail_fast_ms)
    relation = {"pass": "≤", "fail": ">", "inconclusive": "vs"}[outcome]
    shown = (undecidable(estimate, "open-breaker answers") + f"; {estimate.describe()}"
             if outcome == "inconclusive" and estimate.undecidable else estimate.describe())
    out.append(scope.verdict(
        FAST, outcome,
        f"{len(while_open)} open-breaker answers while the fault lasted: {shown} "
        f"({relation} {b.fail_fast_ms:.0f} ms; call timeout {claim.call_timeout_s:g} s)"
        + probed,
        round(estimate.value_ms, 2), b.fail_fast_ms, "ms", evidence=ev[FAST],
        marginal=marginal))

    # 3. probes (half-open) after the open duration — not before it, and not much after
    # several instances, each with its own breaker, see the same failing calls in turn: the
    # last opens within about one call of the first (its failures end a call timeout after
    # they began), and may let a call through until then
    t_all_open = t_surely_open + (claim.call_s if claim.instances > 1 else 0.0)
    out.append(_probes(df, events, claim, scope, t_open, t_all_open, through, ev[PROBES]))

    # 4. closes after the fault is removed: the first usable answer that is not the fallback
    after = df[df["t_start_s"] >= fault.end_s]
    # where the error rate is judged again from: the close, when it came within its bound
    # (after the last open answer), else the bound — as late as a close may come
    recover_from_s = fault.end_s + b.close_within_s
    served = after[succeeded(after) & ~is_open.loc[after.index].to_numpy(bool)]
    if after.empty:
        out.append(scope.missing(CLOSES, "no request after the fault was removed: closing was "
                                 "not observed", b.close_within_s, "s", evidence=ev[CLOSES]))
    elif served.empty:
        out.append(scope.judge(
            CLOSES, False,
            f"none of {len(after)} requests after the fault was removed succeeded "
            f"({int(is_open.loc[after.index].sum())} still answered as open)",
            None, b.close_within_s, "s", evidence=ev[CLOSES]))
    else:
        # closed = successes from then on: a success followed by more open answers was a
        # half-open probe that let one call through, not a breaker that closed
        still_open = after[is_open.loc[after.index].to_numpy(bool)]
        last_open = float(still_open["t_start_s"].max()) if len(still_open) else None
        settled = served if last_open is None else served[served["t_start_s"] > last_open
                                                          - RACE_S]
        first_s = float(served["t_start_s"].min()) - fault.end_s
        if settled.empty:
            assert last_open is not None
            out.append(scope.judge(
                CLOSES, False,
                f"never closed: {len(still_open)} open answers after the fault was removed, "
                f"the last {last_open - fault.end_s:.2f} s after it, though the first success "
                f"came {first_s:.2f} s after it (a probe let through, then open again)",
                None, b.close_within_s, "s", evidence=ev[CLOSES]))
        else:
            took = float(settled["t_start_s"].min()) - fault.end_s
            if took <= b.close_within_s:
                recover_from_s = max(fault.end_s + took,
                                     last_open if last_open is not None else fault.end_s)
            out.append(scope.judge(
                CLOSES, took <= b.close_within_s,
                f"serving again from {took:.2f} s after the fault was removed, no open answer "
                f"after that (bound {b.close_within_s:.1f} s: open {claim.open_s:g} s + one "
                "call + 2 s)",
                round(took, 3), b.close_within_s, "s", evidence=ev[CLOSES]))

    # 5. error rate back to the steady state's; an open answer counts as an error
    errors = pd.Series(failed(df), index=df.index) | is_open
    baseline = finished_before(df[df["t_start_s"] < fault.start_s], fault.start_s)
    tail = df[df["t_start_s"] > recover_from_s]
    base_err = float(errors.loc[baseline.index].mean()) if len(baseline) else 0.0
    limit = base_err + b.recovery_margin
    if tail.empty:
        out.append(scope.missing(
            RECOVERS, f"no request {b.close_within_s:.1f} s or more after the fault was removed "
            "(when the breaker should have closed): recovery was not observed",
            round(limit, 5), "ratio", evidence=ev[RECOVERS]))
    else:
        tail_err = float(errors.loc[tail.index].mean())
        base = (f"{base_err * 100:.2f} % before the fault" if len(baseline)
                else "no request before the fault, so against 0 %")
        out.append(scope.judge(
            RECOVERS, tail_err <= limit,
            f"error rate {tail_err * 100:.2f} % over {len(tail)} requests from "
            f"{recover_from_s - fault.end_s:.1f} s after the fault"
            + (" (the close)" if recover_from_s < fault.end_s + b.close_within_s else "")
            + f" vs {base} (limit {limit * 100:.2f} %)",
            round(tail_err, 5), round(limit, 5), "ratio", evidence=ev[RECOVERS]))
    if claim.isolated:
        out.append(_isolated(others, claim, scope, b, t_open, fault.start_s, fault.end_s,
                             ev[ISOLATED]))
    return out


def _isolated(others: pd.DataFrame, claim: BreakerClaim, scope: Scope, b: BreakerBounds,
              t_open: float, fault_start_s: float, fault_end_s: float,
              evidence: str) -> Verdict:
    """The other components' requests started while this breaker was open (from its first
    open answer to the end of the fault) fail no more than they did before the fault."""
    names = ", ".join(claim.isolated)
    while_open = started_in(others, t_open, fault_end_s)
    if while_open.empty:
        return scope.missing(ISOLATED, f"no request of {names} started while the breaker was "
                             "open", b.recovery_margin, "ratio", evidence=evidence)
    baseline = finished_before(others[others["t_start_s"] < fault_start_s], fault_start_s)
    base_err = float(failed(baseline).mean()) if len(baseline) else 0.0
    limit = base_err + b.recovery_margin
    err = float(failed(while_open).mean())
    base = (f"{base_err * 100:.2f} % before the fault" if len(baseline)
            else "no request of theirs before the fault, so against 0 %")
    return scope.judge(
        ISOLATED, err <= limit,
        f"{err * 100:.2f} % of {len(while_open)} requests of {names} failed while the "
        f"{claim.name} breaker was open ({statuses(while_open)}) vs {base} (limit "
        f"{limit * 100:.2f} %)" + ("" if err <= limit else ": the open breaker refuses "
                                   "other components too"),
        round(err, 5), round(limit, 5), "ratio", evidence=evidence)


def _not_probes(while_open: pd.DataFrame, half_open: list[Event]) -> tuple[pd.DataFrame, str]:
    """The open answers less those of requests in flight when the breaker was seen half-open,
    and the note that counts them (``""`` when none).

    Such a request may have been the probe itself: let through, hung on the dead link for the
    call timeout, then retried into the breaker that the failed probe opened again. Its wait
    says nothing about failing fast, as with a request that met the breaker only on a retry
    (above). A CI run caught it: 77 open answers of 4-16 ms and one of 1231 ms, in flight as
    the state metric read half_open, made the p95's interval reach 1231 ms. Only a contract
    with a state metric shows half-open moments; without one nothing is set aside."""
    if while_open.empty or not half_open:
        return while_open, ""
    start = while_open["t_start_s"].to_numpy(float)
    end = start + while_open["latency_ms"].to_numpy(float) / 1000.0
    probing = np.zeros(len(while_open), dtype=bool)
    for event in half_open:
        probing |= (start <= event.at_s) & (end >= event.at_s)
    if not probing.any():
        return while_open, ""
    slowest = float(while_open["latency_ms"].to_numpy(float)[probing].max())
    return while_open[~probing], (f"; {int(probing.sum())} answer(s) of requests in flight "
                                  f"while the breaker was seen half-open (the probe, up to "
                                  f"{slowest:.0f} ms) not counted")


def _probes(df: pd.DataFrame, events: list[Event], claim: BreakerClaim, scope: Scope,
            t_open: float, t_surely_open: float, through: pd.Series, evidence: str) -> Verdict:
    """The first request through (or half_open state) after ≥ 0.9 x open_s; one through
    before that means the breaker did not hold open.

    Only a request started after ``t_surely_open`` (the first open answer's arrival, past the
    start-order race; with several instances, one call later, when every instance's breaker
    must be open) passing through proves the breaker did not hold. When it opened is not
    seen from outside: after the last request let through before the first open answer started
    (``t_open``), since a closed breaker admitted that one, and by ``t_surely_open``. An early
    probe is counted from that earliest moment, the lenient end: the first open answer itself
    can come well after the opening when every client was waiting (on a hung call, or pacing)
    as the breaker opened."""
    passed_through = df[through.to_numpy(bool)]
    before = passed_through[passed_through["t_start_s"] < t_open]
    could_open = float(before["t_start_s"].max()) if len(before) else t_open
    earliest = could_open + 0.9 * claim.open_s
    bound = claim.open_s + claim.call_s + 2.0
    half_open = metric_states(events, scope.claim, "half_open")
    early = passed_through[(passed_through["t_start_s"] > t_surely_open + RACE_S)
                           & (passed_through["t_start_s"] < earliest)]
    early_t = [float(early["t_start_s"].min())] if len(early) else []
    early_t += [e.at_s for e in half_open if t_surely_open < e.at_s < earliest]
    if early_t:
        gap = min(early_t) - could_open
        first = early.sort_values("t_start_s").iloc[0] if len(early) else None
        what = ("a request" if first is None or float(first["t_start_s"]) != min(early_t)
                else f"a request (answered {int(first['status'])} in "
                f"{float(first['latency_ms']):.0f} ms)")
        return scope.judge(
            PROBES, False,
            f"let {what} through {gap:.2f} s after it could first have opened (the last call "
            f"through the closed breaker started {t_open - could_open:.2f} s before the first "
            f"open answer), before the {claim.open_s:g} s open duration: the breaker does not "
            "hold open",
            round(gap, 3), round(bound, 3), "s", evidence=evidence)
    later = passed_through[passed_through["t_start_s"] >= earliest]
    candidates = [float(later["t_start_s"].min())] if len(later) else []
    candidates += [e.at_s for e in half_open if e.at_s >= earliest]
    if not candidates:
        remaining = df[df["t_start_s"] >= earliest]
        if remaining.empty:
            return scope.missing(
                PROBES, f"no request {0.9 * claim.open_s:.1f} s or more after the breaker "
                "opened, and no half_open state: a probe could not be observed",
                round(bound, 3), "s", evidence=evidence)
        span = float(remaining["t_start_s"].max()) - t_open
        return scope.judge(
            PROBES, False,
            f"still answering as open {span:.1f} s after opening ({len(remaining)} requests "
            f"after the {claim.open_s:g} s open duration, none passed through; no half_open "
            "state)", None, round(bound, 3), "s", evidence=evidence)
    gap = min(candidates) - t_open
    return scope.judge(
        PROBES, gap <= bound,
        f"first probe {gap:.2f} s after opening (open duration {claim.open_s:g} s; bound "
        f"{bound:.1f} s)", round(gap, 3), round(bound, 3), "s", evidence=evidence)
