"""Rate-limit verdicts from a concurrent burst of distinct clients.

The samples come from a burst sender that fills typed columns: ``phase`` — ``burst`` (each
client sends past its limit), ``bystander`` (another client, gently, under its limit),
``exempt`` (the claim's exempt paths, from a client being limited), ``after`` (each client once
more after the window), ``store_down`` (a burst with the limiter's store unreachable) and
``steady`` (before the first burst, clients of their own each well under its limit: the
experiment's steady state, judged by the run like every experiment's) — ``client`` (the
simulated client's key), ``seq`` (the request's ordinal within its client's phase) and
``header:<retry-after>``.

Every verdict names the evidence it needs and is inconclusive without it: isolation, exemption,
readmission and fail-open are only exercised once the limiter was seen limiting.

A leaky bucket (``algorithm = "leaky_bucket"``: a token bucket, as golang.org/x/time/rate's or
nginx's ``limit_req``) has no count to be cut at: it admits ``burst`` at once (the bucket's
size; nginx's ``burst=N`` is a bucket of N + 1) and then ``rate`` per second, so what a key may
get depends on when its requests *arrived*. Each request arrived at the limiter somewhere
between being sent and being answered; the verdict holds the limiter to both sides of the bucket
over those intervals — never more admitted within any span than ``burst + rate·span`` (a request
is taken to arrive within ``DELIVERY_S`` of being sent, if its answer came later), and never a
refusal before more than ``burst - 1 + rate·span`` were admitted since the bucket was last full
(judged on the answer times alone). Either side allows the limiter's clock to lag by
``CLOCK_SLACK_S``, and no more: a bucket one request larger or smaller than claimed fails where
the rate leaves that one request decidable. A limiter
keyed on nothing (``key = "none"``) is one global budget: its first rejection is counted across
all clients in start order, and "other keys unaffected" does not apply.

Store down. ``fails_open = true`` claims every request is admitted while the store is down
(judged only once the limiter was seen limiting in the burst: admitting everything proves
nothing about a limiter that never limits). ``fails_open = false`` claims it fails *closed*:
every request is refused, with the limit status or a 5xx; an admitted request or no answer at
all fails it. Either claim owes a verdict: with no request recorded while the store was down,
it is inconclusive and says so. ``fails_open`` unset: no verdict.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import numpy as np
import pandas as pd

from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope, ended_s, header, of_requests, statuses, succeeded, text
from gauntlet.contract import RateLimitClaim

CHECK = "ratelimit"
ISOLATION = "other keys unaffected"
EXEMPT = "exempt paths never limited"
AFTER = "admitted again after the window"
FAILS_OPEN = "fails open when the store is down"
FAILS_CLOSED = "fails closed when the store is down"


def ratelimit_verdicts(samples: pd.DataFrame, claim: RateLimitClaim, *,
                       tolerance: int, max_wait_s: float | None = None,
                       store_down: bool = True) -> list[Verdict]:
    """``tolerance``: how many requests the first rejection may come early or late (a limiter
    counting concurrently arriving requests is exact only to the race between them).
    ``max_wait_s``: the longest the experiment would wait out a window; a longer window's
    readmission is reported as not verified, with that reason. ``store_down``: whether the
    experiment sent a burst with the store down (False: the claim's ``fails_open`` is reported
    not verified, with that reason)."""
    scope = Scope(CHECK, "rate_limit", claim.name)
    status = claim.status
    phase_all = text(samples, "phase")
    wanted = ["t_start_s", "latency_ms", "status", "name", "seq", "client",
              f"header:{(claim.retry_after_header or '').lower()}"]
    claimed = of_requests(samples, claim.requests)
    claimed = claimed[[c for c in wanted if c in claimed.columns]].copy()
    claimed["_phase"] = phase_all.loc[claimed.index]
    claimed["_client"] = text(claimed, "client")
    claimed["_rank"] = _rank(claimed)
    claimed["_limited"] = claimed["status"].to_numpy() == status
    burst = claimed[claimed["_phase"] == "burst"]
    rejected = burst[burst["_limited"]]
    t_first_reject = float(rejected["t_start_s"].min()) if len(rejected) else None
    steady = claimed[claimed["_phase"] == "steady"]
    out: list[Verdict] = [_first_at_limit(scope, claim, burst, tolerance, steady)]

    if claim.retry_after_header:
        out.append(_retry_after(scope, claim, claimed))

    if claim.key != "none":
        out.append(_isolation(scope, claim, claimed, t_first_reject))

    if claim.exempt:
        exempt = samples[phase_all == "exempt"].copy()
        exempt["_client"] = text(exempt, "client")
        out.append(_exempt(scope, claim, exempt, rejected))

    if max_wait_s is not None and claim.window_s + 0.5 > max_wait_s:
        out.append(scope.missing(
            AFTER, f"not verified: the {claim.window_s:g} s window is longer than this run "
                   f"waits (max_wait_s {max_wait_s:g} s), so readmission was not exercised",
            0, evidence="a limited key's request a full window after its last rejection"))
    else:
        out.append(_after(scope, claim, claimed, rejected))

    down = claimed[claimed["_phase"] == "store_down"]
    if claim.fails_open is not None:
        out.append(_store_down(scope, claim, down, limited_in_burst=len(rejected) > 0,
                               sent=store_down))
    return out


def _rank(df: pd.DataFrame) -> pd.Series:
    """1-based position of each request in its client's phase (by ``seq``, then start)."""
    if df.empty:
        return pd.Series(dtype="int64", index=df.index)
    seq = pd.to_numeric(df["seq"], errors="coerce").fillna(-1) if "seq" in df else 0
    order = df.assign(_seq=seq).sort_values(["_seq", "t_start_s"], kind="stable")
    ranks = order.groupby(["_phase", "_client"], sort=False).cumcount() + 1
    return ranks.reindex(df.index).astype("int64")


SLOW_BURST = 0.8  # of the window: a key slower than this to pass its limit was not bursting
# leaky bucket: a request is taken to reach the limiter within this long of being sent (or by
# its answer, if that came sooner) — loopback delivery; only the upper bound relies on it
DELIVERY_S = 0.5
# leaky bucket: the limiter's clock may lag by one turn of its event loop (nginx caches the time)
CLOCK_SLACK_S = 0.02
# a bucket seen admitting one more than claimed at once: most likely nginx's burst stated as is
NGINX_HINT = (" (nginx's limit_req burst=N admits N + 1 at once: a claim of it says "
              "burst = N + 1)")


def _first_at_limit(scope: Scope, claim: RateLimitClaim, burst: pd.DataFrame,
                    tolerance: int, steady: pd.DataFrame | None = None) -> Verdict:
    """``steady``: the steady phase's requests. A limit keyed on nothing is one budget, so
    those still within the window when the burst began count in it (the experiment waits the
    window out when it can, and then none do)."""
    if claim.algorithm == "leaky_bucket":
        return _leaky_at_limit(scope, claim, burst, tolerance)
    what = f"first {claim.status} at the limit"
    expected = claim.count + 1
    band = f"{expected} ± {tolerance}"
    per = f"{claim.count} per {claim.window_s:g} s"
    evidence = (f"a burst of more than {claim.count} requests per "
                f"{'client' if claim.key != 'none' else 'run'} within the window")
    if burst.empty:
        return scope.missing(what, "no burst was recorded: the limit was not exercised", band,
                             evidence=evidence)
    if claim.key == "none":
        if steady is not None and len(steady):
            begun = float(burst["t_start_s"].min())
            burst = pd.concat([steady[steady["t_start_s"] > begun - claim.window_s], burst])
        ordered = burst.sort_values(["t_start_s", "_rank"], kind="stable")
        burst = ordered.assign(_rank=np.arange(1, len(ordered) + 1), _client="all clients")
    # a key whose first requests past the limit took longer than the window was not bursting:
    # its earliest requests may have left the window, and a limiter rightly admits more
    started = burst.groupby("_client", sort=True)["t_start_s"].min()
    reached = burst[burst["_rank"] == expected].set_index("_client")["t_start_s"]
    span = reached - started.reindex(reached.index)
    slow = {str(k) for k, v in span.items() if v >= SLOW_BURST * claim.window_s}
    burst = burst[~burst["_client"].astype(str).isin(slow)]
    sent = burst.groupby("_client", sort=True).size()
    first = burst[burst["_limited"]].groupby("_client")["_rank"].min()
    firsts = {str(k): int(v) for k, v in first.items()}
    never = [str(k) for k, n in sent.items() if k not in first.index and n >= expected + tolerance]
    if slow and not firsts and not never:
        return scope.missing(
            what, f"every key took longer than {SLOW_BURST:g} x the {claim.window_s:g} s window "
            f"to send {expected} requests (the slowest {float(span.max()):.1f} s): the burst "
            "did not fit in one window, so the limit was not exercised", band,
            evidence=evidence)
    if not firsts and not never:
        longest = int(sent.max())
        return scope.missing(
            what, f"the burst sent at most {longest} requests per key, not past the limit "
            f"({per}, tolerance {tolerance}): the limit was not exercised", band,
            evidence=evidence)
    judged = len(firsts) + len(never)
    off = {k: v for k, v in firsts.items() if abs(v - expected) > tolerance}
    if never or off:
        worst = never[0] if never else max(off, key=lambda k: abs(off[k] - expected))
        got = "never limited" if never else f"first {claim.status} at request {off[worst]}"
        return scope.judge(
            what, False,
            f"{len(never) + len(off)} of {judged} keys off: key {worst} {got}; expected "
            f"request {band} ({per})",
            None if never else off[worst], band, evidence=evidence)
    spread = f"{min(firsts.values())}..{max(firsts.values())}"
    keys = "the run's budget" if claim.key == "none" else f"all {judged} concurrent keys"
    if slow:
        keys += f" ({len(slow)} more too slow to fill a window, not judged)"
    return scope.judge(what, True, f"{keys} got the first {claim.status} at request {spread} "
                       f"(expected {band}; {per})", spread, band, evidence=evidence)


def most_admitted(start_s: np.ndarray, arrived_by_s: np.ndarray, rate_per_s: float
                  ) -> tuple[float, int, float]:
    """The leaky bucket's upper side: over every span [a, b], the admitted requests that surely
    arrived within it (sent at or after ``a``, arrived by ``b``) less ``rate·(b - a)``; the
    largest such excess, with its count and span. A bucket of size ``B`` keeps it ≤ ``B``."""
    best = (float("-inf"), 0, 0.0)
    for a in np.unique(start_s):
        ends = np.sort(arrived_by_s[start_s >= a])
        excess = np.arange(1, len(ends) + 1) - rate_per_s * (ends - a)
        i = int(np.argmax(excess))
        if excess[i] > best[0]:
            best = (float(excess[i]), i + 1, float(ends[i] - a))
    return best


def fewest_before(start_s: np.ndarray, end_s: np.ndarray, refused_start_s: float,
                  refused_end_s: float, rate_per_s: float, lag_s: float = 0.0
                  ) -> tuple[float, int, float]:
    """The leaky bucket's lower side, for one refusal: the bucket had less than one token left
    when it arrived, so since it was last full at some τ the admitted requests that *may* have
    arrived in between (sent before the refusal was answered, answered after τ) less what the
    rate refilled, ``rate·(refusal - τ - lag_s)`` (a limiter whose clock lags by ``lag_s`` saw
    that much less of the span, never less than none of it), exceed ``burst - 1``. Returns the
    largest such margin over τ, with its count and span — ``burst - 1`` or below, the refusal
    came while the bucket still held a token."""
    maybe = start_s < refused_end_s
    ends = np.sort(end_s[maybe])
    taus = np.append(ends[ends <= refused_start_s], refused_start_s)
    counts = len(ends) - np.searchsorted(ends, taus, side="left")
    margin = counts - rate_per_s * np.maximum(0.0, refused_start_s - taus - lag_s)
    i = int(np.argmax(margin))
    return float(margin[i]), int(counts[i]), float(max(0.0, refused_start_s - taus[i]))


def _leaky_at_limit(scope: Scope, claim: RateLimitClaim, burst: pd.DataFrame,
                    tolerance: int) -> Verdict:
    what = f"first {claim.status} at the limit"
    rate, b = claim.rate_per_s, claim.burst
    bucket = f"{rate:g}/s with burst {b}"
    band = f"{b} + {rate:g}/s x span ± {tolerance}"
    evidence = (f"a burst per client faster than {bucket}, each request's arrival bounded by "
                "its sending and its answer")
    answered = burst[burst["status"].to_numpy() > 0]
    if answered.empty:
        return scope.missing(what, "no burst request was answered: the limit was not "
                             "exercised", band, evidence=evidence)
    slack = tolerance + rate * CLOCK_SLACK_S
    limited_keys: dict[str, int] = {}
    outpaced: list[tuple[str, float, int, float]] = []  # a key's largest excess, undecided
    for key, rows in answered.groupby("_client", sort=True):
        start = rows["t_start_s"].to_numpy(dtype="float64")
        end = start + rows["latency_ms"].to_numpy(dtype="float64") / 1000.0
        admitted = ~rows["_limited"].to_numpy(dtype=bool)
        s_in, e_in = start[admitted], end[admitted]
        if admitted.any():
            over, n, span = most_admitted(s_in, np.minimum(e_in, s_in + DELIVERY_S), rate)
            if over > b + slack:
                return scope.judge(
                    what, False,
                    f"key {key}: {n} requests admitted within {span:.3f} s (each between its "
                    f"sending and its answer, at most {DELIVERY_S:g} s after sending); "
                    f"{bucket} admits at most {b} + {rate * span:.1f} = "
                    f"{b + rate * span:.0f}"
                    + ("" if (~admitted).any() else f" — never answered {claim.status}")
                    + (NGINX_HINT if over <= b + 1 + slack else ""),
                    n, band, evidence=evidence)
            outpaced.append((str(key), over, n, span))
        for r in np.flatnonzero(~admitted):
            margin, n, span = fewest_before(s_in, e_in, float(start[r]), float(end[r]), rate,
                                            CLOCK_SLACK_S)
            if margin <= b - 1 - tolerance:
                refill = rate * max(0.0, span - CLOCK_SLACK_S)
                return scope.judge(
                    what, False,
                    f"key {key}: answered {claim.status} with at most {n} requests admitted "
                    f"in the {span:.3f} s before; {bucket} refuses only once more than "
                    f"{b - 1} + {refill:.1f} were admitted since it was last full",
                    n, band, evidence=evidence)
        if (~admitted).any():
            limited_keys[str(key)] = int(admitted.sum())
    if not limited_keys:
        key, over, n, span = max(outpaced, key=lambda o: o[1]) if outpaced else ("-", 0, 0, 0)
        return scope.missing(
            what, f"never answered {claim.status}, and the burst never outpaced {bucket}: at "
            f"most {n} requests surely arrived within {span:.3f} s (key {key}), within what the "
            "bucket admits — the limit was not exercised", band, evidence=evidence)
    counts = sorted(limited_keys.values())
    spread = f"{counts[0]}..{counts[-1]}" if counts[0] != counts[-1] else str(counts[0])
    sent = int(answered.groupby("_client").size().max())
    return scope.judge(
        what, True,
        f"all {len(limited_keys)} limited keys within the bucket: {spread} of up to {sent} "
        f"requests admitted, the rest answered {claim.status} ({bucket}: {b} at once, then "
        f"{rate:g}/s; never more within any span, never refused before the bucket could be "
        "full)", spread, band, evidence=evidence)


def retry_after_s(value: str, answered_at_s: float) -> float:
    """A Retry-After value in seconds: delta-seconds, or an HTTP-date relative to the moment
    the answer came; NaN when it is absent or neither."""
    value = value.strip()
    if not value:
        return float("nan")
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - answered_at_s
    except (TypeError, ValueError, IndexError):
        return float("nan")


def _retry_after(scope: Scope, claim: RateLimitClaim, claimed: pd.DataFrame) -> Verdict:
    name = claim.retry_after_header or ""
    what = f"{name} consistent with the window"
    hi = claim.window_s + 1.0
    evidence = f"answers {claim.status} to inspect"
    limited = claimed[claimed["_limited"] & (claimed["_phase"] != "exempt")]
    if limited.empty:
        return scope.missing(what, f"no request was answered {claim.status}, so there was no "
                             f"{name} to inspect", 0, evidence=evidence)
    values = header(limited, name)
    answered = ended_s(limited)
    seconds = np.array([retry_after_s(str(v), float(t)) for v, t in zip(values, answered,
                                                                        strict=True)])
    bad = np.isnan(seconds) | (seconds <= 0) | (seconds > hi)
    missing = int((values == "").sum())
    example = "" if not bad.any() else f"; e.g. {values[bad].iloc[0]!r}"
    return scope.judge(
        what, not bad.any(),
        f"{len(limited)} answers {claim.status}, {int(bad.sum())} without a {name} in "
        f"(0, {hi:g}] s ({missing} without the header; window {claim.window_s:g} s){example}",
        int(bad.sum()), 0, evidence=evidence)


def _isolation(scope: Scope, claim: RateLimitClaim, claimed: pd.DataFrame,
               t_first_reject: float | None) -> Verdict:
    evidence = ("a bystander key, under its own limit, answered while the burst keys were "
                "being limited")
    bystander = claimed[claimed["_phase"] == "bystander"]
    under = bystander[bystander["_rank"] <= claim.count]
    hit = under[under["_limited"]]
    if len(hit):
        return scope.judge(
            ISOLATION, False,
            f"bystander key limited: {len(hit)} of {len(under)} of its requests (under its own "
            f"limit of {claim.count}) answered {claim.status} during the burst",
            len(hit), 0, evidence=evidence)
    if t_first_reject is None:
        return scope.missing(ISOLATION, f"the burst keys were never limited ({claim.status}), "
                             "so isolation was not exercised", 0, evidence=evidence)
    if under.empty:
        return scope.missing(ISOLATION, "no bystander request was recorded", 0,
                             evidence=evidence)
    meanwhile = under[ended_s(under) >= t_first_reject]
    if meanwhile.empty:
        return scope.missing(ISOLATION, "every bystander request was answered before the "
                             "first burst key was limited: isolation was not exercised", 0,
                             evidence=evidence)
    return scope.judge(ISOLATION, True,
                       f"bystander key: 0 of {len(under)} requests limited, {len(meanwhile)} "
                       "of them while the burst keys were being limited", 0, 0,
                       evidence=evidence)


def _exempt(scope: Scope, claim: RateLimitClaim, exempt: pd.DataFrame,
            rejected: pd.DataFrame) -> Verdict:
    paths = ", ".join(claim.exempt)
    evidence = f"requests to {paths} from a client while it was being limited"
    hit = exempt[exempt["status"].to_numpy() == claim.status]
    if len(hit):
        return scope.judge(
            EXEMPT, False,
            f"{len(hit)} of {len(exempt)} requests to exempt paths answered {claim.status} "
            f"(e.g. {hit['name'].astype('string').iloc[0]})", len(hit), 0, evidence=evidence)
    # limited "at that moment": the client had been refused within the window before it
    under_limit = np.zeros(len(exempt), dtype=bool)
    for i, (client, t) in enumerate(zip(exempt["_client"], exempt["t_start_s"], strict=True)):
        times = rejected.loc[rejected["_client"] == client, "t_start_s"].to_numpy()
        under_limit[i] = bool(((times <= t) & (t <= times + claim.window_s)).any())
    if exempt.empty or not under_limit.any():
        lacked = ("no request to an exempt path was recorded" if exempt.empty else
                  f"none of {len(exempt)} exempt requests came from a client that was being "
                  "limited at that moment")
        return scope.missing(EXEMPT, f"{lacked}: the exemption was not exercised", 0,
                             evidence=evidence)
    return scope.judge(EXEMPT, True,
                       f"0 of {len(exempt)} exempt requests limited, {int(under_limit.sum())} "
                       f"of them from a client being limited ({paths})", 0, 0,
                       evidence=evidence)


def _after(scope: Scope, claim: RateLimitClaim, claimed: pd.DataFrame,
           rejected: pd.DataFrame) -> Verdict:
    evidence = (f"requests from a key that had been limited, sent ≥ {claim.window_s:g} s after "
                "its last rejection")
    after = claimed[claimed["_phase"] == "after"]
    last = rejected.groupby("_client")["t_start_s"].max().to_dict()
    due = pd.to_numeric(after["_client"].map(last), errors="coerce") + claim.window_s
    relevant = after[(after["t_start_s"] >= due).fillna(False).to_numpy(bool)]
    if relevant.empty:
        lacked = ("no key was ever limited" if rejected.empty else
                  "no after-window request was recorded" if after.empty else
                  f"none of {len(after)} after-window requests came from a limited key a full "
                  f"window ({claim.window_s:g} s) after its last rejection")
        return scope.missing(AFTER, f"{lacked}: readmission was not exercised", 0,
                             evidence=evidence)
    refused = relevant[~succeeded(relevant)]
    return scope.judge(
        AFTER, refused.empty,
        f"{len(relevant) - len(refused)} of {len(relevant)} limited keys admitted a window "
        f"after their last rejection" + (f" (refused: {statuses(refused)})" if len(refused)
                                         else ""),
        len(refused), 0, evidence=evidence)


def _store_down(scope: Scope, claim: RateLimitClaim, down: pd.DataFrame, *,
                limited_in_burst: bool, sent: bool) -> Verdict:
    """A claimed ``fails_open`` always owes a verdict: with no request recorded while the
    store was down it is inconclusive and says so, never dropped in silence."""
    what = FAILS_OPEN if claim.fails_open else FAILS_CLOSED
    if down.empty:
        evidence = f"a burst of {', '.join(claim.requests[:1])} with {claim.store_link} down"
        lacked = (f"not verified: this run sent no burst with {claim.store_link} down "
                  "(store_down = false)" if not sent else
                  f"no request was recorded while {claim.store_link} was down: the store "
                  "outage was not exercised")
        return scope.missing(what, lacked, 0, evidence=evidence)
    status = down["status"].to_numpy()
    n_limited = int((status == claim.status).sum())
    n_5xx = int(((status >= 500) & (status < 600)).sum())
    n_none = int((status == 0).sum())
    n_ok = int(succeeded(down).sum())
    link = claim.store_link
    if claim.fails_open:
        evidence = "the limiter seen limiting in the burst, then a burst with the store down"
        if not limited_in_burst:
            return scope.missing(FAILS_OPEN, f"the limiter never answered {claim.status} in the "
                                 "burst, so admitting everything with the store down proves "
                                 "nothing", 0, evidence=evidence)
        bad = n_limited + n_5xx + n_none
        return scope.judge(
            FAILS_OPEN, bad == 0,
            f"with {link} unreachable: {n_limited} answered {claim.status}, {n_5xx + n_none} "
            f"failed (5xx or no answer) of {len(down)} requests (fail open admits all)",
            bad, 0, evidence=evidence)
    evidence = "a burst with the store down"
    admitted = len(down) - n_limited - n_5xx
    return scope.judge(
        FAILS_CLOSED, admitted == 0,
        f"with {link} unreachable: {n_ok} admitted, {n_none} unanswered, {n_limited} answered "
        f"{claim.status} and {n_5xx} a 5xx, of {len(down)} requests (fail closed refuses all)",
        admitted, 0, evidence=evidence)
