"""Retries: short outages of the claim's link under load are absorbed by retries with backoff.
Each outage is shorter than the backoff the claim's retries cover, so a service that retries as
claimed loses nothing; one that does not retry fails the requests caught in it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gauntlet.chaos.experiments.base import Context, Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.plan import FaultPlan, TimedFault
from gauntlet.chaos.probes import metric_total
from gauntlet.checks.retry import retry_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import backoff_budget_s
from gauntlet.contract import Contract, RetriesClaim


class RetriesParams(Params):
    users: int = Field(40, ge=1)
    steady_s: float = Field(3.0, gt=0)
    pulses: int = Field(4, ge=1)
    every_s: float = Field(3.0, gt=0)
    recovery_s: float = Field(3.0, gt=0)
    min_success: float = Field(0.995, gt=0, le=1)


def outage_s(claim: RetriesClaim) -> float:
    """An outage the claimed retries must ride out: half the shortest time they wait in all
    (each wait at least ``initial·2ⁿ``), never above 0.3 s."""
    shortest = sum(min(claim.max_s, claim.initial_s * 2**i) for i in range(claim.attempts - 1))
    return float(max(0.02, min(0.3, shortest / 2)))


class RetriesExperiment(Experiment):
    name = "retries"
    description = "transient outages of a link are absorbed by retries with backoff"
    kinds = ("retries",)
    params_model = RetriesParams

    def settle_s(self, target: Any) -> float:
        claim: RetriesClaim = target
        return backoff_budget_s(claim.attempts, claim.initial_s, claim.max_s) + claim.call_timeout_s

    def run(self, ctx: Context) -> None:
        p: RetriesParams = ctx.params
        claim: RetriesClaim = ctx.claim
        down_s = outage_s(claim)
        # an outage is new connections refused (down) and the established ones reset as soon
        # as they carry data (reset_peer): a pool of warm connections would ride out "down"
        # alone, and the fault would never need a retry
        steps = [TimedFault(p.steady_s + i * p.every_s, down_s, fault)
                 for i in range(p.pulses)
                 for fault in (Fault(claim.link, "down"),
                               Fault(claim.link, "reset_peer", {"timeout": 0.0}))]
        plan = FaultPlan(steps)
        before = ctx.scrape() if claim.metric else None
        # after the last pulse, requests may still be retrying for the settle time (a 5 s
        # call timeout and its backoff): the recovery phase is judged after that, so the load
        # lasts it out
        ctx.drive(claim.requests, users=p.users, plan=plan,
                  duration_s=plan.duration_s + self.settle_s(claim) + p.recovery_s + 2.0)
        if claim.metric is not None:
            after = ctx.scrape()
            first = metric_total(before, claim.metric) if before is not None else None
            last = metric_total(after, claim.metric) if after is not None else None
            ctx.facts["metric_delta"] = (last - first if first is not None and last is not None
                                         else None)

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        claim: RetriesClaim = target
        p: RetriesParams = params
        return retry_verdicts(record.of(claim.requests), record.events, claim,
                              metric_delta=record.facts.get("metric_delta"),
                              min_success=p.min_success)
