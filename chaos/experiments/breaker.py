"""Circuit breaker: the upstream hangs under load; the breaker must open, fail fast, probe and
close again once the upstream is back."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from chaos.experiments.base import Context, Experiment, Params, Record
from chaos.faults import Fault
from chaos.plan import FaultPlan, TimedFault
from checks.breaker import BreakerBounds, breaker_verdicts, default_bounds
from checks.verdict import Verdict
from gauntlet.config import LoadConfig
from gauntlet.policy import Policy


class BreakerParams(Params):
    users: int = 10
    steady_s: float = 4.0
    fault_s: float = 12.0
    recovery_s: float = 8.0
    # timeout with 0 holds every connection open: the upstream "hangs"
    fault: Literal["timeout", "reset_peer"] = "timeout"
    open_within_s: float | None = None
    fail_fast_ms: float | None = None
    close_within_s: float | None = None


class BreakerExperiment(Experiment):
    name = "breaker"
    description = "upstream hangs under load: breaker opens, fails fast, probes, closes"
    params_model = BreakerParams
    broken_variant = "breaker"
    checks_integrity = False
    policy: ClassVar[dict[str, Any]] = {
        "upstream_timeout_s": 1.0,
        "breaker_failure_rate": 0.5,
        "breaker_window_s": 5.0,
        "breaker_min_calls": 5,
        "breaker_open_s": 3.0,
        "retry_attempts": 2,
        "retry_initial_s": 0.1,
        "retry_max_s": 0.5,
        "rate_limit_generate": "1000000/hour",
        "rate_limit_api": "1000000/minute",
    }

    def run(self, ctx: Context) -> None:
        p: BreakerParams = ctx.params
        fault = Fault("upstream", p.fault, {"timeout": 0})
        plan = FaultPlan([TimedFault(p.steady_s, p.fault_s, fault)])
        load = LoadConfig(scenario="generate", users=p.users, spawn_rate=p.users,
                          duration_s=p.steady_s + p.fault_s + p.recovery_s + 2.0)
        ctx.drive(load, plan)

    def judge(self, record: Record, policy: Policy, params: Any) -> list[Verdict]:
        p: BreakerParams = params
        bounds = default_bounds(policy)
        bounds = BreakerBounds(
            open_within_s=p.open_within_s or bounds.open_within_s,
            fail_fast_ms=p.fail_fast_ms or bounds.fail_fast_ms,
            close_within_s=p.close_within_s or bounds.close_within_s,
        )
        return breaker_verdicts(record.samples, record.events, policy, bounds)
