"""Graceful-shutdown verdicts: a signal under load drains instead of dropping.

Readiness must turn unready at once (so a load balancer stops sending), requests already in
flight must finish, new requests must still be served for the drain delay (the balancer needs
that time to notice), and the process must exit with the claimed code within its deadline.

Each verdict needs its evidence: ready probes after the signal; requests in flight at the
signal; requests started in the drain delay; a ``process.exit`` (or a timeline that goes on past
the deadline without one).

An answer that another claim's marker identifies (an exhausted pool's 503, an open breaker's
fallback) is that mechanism shedding load, whatever the signal does: it is named in the reason
and not counted for or against draining. A CI run caught the need: a CPU-starved host stalled
the service's event loop past its 0.5 s pool acquire timeout in the drain delay, and two
`database_busy` answers read as a drain that refused requests. A window of nothing but such
answers is inconclusive: serving through the drain was not exercised.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from gauntlet.checks.markers import identifying, marked_by_any
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import (
    Scope,
    as_float,
    ended_s,
    failed,
    first_seen,
    of_requests,
    probe_gap_s,
    probe_status,
    probes,
    started_in,
    statuses,
    succeeded,
)
from gauntlet.contract import Marker, ShutdownClaim
from gauntlet.timeline import Event

CHECK = "shutdown"
READY = "readiness unready after the signal"
INFLIGHT = "no failed request started before the signal"
DRAIN = "served during the drain delay"


def _unready(status: int) -> bool:
    """An answer that says "not ready": anything but 2xx — and an answer at all (0 is a
    refused connection: the listener is gone, which is not flipping readiness first)."""
    return status != 0 and not 200 <= status < 300


def _shed(window: pd.DataFrame, others: Mapping[str, Marker]) -> tuple[pd.DataFrame, str]:
    """``window`` less the answers another claim's marker identifies, and the note that says
    how many were left out (``""`` when none). Only a marker with a header or a body
    identifies an answer: a bare status (a pool that declares no ``exhausted_answer``) is what
    a service refusing requests in its drain answers too, so it sets nothing aside."""
    named = identifying(others)
    if not named or window.empty:
        return window, ""
    theirs = marked_by_any(window, named).to_numpy(bool)
    if not theirs.any():
        return window, ""
    names = ", ".join(sorted(c for c in named
                             if marked_by_any(window[theirs], {c: named[c]}).any()))
    return window[~theirs], (f"; {int(theirs.sum())} answered with another claim's marker "
                             f"({names}: {statuses(window[theirs])}), not counted")


def _quick_s(before: pd.DataFrame, floor_s: float) -> float:
    """How long answering took this client before the signal: the p99 latency of the requests
    that succeeded then (at least ``floor_s``). A request may take that long to reach the
    service after the client starts it, on a busy host most of it before the bytes leave."""
    ok = before[succeeded(before)]
    if ok.empty:
        return floor_s
    return max(floor_s, float(ok["latency_ms"].quantile(0.99)) / 1000.0)


def _after_close(window: pd.DataFrame, closes_at: float, quick_s: float, tail_s: float = 0.0
                 ) -> tuple[pd.DataFrame, str]:
    """``window`` less the failures that may have reached the service after its listener
    closed, and the note that counts them (``""`` when none).

    Such a failure came after the delay ended, and quickly: no slower than requests were
    answered before the signal (``quick_s``). A CI run caught the need: on a starved host
    (p95 288 ms before the signal) a request started 0.3 s before the delay's end was
    answered 503 by Fastify's ``return503OnClosing``, which only a closing server sends. A
    service that refuses in its drain fails fast, inside the delay, and is still counted; one
    that accepts and then hangs a request past the delay fails slowly, and is counted too.

    So is a failure that ended after the delay and *started* in its last ``tail_s`` (the time a
    request took to reach the service here, the p99 before the signal): it met the closing
    listener, however long it then waited. A second CI run caught that: on a host with a p99
    of 744 ms before the signal, 13 requests started 0.3 to 0.5 s before the end of a 2 s
    delay sat in queues, met the close, and failed with no answer 1.1 s after they started
    (the service logged 23 in flight at its close, and finished them)."""
    if window.empty:
        return window, ""
    late = failed(window) & (ended_s(window) >= closes_at).to_numpy(bool)
    quick = late & (window["latency_ms"].to_numpy(float) <= quick_s * 1000.0)
    racing = late & ~quick & (window["t_start_s"].to_numpy(float) >= closes_at - tail_s)
    if not (quick | racing).any():
        return window, ""
    note = ""
    if quick.any():
        note += (f"; {int(quick.sum())} failed after the delay ended, within "
                 f"{quick_s * 1000:.0f} ms (p99 before the signal) of their start, so they may "
                 f"have reached the service after its listener closed "
                 f"({statuses(window[quick])}), not counted")
    if racing.any():
        note += (f"; {int(racing.sum())} started in the delay's last {tail_s * 1000:.0f} ms "
                 f"(the p99 before the signal) and failed after it ended: they met the "
                 f"closing listener ({statuses(window[racing])}), not counted")
    return window[~(quick | racing)], note


def shutdown_verdicts(samples: pd.DataFrame, events: list[Event], claim: ShutdownClaim,
                      others: Mapping[str, Marker] | None = None) -> list[Verdict]:
    """The shutdown verdicts; ``others`` are the contract's answer markers (claim → marker,
    :meth:`~gauntlet.contract.Contract.answer_markers`), whose answers are not counted."""
    others = others or {}
    scope = Scope(CHECK, "shutdown", claim.name)
    claimed = claim.claimed_exit_code
    code = "any code" if claimed is None else str(claimed)
    exits = f"exits {code} within the deadline"
    bound_exit = claim.drain_delay_s + claim.deadline_s + 1.0
    ev = {
        READY: f"readiness probes after the {claim.signal}",
        INFLIGHT: f"requests of {', '.join(claim.requests)} in flight at the {claim.signal}",
        DRAIN: f"requests started in the {claim.drain_delay_s:g} s drain delay",
        exits: "the process's exit, or a timeline going on past the deadline without one",
    }
    wanted = [*([READY] if claim.ready_flips_first else []), INFLIGHT,
              *([DRAIN] if claim.drain_delay_s > 0 else []), exits]
    sent = [e for e in events if e.kind == "signal.sent" and e.data.get("signal") == claim.signal]
    if not sent:
        return [scope.missing(w, f"no {claim.signal} was recorded: shutdown was not exercised",
                              evidence=ev[w]) for w in wanted]
    signal = sent[0]
    t_sig = signal.at_s
    df = of_requests(samples, claim.requests)
    out: list[Verdict] = []

    if claim.ready_flips_first:
        out.append(_readiness(scope, claim, events, t_sig, ev[READY]))

    # requests started before the signal and still running at it must finish well
    before = df[df["t_start_s"] < t_sig]
    inflight, shed = _shed(before[ended_s(before) >= t_sig], others)
    if inflight.empty:
        out.append(scope.missing(INFLIGHT, f"no request was in flight at the {claim.signal}: "
                                 f"draining them was not exercised{shed}", 0,
                                 evidence=ev[INFLIGHT]))
    else:
        n_failed = int(failed(inflight).sum())
        out.append(scope.judge(
            INFLIGHT, n_failed == 0,
            f"{n_failed} of {len(inflight)} requests in flight at the {claim.signal} failed"
            + (f" ({statuses(inflight[failed(inflight)])}; 0 = no answer)" if n_failed else "")
            + shed, n_failed, 0, evidence=ev[INFLIGHT]))

    if claim.drain_delay_s > 0:
        # the last moments of the delay are a race with the listener closing: not judged
        margin = min(0.3, claim.drain_delay_s / 4)
        closes_at = t_sig + claim.drain_delay_s
        drain, shed = _shed(started_in(df, t_sig, closes_at - margin), others)
        quick_s = _quick_s(before, margin)
        # how long a request took to reach the service here: on a starved host a request
        # started that long before the delay's end may meet the closing listener
        tail_s = min(quick_s, claim.drain_delay_s / 2)  # quick_s is at least margin
        drain, late = _after_close(drain, closes_at, quick_s, tail_s)
        if drain.empty:
            out.append(scope.missing(DRAIN, f"no request started in the {claim.drain_delay_s:g} "
                                     "s drain delay: serving through it was not exercised"
                                     f"{shed}{late}", 0, evidence=ev[DRAIN]))
        else:
            n_failed = int(failed(drain).sum())
            out.append(scope.judge(
                DRAIN, n_failed == 0,
                f"{n_failed} of {len(drain)} requests started in the {claim.drain_delay_s:g} s "
                "drain delay failed (new connections may be refused only after it)"
                + (f"; {statuses(drain[failed(drain)])}" if n_failed else "") + shed + late,
                n_failed, 0, evidence=ev[DRAIN]))

    handle = signal.data.get("handle")
    exit_event = next((e for e in events if e.kind == "process.exit" and e.at_s >= t_sig
                       and (handle is None or e.data.get("handle") in (None, handle))), None)
    if exit_event is None:
        last = max((e.at_s for e in events), default=t_sig) - t_sig
        if last >= bound_exit:
            out.append(scope.judge(exits, False, f"no exit within {bound_exit:.1f} s of the "
                                   f"{claim.signal} (timeline goes on to {last:.1f} s)", None,
                                   bound_exit, "s", evidence=ev[exits]))
        else:
            out.append(scope.missing(exits, f"no process exit recorded, and the timeline ends "
                                     f"{last:.1f} s after the {claim.signal}, before the "
                                     f"{bound_exit:.1f} s bound", bound_exit, "s",
                                     evidence=ev[exits]))
    else:
        got = exit_event.data.get("code")
        after_s = as_float(exit_event.data.get("after_s"), exit_event.at_s - t_sig)
        code_ok = claimed is None or got == claimed
        in_time = after_s <= bound_exit
        if got is None and claimed is not None and in_time:
            # it exited in time, but its code was not to be seen (a wait command that printed
            # none, a contract written before such a claim was refused)
            why = exit_event.data.get("unknown") or f"signalled by {handle}"
            out.append(scope.missing(
                exits, f"exited {after_s:.2f} s after the {claim.signal} (bound "
                f"{bound_exit:.1f} s), with an exit code gauntlet could not see ({why}); the "
                f"claimed code {claimed} is not verified", bound_exit, "s", evidence=ev[exits]))
            return out
        shown = "not seen (none claimed)" if got is None else str(got)
        out.append(scope.judge(
            exits, code_ok and in_time,
            f"exit code {shown} after {after_s:.2f} s (bound {bound_exit:.1f} s: drain "
            f"{claim.drain_delay_s:g} s + deadline {claim.deadline_s:g} s + 1 s; negative = "
            "killed by that signal)",
            round(after_s, 3), bound_exit, "s", evidence=ev[exits]))
    return out


def _readiness(scope: Scope, claim: ShutdownClaim, events: list[Event], t_sig: float,
               evidence: str) -> Verdict:
    ready = probes(events, "ready")
    after = [e for e in ready if e.at_s >= t_sig]
    if not after:
        lacked = ("no readiness probe was recorded (does the contract give probes.ready?)"
                  if not ready else f"no readiness probe after the {claim.signal}")
        return scope.missing(READY, lacked, claim.ready_within_s, "s", evidence=evidence)
    flipped = next((e for e in after if _unready(probe_status(e))), None)
    if flipped is None:
        seen = sorted({probe_status(e) for e in after})
        return scope.judge(
            READY, False,
            f"readiness never answered unready after the {claim.signal} ({len(after)} probes "
            f"answered {seen}; 0 = no answer, i.e. it stopped listening without flipping first)",
            None, claim.ready_within_s, "s", evidence=evidence)
    took = flipped.at_s - t_sig
    outcome, marginal = first_seen(took, claim.ready_within_s, probe_gap_s(events, "ready"))
    return scope.verdict(
        READY, outcome,
        f"readiness answered {probe_status(flipped)} {took * 1000:.0f} ms after the "
        f"{claim.signal} (bound {claim.ready_within_s:g} s"
        + ("; within one probe interval of it" if marginal else "") + ")",
        round(took, 3), claim.ready_within_s, "s", evidence=evidence, marginal=marginal)
