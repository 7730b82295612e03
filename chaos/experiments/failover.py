"""One instance behind a balancer hangs (:mod:`gauntlet.checks.failover`): is it left alone
after ``max_fails`` failures, and tried again after ``fail_timeout_s``?

Under load through the balancer, a Toxiproxy ``timeout`` toxic (no answer, the connection kept
open) goes on the balancer's link to one instance until the retry has had its time to show
(``fail_timeout_s`` after the last of the first failures, within the balancer's clock and a
slack, plus :data:`TAIL`), then comes off; a recovery phase follows. The requests do the rest:
the balancer times each one out on the hung instance and tries the next.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gauntlet.chaos.context import Context
from gauntlet.chaos.experiments.base import Experiment, Params, Record
from gauntlet.chaos.faults import Fault
from gauntlet.chaos.plan import FaultPlan, TimedFault
from gauntlet.checks.failover import failover_verdicts, last_hang_s
from gauntlet.checks.verdict import Verdict
from gauntlet.checks.windows import fault_windows
from gauntlet.contract import Contract, FailoverClaim

TAIL = 1.0


class FailoverParams(Params):
    users: int = Field(20, ge=2)
    steady_s: float = Field(4.0, gt=0)
    recovery_s: float = Field(5.0, gt=0)


class FailoverExperiment(Experiment):
    name = "failover"
    description = "one instance behind the balancer hangs: left alone, then tried again"
    claims = (FailoverClaim,)
    params_model = FailoverParams
    steady_latency = True

    def hang_s(self, claim: FailoverClaim) -> float:
        """Until the last moment a retry's request may start, plus its own timeout to show
        slow, plus :data:`TAIL`."""
        return last_hang_s(claim) + claim.timeout_s + TAIL

    def settle_s(self, target: Any) -> float:
        claim: FailoverClaim = target
        return claim.timeout_s + 1.0  # the last requests on the hung instance finish elsewhere

    def run(self, ctx: Context) -> None:
        p: FailoverParams = ctx.params
        claim: FailoverClaim = ctx.claim
        hang = self.hang_s(claim)
        hung = Fault(claim.link, "timeout", {"timeout": 0})
        plan = FaultPlan([TimedFault(at_s=p.steady_s, duration_s=hang, fault=hung)])
        ctx.drive(claim.requests, users=p.users, plan=plan,
                  duration_s=p.steady_s + hang + p.recovery_s,
                  settle_s=self.settle_s(claim), lead_s=p.steady_s)

    def judge(self, record: Record, target: Any, params: Any, contract: Contract
              ) -> list[Verdict]:
        claim: FailoverClaim = target
        windows = fault_windows(record.events, claim.link)
        first = windows[0] if windows else None
        return failover_verdicts(record.of(claim.requests), claim,
                                 first.start_s if first else None,
                                 first.end_s if first else None)
