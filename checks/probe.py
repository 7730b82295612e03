"""A health path answers fast under load: judged over every poll of it the run made while
requests were being answered and no fault was on.

Which polls count: those a part of the run (the load, each experiment) made between its first
request plus :data:`WARMUP_S` (every client arriving at once) and its last answer; none inside
a fault window or after it until readiness answered 2xx again (at least :data:`SETTLE_S`: a
dependency timing out is not the path's own speed, readiness waits out its dependency checks
by design), none after a signal was sent (the service is going away), none while a restart was
under way (``gauntlet up``'s, a realtime claim's). A poll that got no answer counts as slower
than any bound — a path that hangs under load is the failure this claim is about. Only 2xx
answers are timed: more than :data:`NOT_OK_SHARE` of others (a mistyped path's 404) and the
verdict is inconclusive, naming them.

The percentile is judged with its sampling uncertainty
(:func:`~gauntlet.checks.verdict.quantile_within`): an interval that straddles the bound is
marginal (inconclusive), too few polls for the percentile's upper limit is undecidable. A p99
needs about 300 polls (30 s of load at the prober's 0.1 s).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gauntlet.checks.answers import Part
from gauntlet.checks.realtime import RESTART_READY, RESTART_SIGNAL
from gauntlet.checks.verdict import Verdict, quantile_within, undecidable
from gauntlet.checks.windows import Scope, Window, ended_s, fault_windows, probes
from gauntlet.contract import ProbeClaim
from gauntlet.latency import quantile_bounds
from gauntlet.timeline import Event

WARMUP_S = 1.0
SETTLE_S = 2.0
NOT_OK_SHARE = 0.1  # more non-2xx answers than this: the path is not answering as itself


def quiet_windows(part: Part) -> list[Window]:
    """When the part's load ran with nothing done to the service: from its first request
    (plus the warm-up) to its last answer, less faults (plus the settle), signals and
    restarts."""
    samples = part.samples
    if samples.empty or "t_start_s" not in samples.columns:
        return []
    start = float(samples["t_start_s"].min()) + WARMUP_S
    end = float(ended_s(samples).max())
    cuts = [Window(w.start_s, _settled(part.events, w.end_s))
            for w in fault_windows(part.events)]
    signalled = [e.at_s for e in part.events if e.kind == "signal.sent"]
    if signalled:
        end = min(end, min(signalled))
    # a restart under load (gauntlet up's, a realtime claim's): from the signal or the restart
    # command until the service said ready, then the settle time
    for begin, done in ((("service.restart",), "service.restarted"),
                        ((RESTART_SIGNAL,), RESTART_READY)):
        opened: float | None = None
        for event in part.events:
            if event.kind in begin and opened is None:
                opened = event.at_s
            elif event.kind == done and opened is not None:
                cuts.append(Window(opened, event.at_s + SETTLE_S))
                opened = None
        if opened is not None:
            cuts.append(Window(opened, end))
    windows = [Window(start, end)] if end > start else []
    for cut in sorted(cuts, key=lambda w: w.start_s):
        kept: list[Window] = []
        for w in windows:
            if cut.end_s <= w.start_s or cut.start_s >= w.end_s:
                kept.append(w)
                continue
            if cut.start_s > w.start_s:
                kept.append(Window(w.start_s, cut.start_s))
            if cut.end_s < w.end_s:
                kept.append(Window(cut.end_s, w.end_s))
        windows = kept
    return windows


def _settled(events: Sequence[Event], removed_s: float) -> float:
    """When a fault's effects are over: :data:`SETTLE_S` after its removal, or later, once
    readiness answered 2xx again (a service reconnecting to its dependency is not yet the
    path's own speed)."""
    ready = next((e.at_s for e in events if e.kind == "probe" and e.at_s >= removed_s
                  and e.data.get("target") == "ready"
                  and 200 <= int(e.data.get("status") or 0) < 300), None)
    return max(removed_s + SETTLE_S, (ready or removed_s) + WARMUP_S)


def _polls(part: Part, target: str) -> list[Event]:
    windows = quiet_windows(part)
    return [e for e in probes(list(part.events), target)
            if any(w.start_s <= e.at_s < w.end_s for w in windows)]


def _time_ms(event: Event) -> float:
    """A poll's answer time; no answer is slower than any bound."""
    if int(event.data.get("status") or 0) == 0:
        return float("inf")
    return float(event.data.get("latency_ms") or 0.0)


def _not_ok(event: Event) -> bool:
    """An answer that is not the path's own 2xx (a 404 of a mistyped path, a 503)."""
    status = int(event.data.get("status") or 0)
    return status != 0 and not 200 <= status < 300


def probe_verdict(claim: ProbeClaim, parts: Sequence[Part]) -> Verdict:
    scope = Scope("probe", "probe", claim.name)
    label = f"p{claim.percentile:g}"
    what = f"{claim.path} answers within {claim.within_ms:g} ms under load"
    evidence = (f"polls of {claim.path} while the load ran and no fault was on (the prober polls "
                "it every 0.1 s in every experiment and load)")
    polls = [e for part in parts for e in _polls(part, claim.target)]
    every = sum(1 for part in parts for _ in probes(list(part.events), claim.target))
    times = np.array([_time_ms(e) for e in polls], dtype="float64")
    if not len(times):
        why = (f"no poll of {claim.path} was made under load outside a fault ({every} polls "
               "in all)" if every else f"{claim.path} was never polled (no experiment or load "
               "of this run ran the prober)")
        return scope.verdict(what, "inconclusive", why, None, claim.within_ms, "ms",
                             evidence=evidence)
    others = [e for e in polls if _not_ok(e)]
    if len(others) > NOT_OK_SHARE * len(polls):
        shown = ", ".join(sorted({str(e.data.get("status")) for e in others}))
        return scope.verdict(what, "inconclusive",
                             f"{len(others)} of {len(polls)} polls under load answered {shown}, "
                             f"not 2xx: the time of an answer that is not the path's own says "
                             f"nothing (is {claim.path} the path?)", None, claim.within_ms,
                             "ms", evidence=evidence)
    keep = np.array([not _not_ok(e) for e in polls], dtype=bool)
    times = times[keep]
    unanswered = int(np.isinf(times).sum())
    estimate = quantile_bounds(times, claim.percentile)
    outcome, marginal = quantile_within(estimate, claim.within_ms)
    observed = estimate.value_ms
    shown = f"{label} no answer" if np.isinf(observed) else estimate.describe()
    slowest = "no answer" if unanswered else f"{float(times.max()):.1f} ms"
    text = (f"{shown} over {len(times):,} polls under load, slowest {slowest}"
            f"{f' ({unanswered} unanswered)' if unanswered else ''}; bound "
            f"{claim.within_ms:g} ms")
    if outcome == "inconclusive" and not marginal:
        text = f"{text}: {undecidable(estimate, 'polls')}"
    elif marginal:
        text = f"{text}: marginal, its interval holds the bound"
    value = None if np.isinf(observed) else round(observed, 1)
    return scope.verdict(what, outcome, text, value, claim.within_ms, "ms", evidence=evidence,
                         marginal=marginal)
