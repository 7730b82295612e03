"""A slow dependency: latency added on a link. The service must cut requests at its claimed
deadline, and answer a claimed status quickly when its pool is exhausted instead of queueing.
One run per link that a deadline or pool claim names; the added latency exceeds the deadline
and the pool's acquire timeout, and enough clients are in flight to exhaust the pool.

Evidence by construction. The phases follow from the claims' numbers: the slow link stays slow
for the longest deadline plus its slack and 2 s, so a request started in it can run into the
deadline (a fault shorter than the deadline lets every request finish when the latency is
removed, and a 30 s deadline was never exercised that way). A deadline that another claim on
the same link makes unreachable — a breaker whose calls end within ``max_call_s``, or retries
whose attempts and backoff all end sooner — is a *contract finding*, said before the run; when
that covers every claim of the link, nothing is booted. While the link is slow the experiment
watches for a request near the deadline (or cut with its status) and, when none came, holds
the link slow once more for as long (the bound), so a burst of requests that started before
the fault settled is not mistaken for the deadline being unreachable."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from gauntlet.chaos.breakerwatch import await_link_settled
from gauntlet.chaos.context import Context
from gauntlet.chaos.experiments.base import Experiment, Finding, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.watch import Evidence, LiveSamples
from gauntlet.checks.slowdep import (
    NEAR,
    deadline_verdicts,
    fault_in_path,
    pool_verdicts,
    slack_s,
    unreachable_verdict,
)
from gauntlet.checks.steady import demote
from gauntlet.checks.verdict import Verdict
from gauntlet.contract import Contract, DeadlineClaim, PoolClaim
from gauntlet.scenarios.runner import LoadRun
from gauntlet.scenarios.traffic import CLIENT_TIMEOUT_S


@dataclass(frozen=True)
class SlowLink:
    """The claims about one link's slowness."""

    link: str
    deadlines: tuple[DeadlineClaim, ...]
    pools: tuple[PoolClaim, ...]

    @property
    def requests(self) -> list[str]:
        names: list[str] = []
        for requests in (*(c.requests for c in self.deadlines), *(c.requests for c in self.pools)):
            names += [r for r in requests if r not in names]
        return names

    @property
    def added_ms(self) -> float:
        """Latency that every claim about this link must act on: past each deadline and past
        each pool's acquire timeout, by a second."""
        bounds = [c.deadline_s for c in self.deadlines] + [2 * c.acquire_timeout_s
                                                           for c in self.pools]
        return (max(bounds) + 1.0) * 1000.0


class SlowDependencyParams(Params):
    users: int | None = Field(None, ge=1)
    steady_s: float = Field(3.0, gt=0)
    # at least this long; a deadline claim lengthens it (see fault_length_s)
    fault_s: float = Field(8.0, gt=0)


def fault_length_s(target: SlowLink, floor_s: float) -> float:
    """How long the link stays slow: long enough for a request started in it to run into
    the longest deadline (its slack and 2 s more)."""
    return max([floor_s, *(c.deadline_s + slack_s(c.deadline_s) + 2.0 for c in target.deadlines)])


def cut_first(contract: Contract, deadline: DeadlineClaim) -> str | None:
    """Another claim on the deadline's link that ends every one of its requests before the
    deadline can, in words with both numbers; None when the deadline is reachable."""
    wanted = set(deadline.requests)
    for claim in contract.claims.all():
        ended = claim.ends_requests_within(deadline.link, wanted)
        if ended is not None and ended[0] + slack_s(ended[0]) < deadline.deadline_s:
            return f"{ended[1]}, before the {deadline.deadline_s:g} s deadline can"
    return None


class SlowDependencyExperiment(Experiment):
    name = "slow_dependency"
    description = "a slow link: the deadline holds, pool exhaustion answers fast"
    claims = (DeadlineClaim, PoolClaim)
    params_model = SlowDependencyParams

    def targets(self, contract: Contract) -> dict[str, Any]:
        deadlines, pools = contract.claims.of(DeadlineClaim), contract.claims.of(PoolClaim)
        links = sorted({*(c.link for c in deadlines), *(c.link for c in pools)})
        return {link: SlowLink(link, tuple(c for c in deadlines if c.link == link),
                               tuple(c for c in pools if c.link == link))
                for link in links}

    def findings(self, target: Any, contract: Contract) -> list[Finding]:
        slow: SlowLink = target
        return [Finding(f"deadline.{d.name}", why) for d in slow.deadlines
                if (why := cut_first(contract, d)) is not None]

    def needs_run(self, target: Any, contract: Contract) -> bool:
        slow: SlowLink = target
        return bool(slow.pools) or len(self.findings(target, contract)) < len(slow.deadlines)

    def settle_s(self, target: Any) -> float:
        slow: SlowLink = target
        return max([2.0, *(c.deadline_s for c in slow.deadlines)])

    def run(self, ctx: Context) -> None:
        p: SlowDependencyParams = ctx.params
        target: SlowLink = ctx.claim
        fault = Fault(target.link, "latency", {"latency": target.added_ms, "jitter": 0})
        fault.validate()
        fault_s = fault_length_s(target, p.fault_s)
        found = {f.claim for f in self.findings(target, ctx.contract)}
        reachable = [d for d in target.deadlines if f"deadline.{d.name}" not in found]
        # enough clients in flight to hold every pooled connection, four times over
        users = p.users or max(10, 4 * max((c.size for c in target.pools), default=0))
        ctx.facts["added_ms"] = target.added_ms
        ctx.facts["fault_s"] = fault_s
        evidence = [Evidence(ctx.timeline, f"deadline.{d.name}",
                             f"a request of {', '.join(d.requests)} near the "
                             f"{d.deadline_s:g} s deadline or cut with its status",
                             bound=f"the link slow {fault_s:g} s, once more if none")
                    for d in reachable]
        deadline_settle_s = self.settle_s(target)
        holds_s = ctx.contract.holds_after_s(target.link)  # a breaker on it, open that long
        settle_s = max(deadline_settle_s, holds_s)
        ctx.facts["settle_s"] = settle_s

        def slow_link(run: LoadRun, t0: float) -> None:
            injector = ctx.stack.faults(ctx.timeline)
            live = LiveSamples(run.samples_dir)
            ctx.sleep_until(t0, p.steady_s)
            for attempt in range(2):
                start = ctx.timeline.now_s()
                with injector.inject(fault):
                    ctx.sleep_until(time.monotonic(), fault_s)
                end = ctx.timeline.now_s()
                # a request started in the fault ends by its deadline (+ slack) after it
                ctx.sleep_until(time.monotonic(), 1.0)
                live.poll()
                missing = [e for e, d in zip(evidence, reachable, strict=True)
                           if not _near(live, d, start, end, e)]
                if not missing or attempt == 1:
                    break
                for e in missing:
                    e.adapt("the link slow once more", "no request came near the deadline "
                            "while the link was slow")
                ctx.sleep_until(time.monotonic(), 2.0)
            for e in evidence:
                e.give_up()
            # requests slowed by the fault may run to their deadline after it is removed, but
            # Toxiproxy passes on the data a removed toxic held, so they usually end at once:
            # the phase after recovery begins once all of them were answered (and a breaker on
            # the link was seen closed), at most the deadline's settle time after the
            # fault. Before, the load ran the whole settle time: 36 s in lazy-foundry-node's
            # suite
            answered = ctx.await_answered(run, target.requests, before_s=end,
                                          bound_s=deadline_settle_s,
                                          phase="steady state after recovery")
            # a breaker on the link holds until it is seen closed, at most its claimed bound
            held_s = await_link_settled(ctx, run, target.link, target.requests, end, holds_s)
            ctx.facts["settle_s"] = round(max(held_s, deadline_settle_s if answered is None
                                              else min(settle_s, answered - end)), 3)

        # the load goes on (settle_s) until the phase after recovery holds enough successes
        # to be decidable: at 10 clients a second (the pace a 31 s fault asks for) a fixed
        # tail held 66 and 68 of the 72 a p95 needs in two runs of lazy-foundry-node's suite
        most_s = p.steady_s + 2 * (fault_s + 3.0) + settle_s + 5.0
        # a client waits past the added latency: a service without a deadline answers after
        # it, and a client that gave up first would measure its own timeout
        ctx.drive(target.requests, users=min(users, 80), duration_s=most_s, during=slow_link,
                  pace_s=max(0.1, math.ceil(target.added_ms / 1000.0) / 4),
                  timeout_s=max(CLIENT_TIMEOUT_S, target.added_ms / 1000.0 + 10.0),
                  lead_s=p.steady_s, settle_s=settle_s, report_in_flight=True)

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        slow: SlowLink = target
        found = {f.claim: f.text for f in self.findings(target, contract)}
        unreachable = [unreachable_verdict(d, found[f"deadline.{d.name}"])
                       for d in slow.deadlines if f"deadline.{d.name}" in found]
        if not self.needs_run(target, contract):
            return unreachable
        precondition = fault_in_path(record.of(slow.requests), record.events, slow.link,
                                     slow.requests, slow.added_ms)
        verdicts: list[Verdict] = []
        for deadline in slow.deadlines:
            if f"deadline.{deadline.name}" not in found:
                verdicts += deadline_verdicts(record.of(deadline.requests), record.events,
                                              deadline, added_ms=slow.added_ms)
        for pool in slow.pools:
            verdicts += pool_verdicts(record.of(pool.requests), record.events, pool,
                                      added_ms=slow.added_ms, others=contract.answer_markers())
        return [precondition, *demote(verdicts, precondition), *unreachable]


def _near(live: LiveSamples, deadline: DeadlineClaim, start_s: float, end_s: float,
          evidence: Evidence) -> bool:
    """A request of the deadline's overlapping the slow window came near the deadline or was
    cut with its status; records the evidence found."""
    rows = live.overlapping(start_s, end_s, deadline.requests)
    near = [r for r in rows if r.latency_ms >= NEAR * deadline.deadline_s * 1000.0
            or (deadline.status is not None and r.status == deadline.status)]
    if near:
        evidence.found(f"{len(near)} requests near the deadline or answered {deadline.status}")
    return bool(near)
