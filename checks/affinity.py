"""Sessions behind a balancer stay on the instance that began them.

The record. Realtime load through the balancer (:mod:`gauntlet.scenarios.realtime`): each
simulated client opens connection after connection, each a session — Socket.IO's handshake over
polling (several HTTP requests), its upgrade, a message and its acknowledgement. A session whose
next request meets an instance that never saw it is refused there, so its ``connect`` or its
``message`` sample fails. Beside it, the bytes of requests each instance received through its
link during the load, as the harness's own Toxiproxy counted them (``facts["affinity"]
["carried"]``, link → bytes). Requests, not answers: whatever else reaches the service through
the balancer from one address (the prober's metrics scrapes) has small requests and large
answers.

The verdict, *sessions kept on one instance*, and its evidence:

- **every instance served.** A balancer that sends every client to one instance keeps every
  session together without having shown it can: each instance must receive at least
  :data:`MIN_SHARE` of the requests' bytes (about 1/n is what spreading gives). One that did
  not is no evidence, inconclusive, saying which — and where the proxy kept no counts, saying
  that.
- **sessions.** Connects and messages of the load: at least ``min_success`` of them succeed,
  else the claim fails, with the counts of each.

    verdicts = affinity_verdicts(samples, facts.get("affinity"), claim)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope, plural, text
from gauntlet.contract import AffinityClaim
from gauntlet.scenarios.realtime_spec import CONNECT, MESSAGE, RECONNECT

CHECK = "affinity"
KEPT = "sessions kept on one instance"
# the least share of the requests' bytes each instance must receive for "every instance served": a
# balancer spreading random client addresses over n instances gives each about 1/n; what an
# idle instance carries (a health check) is far below this
MIN_SHARE = 0.1


def served(carried: Mapping[str, int], instances: list[str]) -> tuple[bool, str]:
    """Whether every instance received at least :data:`MIN_SHARE` of the bytes, and the
    figures (``"api 51 %, api2 49 % of 1.2 MB"``)."""
    total = sum(carried.get(link, 0) for link in instances)
    if total <= 0:
        return False, "no instance received a byte"
    shares = {link: carried.get(link, 0) / total for link in instances}
    figures = ", ".join(f"{link} {share:.0%}" for link, share in shares.items())
    return all(s >= MIN_SHARE for s in shares.values()), f"{figures} of {_size(total)} of requests"


def _size(n: int) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def affinity_verdicts(samples: pd.DataFrame, facts: Mapping[str, Any] | None,
                      claim: AffinityClaim) -> list[Verdict]:
    scope = Scope(CHECK, "affinity", claim.name)
    evidence = (f"sessions through the balancer, each of the {len(claim.instances)} instances "
                f"receiving at least {MIN_SHARE:.0%} of the requests' bytes")
    names = samples["name"].astype("string") if len(samples) else pd.Series([], dtype="string")
    rows = samples[names.isin([CONNECT, RECONNECT, MESSAGE]).fillna(False).to_numpy(bool)]
    bound = claim.min_success
    if rows.empty:
        return [scope.missing(KEPT, "no session was opened through the balancer", bound,
                              "ratio", evidence=evidence)]
    failed = (text(rows, "error") != "").to_numpy(bool)
    is_connect = rows["name"].astype("string").isin([CONNECT, RECONNECT]).to_numpy(bool)
    share = 1.0 - float(failed.mean())
    counts = (f"{int(failed[is_connect].sum())} of {plural(int(is_connect.sum()), 'connect')} "
              f"and {int(failed[~is_connect].sum())} of "
              f"{plural(int((~is_connect).sum()), 'message')} failed")
    carried = (facts or {}).get("carried")
    if carried is None:
        why = (facts or {}).get("unseen", "the bytes each instance received were not counted")
        return [scope.missing(KEPT, f"{why}: whether sessions met more than one instance is "
                              f"unknown ({counts})", bound, "ratio", evidence=evidence)]
    spread, figures = served(carried, claim.instances)
    if not spread:
        return [scope.missing(KEPT, f"the balancer did not spread the sessions ({figures}): "
                              f"none could meet a second instance ({counts})", bound, "ratio",
                              evidence=evidence)]
    return [scope.judge(KEPT, share >= bound,
                        f"{share:.1%} of connects and messages succeeded (bound {bound:.0%}): "
                        f"{counts}; the instances received {figures}", round(share, 4), bound,
                        "ratio", evidence=evidence)]
