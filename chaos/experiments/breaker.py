"""Circuit breaker: the claim's link hangs under load; the breaker must open, fail fast, probe
and close again once the link is back. Phase lengths follow from the claimed numbers: the fault
lasts long enough to open the breaker and see it probe, the recovery long enough to close it.
The claim's ``isolated`` requests (other components: one breaker per component) are sent
alongside, and must keep being served while this breaker is open."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gauntlet.chaos.experiments.base import Context, Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.plan import FaultPlan, TimedFault
from gauntlet.checks.breaker import bounds, breaker_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.contract import BreakerClaim, Contract


class BreakerParams(Params):
    users: int | None = Field(None, ge=1)
    steady_s: float = Field(4.0, gt=0)
    # timeout with 0 holds every connection open: the link "hangs"
    fault: Literal["timeout", "reset_peer"] = "timeout"


class BreakerExperiment(Experiment):
    name = "breaker"
    description = "a link hangs under load: its breaker opens, fails fast, probes, closes"
    kinds = ("breaker",)
    params_model = BreakerParams

    @staticmethod
    def phases(claim: BreakerClaim, steady_s: float) -> tuple[float, float, float]:
        """Steady, fault and recovery lengths: the fault outlasts the opening bound, the open
        duration and one call (so the half-open probe is seen while the link still hangs); the
        recovery outlasts the closing bound, with a tail to judge the error rate on."""
        fault_s = bounds(claim).open_within_s + claim.open_s + claim.call_s + 3.0
        recovery_s = claim.open_s + 2 * claim.call_s + 2.0 + 4.0
        return steady_s, fault_s, recovery_s

    def requests(self, target: Any) -> list[str]:
        claim: BreakerClaim = target
        return [*claim.requests, *(r for r in claim.isolated if r not in claim.requests)]

    def settle_s(self, target: Any) -> float:
        return bounds(target).close_within_s

    def run(self, ctx: Context) -> None:
        p: BreakerParams = ctx.params
        claim: BreakerClaim = ctx.claim
        steady_s, fault_s, recovery_s = self.phases(claim, p.steady_s)
        # both toxics take a timeout: 0 = hold forever (timeout) or reset at once (reset_peer)
        fault = Fault(claim.link, p.fault, {"timeout": 0.0})
        plan = FaultPlan([TimedFault(steady_s, fault_s, fault)])
        ctx.drive(self.requests(claim), users=p.users or 10, plan=plan,
                  duration_s=steady_s + fault_s + recovery_s + 2.0)

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        claim: BreakerClaim = target
        return breaker_verdicts(record.of(self.requests(claim)), record.events, claim)
