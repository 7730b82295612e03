"""Connections in flight per address: the ones over the limit answered its status at once, the
rest held; another address unaffected.

The record: the ``over`` phase, ``limit`` + extra connections of one address opened at once
and each sending the held request while the link behind the gateway is slow (so every admitted
request stays in flight for the link's delay), and the ``bystander`` phase, another address's
requests sent while they are held. Evidence first: the admitted requests must have been held
— most of them as long as the link's delay — or nothing was ever in flight together, and the
count says nothing about a limit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope, statuses
from gauntlet.contract import ConnectionLimitClaim

OVER = "over"
BYSTANDER = "bystander"
HELD_SHARE = 0.8  # an admitted request held at least this share of the link's delay
LOW_SHARE = 0.95  # fewer admitted than this share of the limit: the limit is lower than claimed
REFUSED_SHARE = 0.5  # a refusal comes sooner than this share of the hold


def _phase(samples: pd.DataFrame, phase: str) -> pd.DataFrame:
    if samples.empty or "phase" not in samples.columns:
        return samples.iloc[0:0]
    return samples[samples["phase"].astype("string").fillna("").to_numpy() == phase]


def connlimit_verdicts(samples: pd.DataFrame, claim: ConnectionLimitClaim, hold_ms: float
                       ) -> list[Verdict]:
    scope = Scope("connection_limit", "connection_limit", claim.name)
    over = _phase(samples, OVER)
    evidence = (f"{claim.limit} + more requests of one address in flight at once, held by a "
                f"{hold_ms:g} ms delay on {claim.link}")
    what = f"requests over {claim.limit} in flight refused with {claim.status}"
    out: list[Verdict] = []
    status = over["status"].to_numpy()
    # refused at once: an answer of the claimed status that came after the hold is not the
    # limiter's (a 503 of the service behind it, say), and counts as neither
    quick = over["latency_ms"].to_numpy() < REFUSED_SHARE * hold_ms
    refused = (status == claim.status) & quick
    answered = status > 0
    late = int(((status == claim.status) & ~quick).sum())
    admitted = over[answered & (status != claim.status)]
    held = admitted["latency_ms"].to_numpy() >= HELD_SHARE * hold_ms
    sent = len(over)
    if sent <= claim.limit:
        out.append(scope.verdict(what, "inconclusive", f"{sent} requests of one address sent "
                                 f"(more than {claim.limit} needed)", None, claim.limit,
                                 "requests", evidence=evidence))
    elif len(admitted) and held.mean() < 0.5:
        median = float(np.median(admitted["latency_ms"].to_numpy()))
        out.append(scope.verdict(what, "inconclusive",
                                 f"the admitted requests were not held in flight: median "
                                 f"{median:.0f} ms while {claim.link} added {hold_ms:g} ms "
                                 f"(is the link between the limiter and the service?)",
                                 len(admitted), claim.limit, "requests", evidence=evidence))
    else:
        others = over[answered & refused]
        lost = int((~answered).sum())
        text = (f"{len(admitted)} of {sent} requests of one address sent at once were admitted "
                f"(held {float(np.median(admitted['latency_ms'])) if len(admitted) else 0:.0f} "
                f"ms), {len(others)} answered {claim.status}"
                + (f" (the first in {float(others['latency_ms'].min()):.0f} ms)"
                   if len(others) else "")
                + (f", {lost} got no answer" if lost else "")
                + (f", {late} answered {claim.status} only after the hold (not the limiter)"
                   if late else ""))
        if len(admitted) > claim.limit:
            out.append(scope.judge(what, False, f"{text}: more than the limit of {claim.limit}",
                                   len(admitted), claim.limit, "requests", evidence=evidence))
        elif len(admitted) < LOW_SHARE * claim.limit:
            out.append(scope.judge(what, False, f"{text}: the limit is lower than the "
                                   f"{claim.limit} claimed", len(admitted), claim.limit,
                                   "requests", evidence=evidence))
        elif not len(others):
            out.append(scope.judge(what, False, f"{text}: none over the limit got "
                                   f"{claim.status} ({statuses(over)})", len(admitted),
                                   claim.limit, "requests", evidence=evidence))
        else:
            out.append(scope.judge(what, True, text, len(admitted), claim.limit, "requests",
                                   evidence=evidence))
    bystander = _phase(samples, BYSTANDER)
    what = "other addresses unaffected"
    evidence = "another address's requests while one address holds its limit"
    if not out[0].passed:
        # served while nothing was refused shows nothing: the limit must be shown first
        out.append(scope.verdict(what, "inconclusive", "the limit was not shown refusing one "
                                 "address, so another being served says nothing about it "
                                 "being per address", evidence=evidence))
    elif bystander.empty:
        out.append(scope.verdict(what, "inconclusive", "no request of another address was sent "
                                 "while the limit held", evidence=evidence))
    else:
        hit = int((bystander["status"].to_numpy() == claim.status).sum())
        text = (f"{hit} of {len(bystander)} requests of another address answered "
                f"{claim.status} while one address held its requests in flight "
                f"({statuses(bystander)})")
        out.append(scope.judge(what, hit == 0, text, hit, 0, "requests", evidence=evidence))
    return out
