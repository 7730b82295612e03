"""A dependency down: readiness turns unready within its bound and ready again after, liveness
stays up, the service degrades as claimed (what keeps serving, what fails fast), and a detailed
health endpoint, when claimed, shows the dependency down and back, answering within its bound
(polled beside readiness: :data:`~gauntlet.checks.health.DETAILED_PROBE`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gauntlet.chaos.experiments.base import (
    Context,
    Experiment,
    Params,
    Record,
    breaker_hold_s,
)
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.plan import FaultPlan, TimedFault
from gauntlet.chaos.probes import JsonProbe
from gauntlet.checks.health import DETAILED_PROBE, health_verdicts
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import fault_windows
from gauntlet.contract import Contract, HealthClaim


class DependencyDownParams(Params):
    users: int = Field(10, ge=1)
    # long enough for every client to have sent each request a few times at its pacing: what
    # a service serves from a cache while a link is down, it must have cached before
    steady_s: float = Field(8.0, gt=0)
    fault_s: float | None = Field(None, gt=0)
    recovery_s: float | None = Field(None, gt=0)


class DependencyDownExperiment(Experiment):
    name = "dependency_down"
    description = "a dependency down: unready, live, degraded as claimed, ready again"
    kinds = ("health",)
    params_model = DependencyDownParams

    def requests(self, target: Any) -> list[str]:
        claim: HealthClaim = target
        named = list(claim.requests)
        for degradation in claim.degraded:
            named += [r for r in degradation.requests if r not in named]
        return named

    def settle_s(self, target: Any) -> float:
        claim: HealthClaim = target
        return claim.recover_within_s

    def recovered_by(self, record: Record, target: Any) -> float | None:
        """As the base, with the settle time the run recorded: a breaker the contract claims
        on this link opened during the outage and is claimed to stay open its open duration
        after the dependency is back, so the service is steady only once it has closed."""
        ends = [w.end_s for w in fault_windows(record.events, target.link)]
        settle = float(record.facts.get("settle_s") or self.settle_s(target))
        return max(ends) + settle if ends else None

    def run(self, ctx: Context) -> None:
        p: DependencyDownParams = ctx.params
        claim: HealthClaim = ctx.claim
        fault_s = p.fault_s or max(6.0, claim.ready_within_s + 4.0)
        settle_s = max(claim.recover_within_s, breaker_hold_s(ctx.contract, claim.link))
        ctx.facts["settle_s"] = settle_s
        recovery_s = p.recovery_s or settle_s + 2.0
        plan = FaultPlan([TimedFault(p.steady_s, fault_s, Fault(claim.link, "down"))])
        detail = claim.detailed
        json_probes = [JsonProbe(DETAILED_PROBE, detail.path, detail.status_field(claim.link))
                       ] if detail is not None else []
        ctx.drive(self.requests(claim), users=p.users, plan=plan,
                  duration_s=p.steady_s + fault_s + recovery_s + 2.0, json_probes=json_probes)

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        return health_verdicts(record.of(self.requests(target)), record.events, target)

