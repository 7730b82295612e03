"""Detailed health while a dependency link is down: does the endpoint show it, and in time?

A detailed health endpoint (My-SaaS-Chat's ``/health/detailed``, LangSense's per-component
health) reports each dependency's status and answers within a claimed time. The prober polls
the claim's ``detailed.path`` as probe target :data:`DETAILED_PROBE` and records, with every
answer, the value at the claim's ``dependency_status`` path (``value``; ``None`` when the
answer had no such field). Three verdicts:

- *shows the link down*: a value among ``unhealthy`` within ``within_s`` (default: the claim's
  ``ready_within_s``) of the link going down. Evidence: the endpoint answered the field, and
  showed the link healthy before the fault — an endpoint that always says "degraded" is not
  reflecting this fault (it fails the next verdict instead).
- *shows the link healthy again*: a value among ``healthy`` within ``recover_within_s`` of the
  link coming back. Evidence: it was shown down.
- *answers within max_ms*: the p95 of its answer times, over the whole run and over the fault
  alone (the moment health checks are slow), both within ``max_ms``. Evidence: it was shown
  down — an endpoint that never looks at its dependencies answers fast for free, and that speed
  is not what was claimed.

A probe with no answer is a failure to answer in time, never a reading of the time it waited:
the prober polls with a timeout above the bound (:func:`probe_timeout_s`), so a poll that timed
out, or was refused, did not answer within ``max_ms``. Only a poll cut off *below* the bound (a
run recorded with a shorter prober timeout) leaves that unknown; when such polls decide the
p95, the verdict is inconclusive and says so.
"""

from __future__ import annotations

import math
from collections import Counter

from gauntlet.checks.verdict import Outcome, Verdict, quantile_within, undecidable
from gauntlet.checks.windows import Scope, fault_windows, first_seen, probe_gap_s, probes
from gauntlet.contract import HealthClaim, HealthDetail
from gauntlet.latency import QuantileBounds, quantile_bounds
from gauntlet.timeline import Event

CHECK = "health"
DETAILED_PROBE = "detailed"
# how far past the bound a poll of the detailed endpoint waits: a late answer is still measured
# (the reason names its time), one later still is "no answer within the bound"
PROBE_MARGIN_S = 0.5
PROBER_TIMEOUT_S = 1.0  # the prober's own timeout (gauntlet.chaos.probes.Prober)


def probe_timeout_s(detail: HealthDetail) -> float:
    """The timeout the detailed endpoint is polled with: above its claimed bound (a poll cut off
    below the bound cannot say whether the answer would have come in time), never below the
    prober's own."""
    return max(PROBER_TIMEOUT_S, detail.max_ms / 1000.0 + PROBE_MARGIN_S)


def _value(event: Event) -> str | None:
    value = event.data.get("value")
    return None if value is None else str(value)


def _values(events: list[Event], most: int = 4) -> str:
    """``"healthy x12, unhealthy x3, no field x2"``: what the answers said."""
    counts = Counter(_value(e) or "no field" for e in events)
    return ", ".join(f"{v} x{n}" for v, n in counts.most_common(most)) or "none"


def _statuses(events: list[Event]) -> str:
    counts = Counter(int(e.data.get("status", -1)) for e in events)
    return ", ".join(f"{s} x{n}" for s, n in counts.most_common(4)) or "none"


def detailed_verdicts(events: list[Event], claim: HealthClaim) -> list[Verdict]:
    """The three verdicts of ``claim.detailed`` (none when the claim has no ``detailed``)."""
    detail = claim.detailed
    if detail is None:
        return []
    scope = Scope(CHECK, "health", claim.name)
    link, field = claim.link, detail.status_field(claim.link)
    shown = f"detailed health shows {link} down"
    back = f"detailed health shows {link} healthy again"
    fast = f"detailed health answers within {detail.max_ms:g} ms"
    within_s = detail.within_s if detail.within_s is not None else claim.ready_within_s
    ev = {
        shown: f"answers of {detail.path} carrying {field}, healthy before {link} went down "
               "and while it was down",
        back: f"{detail.path} showing {link} down during the fault, and answers after it",
        fast: f"{detail.path} showing {link} down during the fault (an endpoint that checks "
              "nothing is fast for free), and its answer times",
    }
    bounds: dict[str, tuple[float, str]] = {shown: (within_s, "s"),
                                            back: (claim.recover_within_s, "s"),
                                            fast: (detail.max_ms, "ms")}

    def all_missing(lacked: str) -> list[Verdict]:
        return [scope.missing(what, lacked, *bounds[what], evidence=ev[what])
                for what in (shown, back, fast)]

    windows = fault_windows(events, link)
    if not windows:
        return all_missing(f"no fault on {link} was recorded: nothing was exercised")
    w = windows[0]
    polled = probes(events, DETAILED_PROBE)
    if not any(_value(e) is not None for e in polled):
        return all_missing(
            f"no answer of {detail.path} carried {field} ({len(polled)} probes answered "
            f"{_statuses(polled)}): the endpoint, or that field, is not there"
            if polled else f"{detail.path} was never polled")

    healthy, unhealthy = set(detail.healthy), set(detail.unhealthy)
    before = [e for e in polled if e.at_s < w.start_s]
    during = [e for e in polled if w.start_s <= e.at_s < w.end_s]
    first_down: Event | None = None
    out: list[Verdict] = []
    if not any(_value(e) in healthy for e in before):
        out.append(scope.missing(
            shown, f"{detail.path} never showed {link} as {sorted(healthy)} before the fault "
            f"({len(before)} answers: {_values(before)}): what it showed during the fault says "
            "nothing about the fault", within_s, "s", evidence=ev[shown]))
    elif not during:
        out.append(scope.missing(shown, f"no answer of {detail.path} while {link} was down",
                                 within_s, "s", evidence=ev[shown]))
    else:
        first_down = next((e for e in during if _value(e) in unhealthy), None)
        if first_down is None:
            out.append(scope.judge(
                shown, False,
                f"never showed {link} as {sorted(unhealthy)} during the {w.duration_s:.1f} s "
                f"it was down: {len(during)} answers of {detail.path} said {_values(during)} "
                f"(HTTP {_statuses(during)})", None, within_s, "s", evidence=ev[shown]))
        else:
            took = first_down.at_s - w.start_s
            outcome, marginal = first_seen(took, within_s, probe_gap_s(events, DETAILED_PROBE))
            out.append(scope.verdict(
                shown, outcome,
                f"{field} said {_value(first_down)!r} {took:.2f} s after {link} went down "
                f"(bound {within_s:g} s" + ("; within one probe interval of it" if marginal
                                            else "") + ")",
                round(took, 3), within_s, "s", evidence=ev[shown], marginal=marginal))

    never = f"{detail.path} never showed {link} down, so"
    if first_down is None:
        out.append(scope.missing(back, f"{never} there was nothing to recover from",
                                 claim.recover_within_s, "s", evidence=ev[back]))
        out.append(scope.missing(fast, f"{never} it was not seen checking {link}: an answer "
                                 "that checks nothing is fast for free", detail.max_ms, "ms",
                                 evidence=ev[fast]))
        return out

    after = [e for e in polled if e.at_s >= w.end_s]
    again = next((e for e in after if _value(e) in healthy), None)
    if again is None and not after:
        out.append(scope.missing(back, f"no answer of {detail.path} after {link} came back",
                                 claim.recover_within_s, "s", evidence=ev[back]))
    elif again is None:
        out.append(scope.judge(
            back, False,
            f"never showed {link} as {sorted(healthy)} again in {len(after)} answers over "
            f"{after[-1].at_s - w.end_s:.1f} s after it came back ({_values(after)})",
            None, claim.recover_within_s, "s", evidence=ev[back]))
    else:
        took = again.at_s - w.end_s
        outcome, marginal = first_seen(took, claim.recover_within_s,
                                       probe_gap_s(events, DETAILED_PROBE))
        out.append(scope.verdict(
            back, outcome,
            f"{field} said {_value(again)!r} again {took:.2f} s after {link} came back (bound "
            f"{claim.recover_within_s:g} s)",
            round(took, 3), claim.recover_within_s, "s", evidence=ev[back], marginal=marginal))

    out.append(_answer_time(scope, fast, detail, polled, during, link, ev[fast]))
    return out


def answer_ms(event: Event, max_ms: float) -> float | None:
    """One poll's answer time: its latency when it answered; ``inf`` when it got none and
    either waited past the bound or was refused (no answer is no answer in time); None when it
    gave up *below* the bound on its timeout — whether it would have answered in time is
    unknown (a run recorded with a prober timeout under the bound)."""
    latency = float(event.data.get("latency_ms", 0.0))
    if int(event.data.get("status", -1)) > 0:
        return latency
    if latency >= max_ms:
        return math.inf
    error = event.data.get("error")
    return math.inf if error is not None and error != "timeout" else None


def _answer_time(scope: Scope, what: str, detail: HealthDetail, polled: list[Event],
                 during: list[Event], link: str, evidence: str) -> Verdict:
    """p95 of the answer times over the run and over the fault alone, each with its confidence
    interval: both surely within max_ms to pass, either surely beyond it fails; otherwise the
    probes cannot tell (marginal or too few). A poll with no answer counts as slower than any
    bound (:func:`answer_ms`); one whose answer time is unknown (cut off below the bound) is
    taken as slow as can be to pass, and as fast as can be to fail."""
    bound = detail.max_ms
    every = [answer_ms(e, bound) for e in polled]
    faulty = [answer_ms(e, bound) for e in during]

    def bounds(times: list[float | None], unknown: float) -> QuantileBounds:
        return quantile_bounds([unknown if t is None else t for t in times], 95.0)

    worst = [bounds(every, math.inf), bounds(faulty, math.inf)]
    best = [bounds(every, 0.0), bounds(faulty, 0.0)]
    judged = [quantile_within(e, bound) for e in worst]
    outcome: Outcome = (
        "pass" if all(o == "pass" for o, _ in judged) else
        "fail" if any(quantile_within(e, bound)[0] == "fail" for e in best) else
        "inconclusive")
    marginal = outcome == "inconclusive" and any(m for _, m in judged)
    whole, fault = worst
    thin = [f"{undecidable(e, label)}" for e, label in
            ((whole, "probes"), (fault, f"probes while {link} was down"))
            if e.undecidable and e.count]
    missed = sum(t is not None and math.isinf(t) for t in every)
    unknown = [float(e.data.get("latency_ms", 0.0)) for e, t in zip(polled, every, strict=True)
               if t is None]
    answered = [t for t in every if t is not None and math.isfinite(t)]
    notes = [f"slowest answer {max(answered):.0f} ms" if answered else "no answer at all"]
    if missed:
        notes.append(f"{missed} got no answer within {bound:g} ms")
    if unknown:
        notes.append(f"{len(unknown)} gave up after at most {max(unknown):.0f} ms, below the "
                     "bound (the prober's timeout): whether they would have answered in time "
                     "is unknown")
    relation = {"pass": "≤", "fail": ">", "inconclusive": "vs"}[outcome]
    value = max(whole.value_ms, fault.value_ms)
    return scope.verdict(
        what, outcome,
        f"{detail.path} answered in {_describe(whole)} over {len(every)} probes, "
        f"{_describe(fault)} over the {len(faulty)} while {link} was down "
        f"({relation} {bound:g} ms; {'; '.join(notes)})"
        + (f"; {'; '.join(thin)}" if outcome == "inconclusive" and thin else ""),
        round(value, 2) if math.isfinite(value) else None, bound, "ms", evidence=evidence,
        marginal=marginal)


def _describe(estimate: QuantileBounds) -> str:
    """:meth:`QuantileBounds.describe`, a poll with no answer said as such (not "inf ms")."""
    if estimate.count == 0:
        return estimate.describe()

    def ms(value: float | None) -> str:
        return "?" if value is None else f"{value:.1f}" if math.isfinite(value) else "none"

    value = f"{estimate.value_ms:.1f} ms" if math.isfinite(estimate.value_ms) else "no answer"
    return (f"{estimate.label} {value} ({estimate.confidence * 100:g} % CI "
            f"{ms(estimate.low_ms)} to {ms(estimate.high_ms)} ms)")
