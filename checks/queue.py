"""A queue stays short under load: judged over every reading of its depth gauge the run made.

The prober reads the claim's ``depth`` gauge (and its ``published`` counter) every 0.5 s in
every experiment and load: ``metric.value`` events. A reading at or above ``below`` fails the
claim, wherever it was taken — a fault on the queue's consumer is exactly when a queue grows,
and the claim does not say "except during faults". The verdict needs evidence that the queue
was used: the ``published`` counter rose while it was watched (or, without one, a depth above
0). A queue nothing was sent to is short by default, and that is inconclusive, not a pass.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from gauntlet.checks.answers import Part
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import Scope
from gauntlet.contract import QueueClaim


@dataclass(frozen=True)
class Reading:
    where: str
    at_s: float  # since the part's first reading
    value: float | None


def readings(parts: Sequence[Part], target: str) -> list[Reading]:
    """Every ``metric.value`` reading of ``target``, part by part."""
    out: list[Reading] = []
    for part in parts:
        events = [e for e in part.events
                  if e.kind == "metric.value" and e.data.get("target") == target]
        t0 = min((e.at_s for e in events), default=0.0)
        out += [Reading(part.label(), e.at_s - t0, _finite(e.data.get("value")))
                for e in events]
    return out


def _finite(value: object) -> float | None:
    """A reading's value; NaN or infinity (a gauge the service could not compute) is none."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class Rise:
    total: float  # the counter's rises, summed over the parts where it never went down
    set_aside: tuple[str, ...]  # the parts where it went down: their rises are not counted


def published_rise(parts: Sequence[Part], target: str, depth_target: str) -> Rise:
    """How much a counter rose while the depth was read: per part the sum of its rises, over
    the parts where the depth gauge had a reading and the counter never went down. A part
    without a depth reading is no evidence for the depth's claim: messages published there
    were never watched queueing. A counter that went down within a part is not one counter's
    readings there — instances read in turn through a balancer, or a restart — and its steps
    up may be another instance's total rather than messages sent; that part is set aside, the
    others still count (a restart in one experiment says nothing of another)."""
    total, set_aside = 0.0, []
    for part in parts:
        if not any(r.value is not None for r in readings([part], depth_target)):
            continue
        values = [r.value for r in readings([part], target) if r.value is not None]
        steps = [b - a for a, b in itertools.pairwise(values)]
        if any(d < 0 for d in steps):
            set_aside.append(part.label())
            continue
        total += sum(steps)
    return Rise(total, tuple(set_aside))


def queue_verdict(claim: QueueClaim, parts: Sequence[Part]) -> Verdict:
    scope = Scope("queue", "queue", claim.name)
    what = f"{claim.depth.name} stays below {claim.below:g}"
    evidence = (f"readings of {claim.depth.name} while the queue was used (the prober reads it "
                "every 0.5 s in every experiment and load)")
    every = readings(parts, claim.depth_target)
    read = [r for r in every if r.value is not None]
    if not read:
        why = (f"{claim.depth.name} was never exported: {len(every)} scrapes found no such "
               "series (is it the gauge's name, with its labels?)" if every else
               f"{claim.depth.name} was never read (no experiment or load of this run ran the "
               "prober, or the metrics path never answered)")
        return scope.verdict(what, "inconclusive", why, None, claim.below, "messages",
                             evidence=evidence)
    deepest = max(read, key=lambda r: r.value or 0.0)
    top = deepest.value or 0.0
    over = [r for r in read if (r.value or 0.0) >= claim.below]
    if claim.published is not None:
        rise = published_rise(parts, claim.published_target, claim.depth_target)
        aside = ""
        if rise.set_aside:
            shown = ", ".join(p or "the load" for p in rise.set_aside[:3])
            aside = (f"; set aside {len(rise.set_aside)} part(s) where {claim.published.name} "
                     f"went down (a restart, or instances read in turn behind a balancer: "
                     f"{shown})")
        if rise.total > 0:
            used = True
            use = f"{claim.published.name} rose by {rise.total:,.0f}{aside}"
        elif rise.set_aside:  # no part gave clean evidence: fall back on the depth
            used = top > 0
            use = (f"{claim.published.name} never rose in a part where it did not go down"
                   f"{aside}; the depth {'rose above' if used else 'never rose above'} 0")
        else:
            used = False
            use = f"{claim.published.name} never rose while the depth was read"
    else:
        used = top > 0
        use = "the depth rose above 0" if used else "the depth never rose above 0"
    where = f"{deepest.at_s:.1f} s into {deepest.where}"
    if over:
        return scope.verdict(
            what, "fail",
            f"the depth reached {top:,.0f} {where} (bound: below {claim.below:g}); "
            f"{len(over)} of {len(read)} readings at or above it; {use}",
            top, claim.below, "messages", evidence=evidence)
    if not used:
        return scope.verdict(
            what, "inconclusive",
            f"{use}: nothing shows the queue was used, and an unused queue is short by "
            f"default ({len(read)} readings, deepest {top:,.0f})",
            top, claim.below, "messages", evidence=evidence)
    return scope.verdict(
        what, "pass",
        f"deepest {top:,.0f} {where} over {len(read)} readings (bound: below "
        f"{claim.below:g}); {use}", top, claim.below, "messages", evidence=evidence)
