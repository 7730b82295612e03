"""Realtime connections across a dependency outage (and a restart): reconnection, no lost
acknowledged message, round trips back to steady.

The record. Realtime load (:mod:`gauntlet.scenarios.realtime`) writes one sample per event of a
long-lived connection, named by :mod:`gauntlet.scenarios.realtime_spec`: ``connect`` (the first
handshake), ``reconnect`` (a handshake after a drop), ``message`` (send → ack, the message's
token in ``token``), ``deliver`` (send → the pushed message naming that token) and ``dropped``
(the server closed or reset a connection the client expected open; error class ``dropped``),
each with the simulated client in ``client``. A sample's moment is its end: ``t_start_s`` plus
its latency.

Disruptions. The claim's link is cut (every fault window on it), and with ``restart`` the main
service is restarted: ``restart.signal`` → ``restart.ready`` (the harness saw it ready again).
Nothing can be delivered or re-connected inside a disruption, so every bound counts from when
it was possible again.

The verdicts, and the evidence each needs:

- *connections re-established*: each dropped connection's client connects again within
  ``reconnect_s`` of the later of the drop and the end of the disruption it fell in. Needs a
  drop — a service that kept every connection through a link outage has not shown it can take
  its clients back (inconclusive, saying so).
- *no acknowledged message lost*: every acknowledged token has a delivery by its deadline:
  ``deliver_s`` after the ack, pushed past the end of any disruption the wait overlaps and past
  the client's reconnection when its connection dropped meanwhile. A message whose deadline lies
  beyond the end of the record, or whose client never came back, is not judged here (the other
  verdict owns a client that never came back). Needs a message acknowledged during or after the
  first disruption.
- *round trip back to steady*: the p95 of send → delivered for messages sent after recovery
  (the last disruption's end, or the last reconnection if later) is within twice the steady
  phase's, or its plus ``ROUND_TRIP_FLOOR_MS`` (loopback round trips of a few ms jitter by more
  than their double). Needs deliveries in both phases; acknowledged messages after recovery with
  no delivery at all fail it.

    steady = realtime_steady(samples, events, claim, max_error_rate=0.05, p95_ms=1000)
    verdicts = [steady, *demote(realtime_verdicts(samples, events, claim), steady)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gauntlet.checks.steady import steady_state
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope, Window, fault_windows, p95, plural, text
from gauntlet.contract import RealtimeClaim
from gauntlet.latency import quantile_bounds
from gauntlet.scenarios.realtime_spec import CONNECT, DELIVER, DROPPED, MESSAGE, RECONNECT
from gauntlet.timeline import Event

CHECK = "realtime"
RECONNECTED = "connections re-established"
NOT_LOST = "no acknowledged message lost"
ROUND_TRIP = "round trip back to steady after recovery"
NAMES = (CONNECT, RECONNECT, MESSAGE, DELIVER, DROPPED)
RESTART_SIGNAL = "restart.signal"
RESTART_READY = "restart.ready"
ROUND_TRIP_SLACK = 2.0
ROUND_TRIP_FLOOR_MS = 50.0
MIN_ROUND_TRIPS = 5


@dataclass(frozen=True)
class Drop:
    """One dropped connection: its client, when, the disruption's end it waits for (or the
    drop itself), and when the client was connected again (None: never, in the record)."""

    client: str
    at_s: float
    ready_s: float
    back_s: float | None
    resolution_s: float


def ended(df: pd.DataFrame) -> np.ndarray:
    out: np.ndarray = (df["t_start_s"] + df["latency_ms"] / 1000.0).to_numpy("float64")
    return out


def _ok(df: pd.DataFrame) -> np.ndarray:
    mask: np.ndarray = (text(df, "error") == "").to_numpy(bool)
    return mask


def _named(df: pd.DataFrame, *names: str) -> pd.DataFrame:
    return df[df["name"].astype("string").isin(list(names)).fillna(False).to_numpy(bool)]


def restart_windows(events: Sequence[Event]) -> list[tuple[Window, float]]:
    """Each restart: signal → seen ready again (or the last event), with the resolution of the
    ready moment (the harness' poll interval)."""
    last = max((e.at_s for e in events), default=0.0)
    out: list[tuple[Window, float]] = []
    for event in events:
        if event.kind != RESTART_SIGNAL:
            continue
        ready = next((e for e in events if e.kind == RESTART_READY and e.at_s >= event.at_s),
                     None)
        out.append((Window(event.at_s, ready.at_s if ready else last),
                    float(ready.data.get("poll_s", 0.0)) if ready else 0.0))
    return out


def disruptions(events: Sequence[Event], claim: RealtimeClaim) -> list[tuple[Window, float]]:
    """The claim's link faults merged (``down`` and ``reset_peer`` overlap), then restarts; each
    with the resolution of its end."""
    merged: list[Window] = []
    for w in fault_windows(events, claim.link):
        if merged and w.start_s <= merged[-1].end_s:
            merged[-1] = Window(merged[-1].start_s, max(merged[-1].end_s, w.end_s))
        else:
            merged.append(w)
    out = [(w, 0.0) for w in merged] + restart_windows(events)
    return sorted(out, key=lambda item: item[0].start_s)


def drops(samples: pd.DataFrame, windows: list[tuple[Window, float]]) -> list[Drop]:
    """Every dropped connection, paired with its client's next connection."""
    # the drop itself, not the message samples it failed (those carry its error class too)
    dropped = _named(samples, DROPPED)
    connects = _named(samples, CONNECT, RECONNECT)
    connects = connects[_ok(connects)]
    back_at: dict[str, np.ndarray] = {
        str(client): np.sort(ended(group))
        for client, group in connects.groupby(text(connects, "client"), observed=True)}
    out: list[Drop] = []
    for client, at in zip(text(dropped, "client"), ended(dropped), strict=True):
        ready, resolution = float(at), 0.0
        for w, res in windows:
            if w.start_s <= at <= w.end_s and w.end_s > ready:
                ready, resolution = w.end_s, res
        times = back_at.get(str(client), np.array([]))
        later = times[times > at]
        out.append(Drop(str(client), float(at), ready,
                        float(later[0]) if later.size else None, resolution))
    return out


def realtime_steady(samples: pd.DataFrame, events: Sequence[Event], claim: RealtimeClaim, *,
                    warmup_s: float, max_error_rate: float, p95_ms: float | None) -> Verdict:
    """The steady phase before the first disruption, as :func:`steady_state` judges requests:
    every handshake, acknowledgement and delivery is one, a failed one or a drop is an error."""
    rows = _named(samples, *NAMES)
    as_requests = rows.assign(status=np.where(_ok(rows), 200, 0).astype("int32"))
    windows = disruptions(events, claim)
    first = float(rows["t_start_s"].min()) if len(rows) else 0.0
    end = windows[0][0].start_s if windows else first
    first += min(warmup_s, max(0.0, end - first) / 2)
    return steady_state(as_requests, start_s=first, end_s=end, max_error_rate=max_error_rate,
                        p95_ms=p95_ms)


def realtime_verdicts(samples: pd.DataFrame, events: Sequence[Event],
                      claim: RealtimeClaim) -> list[Verdict]:
    scope = Scope(CHECK, "realtime", claim.name)
    windows = disruptions(events, claim)
    what = f"the fault on {claim.link}" + (" and the restart" if claim.restart else "")
    ev = {
        RECONNECTED: f"a connection dropped by {what}, and the record after it",
        NOT_LOST: f"messages acknowledged during or after {what}, and their deliveries",
        ROUND_TRIP: "deliveries of messages sent before the fault and after recovery",
    }
    if not windows:
        return [scope.missing(w, f"no fault on {claim.link} (nor a restart) was recorded: "
                              "nothing was exercised", evidence=ev[w]) for w in ev]
    rows = _named(samples, *NAMES)
    end_s = float(ended(rows).max()) if len(rows) else windows[-1][0].end_s
    lost = drops(rows, windows)
    return [_reconnected(scope, rows, lost, windows, claim, what, end_s, ev[RECONNECTED]),
            _not_lost(scope, rows, lost, windows, claim, what, end_s, ev[NOT_LOST]),
            _round_trip(scope, rows, lost, windows, ev[ROUND_TRIP])]


def _reconnected(scope: Scope, rows: pd.DataFrame, lost: list[Drop],
                 windows: list[tuple[Window, float]], claim: RealtimeClaim, what: str,
                 end_s: float, evidence: str) -> Verdict:
    bound = claim.reconnect_s
    connects = _named(rows, CONNECT, RECONNECT)
    if not _ok(connects).any():
        return scope.missing(RECONNECTED, "no connection was ever established: nothing could "
                             "drop or come back", bound, "s", evidence=evidence)
    if not lost:
        span = sum(w.duration_s for w, _ in windows)
        why = ("the service was restarted, yet no client saw its connection drop"
               if claim.restart else
               f"no connection dropped during the {span:.1f} s fault on {claim.link}: the "
               "service kept its clients connected, so taking them back was not exercised "
               "(restart = true also restarts the service)")
        return scope.missing(RECONNECTED, why, bound, "s", evidence=evidence)
    never = [d for d in lost if d.back_s is None and end_s - d.ready_s >= bound]
    unjudged = [d for d in lost if d.back_s is None and end_s - d.ready_s < bound]
    took = [(max(0.0, d.back_s - d.ready_s), d) for d in lost if d.back_s is not None]
    clients = len({d.client for d in lost})
    if never:
        first = min(never, key=lambda d: d.at_s)
        return scope.judge(
            RECONNECTED, False,
            f"{plural(len(never), 'dropped connection')} of {len(lost)} never re-established "
            f"(client {first.client} dropped at +{first.at_s - windows[0][0].start_s:.2f} s "
            f"from the fault; the record goes on {end_s - first.ready_s:.1f} s after it could "
            f"have come back, bound {bound:g} s)",
            None, bound, "s", evidence=evidence)
    if not took:
        return scope.missing(RECONNECTED, f"{plural(len(unjudged), 'connection')} dropped, and "
                             f"the record ends less than {bound:g} s after it could have come "
                             "back", bound, "s", evidence=evidence)
    worst, slowest = max(took, key=lambda item: item[0])
    if worst > bound:
        slow = sum(1 for t, _ in took if t > bound)
        return scope.judge(
            RECONNECTED, False,
            f"{plural(slow, 'dropped connection')} of {len(took)} re-established later than "
            f"{bound:g} s after {what} ended: slowest {worst:.2f} s (client {slowest.client})",
            round(worst, 3), bound, "s", evidence=evidence)
    marginal = worst + slowest.resolution_s > bound
    note = (f"; the service's ready moment is known to {slowest.resolution_s:g} s"
            if marginal else "")
    return scope.verdict(
        RECONNECTED, "inconclusive" if marginal else "pass",
        f"{len(took)} dropped connections ({plural(clients, 'client')}) re-established, "
        f"slowest {worst:.2f} s after {what} ended (bound {bound:g} s)" + note
        + (f"; {len(unjudged)} more dropped too near the end to judge" if unjudged else ""),
        round(worst, 3), bound, "s", evidence=evidence, marginal=marginal)


def _deadline(ack_s: float, deliver_s: float, windows: list[tuple[Window, float]],
              client_drops: list[Drop]) -> float:
    """When a message acknowledged at ``ack_s`` must have been delivered: ``deliver_s`` after
    the ack, or after the end of a disruption the wait overlaps, or after the client's
    reconnection when its connection dropped meanwhile (infinite: it never came back)."""
    due = ack_s + deliver_s
    changed = True
    while changed and math.isfinite(due):
        changed = False
        for w, _ in windows:
            if w.start_s < due and w.end_s > ack_s and w.end_s + deliver_s > due:
                due, changed = w.end_s + deliver_s, True
        for d in client_drops:
            if ack_s <= d.at_s < due:
                back = math.inf if d.back_s is None else d.back_s + deliver_s
                if back > due:
                    due, changed = back, True
    return due


def _not_lost(scope: Scope, rows: pd.DataFrame, lost: list[Drop],
              windows: list[tuple[Window, float]], claim: RealtimeClaim, what: str,
              end_s: float, evidence: str) -> Verdict:
    bound = claim.deliver_s
    sent = _named(rows, MESSAGE)
    sent = sent[_ok(sent) & (text(sent, "token") != "").to_numpy(bool)]
    acked = pd.DataFrame({"token": text(sent, "token").to_numpy(str),
                          "client": text(sent, "client").to_numpy(str),
                          "ack_s": ended(sent)}).drop_duplicates("token")
    start = windows[0][0].start_s
    exercised = acked[acked["ack_s"] >= start]
    if exercised.empty:
        return scope.missing(
            NOT_LOST, f"no message was acknowledged during or after {what} "
            f"({len(acked)} before it): delivery across the fault was not exercised",
            bound, "s", evidence=evidence)
    got = _named(rows, DELIVER)
    got = got[_ok(got)]
    first_delivery = pd.Series(ended(got), index=text(got, "token").to_numpy(str)
                               ).groupby(level=0).min()
    by_client: dict[str, list[Drop]] = {}
    for d in lost:
        by_client.setdefault(d.client, []).append(d)
    late: list[float] = []
    missing: list[float] = []
    interrupted = judged = judged_after = 0
    slowest = 0.0
    for token, client, ack_s in acked.itertuples(index=False):
        due = _deadline(float(ack_s), bound, windows, by_client.get(str(client), []))
        if not math.isfinite(due) or due > end_s:
            continue  # its client never came back, or the record ends first
        at = first_delivery.get(token)
        if at is None and any(float(ack_s) <= d.at_s < due for d in by_client.get(client, [])):
            # the client stopped waiting for it when its connection dropped: whether the
            # service sent it again after the reconnect is not in the record
            interrupted += 1
            continue
        judged += 1
        judged_after += int(float(ack_s) >= start)
        if at is None:
            missing.append(float(ack_s))
        elif at > due:
            late.append(float(at) - (due - bound))
        else:
            slowest = max(slowest, float(at) - (due - bound))
    aside = (f"; {interrupted} more were awaiting delivery when their connection dropped, and "
             "the client does not wait for them across its reconnect" if interrupted else "")
    if not judged_after and not (missing or late):
        return scope.missing(
            NOT_LOST, f"{len(exercised)} messages were acknowledged during or after {what}, "
            f"and none could be judged ({interrupted} awaiting delivery when their connection "
            "dropped, the rest due after the record ends)", bound, "s", evidence=evidence)
    if missing or late:
        worst = f", the latest {max(late):.2f} s after it could be" if late else ""
        first_lost = min(missing, default=None)
        where = (f"; the first never delivered was acknowledged at "
                 f"{first_lost - start:+.2f} s from the fault" if first_lost is not None else "")
        return scope.judge(
            NOT_LOST, False,
            f"{len(missing) + len(late)} of {judged} acknowledged messages lost: "
            f"{len(missing)} never delivered, {len(late)} delivered later than {bound:g} s"
            f"{worst}{where}{aside}",
            len(missing) + len(late), 0, "messages", evidence=evidence)
    return scope.judge(
        NOT_LOST, True,
        f"all {judged} acknowledged messages delivered in time ({judged_after} acknowledged during "
        f"or after {what}); slowest {slowest:.2f} s after delivery was possible (bound "
        f"{bound:g} s){aside}",
        0, 0, "messages", evidence=evidence)


def _round_trip(scope: Scope, rows: pd.DataFrame, lost: list[Drop],
                windows: list[tuple[Window, float]], evidence: str) -> Verdict:
    start = windows[0][0].start_s
    recovered = max([w.end_s for w, _ in windows]
                    + [d.back_s for d in lost if d.back_s is not None])
    got = _named(rows, DELIVER)
    got = got[_ok(got)]
    before = got[ended(got) <= start]
    after = got[(got["t_start_s"] >= recovered).to_numpy(bool)]
    sent = _named(rows, MESSAGE)
    acked_after = sent[_ok(sent) & (sent["t_start_s"] >= recovered).to_numpy(bool)]
    if len(before) < MIN_ROUND_TRIPS:
        return scope.missing(ROUND_TRIP, f"{plural(len(before), 'delivery')} before the fault "
                             f"(at least {MIN_ROUND_TRIPS} needed): no steady round trip to "
                             "compare with", evidence=evidence)
    steady = p95(before["latency_ms"])
    bound = max(steady * ROUND_TRIP_SLACK, steady + ROUND_TRIP_FLOOR_MS)
    if after.empty and len(acked_after):
        return scope.judge(
            ROUND_TRIP, False,
            f"none of {len(acked_after)} messages acknowledged after recovery came back: no "
            f"round trip at all (steady p95 {steady:.0f} ms)",
            None, round(bound, 1), "ms", evidence=evidence)
    if len(after) < MIN_ROUND_TRIPS:
        return scope.missing(ROUND_TRIP, f"{plural(len(after), 'delivery')} of a message sent "
                             f"after recovery (at least {MIN_ROUND_TRIPS} needed)",
                             round(bound, 1), "ms", evidence=evidence)
    # over the bound, the p95 of a few dozen round trips fails only when even its interval's
    # lower limit is over it; an interval that reaches below the bound is marginal (a CI run
    # measured 60 ms over 82 messages against a 57 ms bound on a starved host: a coin flip
    # between runs, not a verdict). Within the bound it passes, as before.
    estimate = quantile_bounds(after["latency_ms"].to_numpy(float), 95.0)
    observed = estimate.value_ms
    text = (f"p95 send → delivered {observed:.0f} ms over {len(after)} messages after recovery "
            f"(steady {steady:.0f} ms over {len(before)}; bound {bound:.0f} ms)")
    if observed > bound and (estimate.low_ms is None or estimate.low_ms <= bound):
        return scope.verdict(ROUND_TRIP, "inconclusive",
                             f"{text}: marginal, its interval ({estimate.describe()}) reaches "
                             "below the bound", round(observed, 1), round(bound, 1), "ms",
                             evidence=evidence, marginal=True)
    return scope.judge(ROUND_TRIP, observed <= bound, text, round(observed, 1),
                       round(bound, 1), "ms", evidence=evidence)
