"""Slow-dependency verdicts: latency added to a link must show in the requests' latency (the
precondition), no request may outlive the claimed deadline, and an exhausted pool must answer
its status quickly instead of queueing.

Precondition. :func:`fault_in_path` checks that the requests got slower while the link was
slow: p95 during the fault at least ``min(added/2, 250 ms)`` above the steady p95 — half the
added latency tells a fault in the path from noise, and the 250 ms cap keeps a deadline that
cuts requests early (a 1 s deadline under 5 s of added latency) from hiding it. When it does not
pass, the experiment demotes the deadline and pool verdicts to inconclusive
(:func:`gauntlet.checks.steady.demote`) and reports the precondition once:

    precondition = fault_in_path(samples, events, link, requests, added_ms)
    verdicts = [precondition, *demote(deadline_verdicts(...) + pool_verdicts(...), precondition)]

On their own, the deadline and pool verdicts still need their own evidence: a request pushed
near the deadline (or cut with the claimed status), more requests in flight than the pool holds.

Resolution. A deadline firing answers a little after it (the answer is written, the client's
clock reads it): the bound is the deadline + 0.5 s, and a slowest request within 50 ms + 2 % of
that bound is marginal — scheduling on a shared machine moves a timing by tens of milliseconds,
and timers drift in proportion to what they time. The same holds for the pool's acquire timeout.

The pool's evidence is an answer the contract identifies as an exhausted pool's
(``exhausted_answer``: a header or body only that answer carries); a bare status is weaker and
counts only where the pool could have been full (see :func:`pool_verdicts`); an answer another
claim's marker identifies (an open breaker's) is never the pool's. The verdict judges the
*median* exhaustion answer: a request that ran statements on one
connection before it waited for a second one answers later than the acquire timeout,
legitimately; the typical answer must still come at the acquire timeout, and a pool that queues
forever gives no such answer at all.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gauntlet.checks.markers import body_column, describe, marked, marked_by_any
from gauntlet.checks.steady import PRECONDITION
from gauntlet.checks.verdict import Verdict, within
from gauntlet.checks.windows import (
    Scope,
    Window,
    ended_s,
    fault_windows,
    finished_before,
    of_requests,
    overlapping,
    p95,
    quantile,
    started_in,
    statuses,
)
from gauntlet.contract import DeadlineClaim, Marker, PoolClaim
from gauntlet.timeline import Event

SLACK_S = 0.5
SLACK_SHARE = 0.04


def slack_s(timeout_s: float) -> float:
    """How late an answer cut at ``timeout_s`` may come: 0.5 s plus 4 % of the timeout. It
    must stay well above :func:`resolution_ms` of the bound (2 % of it), or a timer firing
    right on time on a long deadline (30 s: bound 30.5 s, resolution 660 ms) would read as
    marginal every time."""
    return SLACK_S + SLACK_SHARE * timeout_s
NEAR = 0.9  # a request this close to the deadline was pushed to it by the fault


def resolution_ms(bound_ms: float) -> float:
    return 50.0 + 0.02 * bound_ms


def fault_in_path(samples: pd.DataFrame, events: list[Event], link: str, requests: list[str],
                  added_ms: float) -> Verdict:
    """Check ``"precondition"``: did the latency added on ``link`` show in ``requests``?"""
    name = f"the fault shows in latency [{link}]"
    evidence = f"requests of {', '.join(requests)} during a latency fault on {link}"
    windows = fault_windows(events, link)
    if not windows:
        return Verdict.missing(PRECONDITION, name, f"no fault on {link} was recorded",
                               evidence=evidence)
    w = windows[0]
    df = of_requests(samples, requests)
    during = started_in(df, w.start_s, w.end_s)
    if during.empty:
        return Verdict.missing(PRECONDITION, name, f"no request of {', '.join(requests)} "
                               f"started during the {link} fault", evidence=evidence)
    baseline = finished_before(df[df["t_start_s"] < w.start_s], w.start_s)
    base = p95(baseline["latency_ms"]) if len(baseline) else 0.0
    observed = p95(during["latency_ms"])
    need = min(0.5 * added_ms, 250.0)
    shift = observed - base
    return Verdict.judge(
        PRECONDITION, name, shift >= need,
        f"p95 of {len(during)} requests {observed:.0f} ms during the fault vs {base:.0f} ms "
        f"before: {shift:+.0f} ms with {added_ms:.0f} ms added on {link} (need ≥ "
        f"{need:.0f} ms{'' if shift >= need else '; the fault is not in their path'})",
        round(shift, 1), need, "ms", evidence=evidence)


def deadline_what(claim: DeadlineClaim) -> str:
    return f"no request exceeds the {claim.deadline_s:g} s deadline"


def unreachable_verdict(claim: DeadlineClaim, finding: str) -> Verdict:
    """The deadline verdict when the contract's own numbers make it unreachable: inconclusive,
    saying which claim cuts first (a contract finding, not a measurement)."""
    scope = Scope("slow-dependency", "deadline", claim.name)
    return scope.missing(deadline_what(claim), f"contract finding: {finding}",
                         (claim.deadline_s + slack_s(claim.deadline_s)) * 1000.0, "ms",
                         evidence=f"a request of {', '.join(claim.requests)} able to run into "
                                  "the deadline")


def deadline_verdicts(samples: pd.DataFrame, events: list[Event], claim: DeadlineClaim, *,
                      added_ms: float) -> list[Verdict]:
    scope = Scope("slow-dependency", "deadline", claim.name)
    deadline_ms = claim.deadline_s * 1000.0
    what = deadline_what(claim)
    bound_ms = deadline_ms + slack_s(claim.deadline_s) * 1000.0
    evidence = (f"requests of {', '.join(claim.requests)} pushed near the deadline by latency "
                f"on {claim.link}")
    windows = fault_windows(events, claim.link)
    if not windows:
        return [scope.missing(what, f"no fault on {claim.link} was recorded", bound_ms, "ms",
                              evidence=evidence)]
    # every slow window: the experiment holds the link slow once more when the first brought
    # no request near the deadline
    df = of_requests(samples, claim.requests)
    rows = pd.concat([overlapping(df, w.start_s, w.end_s) for w in windows])
    rows = rows[~rows.index.duplicated()]
    if rows.empty:
        return [scope.missing(what, f"no request overlapped the {claim.link} fault", bound_ms,
                              "ms", evidence=evidence)]
    slowest = float(rows["latency_ms"].max())
    cut = int((rows["status"] == claim.status).sum()) if claim.status is not None else 0
    near = int((rows["latency_ms"] >= NEAR * deadline_ms).sum())
    if not near and not cut:
        return [scope.missing(
            what, f"the added {added_ms:.0f} ms never pushed a request near the "
            f"{claim.deadline_s:g} s deadline (slowest {slowest:.0f} ms of {len(rows)}): the "
            "deadline was not exercised", bound_ms, "ms", evidence=evidence)]
    outcome, marginal = within(slowest, bound_ms, resolution_ms(bound_ms))
    over = int((rows["latency_ms"] > bound_ms).sum())
    answered = (f"; {cut} answered {claim.status}" if claim.status is not None else "")
    return [scope.verdict(
        what, outcome,
        f"slowest of {len(rows)} requests during the {added_ms:.0f} ms {claim.link} fault "
        f"{slowest:.0f} ms; {over} over the {claim.deadline_s:g} s deadline + "
        f"{slack_s(claim.deadline_s):.2g} s "
        f"(resolution {resolution_ms(bound_ms):.0f} ms){answered}",
        round(slowest, 1), bound_ms, "ms", evidence=evidence, marginal=marginal)]


def max_in_flight(df: pd.DataFrame, w: Window) -> int:
    """The most requests of ``df`` in flight at once within the window."""
    rows = overlapping(df, w.start_s, w.end_s)
    if rows.empty:
        return 0
    t0 = np.maximum(rows["t_start_s"].to_numpy(), w.start_s)
    t1 = np.minimum((rows["t_start_s"] + rows["latency_ms"] / 1000.0).to_numpy(), w.end_s)
    times = np.concatenate([t0, t1])
    steps = np.concatenate([np.ones(len(t0)), -np.ones(len(t1))])
    order = np.lexsort((steps, times))  # at a tie, an end before a start
    return int(np.cumsum(steps[order]).max())


def in_flight_at(df: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """How many requests of ``df`` were in flight at each of ``times``: started before it and
    not yet over (a request starting at that very moment is not counted)."""
    starts = np.sort(df["t_start_s"].to_numpy(dtype="float64"))
    ends = np.sort(ended_s(df).to_numpy(dtype="float64"))
    counts: np.ndarray = (np.searchsorted(starts, times, side="left")
                          - np.searchsorted(ends, times, side="right"))
    return counts


def pool_verdicts(samples: pd.DataFrame, events: list[Event], claim: PoolClaim, *,
                  added_ms: float, others: Mapping[str, Marker] | None = None
                  ) -> list[Verdict]:
    """``others``: the markers of the contract's other claims (claim → marker); an answer one
    of them identifies — an open breaker's 503 — is never taken for the pool's.

    With ``claim.exhausted_answer`` identifying the answer by a header or body, an answer that
    carries it is the pool's own word that it was exhausted. With the bare status it is not: a
    503 is what anything that refused answers. Then only answers given while at least ``size``
    other requests of the claim were in flight count (the pool could have been full; the client
    sees every request that holds or waits for a connection), so a quick 503 of something else
    in a half-idle service is not taken for pool evidence."""
    scope = Scope("slow-dependency", "pool", claim.name)
    answer = claim.answer
    what = f"pool exhaustion answers {claim.status} quickly"
    bound_ms = (claim.acquire_timeout_s + slack_s(claim.acquire_timeout_s)) * 1000.0
    evidence = (f"answers of {', '.join(claim.requests)} marked as the exhausted pool's "
                f"({describe(answer)}) while {claim.link} was slow" if claim.identified else
                f"{claim.status} answers of {', '.join(claim.requests)} given while at least "
                f"{claim.size} other requests (the pool's size) were in flight, while "
                f"{claim.link} was slow")
    windows = fault_windows(events, claim.link)
    if not windows:
        return [scope.missing(what, f"no fault on {claim.link} was recorded", bound_ms, "ms",
                              evidence=evidence)]
    w = windows[0]
    df = of_requests(samples, claim.requests)
    during = started_in(df, w.start_s, w.end_s)
    if during.empty:
        return [scope.missing(what, f"no request started during the {claim.link} fault",
                              bound_ms, "ms", evidence=evidence)]
    peak = max_in_flight(df, w)
    own = f"pool.{claim.name}"
    foreign = {k: m for k, m in (others or {}).items() if k != own}
    answered = during[marked(during, answer, body_column(own)).to_numpy(bool)]
    theirs = marked_by_any(answered, foreign).to_numpy(bool)
    busy = answered[~theirs]
    notes: list[str] = []
    if theirs.any():
        names = ", ".join(sorted(foreign))
        notes.append(f"{int(theirs.sum())} answers {describe(answer)} carried another claim's "
                     f"marker ({names}) and were not counted")
    if not claim.identified:
        loaded = in_flight_at(df, busy["t_start_s"].to_numpy(dtype="float64")) >= claim.size
        if (~loaded).any():
            notes.append(f"{int((~loaded).sum())} answers {claim.status} came with fewer than "
                         f"{claim.size} requests in flight and were not counted (a bare status "
                         "is weak evidence: declare exhausted_answer to identify the pool's "
                         "answer)")
        busy = busy[loaded]
    note = "".join(f"; {n}" for n in notes)
    if busy.empty:
        queued = during[during["latency_ms"] > bound_ms]
        if peak <= claim.size:
            verdict = scope.missing(
                what, f"at most {peak} requests in flight for a pool of {claim.size}: the pool "
                f"was never exhausted{note}", bound_ms, "ms", evidence=evidence)
        elif len(queued):
            verdict = scope.judge(
                what, False,
                f"no exhausted-pool answer ({describe(answer)}) while {peak} requests were in "
                f"flight for a pool of {claim.size}: {len(queued)} waited past the "
                f"{claim.acquire_timeout_s:g} s acquire timeout instead (slowest "
                f"{float(during['latency_ms'].max()):.0f} ms; {statuses(during)}){note}",
                None, bound_ms, "ms", evidence=evidence)
        else:
            verdict = scope.missing(
                what, f"{peak} requests in flight for a pool of {claim.size}, but none waited "
                f"past the acquire timeout and none was answered as an exhausted pool "
                f"({describe(answer)}): the pool was not exhausted in effect{note}", bound_ms,
                "ms", evidence=evidence)
        return [verdict]
    median = quantile(busy["latency_ms"], 50)
    outcome, marginal = within(median, bound_ms, resolution_ms(bound_ms))
    how = ("marked" if claim.identified else f"with ≥ {claim.size} in flight")
    return [scope.verdict(
        what, outcome,
        f"{len(busy)} answers {describe(answer)} ({how}) during the {added_ms:.0f} ms "
        f"{claim.link} fault (peak {peak} in flight, pool {claim.size}), median "
        f"{median:.0f} ms (acquire timeout {claim.acquire_timeout_s:g} s + "
        f"{slack_s(claim.acquire_timeout_s):.2g} s; resolution "
        f"{resolution_ms(bound_ms):.0f} ms){note}",
        round(median, 1), bound_ms, "ms", evidence=evidence, marginal=marginal)]
