"""A slow dependency: latency added on a link. The service must cut requests at its claimed
deadline, and answer a claimed status quickly when its pool is exhausted instead of queueing.
One run per link that a deadline or pool claim names; the added latency exceeds the deadline
and the pool's acquire timeout, and enough clients are in flight to exhaust the pool."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from gauntlet.chaos.experiments.base import Context, Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.plan import FaultPlan, TimedFault
from gauntlet.checks.slowdep import deadline_verdicts, fault_in_path, pool_verdicts
from gauntlet.checks.steady import demote
from gauntlet.checks.verdict import Verdict
from gauntlet.contract import Contract, DeadlineClaim, PoolClaim


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
    fault_s: float = Field(8.0, gt=0)
    recovery_s: float = Field(3.0, gt=0)


class SlowDependencyExperiment(Experiment):
    name = "slow_dependency"
    description = "a slow link: the deadline holds, pool exhaustion answers fast"
    kinds = ("deadline", "pool")
    params_model = SlowDependencyParams

    def targets(self, contract: Contract) -> dict[str, Any]:
        links = sorted({*(c.link for c in contract.claims.deadline),
                        *(c.link for c in contract.claims.pool)})
        return {link: SlowLink(link,
                               tuple(c for c in contract.claims.deadline if c.link == link),
                               tuple(c for c in contract.claims.pool if c.link == link))
                for link in links}

    def settle_s(self, target: Any) -> float:
        slow: SlowLink = target
        return max([2.0, *(c.deadline_s for c in slow.deadlines)])

    def run(self, ctx: Context) -> None:
        p: SlowDependencyParams = ctx.params
        target: SlowLink = ctx.claim
        fault = Fault(target.link, "latency", {"latency": target.added_ms, "jitter": 0})
        plan = FaultPlan([TimedFault(p.steady_s, p.fault_s, fault)])
        # enough clients in flight to hold every pooled connection, four times over
        users = p.users or max(10, 4 * max((c.size for c in target.pools), default=0))
        ctx.facts["added_ms"] = target.added_ms
        # requests slowed by the fault may run to their deadline after it is removed: the
        # recovery phase is judged after that settle time, so the load lasts it out
        ctx.drive(target.requests, users=min(users, 80), plan=plan,
                  duration_s=p.steady_s + p.fault_s + self.settle_s(target) + p.recovery_s
                  + 2.0,
                  pace_s=max(0.1, math.ceil(target.added_ms / 1000.0) / 4))

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        slow: SlowLink = target
        precondition = fault_in_path(record.of(slow.requests), record.events, slow.link,
                                     slow.requests, slow.added_ms)
        verdicts: list[Verdict] = []
        for deadline in slow.deadlines:
            verdicts += deadline_verdicts(record.of(deadline.requests), record.events, deadline,
                                          added_ms=slow.added_ms)
        for pool in slow.pools:
            verdicts += pool_verdicts(record.of(pool.requests), record.events, pool,
                                      added_ms=slow.added_ms)
        return [precondition, *demote(verdicts, precondition)]
